// How well the labelled gallery classifies itself: leave-one-out weighted KNN (accuracy, confusion, calibration), and
// the zero-shot temperature that fits its images best; KNN, the linear probe and zero-shot side by side. Read from any
// labelled vector source (the gallery).
import {
  classify,
  expectedCalibrationError,
  summarize,
  type Evaluation,
  type KnnOptions,
  type KnnResult,
} from './knn.js';
import { crossValidate, toProbeData } from './probe.js';
import { fitTemperature, labelCosines, LabelVectors, zeroShot, type WordEmbedder } from './zero-shot.js';

/** What evaluation reads: the labelled vectors in batches, and the nearest labelled neighbours of query vectors. */
export interface LabelledVectors {
  labelledVectors(batchSize?: number): Iterable<{ ids: number[]; labels: string[]; vectors: Float32Array }>;
  nearestLabelled(vectors: Float32Array, k: number): Promise<{ id: number; score: number; label: string | null }[][]>;
  labels(): { label: string; count: number }[];
}

/** Leave-one-out KNN over the labelled gallery: each labelled image classified by the others. */
export async function leaveOneOut(source: LabelledVectors, knn: KnnOptions): Promise<Evaluation> {
  const pairs: { truth: string; result: KnnResult }[] = [];
  for (const batch of source.labelledVectors(256)) {
    const perQuery = await source.nearestLabelled(batch.vectors, knn.k + 1);
    perQuery.forEach((hits, q) => {
      const neighbours = hits.filter((h) => h.id !== batch.ids[q]).slice(0, knn.k);
      pairs.push({ truth: batch.labels[q]!, result: classify(neighbours, knn) });
    });
  }
  return summarize(pairs);
}

/** Zero-shot over the gallery's own label names for every labelled image, and the temperature that fits them best. */
export async function calibrateZeroShot(source: LabelledVectors, embedder: WordEmbedder, template: string) {
  const labels = source.labels().map((l) => l.label);
  const { vectors: labelVectors } = await new LabelVectors(embedder, template).of(labels);
  const cosines: number[][] = [],
    truth: number[] = [];
  for (const batch of source.labelledVectors()) {
    const dim = batch.vectors.length / batch.ids.length;
    batch.labels.forEach((label, i) => {
      cosines.push(labelCosines(batch.vectors.subarray(i * dim, (i + 1) * dim), labelVectors));
      truth.push(labels.indexOf(label));
    });
  }
  return { labels: labels.length, ...fitTemperature(cosines, truth) };
}

export interface ClassifierRow {
  classifier: string;
  measured: string;
  accuracy: number;
  ece: number;
}

/** KNN (leave-one-out), the probe (k-fold cross-validated, as the server trains it) and zero-shot (with an embedder
 *  of words), on the same labelled images. */
export async function compareClassifiers(
  source: LabelledVectors,
  knn: Evaluation,
  words: WordEmbedder | null,
  zs: { template: string; temperature: number; minProbability: number },
): Promise<ClassifierRow[]> {
  const rows: ClassifierRow[] = [
    { classifier: 'KNN', measured: 'leave-one-out', accuracy: knn.accuracy, ece: knn.ece },
  ];
  const labels: string[] = [],
    batches: Float32Array[] = [];
  for (const b of source.labelledVectors()) {
    labels.push(...b.labels);
    batches.push(b.vectors);
  }
  const classes = [...new Set(labels)].sort();
  if (classes.length < 2) return rows;
  const x = new Float32Array(batches.reduce((n, b) => n + b.length, 0));
  batches.reduce((at, b) => {
    x.set(b, at);
    return at + b.length;
  }, 0);
  const width = x.length / labels.length;
  const cv = crossValidate(toProbeData(width, labels, x));
  rows.push({
    classifier: 'probe',
    measured: `${cv.folds}-fold cross-validation (lambda ${cv.lambda})`,
    accuracy: cv.accuracy,
    ece: cv.ece,
  });
  if (words) {
    const { vectors } = await new LabelVectors(words, zs.template).of(classes);
    const answers = labels.map((truth, i) => {
      const z = zeroShot(x.subarray(i * width, (i + 1) * width), classes, vectors, {
        temperature: zs.temperature,
        minProbability: zs.minProbability,
      });
      return { confidence: z.probability, right: z.candidate === truth };
    });
    rows.push({
      classifier: 'zero-shot',
      measured: `no training: every labelled image (T ${zs.temperature})`,
      accuracy: answers.filter((a) => a.right).length / answers.length,
      ece: expectedCalibrationError(answers),
    });
  }
  return rows;
}
