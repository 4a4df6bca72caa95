// Messages between VectorIndex (main thread) and the index worker.
import type { MessagePort } from 'node:worker_threads';
import type { IndexKind, IndexParams } from './kinds.js';

export interface IndexConfig {
  dir: string;
  kind: IndexKind;
  dim: number;
  modelId: string;
  params: IndexParams;
  /** FAISS threads for the queries of a batch, and as many re-scoring workers (ivf-pq) beside the index worker. */
  threads: number;
  /** The SQLite database holding the full vectors: a kind that re-scores (ivf-pq) reads its candidates there. */
  database?: string;
}

export type LoadStatus =
  | { status: 'loaded'; live: number; syncedSeq: number | null; ids: number[] | null } // ids only without a syncedSeq
  | { status: 'missing' | 'corrupt' | 'mismatch' | 'untrained'; reason: string };

export interface SearchHit {
  id: number;
  score: number;
}

export interface IndexStats {
  kind: IndexKind;
  dim: number;
  live: number; // vectors that can be returned
  ntotal: number; // vectors in the FAISS index, tombstones included
  tombstones: number; // removed vectors still in FAISS (kinds that cannot remove), filtered out until a rebuild
  staged: number; // waiting for enough vectors to train a compressed kind; searched exactly
  bytesPerVector: number;
  trainedOn: number; // vectors the quantizer was trained on
  builtFor: number; // vectors in the gallery when the index was built or trained (IVF lists are sized for them)
  fileBytesPerVector: number | null; // the index file's bytes per vector at its last save (measured, not modelled)
}

export interface IndexOps {
  configure(config: IndexConfig): void;
  load(): LoadStatus;
  beginBuild(): void;
  /** A trained kind, before a rebuild's adds: build the index for `total` vectors and train it on this sample, so
   * the adds go straight into FAISS instead of waiting in memory for training (16 GB at 1M). */
  train(total: number, sample: Float32Array): void;
  add(ids: number[], vectors: Float32Array): number;
  finishBuild(): void;
  remove(ids: number[]): number;
  search(queries: Float32Array, k: number, allowIds?: number[]): SearchHit[][];
  /**
   * `syncedSeq`: the database's last vector change this index holds (Store.changeSeq() when the save was asked for).
   */
  save(syncedSeq: number): void;
  /** Ports to the re-scoring workers, which finish the searches of a batch (rescore.ts). */
  connectRescorers(ports: MessagePort[]): void;
  liveIds(): number[];
  /**
   * Deletes temporary files that a save cut short left behind (a writer's, at open: the data folder's lock is held).
   */
  removeLeftovers(): number;
  adopt(dir: string): number;
  stats(): IndexStats;
}

/** `concurrent`: other calls were outstanding when this one was sent (a search then re-scores on the re-scoring
 *  workers, so the index worker is free for the next). */
export type Request = {
  [Op in keyof IndexOps]: { seq: number; op: Op; args: Parameters<IndexOps[Op]>; concurrent?: boolean };
}[keyof IndexOps];
/** `batched`: a search answered in a batch with others. */
export type Response = (
  | { seq: number; ok: true; result: unknown }
  | { seq: number; ok: false; error: string; code?: string }
) & { batched?: true };
