// Search with filters and pages: exactly the k best images a filter keeps, by the method its selectivity calls for
// (an exact scan of the kept vectors from SQLite, or the index with an allow-list), after a cursor's key,
// by score or by date (README "Metadata, filters and pages").
import type { ImageFilter } from '../../core/domain/records.js';
import type { SearchCursor, SearchOptions } from '../../core/domain/search.js';
import { LookalikeError } from '../../core/errors.js';
import type { SearchHit } from '../index/protocol.js';
import type { Store } from '../store/store.js';
import { span } from '../../core/util/tracing.js';
import { cosineScore, dot } from '../../core/util/vectors.js';

/** The index as far as search goes: the k nearest of each query vector, among `allow` when given. */
interface Searchable {
  search(vectors: Float32Array, k: number, allow?: number[]): Promise<SearchHit[][]>;
}

/** A filter that keeps at most this many images is scored exactly, over just its vectors read from SQLite; a wider
 *  one is searched in the index with the allow-list (README "Metadata, filters and pages"). */
export const EXACT_SCAN_MAX = 4096;
/** sort=date orders every result above minScore: at most this many. */
export const DATE_SORT_MAX = 10_000;
/** How far an index's score may be from the exact one and still count as the same rank (float32 sums in another
 *  order differ in their last bits): hits within this of the deepest one fetched wait for a deeper fetch. */
const SCORE_TOLERANCE = 1e-5;

/** Results in their order: score descending, then id ascending (the same on every page). */
const byScore = (a: SearchHit, b: SearchHit) => b.score - a.score || a.id - b.id;

/** The score every page compares: the float32 cosine with the stored vector, whichever way the hit was found (an
 *  exact scan, or any index kind, ivf-sq8's approximate scores included), so a cursor's key means the same on the
 *  page after even when the filter's method or the index changed in between. */
const exactScore = (query: Float32Array, stored: Float32Array) => Math.fround(cosineScore(dot(query, stored)));

/**
 * Whether a hit comes after the cursor in its order (value descending, then id ascending for score, descending for
 * date).
 */
function isAfter(h: { id: number }, cursor: SearchCursor | undefined, value: number, idOrder: 1 | -1 = 1): boolean {
  if (!cursor) return true;
  return value < cursor.value || (value === cursor.value && (h.id - cursor.id) * idOrder > 0);
}

/** The best hits, best first with exact scores, as deep as asked or deeper; `complete`: there are no more. */
type Ranker = (depth: number) => Promise<{ hits: SearchHit[]; complete: boolean }>;

export class FilteredSearch {
  constructor(
    private readonly store: Store,
    private readonly index: Searchable,
  ) {}

  /**
   * Exactly the k best hits the filter keeps (of those the index finds: all of them with flat), after the cursor's
   * key; sort=date: newest first among all that reach minScore. `next` is the cursor of the page after, or null.
   * Pages are found by the key, never by position, so images added, removed or relabelled between two pages move
   * no other image across a page boundary.
   */
  async page(vector: Float32Array, opts: SearchOptions): Promise<{ hits: SearchHit[]; next: SearchCursor | null }> {
    const sort = opts.sort ?? 'score';
    if (opts.after && opts.after.sort !== sort)
      throw new LookalikeError(
        'invalid_request',
        `the cursor is of a sort=${opts.after.sort} search, this one is sort=${sort}`,
      );
    const rank = this.ranker(vector, opts);
    if (sort === 'score') {
      const hits = await this.afterCursor(rank, opts.after, opts.k + 1, opts.minScore ?? -Infinity);
      // the key, even if that row was deleted meanwhile
      const last = hits.length > opts.k ? hits[opts.k - 1] : undefined;
      return { hits: hits.slice(0, opts.k), next: last ? { sort, value: last.score, id: last.id } : null };
    }
    if (opts.minScore === undefined)
      throw new LookalikeError('invalid_request', 'sort=date orders the results that reach minScore: give minScore');
    const above = await this.allAbove(rank, opts.minScore, opts.k);
    const taken = this.store.takenMsOf(above.map((h) => h.id));
    const dated = above.map((h) => ({ ...h, ms: taken.get(h.id)! })).sort((a, b) => b.ms - a.ms || b.id - a.id);
    const after = dated.filter((h) => isAfter(h, opts.after, h.ms, -1));
    const last = after.length > opts.k ? after[opts.k - 1] : undefined;
    return { hits: after.slice(0, opts.k), next: last ? { sort, value: last.ms, id: last.id } : null };
  }

  /**
   * The first `count` hits after the cursor that reach minScore: fetched deeper (x4) until found or none are left.
   * The first fetch is one deeper than a first page needs (the deepest hit only bounds the others): hnsw and ivf-pq
   * search a wider pool for a deeper fetch, so a first page fetched deeper could show what the page after misses.
   */
  private async afterCursor(
    rank: Ranker,
    cursor: SearchCursor | undefined,
    count: number,
    minScore: number,
  ): Promise<SearchHit[]> {
    for (let depth = count + 1; ; depth *= 4) {
      const { hits, complete } = await rank(depth);
      const after = hits.filter((h) => h.score >= minScore && isAfter(h, cursor, h.score));
      const belowMin = hits.length > 0 && hits.at(-1)!.score < minScore; // the rest score lower still
      if (after.length >= count || complete || belowMin) return after.slice(0, count);
    }
  }

  /** The hits (score, then id) among those the filter keeps, by the method its selectivity calls for. */
  private ranker(vector: Float32Array, opts: SearchOptions): Ranker {
    const filter = opts.filter && Object.values(opts.filter).some((v) => v !== undefined) ? opts.filter : undefined;
    const drop = (hits: SearchHit[]) => hits.filter((h) => h.id !== opts.excludeId);
    if (filter && this.store.countFiltered(filter) <= EXACT_SCAN_MAX) {
      // once: every depth is all of it
      const scored = drop(span('search.exact', () => this.exactScores(vector, filter)));
      return async () => ({ hits: scored, complete: true });
    }
    const allow = filter ? this.store.filteredIds(filter).filter((id) => id !== opts.excludeId) : undefined;
    const extra = opts.excludeId !== undefined ? 1 : 0;
    return async (depth) => {
      // exactly as deep as needed (the index widens its own search until the allow-list fills it): hnsw and ivf-pq
      // search a wider pool when asked for more, and a page must search the pool a query of its depth would
      const fetch = depth + extra;
      const [found] = await span('index.search', () => this.index.search(vector, fetch, allow), {
        'lookalike.k': fetch,
      });
      const hits = drop(found!).sort(byScore).slice(0, depth);
      const complete = found!.length < fetch; // the index has no more: its widening covered all it holds
      const rescored = span('rescore', () => this.rescore(vector, hits), { 'lookalike.candidates': hits.length });
      if (complete || hits.length === 0) return { hits: rescored, complete };
      // an image the index did not reach scores at most about the deepest one fetched, give or take the index's own
      // error (ivf-sq8's quantisation: measured on the hits fetched, with a margin): keep only what beats that
      const approx = new Map(hits.map((h) => [h.id, h.score]));
      const error = Math.max(0, ...rescored.map((h) => Math.abs(h.score - approx.get(h.id)!)));
      const floor = hits.at(-1)!.score + Math.max(SCORE_TOLERANCE, 2 * error);
      return { hits: rescored.filter((h) => h.score > floor), complete };
    };
  }

  /** The hits with exact scores from their stored vectors, best first (one removed meanwhile is left out). */
  private rescore(query: Float32Array, hits: SearchHit[]): SearchHit[] {
    const out: SearchHit[] = [];
    for (const { ids, vectors } of this.store.vectorBatches(
      256,
      hits.map((h) => h.id),
    )) {
      const dim = query.length;
      ids.forEach((id, i) => out.push({ id, score: exactScore(query, vectors.subarray(i * dim, (i + 1) * dim)) }));
    }
    return out.sort(byScore);
  }

  /** Cosine of every kept image's stored vector (unit vectors: the inner product), best first. */
  private exactScores(query: Float32Array, filter: ImageFilter): SearchHit[] {
    const hits: SearchHit[] = [];
    for (const { id, vector } of this.store.filteredVectors(filter)) {
      hits.push({ id, score: exactScore(query, vector) });
    }
    return hits.sort(byScore);
  }

  /** Every hit that reaches minScore (at most DATE_SORT_MAX): fetched deeper until one ends below it. */
  private async allAbove(rank: Ranker, minScore: number, k: number): Promise<SearchHit[]> {
    for (let depth = Math.max(256, 4 * k); ; depth *= 4) {
      const capped = Math.min(depth, DATE_SORT_MAX + 1);
      const { hits, complete } = await rank(capped);
      const above = hits.filter((h) => h.score >= minScore);
      const ended = complete || above.length < hits.length;
      if (above.length > DATE_SORT_MAX || (!ended && capped > DATE_SORT_MAX)) {
        throw new LookalikeError(
          'invalid_request',
          `more than ${DATE_SORT_MAX} images reach minScore ${minScore}: raise minScore or narrow the filter to ` +
            `sort them by date`,
        );
      }
      if (ended) return above;
    }
  }
}
