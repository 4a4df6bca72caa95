// The FAISS index kinds lookalike offers. All use inner product on unit vectors, so scores are cosine similarities
// (approximate for the compressed kinds).
export type IndexKind = 'flat' | 'hnsw' | 'sq8' | 'ivf-sq8';

export interface IndexParams {
  hnswM: number;
  efSearch: number;
  nprobe: number;
}

export interface KindSpec {
  /** faiss index_factory string for n vectors. */
  factory(n: number, p: IndexParams): string;
  /** removeIds keeps the remaining vectors in order (flat); other kinds keep tombstones until a rebuild. */
  removable: boolean;
  /** Needs train() on data before add(). Until it has MIN_TRAIN vectors, they are searched exactly instead. */
  trained: boolean;
  /** Bytes per vector of dimension d, for the docs and the stats route (graph links and list ids included). */
  bytesPerVector(d: number, p: IndexParams): number;
}

export const MIN_TRAIN = 1000;
/** Training uses at most this many vectors per IVF list (k-means on all of a large gallery takes many minutes here). */
export const TRAIN_PER_LIST = 64;

export function ivfLists(n: number): number {
  // ~sqrt(n) lists, and at least 39 training points per list (faiss warns below that)
  return Math.max(1, Math.min(Math.round(Math.sqrt(n)), Math.floor(n / 39)));
}

export const KINDS: Record<IndexKind, KindSpec> = {
  flat: { factory: () => 'Flat', removable: true, trained: false, bytesPerVector: (d) => 4 * d },
  hnsw: { factory: (_n, p) => `HNSW${p.hnswM}`, removable: false, trained: false, bytesPerVector: (d, p) => 4 * d + 8 * p.hnswM + 4 * p.hnswM },
  sq8: { factory: () => 'SQ8', removable: false, trained: true, bytesPerVector: (d) => d },
  'ivf-sq8': { factory: (n) => `IVF${ivfLists(n)},SQ8`, removable: false, trained: true, bytesPerVector: (d) => d + 8 },
};

/** How many of n vectors to train a trained kind on. */
export function trainingSize(kind: IndexKind, n: number): number {
  return kind === 'ivf-sq8' ? Math.min(n, TRAIN_PER_LIST * ivfLists(n)) : Math.min(n, 100_000);
};
