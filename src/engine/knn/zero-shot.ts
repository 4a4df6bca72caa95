// Zero-shot classification: with an embedder that puts words and images in one space, each class name becomes a
// text ("a photo of {label}"), and an image's class probabilities are a softmax of its cosine to each text over a
// temperature. No labelled examples needed, which is also its weakness next to KNN: see trustedAnswer().
import { outOfSet, type KnnResult } from './knn.js';
import type { ProbeAnswer } from './probe.js';

export interface ZeroShotOptions {
  template: string;
  temperature: number;
  minProbability: number;
}

export interface ZeroShotResult {
  label: string | null; // null when unknown
  candidate: string | null; // the most probable label, even when rejected
  probability: number;
  unknown: boolean;
  reason: string | null;
  scores: { label: string; cosine: number; probability: number }[]; // most probable first; probabilities sum to 1
}

/** The cosine of a unit image vector to each label's unit text vector. */
export function labelCosines(image: Float32Array, labelVectors: Float32Array[]): number[] {
  return labelVectors.map((v) => image.reduce((s, x, i) => s + x * v[i]!, 0));
}

export function zeroShot(
  image: Float32Array,
  labels: string[],
  labelVectors: Float32Array[],
  opts: Omit<ZeroShotOptions, 'template'>,
): ZeroShotResult {
  const cosines = labelCosines(image, labelVectors);
  const top = Math.max(...cosines); // subtracted: exp() stays in range at any temperature
  const weights = cosines.map((c) => Math.exp((c - top) / opts.temperature));
  const total = weights.reduce((a, b) => a + b, 0);
  const scores = labels
    .map((label, i) => ({ label, cosine: cosines[i]!, probability: weights[i]! / total }))
    .sort((a, b) => b.probability - a.probability || a.label.localeCompare(b.label));
  const best = scores[0]!;
  const unknown = best.probability < opts.minProbability;
  return {
    label: unknown ? null : best.label,
    candidate: best.label,
    probability: best.probability,
    unknown,
    reason: unknown ? `top probability ${best.probability.toFixed(3)} is below ${opts.minProbability}` : null,
    scores,
  };
}

/**
 * Which answer to trust when several exist. Derived from bench:quality on the trained demo models (README, "Which
 * answer is trusted"): with 50 or 100 labelled pictures per class the linear probe was as right as KNN or more (+0 to
 * +2 points) and better calibrated; with 3 to 30 per class it was not (-0.5 to -1 point). So the probe is trusted when
 * every class it knows had at least PROBE_MIN_PER_CLASS labelled pictures. Otherwise KNN, which learns from this
 * gallery's own pictures, is trusted when it gave an answer (not unknown) backed by at least MIN_KNN_SUPPORT neighbours
 * of the winning class; otherwise (few examples, an open-set rejection, no labels) zero-shot is.
 */
export const MIN_KNN_SUPPORT = 3;
export const PROBE_MIN_PER_CLASS = 50;
export function trustedAnswer(
  knn: KnnResult | null,
  zs: ZeroShotResult | null,
  probe: ProbeAnswer | null = null,
): 'knn' | 'probe' | 'zero-shot' | null {
  if (probe && probe.fewestPerClass >= PROBE_MIN_PER_CLASS) return 'probe';
  if (knn && !knn.unknown && (knn.votes[0]?.count ?? 0) >= MIN_KNN_SUPPORT) return 'knn';
  if (zs) return 'zero-shot';
  return knn ? 'knn' : null;
}

/** The answer to go by: the trusted method's, with the open-set rejection KNN makes applied to it too. */
export interface TrustedResult {
  from: 'knn' | 'probe' | 'zero-shot';
  label: string | null; // null when unknown
  candidate: string | null; // the method's top label, even when rejected
  confidence: number; // KNN's vote share, the probe's or zero-shot's probability
  unknown: boolean;
  reason: string | null;
}

/**
 * The trusted method's answer, with open-set rejection whichever method it is. A picture far from every labelled one
 * (KNN's best similarity under its threshold) is unknown: the probe and zero-shot over the gallery's labels always
 * pick one of those labels. The probe's answer is also unknown when its probability is under the cut KNN's vote share
 * has (a white square came out "ankle boot" at 0.49), as zero-shot's is under its own. Zero-shot over labels given
 * with the request is not judged by the gallery's pictures.
 */
export function trustedResult(
  trusted: ReturnType<typeof trustedAnswer>,
  knn: KnnResult,
  zs: ZeroShotResult | null,
  probe: ProbeAnswer | null,
  opts: { minSimilarity: number; minConfidence: number; galleryLabels: boolean },
): TrustedResult | null {
  const far = outOfSet(knn.bestSimilarity, opts.minSimilarity);
  type From = TrustedResult['from'];
  const result = (from: From, candidate: string | null, confidence: number, reason: string | null): TrustedResult => ({
    from,
    label: reason ? null : candidate,
    candidate,
    confidence,
    unknown: reason !== null,
    reason,
  });
  if (trusted === 'probe' && probe) {
    const unsure =
      probe.probability < opts.minConfidence
        ? `probe probability ${probe.probability.toFixed(3)} is below ${opts.minConfidence}`
        : null;
    return result('probe', probe.label, probe.probability, far ?? unsure);
  }
  if (trusted === 'zero-shot' && zs) {
    return result('zero-shot', zs.candidate, zs.probability, zs.reason ?? (opts.galleryLabels ? far : null));
  }
  if (trusted === 'knn') return result('knn', knn.candidate, knn.confidence, knn.reason);
  return null;
}

/** What zero-shot needs of an embedder: words into the images' space, and the model's id for the cache. */
export interface WordEmbedder {
  identity: { modelId: string };
  embedText(text: string): Promise<Float32Array>;
}

/**
 * Label texts embedded once per (model, text), kept for later requests (the oldest go past `max`). A new label costs
 * one text encode (8.5 ms on the demo model, about 0.65 s on Qwen3-VL-Embedding-2B on 2 CPU cores), so callers bound
 * how many new ones a request may bring (missing()), and pass a signal that stops the work when nobody waits for it.
 */
export class LabelVectors {
  private readonly cache = new Map<string, Float32Array>();

  constructor(
    private readonly embedder: WordEmbedder,
    private readonly template: string,
    private readonly max = 10_000,
  ) {}

  private key(label: string): string {
    return `${this.embedder.identity.modelId}\n${this.template.replaceAll('{label}', label)}`;
  }

  /** How many of `labels` are not embedded yet. */
  missing(labels: string[]): number {
    return labels.filter((l) => !this.cache.has(this.key(l))).length;
  }

  /** Each label's vector; `embedded`: how many were new. Stops between labels once `signal` is aborted. */
  async of(labels: string[], signal?: AbortSignal): Promise<{ vectors: Float32Array[]; embedded: number }> {
    const vectors: Float32Array[] = [];
    let embedded = 0;
    for (const label of labels) {
      const key = this.key(label);
      let v = this.cache.get(key);
      if (!v) {
        if (signal?.aborted) throw new LabelsStoppedError(embedded, this.missing(labels));
        v = await this.embedder.embedText(this.template.replaceAll('{label}', label));
        embedded++;
        if (this.cache.size >= this.max) this.cache.delete(this.cache.keys().next().value!);
        this.cache.set(key, v);
      }
      vectors.push(v);
    }
    return { vectors, embedded };
  }
}

/** The labels' work was stopped (the client went away): what was embedded stays cached. */
export class LabelsStoppedError extends Error {
  constructor(
    readonly embedded: number,
    readonly left: number,
  ) {
    super(`stopped after ${embedded} new labels, ${left} left`);
  }
}

/**
 * The temperature that makes zero-shot probabilities honest on labelled images: the value on a log grid that
 * minimises the mean negative log-likelihood of the true label (cosines: one row per image, one column per label).
 */
export function fitTemperature(
  cosines: number[][],
  truth: number[],
): { temperature: number; nll: number; accuracy: number } {
  let best = { temperature: 1, nll: Infinity };
  for (let t = 0.002; t <= 1; t *= 1.25) {
    let nll = 0;
    cosines.forEach((row, i) => {
      const top = Math.max(...row);
      const z = row.reduce((s, c) => s + Math.exp((c - top) / t), 0);
      nll -= (row[truth[i]!]! - top) / t - Math.log(z);
    });
    nll /= cosines.length;
    if (nll < best.nll) best = { temperature: Number(t.toPrecision(3)), nll };
  }
  const accuracy = cosines.filter((row, i) => row.indexOf(Math.max(...row)) === truth[i]).length / cosines.length;
  return { ...best, accuracy };
}
