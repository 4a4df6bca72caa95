// How well the labelled gallery classifies itself: leave-one-out weighted KNN (accuracy, confusion, calibration), and
// the zero-shot temperature that fits its images best. Read from any labelled vector source (the gallery).
import { classify, summarize, type Evaluation, type KnnOptions, type KnnResult } from './knn.js';
import { fitTemperature, labelCosines, LabelVectors, type WordEmbedder } from './zero-shot.js';

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
  const cosines: number[][] = [], truth: number[] = [];
  for (const batch of source.labelledVectors()) {
    const dim = batch.vectors.length / batch.ids.length;
    batch.labels.forEach((label, i) => {
      cosines.push(labelCosines(batch.vectors.subarray(i * dim, (i + 1) * dim), labelVectors));
      truth.push(labels.indexOf(label));
    });
  }
  return { labels: labels.length, ...fitTemperature(cosines, truth) };
}
