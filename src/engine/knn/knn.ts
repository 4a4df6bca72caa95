// Weighted k-NN classification as in the DINO protocol: each of the k nearest labelled neighbours votes for its
// label with weight exp(similarity / T). Open-set: a weak best match or a split vote answers "unknown".
export interface KnnOptions {
  k: number;
  temperature: number;
  minSimilarity: number;
  minConfidence: number;
}

export interface Neighbour {
  id: number;
  score: number; // cosine similarity
  label: string | null;
}

export interface Vote {
  label: string;
  count: number;
  weight: number;
  share: number; // weight / total weight: sums to 1 over the table
}

export interface KnnResult {
  label: string | null; // null when unknown
  candidate: string | null; // the top label, even when rejected
  confidence: number; // the top label's share of the vote
  unknown: boolean;
  reason: string | null; // why it is unknown
  bestSimilarity: number | null;
  votes: Vote[];
  neighbours: Neighbour[];
}

/** Open-set rejection: why an image is unknown when its best labelled neighbour is too far; null when one is near. */
export function outOfSet(bestSimilarity: number | null, minSimilarity: number): string | null {
  const far = bestSimilarity !== null && bestSimilarity < minSimilarity;
  return far ? `best similarity ${bestSimilarity.toFixed(3)} is below ${minSimilarity}` : null;
}

export function classify(neighbours: Neighbour[], opts: KnnOptions): KnnResult {
  const voters = neighbours.filter((n) => n.label !== null).slice(0, opts.k);
  const table = new Map<string, { count: number; weight: number }>();
  // subtracting the best score keeps exp() in range for any temperature; shares are unchanged
  const top = voters.length ? Math.max(...voters.map((n) => n.score)) : 0;
  for (const n of voters) {
    const v = table.get(n.label!) ?? { count: 0, weight: 0 };
    v.count++;
    v.weight += Math.exp((n.score - top) / opts.temperature);
    table.set(n.label!, v);
  }
  const total = [...table.values()].reduce((s, v) => s + v.weight, 0);
  const votes: Vote[] = [...table.entries()]
    .map(([label, v]) => ({ label, count: v.count, weight: v.weight, share: total > 0 ? v.weight / total : 0 }))
    .sort((a, b) => b.share - a.share || a.label.localeCompare(b.label));
  const best = votes[0];
  const confidence = best?.share ?? 0;
  const bestSimilarity = voters.length ? top : null;
  const split =
    confidence < opts.minConfidence ? `confidence ${confidence.toFixed(3)} is below ${opts.minConfidence}` : null;
  const reason = !best ? 'no labelled neighbours' : (outOfSet(bestSimilarity, opts.minSimilarity) ?? split);
  return {
    label: reason ? null : best!.label,
    candidate: best?.label ?? null,
    confidence,
    unknown: reason !== null,
    reason,
    bestSimilarity,
    votes,
    neighbours: voters,
  };
}

export interface Evaluation {
  n: number;
  accuracy: number; // top-1 of the candidate label, rejections aside
  rejected: number; // answered unknown
  acceptedAccuracy: number | null; // top-1 among the accepted answers
  ece: number; // expected calibration error of `confidence`, 10 equal-width bins
  confusion: Record<string, Record<string, number>>; // true label -> predicted label -> count
  /** Best-neighbour similarity of the queries whose top class was right, and of those whose top class was wrong. */
  similarity: { right: Quantiles | null; wrong: Quantiles | null };
  /**
   * The open-set trade-off: each threshold alone, the share of queries it answers and the accuracy of those answers.
   */
  sweeps: { minSimilarity: SweepRow[]; minConfidence: SweepRow[] };
  /** The lowest threshold whose answers reach TARGET_ACCURACY; null when none does. */
  suggested: { minSimilarity: number | null; minConfidence: number | null; targetAccuracy: number };
}

export interface Quantiles {
  p10: number;
  p50: number;
  p90: number;
  min: number;
  max: number;
}
export interface SweepRow {
  threshold: number;
  answered: number;
  accuracy: number | null;
}

export const TARGET_ACCURACY = 0.95;

function quantiles(values: number[]): Quantiles | null {
  if (!values.length) return null;
  const s = [...values].sort((a, b) => a - b);
  const q = (p: number) => s[Math.min(s.length - 1, Math.floor(p * s.length))]!;
  return { p10: q(0.1), p50: q(0.5), p90: q(0.9), min: s[0]!, max: s[s.length - 1]! };
}

function sweep(queries: { value: number; right: boolean }[], thresholds: number[]): SweepRow[] {
  return thresholds.map((threshold) => {
    const answered = queries.filter((q) => q.value >= threshold);
    return {
      threshold,
      answered: queries.length ? answered.length / queries.length : 0,
      accuracy: answered.length ? answered.filter((q) => q.right).length / answered.length : null,
    };
  });
}

/** The lowest threshold whose answers (value >= threshold) are at least TARGET_ACCURACY right; null when none is. */
function lowestGoodThreshold(queries: { value: number; right: boolean }[]): number | null {
  const sorted = [...queries].sort((a, b) => b.value - a.value);
  let right = 0;
  let best: number | null = null;
  sorted.forEach((q, i) => {
    right += q.right ? 1 : 0;
    const endOfTies = i + 1 === sorted.length || sorted[i + 1]!.value < q.value;
    if (endOfTies && right / (i + 1) >= TARGET_ACCURACY) best = q.value;
  });
  return best;
}

/**
 * Expected calibration error: over 10 equal-width confidence bins, the gap between confidence and accuracy, weighted by
 * the bin's share.
 */
export function expectedCalibrationError(answers: { confidence: number; right: boolean }[]): number {
  const bins = Array.from({ length: 10 }, () => ({ n: 0, conf: 0, correct: 0 }));
  for (const a of answers) {
    const bin = bins[Math.min(9, Math.floor(a.confidence * 10))]!;
    bin.n++;
    bin.conf += a.confidence;
    bin.correct += a.right ? 1 : 0;
  }
  const n = answers.length;
  return n ? bins.reduce((s, b) => s + (b.n ? (b.n / n) * Math.abs(b.correct / b.n - b.conf / b.n) : 0), 0) : 0;
}

export function summarize(pairs: { truth: string; result: KnnResult }[]): Evaluation {
  const confusion: Record<string, Record<string, number>> = {};
  let correct = 0,
    rejected = 0,
    acceptedCorrect = 0;
  const queries: { similarity: number; confidence: number; right: boolean }[] = [];
  for (const { truth, result } of pairs) {
    const predicted = result.candidate ?? '(none)';
    const row = confusion[truth] ?? {};
    confusion[truth] = row;
    row[predicted] = (row[predicted] ?? 0) + 1;
    const ok = predicted === truth;
    if (ok) correct++;
    if (result.unknown) rejected++;
    else if (ok) acceptedCorrect++;
    if (result.bestSimilarity !== null)
      queries.push({ similarity: result.bestSimilarity, confidence: result.confidence, right: ok });
  }
  const n = pairs.length;
  const ece = expectedCalibrationError(
    pairs.map(({ truth, result }) => ({
      confidence: result.confidence,
      right: (result.candidate ?? '(none)') === truth,
    })),
  );
  // candidate thresholds: where this gallery's own similarities fall, and the usual confidence cut-offs the trade-off
  // at where this gallery's own similarities fall, at the usual confidence cut-offs, and at the suggestions
  const bySimilarity = queries.map((q) => ({ value: q.similarity, right: q.right }));
  const byConfidence = queries.map((q) => ({ value: q.confidence, right: q.right }));
  const suggested = {
    minSimilarity: lowestGoodThreshold(bySimilarity),
    minConfidence: lowestGoodThreshold(byConfidence),
    targetAccuracy: TARGET_ACCURACY,
  };
  const sorted = bySimilarity.map((q) => q.value).sort((a, b) => a - b);
  const grid = (values: (number | null)[]) => [...new Set(values.filter((v) => v !== null))].sort((a, b) => a - b);
  const similarity = sweep(
    bySimilarity,
    grid([
      ...[0, 0.1, 0.2, 0.3, 0.5].flatMap((p) => (sorted.length ? [sorted[Math.floor(p * sorted.length)]!] : [])),
      suggested.minSimilarity,
    ]),
  );
  const confidence = sweep(byConfidence, grid([0, 0.3, 0.5, 0.7, 0.9, suggested.minConfidence]));
  return {
    n,
    accuracy: n ? correct / n : 0,
    rejected,
    acceptedAccuracy: n - rejected ? acceptedCorrect / (n - rejected) : null,
    ece,
    confusion,
    similarity: {
      right: quantiles(queries.filter((q) => q.right).map((q) => q.similarity)),
      wrong: quantiles(queries.filter((q) => !q.right).map((q) => q.similarity)),
    },
    sweeps: { minSimilarity: similarity, minConfidence: confidence },
    suggested,
  };
}
