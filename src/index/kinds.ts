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

export function ivfLists(n: number): number {
  // ~4 sqrt(n) lists, but at least 39 training points per list (faiss warns below that)
  return Math.max(1, Math.min(Math.round(4 * Math.sqrt(n)), Math.floor(n / 39)));
}

export const KINDS: Record<IndexKind, KindSpec> = {
  flat: { factory: () => 'Flat', removable: true, trained: false, bytesPerVector: (d) => 4 * d },
  hnsw: { factory: (_n, p) => `HNSW${p.hnswM}`, removable: false, trained: false, bytesPerVector: (d, p) => 4 * d + 8 * p.hnswM + 4 * p.hnswM },
  sq8: { factory: () => 'SQ8', removable: false, trained: true, bytesPerVector: (d) => d },
  'ivf-sq8': { factory: (n) => `IVF${ivfLists(n)},SQ8`, removable: false, trained: true, bytesPerVector: (d) => d + 8 },
};
