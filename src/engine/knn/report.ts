// A leave-one-out evaluation as text for the terminal.
import type { Evaluation, Quantiles, SweepRow } from './knn.js';

// thresholds shown rounded down, so a value copied from here answers at least the queries it did
const floor4 = (x: number) => (Math.floor(x * 1e4) / 1e4).toFixed(4);
const pct = (x: number | null) => (x === null ? '-' : `${(100 * x).toFixed(1)}%`);
const q = (x: Quantiles | null) =>
  x
    ? `min ${x.min.toFixed(3)}, p10 ${x.p10.toFixed(3)}, median ${x.p50.toFixed(3)}, p90 ${x.p90.toFixed(3)}, ` +
      `max ${x.max.toFixed(3)}`
    : 'none';
const sweepLines = (name: string, rows: SweepRow[]) => [
  `${name.padEnd(30)} ${'answered'.padStart(9)} ${'accuracy of answers'.padStart(20)}`,
  ...rows.map(
    (r) => `${`  ${floor4(r.threshold)}`.padEnd(30)} ${pct(r.answered).padStart(9)} ${pct(r.accuracy).padStart(20)}`,
  ),
];

/** The suggested thresholds, or that none makes the answers right enough (then no threshold is worth copying). */
function suggestion(e: Evaluation): string {
  const { minSimilarity: sim, minConfidence: conf, targetAccuracy } = e.suggested;
  const target = `at least ${pct(targetAccuracy)} right`;
  if (sim === null && conf === null)
    return (
      `suggested: none: no value of either threshold makes the answers ${target} on this gallery (see the ` +
      `tables above)`
    );
  const values = [
    sim !== null && `LOOKALIKE_KNN_MIN_SIMILARITY=${floor4(sim)}`,
    conf !== null && `LOOKALIKE_KNN_MIN_CONFIDENCE=${floor4(conf)}`,
  ]
    .filter(Boolean)
    .join(' ');
  const none = sim === null ? 'LOOKALIKE_KNN_MIN_SIMILARITY' : conf === null ? 'LOOKALIKE_KNN_MIN_CONFIDENCE' : null;
  return (
    `suggested (the lowest values whose answers ` +
    `are ${target}): ${values}${none ? ` (no value of ${none} ` + `reaches that)` : ''}`
  );
}

export function formatEvaluation(e: Evaluation): string {
  if (!e.n) return 'evaluation: no labelled images';
  const labels = [
    ...new Set([...Object.keys(e.confusion), ...Object.values(e.confusion).flatMap((r) => Object.keys(r))]),
  ].sort();
  const w = Math.max(8, ...labels.map((l) => l.length));
  const head = `${'true \\ predicted'.padEnd(w + 2)}${labels.map((l) => l.padStart(w)).join(' ')}`;
  const rows = Object.keys(e.confusion)
    .sort()
    .map((t) => `${t.padEnd(w + 2)}${labels.map((p) => String(e.confusion[t]![p] ?? 0).padStart(w)).join(' ')}`);
  return [
    `leave-one-out KNN over ${e.n} labelled images: top-1 accuracy ${(100 * e.accuracy).toFixed(1)}%, ` +
      `ECE ${e.ece.toFixed(3)}, answered unknown ${e.rejected}` +
      (e.acceptedAccuracy !== null ? ` (accuracy of the rest ${(100 * e.acceptedAccuracy).toFixed(1)}%)` : ''),
    head,
    ...rows,
    '',
    'best-neighbour similarity when the top class was right: ' + q(e.similarity.right),
    'best-neighbour similarity when the top class was wrong: ' + q(e.similarity.wrong),
    '',
    'open-set trade-off (each threshold alone; "answered": not "unknown"):',
    ...sweepLines('LOOKALIKE_KNN_MIN_SIMILARITY', e.sweeps.minSimilarity),
    ...sweepLines('LOOKALIKE_KNN_MIN_CONFIDENCE', e.sweeps.minConfidence),
    suggestion(e),
    'Leave-one-out measures only images of known classes: raise the thresholds if photos of other things must come ' +
      'out "unknown".',
  ].join('\n');
}

/** KNN, probe and zero-shot as a table: accuracy and calibration each. */
export function formatClassifiers(
  rows: { classifier: string; measured: string; accuracy: number; ece: number }[],
): string {
  const w = Math.max(...rows.map((r) => r.measured.length));
  return [
    'held-out accuracy and calibration, side by side:',
    `${'classifier'.padEnd(10)} ${'measured by'.padEnd(w)} ${'accuracy'.padStart(8)} ${'ECE'.padStart(6)}`,
    ...rows.map(
      (r) =>
        `${r.classifier.padEnd(10)} ${r.measured.padEnd(w)} ` +
        `${`${(100 * r.accuracy).toFixed(1)}%`.padStart(8)} ${r.ece.toFixed(3).padStart(6)}`,
    ),
  ].join('\n');
}
