// The last step of a search: ivf-pq's candidates re-scored with their full vectors, read from SQLite (a read-only
// connection of the thread that re-scores), then every hit's score kept to [-1, 1] and the best k ordered. The index
// worker does it for a search that came alone; the searches of a batch, and those sent while others were
// outstanding, go to the re-scoring workers (rescore-worker.ts), so that they re-score side by side while the index
// worker searches the next batch.
import Database from 'better-sqlite3';
import { storedDot } from '../../core/util/vector-format.js';
import { cosineScore } from '../../core/util/vectors.js';
import type { SearchHit } from './protocol.js';

/** What is left of a search once FAISS has answered: the staged vectors' exact hits and FAISS' hits, per query. */
export interface Rescoring {
  queries: Float32Array;
  k: number;
  exact: SearchHit[][];
  fromFaiss: SearchHit[][];
  /** The FAISS hits are candidates, to score with their stored vectors. */
  rescore: boolean;
}

export class StoredVectors {
  private db: Database.Database | null = null;
  private read: Database.Statement | null = null;

  constructor(
    private readonly database: string | undefined,
    private readonly modelId: string,
    private readonly kind: string,
  ) {}

  /** The stored vectors of these ids (those still in the database, as stored). */
  private vectors(idList: number[]): Map<number, Uint8Array> {
    if (!this.database)
      throw new Error(`${this.kind} re-scores its candidates with the stored vectors: the index needs its database`);
    if (!this.read) {
      this.db = new Database(this.database, { readonly: true, fileMustExist: true });
      this.db.pragma('busy_timeout = 5000');
      this.read =
        this.db.prepare(`SELECT e.image_id AS id, e.vector FROM embeddings e JOIN models m ON m.id = e.model_id
        WHERE m.model_id = ? AND e.image_id IN (SELECT value FROM json_each(?))`);
    }
    const rows = this.read.all(this.modelId, JSON.stringify(idList)) as { id: number; vector: Buffer }[];
    return new Map(rows.map((r) => [r.id, r.vector]));
  }

  /** Exact cosines of the candidates; one deleted from the database meanwhile drops out. */
  rescore(query: Float32Array, hits: SearchHit[]): SearchHit[] {
    const vectors = this.vectors(hits.map((h) => h.id));
    return hits.flatMap((h) => {
      const v = vectors.get(h.id);
      return v ? [{ id: h.id, score: storedDot(v, query) }] : [];
    });
  }

  /** The k best of each query, best first (score, then id). */
  finish(r: Rescoring): SearchHit[][] {
    const d = r.queries.length / r.exact.length;
    const fromFaiss = r.rescore
      ? r.fromFaiss.map((hits, q) => this.rescore(r.queries.subarray(q * d, (q + 1) * d), hits))
      : r.fromFaiss;
    // every score the index answers is made here: kept to [-1, 1] before it is ordered
    return r.exact.map((hits, q) =>
      [...hits, ...fromFaiss[q]!]
        .map((h) => ({ id: h.id, score: cosineScore(h.score) }))
        .sort((a, b) => b.score - a.score || a.id - b.id)
        .slice(0, r.k),
    );
  }

  close(): void {
    this.db?.close();
    this.db = null;
    this.read = null;
  }
}
