// Search the gallery by an uploaded image or by words, with the optional re-rank (the VL model or a reranker looks at
// the top) and the optional KNN classification from the same encode; and "find similar" from a stored vector.
import { LookalikeError } from '../errors.js';
import type { Gallery, SearchCursor, SearchOptions, SearchPage, SearchResult, SearchSort } from '../gallery/gallery.js';
import type { ImageFilter } from '../store/store.js';
import type { KnnOptions, KnnResult } from '../knn/knn.js';
import type { Query, Reranked, Reranker, RerankSummary } from '../vlm/rerank.js';
import type { QueryEncoder } from './query-encoder.js';

export interface SearchRequest {
  image?: Buffer;
  text?: string;
  k: number;
  minScore?: number;
  filter?: ImageFilter;
  sort?: SearchSort;
  after?: SearchCursor;
  rerank: boolean;
  classify: boolean;
}

export interface SearchAnswer {
  results: (SearchResult | Reranked<SearchResult>)[];
  /** the next page's cursor (re-ranking reorders within a page, never across pages) */
  next: SearchCursor | null;
  classification?: KnnResult;
  rerank?: RerankSummary;
}

export class Search {
  constructor(
    private readonly gallery: Gallery,
    private readonly encoder: QueryEncoder,
    private readonly reranker: Reranker | null,
    private readonly knn: KnnOptions,
  ) {}

  async run(q: SearchRequest): Promise<SearchAnswer> {
    const reranker = q.rerank ? this.requireReranker() : null;
    const { vector, query } = await this.encode(q);
    const { results, next } = await this.gallery.searchPage(vector, { k: q.k, minScore: q.minScore, filter: q.filter, sort: q.sort, after: q.after });
    const classification = q.classify ? await this.gallery.classify(vector, this.knn) : undefined;
    if (!reranker) return { results, next, classification };
    // candidates are judged from their stored thumbnails (one deleted meanwhile is skipped); the model sits behind the
    // same bounded queue as encoding
    const decode = (r: SearchResult) => this.encoder.embedder.decode(this.gallery.thumbnail(r.id));
    const { results: reranked, summary } = await this.encoder.admission.run(() => reranker.rerank(query, results, decode));
    return { results: reranked, next, classification, rerank: summary };
  }

  /** "Find similar to this one", from the stored vector: no encoding. */
  similar(id: number, opts: Omit<SearchOptions, 'excludeId'>): Promise<SearchPage> {
    return this.gallery.similarPage(id, opts);
  }

  get reranks(): boolean { return this.reranker !== null; }

  /** Refuses before any work when re-ranking is asked of a server that cannot. */
  requireReranker(): Reranker {
    if (!this.reranker) {
      throw new LookalikeError('no_text_model', 're-ranking needs the full VL model (LOOKALIKE_TEXT_MODEL) or a reranker (LOOKALIKE_RERANK_MODEL): this server has neither (see README)');
    }
    return this.reranker;
  }

  private async encode(q: SearchRequest): Promise<{ vector: Float32Array; query: Query }> {
    if (q.image) {
      const { vector, prepared } = await this.encoder.image(q.image);
      return { vector, query: { image: prepared.decoded, key: prepared.sha256 } };
    }
    const text = (q.text ?? '').trim();
    return { vector: await this.encoder.text(text), query: { text, key: `text:${text}` } };
  }
}
