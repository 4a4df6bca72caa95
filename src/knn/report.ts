// A leave-one-out evaluation as text for the terminal.
import type { Evaluation } from './knn.js';

export function formatEvaluation(e: Evaluation): string {
  if (!e.n) return 'evaluation: no labelled images';
  const labels = [...new Set([...Object.keys(e.confusion), ...Object.values(e.confusion).flatMap((r) => Object.keys(r))])].sort();
  const w = Math.max(8, ...labels.map((l) => l.length));
  const head = `${'true \\ predicted'.padEnd(w + 2)}${labels.map((l) => l.padStart(w)).join(' ')}`;
  const rows = Object.keys(e.confusion).sort().map((t) => `${t.padEnd(w + 2)}${labels.map((p) => String(e.confusion[t]![p] ?? 0).padStart(w)).join(' ')}`);
  return [
    `leave-one-out KNN over ${e.n} labelled images: top-1 accuracy ${(100 * e.accuracy).toFixed(1)}%, ` +
      `ECE ${e.ece.toFixed(3)}, answered unknown ${e.rejected}` +
      (e.acceptedAccuracy !== null ? ` (accuracy of the rest ${(100 * e.acceptedAccuracy).toFixed(1)}%)` : ''),
    head, ...rows,
  ].join('\n');
}
