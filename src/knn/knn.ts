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
  let reason: string | null = null;
  if (!best) reason = 'no labelled neighbours';
  else if (bestSimilarity! < opts.minSimilarity) reason = `best similarity ${bestSimilarity!.toFixed(3)} is below ${opts.minSimilarity}`;
  else if (confidence < opts.minConfidence) reason = `confidence ${confidence.toFixed(3)} is below ${opts.minConfidence}`;
  return {
    label: reason ? null : best!.label, candidate: best?.label ?? null, confidence, unknown: reason !== null, reason,
    bestSimilarity, votes, neighbours: voters,
  };
}

export interface Evaluation {
  n: number;
  accuracy: number; // top-1 of the candidate label, rejections aside
  rejected: number; // answered unknown
  acceptedAccuracy: number | null; // top-1 among the accepted answers
  ece: number; // expected calibration error of `confidence`, 10 equal-width bins
  confusion: Record<string, Record<string, number>>; // true label -> predicted label -> count
}

export function summarize(pairs: { truth: string; result: KnnResult }[]): Evaluation {
  const confusion: Record<string, Record<string, number>> = {};
  let correct = 0, rejected = 0, acceptedCorrect = 0;
  const bins = Array.from({ length: 10 }, () => ({ n: 0, conf: 0, correct: 0 }));
  for (const { truth, result } of pairs) {
    const predicted = result.candidate ?? '(none)';
    const row = (confusion[truth] ??= {});
    row[predicted] = (row[predicted] ?? 0) + 1;
    const ok = predicted === truth;
    if (ok) correct++;
    if (result.unknown) rejected++;
    else if (ok) acceptedCorrect++;
    const bin = bins[Math.min(9, Math.floor(result.confidence * 10))]!;
    bin.n++;
    bin.conf += result.confidence;
    bin.correct += ok ? 1 : 0;
  }
  const n = pairs.length;
  const ece = n ? bins.reduce((s, b) => s + (b.n ? (b.n / n) * Math.abs(b.correct / b.n - b.conf / b.n) : 0), 0) : 0;
  return {
    n, accuracy: n ? correct / n : 0, rejected, acceptedAccuracy: n - rejected ? acceptedCorrect / (n - rejected) : null, ece, confusion,
  };
}
