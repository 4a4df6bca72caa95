// A linear probe: multinomial logistic regression (softmax) over the gallery's labelled vectors, the classifier the
// method puts beside KNN. Its L2 strength is chosen by stratified k-fold cross-validation (the lowest held-out log-loss
// on a small grid), then it is fitted once more on all the labelled vectors. Written by hand: the npm libraries
// considered (ml-logistic-regression: one-vs-all sigmoids, no L2, 50,000 fixed gradient steps; TensorFlow.js: a large
// framework for one small convex fit) did not fit; see the README. The fit is L-BFGS on the mean negative
// log-likelihood plus (lambda / 2) |W|^2 (the biases are not shrunk).
import { createHash } from 'node:crypto';
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { EncoderIdentity } from '../../core/identity.js';
import { expectedCalibrationError } from './knn.js';

/** Labelled vectors: row i of `x` (n x dim) has class `y[i]`, an index into `labels`. */
export interface ProbeData {
  labels: string[];
  dim: number;
  x: Float32Array;
  y: Int32Array;
}

export interface Probe {
  format: typeof FORMAT;
  modelId: string;
  labels: string[]; // sorted
  dim: number;
  /** Row c: the weights of labels[c], then its bias (dim + 1 per class). */
  weights: Float32Array;
  lambda: number;
  /** What it was trained on: a hash of the model id and every labelled image's id and label. */
  stamp: string;
  trainedOn: number;
  /** Labelled vectors of each class, in the order of `labels`. */
  examples: number[];
  crossValidation: CrossValidation;
  trainedAt: string;
}

/** What a training thread is given, and what it posts back. */
export interface ProbeJob {
  dataDir: string;
  identity: EncoderIdentity;
  knownStamp: string | null;
}
export type ProbeOutcome =
  | { kind: 'trained'; probe: Probe }
  | { kind: 'unchanged' }
  | { kind: 'too-few'; classes: number };

export interface CrossValidation {
  folds: number;
  /** Each grid value's held-out log-loss and accuracy, averaged over all held-out vectors. */
  grid: { lambda: number; logLoss: number; accuracy: number }[];
  /** At the chosen lambda: top-1 accuracy and calibration error of the held-out predictions. */
  accuracy: number;
  ece: number;
}

export interface ProbeAnswer {
  label: string;
  probability: number;
  scores: { label: string; probability: number }[]; // most probable first; probabilities sum to 1
  trainedOn: number;
  /** The fewest labelled vectors any class had: trustedAnswer() goes by the probe only when there were enough. */
  fewestPerClass: number;
}

const FORMAT = 1;
export const LAMBDAS = [1e-5, 1e-4, 1e-3, 1e-2, 1e-1];
export const FOLDS = 5;
export const PROBE_FILE = 'probe.json';

/** A hash of what a probe is trained on, so a persisted one can tell whether the labels changed since. */
export function labelStamp(modelId: string, rows: { id: number; label: string }[]): string {
  const h = createHash('sha256').update(`${modelId}\n`);
  for (const r of rows) h.update(`${r.id}\t${r.label}\n`);
  return h.digest('hex');
}

/** The class probabilities of row `offset` of x under weights w (C rows of dim + 1), into `out`. */
function softmaxInto(
  w: Float64Array,
  classes: number,
  dim: number,
  x: Float32Array,
  offset: number,
  out: Float64Array,
): void {
  let top = -Infinity;
  for (let c = 0, row = 0; c < classes; c++, row += dim + 1) {
    let z = w[row + dim]!;
    for (let j = 0; j < dim; j++) z += w[row + j]! * x[offset + j]!;
    out[c] = z;
    if (z > top) top = z;
  }
  let sum = 0;
  for (let c = 0; c < classes; c++) {
    const e = Math.exp(out[c]! - top);
    out[c] = e;
    sum += e;
  }
  for (let c = 0; c < classes; c++) out[c] = out[c]! / sum;
}

/** Mean NLL + L2 of weights w over the rows `rows`, and its gradient into `grad`. */
function lossAndGradient(
  w: Float64Array,
  grad: Float64Array,
  data: ProbeData,
  rows: Int32Array,
  lambda: number,
): number {
  const C = data.labels.length,
    D = data.dim,
    x = data.x,
    p = new Float64Array(C);
  grad.fill(0);
  let loss = 0;
  for (let r = 0; r < rows.length; r++) {
    const i = rows[r]!,
      offset = i * D,
      y = data.y[i]!;
    softmaxInto(w, C, D, x, offset, p);
    loss -= Math.log(Math.max(p[y]!, 1e-300));
    p[y] = p[y]! - 1; // now the gradient of the loss by each class's logit
    for (let c = 0, row = 0; c < C; c++, row += D + 1) {
      const g = p[c]!;
      for (let j = 0; j < D; j++) grad[row + j] = grad[row + j]! + g * x[offset + j]!;
      grad[row + D] = grad[row + D]! + g;
    }
  }
  const n = rows.length;
  let l2 = 0;
  for (let c = 0, row = 0; c < C; c++, row += D + 1) {
    for (let j = 0; j < D; j++) {
      const k = row + j;
      l2 += w[k]! * w[k]!;
      grad[k] = grad[k]! / n + lambda * w[k]!;
    }
    grad[row + D] = grad[row + D]! / n;
  }
  return loss / n + (lambda / 2) * l2;
}

const dot = (a: Float64Array, b: Float64Array) => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
};

/**
 * Minimises the regularised loss over `rows` with L-BFGS (10 pairs of history, backtracking line search), from `start`
 * (a warm start from a neighbouring lambda converges in a fraction of the steps).
 */
export function fitSoftmax(
  data: ProbeData,
  rows: Int32Array,
  lambda: number,
  start?: Float64Array,
  maxIterations = 300,
): Float64Array {
  const size = data.labels.length * (data.dim + 1);
  const w = start ? Float64Array.from(start) : new Float64Array(size);
  if (!rows.length) return w; // a fold of a tiny gallery can leave nothing to train on: uniform probabilities
  const g = new Float64Array(size),
    gNext = new Float64Array(size),
    wNext = new Float64Array(size),
    dir = new Float64Array(size);
  const history: { s: Float64Array; y: Float64Array; rho: number }[] = [];
  let loss = lossAndGradient(w, g, data, rows, lambda);
  for (let it = 0; it < maxIterations; it++) {
    if (Math.sqrt(dot(g, g)) < 1e-4) break;
    // two-loop recursion: dir = -H g
    dir.set(g);
    const alphas: number[] = [];
    for (let k = history.length - 1; k >= 0; k--) {
      const h = history[k]!;
      const a = h.rho * dot(h.s, dir);
      alphas[k] = a;
      for (let i = 0; i < size; i++) dir[i]! -= a * h.y[i]!;
    }
    const last = history[history.length - 1];
    const gamma = last ? dot(last.s, last.y) / dot(last.y, last.y) : 1 / Math.max(1, Math.sqrt(dot(g, g)));
    for (let i = 0; i < size; i++) dir[i]! *= gamma;
    for (let k = 0; k < history.length; k++) {
      const h = history[k]!;
      const b = h.rho * dot(h.y, dir);
      for (let i = 0; i < size; i++) dir[i]! += h.s[i]! * (alphas[k]! - b);
    }
    for (let i = 0; i < size; i++) dir[i] = -dir[i]!;
    let slope = dot(g, dir);
    if (slope >= 0) {
      history.length = 0;
      for (let i = 0; i < size; i++) dir[i] = -g[i]!;
      slope = dot(g, dir);
    } // not a descent direction: restart
    let step = 1,
      next = Infinity;
    for (let tries = 0; tries < 30; tries++, step /= 2) {
      for (let i = 0; i < size; i++) wNext[i] = w[i]! + step * dir[i]!;
      next = lossAndGradient(wNext, gNext, data, rows, lambda);
      if (next <= loss + 1e-4 * step * slope) break; // Armijo
    }
    if (!(next < loss)) break; // no progress left at double precision
    const s = new Float64Array(size),
      y = new Float64Array(size);
    for (let i = 0; i < size; i++) {
      s[i] = wNext[i]! - w[i]!;
      y[i] = gNext[i]! - g[i]!;
    }
    const sy = dot(s, y);
    if (sy > 1e-12) {
      history.push({ s, y, rho: 1 / sy });
      if (history.length > 10) history.shift();
    }
    const improvement = loss - next;
    w.set(wNext);
    g.set(gNext);
    loss = next;
    if (improvement < 1e-6 * Math.max(1, Math.abs(loss))) break;
  }
  return w;
}

/** Stratified folds: each class's rows dealt round-robin, so every fold holds about the same share of each class. */
function foldOf(y: Int32Array, folds: number): Int32Array {
  const seen = new Map<number, number>(),
    out = new Int32Array(y.length);
  y.forEach((c, i) => {
    const k = seen.get(c) ?? 0;
    out[i] = k % folds;
    seen.set(c, k + 1);
  });
  return out;
}

/**
 * k-fold cross-validation over the lambda grid: each fold is predicted by a probe fitted on the others. Returns the
 * lambda with the lowest held-out log-loss and, at that lambda, each row's held-out class probabilities.
 */
export function crossValidate(
  data: ProbeData,
  lambdas = LAMBDAS,
  folds = FOLDS,
): CrossValidation & { lambda: number; heldOut: Float64Array[] } {
  const n = data.y.length,
    C = data.labels.length;
  folds = Math.max(2, Math.min(folds, n));
  const fold = foldOf(data.y, folds);
  const perLambda = lambdas.map(() => ({ logLoss: 0, right: 0, probs: new Array<Float64Array>(n) }));
  for (let f = 0; f < folds; f++) {
    const train = Int32Array.from({ length: n }, (_, i) => i).filter((i) => fold[i] !== f);
    const test = Int32Array.from({ length: n }, (_, i) => i).filter((i) => fold[i] === f);
    let w: Float64Array | undefined;
    // strongest first: each fit starts from the smoother solution of the previous lambda
    for (const li of [...lambdas.keys()].sort((a, b) => lambdas[b]! - lambdas[a]!)) {
      w = fitSoftmax(data, train, lambdas[li]!, w);
      for (const i of test) {
        const p = new Float64Array(C);
        softmaxInto(w, C, data.dim, data.x, i * data.dim, p);
        const acc = perLambda[li]!;
        acc.logLoss -= Math.log(Math.max(p[data.y[i]!]!, 1e-300));
        if (argmax(p) === data.y[i]) acc.right++;
        acc.probs[i] = p;
      }
    }
  }
  const grid = lambdas.map((lambda, li) => ({
    lambda,
    logLoss: perLambda[li]!.logLoss / n,
    accuracy: perLambda[li]!.right / n,
  }));
  const best = grid.reduce((a, b) => (b.logLoss < a.logLoss ? b : a));
  const heldOut = perLambda[lambdas.indexOf(best.lambda)]!.probs;
  const ece = expectedCalibrationError(
    heldOut.map((p, i) => ({ confidence: p[argmax(p)]!, right: argmax(p) === data.y[i] })),
  );
  return { folds, grid, accuracy: best.accuracy, ece, lambda: best.lambda, heldOut };
}

function argmax(p: ArrayLike<number>): number {
  let best = 0;
  for (let c = 1; c < p.length; c++) if (p[c]! > p[best]!) best = c;
  return best;
}

/** Cross-validates lambda, then fits on every row. Needs at least 2 classes. */
export function trainProbe(data: ProbeData, meta: { modelId: string; stamp: string }): Probe {
  const cv = crossValidate(data);
  const all = Int32Array.from({ length: data.y.length }, (_, i) => i);
  const w = fitSoftmax(data, all, cv.lambda);
  return {
    format: FORMAT,
    modelId: meta.modelId,
    labels: data.labels,
    dim: data.dim,
    weights: Float32Array.from(w),
    lambda: cv.lambda,
    stamp: meta.stamp,
    trainedOn: data.y.length,
    examples: data.labels.map((_, c) => data.y.filter((y) => y === c).length),
    crossValidation: { folds: cv.folds, grid: cv.grid, accuracy: cv.accuracy, ece: cv.ece },
    trainedAt: new Date().toISOString(),
  };
}

export function predictProbe(probe: Probe, vector: Float32Array): ProbeAnswer {
  const p = new Float64Array(probe.labels.length);
  softmaxInto(Float64Array.from(probe.weights), probe.labels.length, probe.dim, vector, 0, p);
  const scores = probe.labels
    .map((label, c) => ({ label, probability: p[c]! }))
    .sort((a, b) => b.probability - a.probability || a.label.localeCompare(b.label));
  return {
    label: scores[0]!.label,
    probability: scores[0]!.probability,
    scores,
    trainedOn: probe.trainedOn,
    fewestPerClass: Math.min(...probe.examples),
  };
}

/** Labelled rows as probe data: classes sorted by name. */
export function toProbeData(dim: number, labels: string[], vectors: Float32Array): ProbeData {
  const classes = [...new Set(labels)].sort();
  const index = new Map(classes.map((l, i) => [l, i]));
  return { labels: classes, dim, x: vectors, y: Int32Array.from(labels, (l) => index.get(l)!) };
}

/** Writes the probe whole: a temporary file, fsynced, renamed over the old one. */
export function saveProbe(dir: string, probe: Probe): void {
  const path = join(dir, PROBE_FILE),
    tmp = `${path}.tmp`;
  const text = JSON.stringify({
    ...probe,
    weights: Buffer.from(probe.weights.buffer, probe.weights.byteOffset, probe.weights.byteLength).toString('base64'),
  });
  const fd = openSync(tmp, 'w');
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
}

/** The persisted probe, or null when there is none or it cannot be read. */
export function loadProbe(dir: string): Probe | null {
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(readFileSync(join(dir, PROBE_FILE), 'utf8'));
  } catch {
    return null;
  }
  if (raw.format !== FORMAT || typeof raw.weights !== 'string') return null;
  const bytes = Buffer.from(raw.weights, 'base64');
  const weights = new Float32Array(bytes.byteLength / 4);
  Buffer.from(weights.buffer).set(bytes);
  const probe = { ...raw, weights } as unknown as Probe;
  return weights.length === probe.labels.length * (probe.dim + 1) ? probe : null;
}
