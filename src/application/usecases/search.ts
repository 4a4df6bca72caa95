// Search the gallery by an uploaded image or by words, with the optional re-rank (the VL model or a reranker looks at
// the top) and the optional classification (what Classify answers) from the same encode; and "find similar" from a
// stored vector.
import { LookalikeError } from '../../core/errors.js';
import type { SearchCursor, SearchOptions, SearchPage, SearchResult, SearchSort } from '../../core/domain/search.js';
import type { Gallery } from '../../engine/gallery/gallery.js';
import type { ImageFilter } from '../../core/domain/records.js';
import type { JudgeName, Query, Reranked, Reranker, RerankSummary } from '../../engine/vlm/rerank.js';
import type { Classification, Classify } from './classify.js';
import { span } from '../../core/util/tracing.js';
import type { Captions } from './captions.js';
import type { QueryEncoder } from './query-encoder.js';
import { FUSION_DEPTH, fuseRankings, RankedPages } from './ranked-pages.js';

/** One part of a query built from several: words, an uploaded image, both (one input), or a stored image's id. */
export interface QueryPart {
  text?: string;
  image?: Buffer;
  id?: number;
  /** Not 0; default 1 (the API takes sizes 1e-6 to 1e6). */
  weight: number;
  /** How an error names this part, as the caller's user wrote it; default its place ("positive[0]"). */
  name?: string;
}

/** A query built from several parts: the weighted sum of the positives minus that of the negatives, normalised. */
export interface CompositeQuery {
  positive: QueryPart[];
  negative: QueryPart[];
}

/** A weighted sum this much shorter than its parts put end to end is what rounding leaves of parts that cancel. */
const CANCELLED = 1e-6;

/** The query vector of a composite query: sum(w * v) over the positives minus over the negatives, to unit length. */
export function combineQuery(terms: { vector: Float32Array; weight: number; negative: boolean }[]): Float32Array {
  const sum = new Float64Array(terms[0]!.vector.length);
  let parts = 0; // the length of the parts end to end: what the sum would be if none took from another
  for (const t of terms) {
    const w = t.negative ? -t.weight : t.weight;
    for (let i = 0; i < sum.length; i++) sum[i] = sum[i]! + w * t.vector[i]!;
    parts += Math.abs(w) * Math.hypot(...t.vector);
  }
  const norm = Math.hypot(...sum);
  if (!(norm > CANCELLED * parts)) {
    throw new LookalikeError(
      'invalid_request',
      "the query's parts cancel out (their weighted sum is zero): change a weight, or leave a part out",
    );
  }
  return Float32Array.from(sum, (x) => x / norm);
}

/** How words are matched: by their vector (the embedding model), by keywords in the search text (FTS5 bm25), or both,
 *  fused by reciprocal rank fusion. */
export type SearchMode = 'vector' | 'keyword' | 'hybrid';
export const SEARCH_MODES = ['vector', 'keyword', 'hybrid'] as const satisfies readonly SearchMode[];

export interface SearchRequest {
  image?: Buffer;
  text?: string;
  /** A query built from several parts, instead of image or text. */
  parts?: CompositeQuery;
  k: number;
  minScore?: number;
  filter?: ImageFilter;
  sort?: SearchSort;
  after?: SearchCursor;
  rerank: boolean;
  classify: boolean;
  /** For words; default vector. */
  mode?: SearchMode;
  /** What the query's cursors are bound to: the key of its keyword and hybrid snapshots. */
  digest?: string;
}

export interface SearchAnswer {
  results: (SearchResult | Reranked<SearchResult>)[];
  /** the next page's cursor (re-ranking reorders within a page, never across pages) */
  next: SearchCursor | null;
  /** With `classify`: what /api/classify answers, from the same encode (no few-shot). */
  classification?: Classification;
  rerank?: RerankSummary & { judge: JudgeName };
}

export class Search {
  private readonly pages: RankedPages;

  constructor(
    private readonly gallery: Gallery,
    private readonly encoder: QueryEncoder,
    /** The re-ranker, and which model judges in it. */
    private readonly reranking: { reranker: Reranker; judge: JudgeName } | null,
    /** null where nothing classifies (the command line): `classify` is then refused. */
    private readonly classifier: Pick<Classify, 'ofVector'> | null,
    /** Whether captions were ever made here (keyword and hybrid search read them); null: never. */
    private readonly captions: Pick<Captions, 'everRun'> | null = null,
  ) {
    this.pages = new RankedPages(gallery);
  }

  async run(q: SearchRequest): Promise<SearchAnswer> {
    const reranker = q.rerank ? this.requireReranker() : null;
    if (reranker && q.parts)
      throw new LookalikeError(
        'invalid_request',
        're-ranking judges one image or one text: a query of several parts cannot be re-ranked',
      );
    const mode = q.mode ?? 'vector';
    let vector: Float32Array | undefined;
    let query: Query | null;
    let page: SearchPage;
    if (mode === 'vector') {
      ({ vector, query } = await this.encode(q));
      page = await this.gallery.searchPage(vector, {
        k: q.k,
        minScore: q.minScore,
        filter: q.filter,
        sort: q.sort,
        after: q.after,
      });
    } else {
      ({ vector, query, page } = await this.byWords(q, mode));
    }
    const { results, next } = page;
    const classification = q.classify ? await this.requireClassifier().ofVector(vector!) : undefined;
    if (!reranker || !query) return { results, next, classification };
    // candidates are judged from their stored thumbnails (one deleted meanwhile is skipped); the model sits behind the
    // same bounded queue as encoding
    const decode = (r: SearchResult) => this.encoder.embedder.decode(this.gallery.thumbnail(r.id));
    const rerank = () =>
      span('rerank', () => reranker.rerank(query, results, decode), { 'lookalike.candidates': results.length });
    const { results: reranked, summary } = await this.encoder.admission.run(rerank);
    return { results: reranked, next, classification, rerank: { ...summary, judge: this.reranking!.judge } };
  }

  /**
   * Words by keywords, or by keywords and their vector fused (RRF): each ranking FUSION_DEPTH deep, fused once on the
   * first page and paged over from that snapshot. Checked before any work: words only, sorted by score, no minScore
   * (a cosine), captions made at least once, and for hybrid an embedding model.
   */
  private async byWords(
    q: SearchRequest,
    mode: Exclude<SearchMode, 'vector'>,
  ): Promise<{ vector?: Float32Array; query: Query; page: SearchPage }> {
    const refuse = (why: string) => new LookalikeError('invalid_request', `mode=${mode}: ${why}`);
    if (q.text === undefined || q.image || q.parts)
      throw refuse(
        'it ranks words: send "text" alone (an image or a query of several parts is searched by its vector, ' +
          'mode=vector)',
      );
    if (q.sort === 'date')
      throw refuse(
        'its results are ordered by their keyword or fused rank: leave out sort=date (it is for mode=vector)',
      );
    if (q.minScore !== undefined) throw refuse('minScore is a cosine, for mode=vector: leave it out');
    if (q.classify && mode === 'keyword')
      throw refuse("classify needs the query's vector: use mode=hybrid or mode=vector");
    if (!this.captions?.everRun) {
      throw new LookalikeError(
        'no_captions',
        `mode=${mode} searches the captions, and this gallery has none yet: ` +
          'start the server with LOOKALIKE_CAPTIONS=on and LOOKALIKE_TEXT_MODEL (it captions in the background), ' +
          'or run npm run captions; mode=vector needs none',
      );
    }
    if (mode === 'hybrid' && !this.encoder.embedder.textSearch) {
      throw new LookalikeError(
        'text_search_unavailable',
        'mode=hybrid also matches the words as a vector, and this ' +
          'server embeds images only: set LOOKALIKE_EMBED_MODEL (see README), or use mode=keyword',
      );
    }
    const text = q.text.trim();
    const filter = q.filter ?? {};
    let vector: Float32Array | undefined;
    const rank = async () => {
      const keywords = this.gallery.keywordHits(text, filter, FUSION_DEPTH);
      if (mode === 'keyword') return keywords;
      vector ??= await this.encoder.text(text);
      const nearest = await this.gallery.searchPage(vector, { k: FUSION_DEPTH, filter });
      return fuseRankings([keywords, nearest.results.map((r) => ({ id: r.id, score: r.score }))]);
    };
    const page = await this.pages.page(q.digest ?? JSON.stringify([mode, text, filter]), q.k, q.after, rank);
    if (q.classify) vector ??= await this.encoder.text(text);
    return { vector, query: { text, key: `text:${text}` }, page };
  }

  /** "Find similar to this one", from the stored vector: no encoding. */
  similar(id: number, opts: Omit<SearchOptions, 'excludeId'>): Promise<SearchPage> {
    return this.gallery.similarPage(id, opts);
  }

  /**
   * Every part is checked before anything is encoded: words need an embedding model, an id must be in the gallery.
   * A negative subtracts from the query vector (one search, exact k, filters apply as to any query).
   */
  private async composite(c: CompositeQuery): Promise<Float32Array> {
    const all = [
      ...c.positive.map((p, i) => ({ p, where: p.name ?? `positive[${i}]`, negative: false })),
      ...c.negative.map((p, i) => ({ p, where: p.name ?? `negative[${i}]`, negative: true })),
    ];
    const stored = new Map<number, Float32Array>();
    for (const { p, where } of all) {
      if (p.text !== undefined && !this.encoder.embedder.textSearch) {
        throw new LookalikeError(
          'invalid_request',
          `${where} has words, and this server embeds images only: words need an embedding model ` +
            `(LOOKALIKE_EMBED_MODEL, see README)`,
        );
      }
      if (p.id !== undefined) {
        const v = this.gallery.storedVector(p.id);
        if (!v)
          throw new LookalikeError('invalid_request', `${where}: there is no image with id ${p.id} in the gallery`);
        stored.set(p.id, v);
      }
    }
    const terms = [];
    for (const { p, negative } of all)
      terms.push({ vector: await this.partVector(p, stored), weight: p.weight, negative });
    return combineQuery(terms);
  }

  private async partVector(p: QueryPart, stored: Map<number, Float32Array>): Promise<Float32Array> {
    if (p.id !== undefined) return stored.get(p.id)!;
    if (p.image && p.text !== undefined) return this.encoder.imageWithText(p.image, p.text.trim());
    if (p.image) return (await this.encoder.query(p.image)).vector;
    return this.encoder.text(p.text!.trim());
  }

  get reranks(): boolean {
    return this.reranking !== null;
  }

  /** Refuses before any work when re-ranking is asked of a server that cannot. */
  requireReranker(): Reranker {
    if (!this.reranking) {
      throw new LookalikeError(
        'no_text_model',
        're-ranking needs the full VL model (LOOKALIKE_TEXT_MODEL) or a reranker (LOOKALIKE_RERANK_MODEL): this ' +
          'server has neither (see README)',
      );
    }
    return this.reranking.reranker;
  }

  private requireClassifier(): Pick<Classify, 'ofVector'> {
    if (!this.classifier) {
      throw new LookalikeError('invalid_request', 'this search classifies nothing: leave out classify');
    }
    return this.classifier;
  }

  private async encode(q: SearchRequest): Promise<{ vector: Float32Array; query: Query | null }> {
    if (q.parts) return { vector: await this.composite(q.parts), query: null };
    if (q.image) {
      const { vector, upload } = await this.encoder.query(q.image);
      return { vector, query: { image: upload.decoded, key: upload.sha256 } };
    }
    const text = (q.text ?? '').trim();
    return { vector: await this.encoder.text(text), query: { text, key: `text:${text}` } };
  }
}
