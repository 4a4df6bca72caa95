// Word queries by keywords (FTS5 bm25 over paths, labels, captions and the words pictures show) and by both keywords
// and the vector, fused by reciprocal rank fusion (README "Hybrid search"). Such a ranking depends on the whole
// gallery (bm25 weighs a word by how many images hold it; a rank moves when an image is added above), so it is made
// once, at a fixed depth, on a query's first page, and its later pages are read from that snapshot with the usual
// cursor (score, then id): an add between two pages cannot reorder them. An image trashed meanwhile is left out.
import type { SearchCursor, SearchResult } from '../../core/domain/search.js';
import type { Gallery } from '../../engine/gallery/gallery.js';
import type { SearchHit } from '../../engine/index/protocol.js';

/** Reciprocal rank fusion's constant, as Elasticsearch and OpenSearch use by default. */
export const RRF_K = 60;
/** How deep each ranking is read and fused: a query's pages end there. */
export const FUSION_DEPTH = 1000;
/** Snapshots kept (the oldest go first), and for how long. */
const SNAPSHOTS_MAX = 256;
const SNAPSHOT_MS = 15 * 60_000;
/** Snapshots of one query kept: two clients paging the same query each find their own. */
const PER_QUERY = 4;

/** Results in their order: score descending, then id ascending. */
const byScore = (a: SearchHit, b: SearchHit) => b.score - a.score || a.id - b.id;

/**
 * Reciprocal rank fusion: an image's score is the sum over the rankings of 1 / (RRF_K + its rank), ranks from 1.
 * Hits of equal score share the rank of the first of them: captions of one class often say the same sentence, so bm25
 * ties them, and an order among them by id would hand the fusion an arbitrary one.
 */
export function fuseRankings(rankings: SearchHit[][], k = RRF_K): SearchHit[] {
  const fused = new Map<number, number>();
  for (const ranking of rankings) {
    let rank = 0;
    ranking.forEach((h, i) => {
      if (i === 0 || h.score !== ranking[i - 1]!.score) rank = i + 1;
      fused.set(h.id, (fused.get(h.id) ?? 0) + 1 / (k + rank));
    });
  }
  return [...fused].map(([id, score]) => ({ id, score })).sort(byScore);
}

interface Snapshot {
  hits: SearchHit[];
  at: number;
}

export class RankedPages {
  private readonly snapshots = new Map<string, Snapshot[]>();

  constructor(
    private readonly gallery: Gallery,
    private readonly clock: () => number = Date.now,
  ) {}

  /**
   * The page of `key`'s ranking after the cursor: a first page (no cursor) ranks afresh with `rank`; a later one reads
   * the newest snapshot of the key that holds the cursor's result at its score (ranked afresh when none is kept).
   */
  async page(
    key: string,
    k: number,
    after: SearchCursor | undefined,
    rank: () => Promise<SearchHit[]>,
  ): Promise<{ results: SearchResult[]; next: SearchCursor | null }> {
    this.expire();
    let hits = after ? this.find(key, after) : undefined;
    if (!hits) {
      hits = (await rank()).sort(byScore);
      this.keep(key, hits);
    }
    const rest = after
      ? hits.filter((h) => h.score < after.value || (h.score === after.value && h.id > after.id))
      : hits;
    // k + 1 results still in the gallery: the one past the page says there is a next
    const results: SearchResult[] = [];
    for (let from = 0; from < rest.length && results.length <= k; from += k + 1) {
      results.push(...this.gallery.results(rest.slice(from, from + k + 1)));
    }
    const last = results.length > k ? results[k - 1]! : undefined;
    return { results: results.slice(0, k), next: last ? { sort: 'score', value: last.score, id: last.id } : null };
  }

  private find(key: string, after: SearchCursor): SearchHit[] | undefined {
    const kept = this.snapshots.get(key) ?? [];
    return [...kept].reverse().find((s) => s.hits.some((h) => h.id === after.id && h.score === after.value))?.hits;
  }

  private keep(key: string, hits: SearchHit[]): void {
    const kept = this.snapshots.get(key) ?? [];
    this.snapshots.delete(key); // to the end: the most recently used last
    this.snapshots.set(key, [...kept.slice(1 - PER_QUERY), { hits, at: this.clock() }]);
    while (this.snapshots.size > SNAPSHOTS_MAX) this.snapshots.delete(this.snapshots.keys().next().value!);
  }

  private expire(): void {
    const old = this.clock() - SNAPSHOT_MS;
    for (const [key, kept] of this.snapshots) {
      const fresh = kept.filter((s) => s.at > old);
      if (fresh.length) this.snapshots.set(key, fresh);
      else this.snapshots.delete(key);
    }
  }
}
