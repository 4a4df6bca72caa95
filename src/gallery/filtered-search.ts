// Search with filters and pages: exactly the k best images a filter keeps, by the method its selectivity calls for
// (an exact scan of the kept vectors from SQLite, or the index with an allow-list, over-fetching), after a cursor,
// by score or by date (README "Metadata, filters and pages").
import { LookalikeError } from '../errors.js';
import type { SearchHit } from '../index/protocol.js';
import type { ImageFilter, Store } from '../store/store.js';
import { cosineScore, dot } from '../util/vectors.js';
import type { SearchCursor, SearchOptions } from './gallery.js';

/** The index as far as search goes: the k nearest of each query vector, among `allow` when given. */
interface Searchable { search(vectors: Float32Array, k: number, allow?: number[]): Promise<SearchHit[][]> }

/** A filter that keeps at most this many images is scored exactly, over just its vectors read from SQLite; a wider
 *  one is searched in the index with the allow-list, over-fetching by the share it keeps (README "Metadata, filters and pages"). */
export const EXACT_SCAN_MAX = 4096;
/** sort=date orders every result above minScore: at most this many. */
export const DATE_SORT_MAX = 10_000;

/** Results in their order: score descending, then id ascending (the same on every page). */
const byScore = (a: SearchHit, b: SearchHit) => b.score - a.score || a.id - b.id;

/** Whether a hit comes after the cursor in its order (value descending, then id ascending for score, descending for date). */
function isAfter(h: { id: number }, cursor: SearchCursor | undefined, value: number, idOrder: 1 | -1 = 1): boolean {
  if (!cursor) return true;
  return value < cursor.value || (value === cursor.value && (h.id - cursor.id) * idOrder > 0);
}

export class FilteredSearch {
  constructor(private readonly store: Store, private readonly index: Searchable) {}

  /**
   * Exactly the k best hits the filter keeps (of those the index finds: all of them with flat), after the cursor;
   * sort=date: newest first among all that reach minScore. `next` is the cursor of the page after, or null.
   */
  async page(vector: Float32Array, opts: SearchOptions): Promise<{ hits: SearchHit[]; next: SearchCursor | null }> {
    const sort = opts.sort ?? 'score';
    if (opts.after && opts.after.sort !== sort) throw new LookalikeError('invalid_request', `the cursor is of a sort=${opts.after.sort} search, this one is sort=${sort}`);
    const rank = this.ranker(vector, opts);
    if (sort === 'score') {
      const seen = opts.after?.seen ?? 0;
      const hits = (await rank(seen + opts.k + 1)).filter((h) => h.score >= (opts.minScore ?? -Infinity) && isAfter(h, opts.after, h.score));
      const last = hits.length > opts.k ? hits[opts.k - 1] : undefined; // the key, even if that row was deleted meanwhile
      return { hits: hits.slice(0, opts.k), next: last ? { sort, value: last.score, id: last.id, seen: seen + opts.k } : null };
    }
    if (opts.minScore === undefined) throw new LookalikeError('invalid_request', 'sort=date orders the results that reach minScore: give minScore');
    const above = await this.allAbove(rank, opts.minScore, opts.k);
    const taken = this.store.takenMsOf(above.map((h) => h.id));
    const dated = above.map((h) => ({ ...h, ms: taken.get(h.id)! })).sort((a, b) => b.ms - a.ms || b.id - a.id);
    const after = dated.filter((h) => isAfter(h, opts.after, h.ms, -1));
    const last = after.length > opts.k ? after[opts.k - 1] : undefined;
    return { hits: after.slice(0, opts.k), next: last ? { sort, value: last.ms, id: last.id, seen: (opts.after?.seen ?? 0) + opts.k } : null };
  }

  /** The n best hits (score, then id) among those the filter keeps, by the method its selectivity calls for. */
  private ranker(vector: Float32Array, opts: SearchOptions): (n: number) => Promise<SearchHit[]> {
    const filter = opts.filter && Object.values(opts.filter).some((v) => v !== undefined) ? opts.filter : undefined;
    const drop = (hits: SearchHit[]) => hits.filter((h) => h.id !== opts.excludeId);
    if (filter && this.store.countFiltered(filter) <= EXACT_SCAN_MAX) {
      const scored = drop(this.exactScores(vector, filter)); // once: every page size takes its prefix
      return async (n) => scored.slice(0, n);
    }
    const allow = filter ? this.store.filteredIds(filter).filter((id) => id !== opts.excludeId) : undefined;
    // over-fetch by the share the filter keeps, so the index's widening loop (x4 until full) rarely needs a second pass
    const total = allow ? Math.max(1, this.store.counts().embedded) : 0;
    const overFetch = allow ? Math.ceil(1.5 * total / Math.max(1, allow.length)) : 1;
    const extra = opts.excludeId !== undefined ? 1 : 0;
    return async (n) => {
      const fetch = allow ? Math.min(total, n * overFetch) : n;
      const [hits] = await this.index.search(vector, fetch + extra, allow);
      return drop(hits!).sort(byScore).slice(0, n);
    };
  }

  /** Cosine of every kept image's stored vector (unit vectors: the inner product), best first. */
  private exactScores(query: Float32Array, filter: ImageFilter): SearchHit[] {
    const hits: SearchHit[] = [];
    for (const { id, vector } of this.store.filteredVectors(filter)) {
      hits.push({ id, score: Math.fround(cosineScore(dot(query, vector))) }); // float32, as the index answers
    }
    return hits.sort(byScore);
  }

  /** Every hit that reaches minScore (at most DATE_SORT_MAX): fetched in growing pages until one ends below it. */
  private async allAbove(rank: (n: number) => Promise<SearchHit[]>, minScore: number, k: number): Promise<SearchHit[]> {
    for (let n = Math.max(256, 4 * k); ; n *= 4) {
      const hits = await rank(Math.min(n, DATE_SORT_MAX + 1));
      const above = hits.filter((h) => h.score >= minScore);
      if (above.length > DATE_SORT_MAX) {
        throw new LookalikeError('invalid_request', `more than ${DATE_SORT_MAX} images reach minScore ${minScore}: raise minScore or narrow the filter to sort them by date`);
      }
      if (above.length < hits.length || hits.length < Math.min(n, DATE_SORT_MAX + 1)) return above;
    }
  }
}
