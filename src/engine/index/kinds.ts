// The FAISS index kinds lookalike offers. All use inner product on unit vectors, so scores are cosine similarities
// (approximate for ivf-sq8; ivf-pq re-scores its candidates with the stored vectors, so its scores are exact).
// There is no exhaustive SQ8 kind: Debian's libfaiss decodes SQ8 with scalar code, which makes it 4x slower than
// flat, and ivf-sq8 has the same memory per vector and is faster than both.
import type { INDEX_KINDS } from '../../core/config.js';

export type IndexKind = (typeof INDEX_KINDS)[number];

export interface IndexParams {
  hnswM: number;
  efSearch: number;
  nprobe: number;
  /** ivf-pq: candidates re-scored with the full vectors (LOOKALIKE_EXACT_CANDIDATES). */
  exactCandidates?: number;
  /** ivf-pq: read the database into the page cache in the background after a start (LOOKALIKE_WARM_UP). */
  warmUp?: boolean;
}

export interface KindSpec {
  /** faiss index_factory string for n vectors of dimension d. */
  factory(n: number, p: IndexParams, d: number): string;
  /** removeIds keeps the remaining vectors in order (flat); other kinds keep tombstones until a rebuild. */
  removable: boolean;
  /** Needs train() on data before add(). Until it has MIN_TRAIN vectors, they are searched exactly instead; once
   * the gallery has grown RETRAIN_GROWTH times past the size it was trained for, it is rebuilt and trained anew. */
  trained: boolean;
  /** Bytes per vector of dimension d, for the docs and the stats route (graph links and list ids included). */
  bytesPerVector(d: number, p: IndexParams): number;
  /** Re-scores its top candidates with the full vectors from SQLite: the scores it returns are exact cosines. */
  exact?: boolean;
}

export const MIN_TRAIN = 1000;
/** A trained kind is rebuilt in the background when the gallery holds this many times the vectors it was built for. */
export const RETRAIN_GROWTH = 4;
/** Any kind that keeps removed vectors as tombstones is rebuilt in the background past this share of them. */
export const MAX_TOMBSTONE_SHARE = 0.1;

/** Why an index should be rebuilt now, or null. */
export function rebuildReason(
  kind: IndexKind,
  s: { live: number; ntotal: number; tombstones: number; builtFor: number; staged: number },
): string | null {
  if (KINDS[kind].trained && s.staged === 0 && s.builtFor >= MIN_TRAIN && s.live >= RETRAIN_GROWTH * s.builtFor) {
    return `the gallery has grown to ${s.live} vectors, ${RETRAIN_GROWTH}x the ${s.builtFor} the index was trained for`;
  }
  if (s.ntotal > 0 && s.tombstones > MAX_TOMBSTONE_SHARE * s.ntotal) {
    return `${s.tombstones} of its ${s.ntotal} vectors are deleted ones (over ${100 * MAX_TOMBSTONE_SHARE}%)`;
  }
  return null;
}
/** Training uses at most this many vectors per IVF list (k-means on all of a large gallery takes many minutes here). */
export const TRAIN_PER_LIST = 64;

export function ivfLists(n: number): number {
  // ~sqrt(n) lists, and at least 39 training points per list (faiss warns below that)
  return Math.max(1, Math.min(Math.round(Math.sqrt(n)), Math.floor(n / 39)));
}

export const KINDS: Record<IndexKind, KindSpec> = {
  flat: { factory: () => 'Flat', removable: true, trained: false, bytesPerVector: (d) => 4 * d },
  hnsw: {
    factory: (_n, p) => `HNSW${p.hnswM}`,
    removable: false,
    trained: false,
    bytesPerVector: (d, p) => 4 * d + 8 * p.hnswM + 4 * p.hnswM,
  },
  'ivf-sq8': { factory: (n) => `IVF${ivfLists(n)},SQ8`, removable: false, trained: true, bytesPerVector: (d) => d + 8 },
  'ivf-pq': {
    factory: (n, _p, d) => `IVF${ivfLists(n)},PQ${pqSubvectors(d)}x4np`,
    removable: false,
    trained: true,
    bytesPerVector: (d) => Math.ceil(pqSubvectors(d) / 2) + 8,
    exact: true,
  },
};

/**
 * Product-quantizer sub-vectors: one 4-bit code per 8 dimensions, 256 bytes for 4096 dims (1/64 of F32). 4-bit
 * codes, not faiss' usual 8-bit per 16 dimensions (the same bytes): their k-means learns 16 centroids, not 256,
 * so training took 5 s for 10,000 vectors of 4096 dims here instead of 97 s; the exact re-scoring makes up the
 * coarser codes. The factory's `np`: no polysemous training (on by default for IVF-PQ, slow, and only for Hamming
 * pre-filtering, which lookalike does not do).
 */
export function pqSubvectors(d: number): number {
  let m = Math.max(1, Math.round(d / 8));
  while (d % m) m--; // faiss splits the dimensions evenly
  return m;
}

/** How many of n vectors to train a trained kind on. */
export function trainingSize(kind: IndexKind, n: number): number {
  if (kind === 'ivf-sq8' || kind === 'ivf-pq') return Math.min(n, TRAIN_PER_LIST * ivfLists(n));
  return Math.min(n, 100_000);
}
