// Generative re-ranking: the VL model looks at the query and each of the top candidates together and answers
// whether they show the same kind of thing; the score is P(yes) from the logits. Scores are cached per
// (query sha256, candidate id, model); a time budget bounds the work, and what it did not reach keeps its order.
import type { DecodedImage } from '../encoder/image.js';
import { NotFoundError } from '../errors.js';
import type { SearchResult } from '../gallery/gallery.js';
import type { VisionLanguageModel } from './vision-language-model.js';

export const RERANK_QUESTION = 'Do these two images show the same kind of thing? Answer yes or no.';

export interface RerankSummary {
  reranked: number; // candidates scored by the VL model (cached ones included)
  cached: number;
  complete: boolean; // false: the budget ran out; the rest kept its embedding order
  tookMs: number;
}

export type Reranked = SearchResult & { rerankScore: number | null };

export class Reranker {
  private readonly cache = new Map<string, number>();

  constructor(
    private readonly vlm: VisionLanguageModel,
    private readonly modelKey: string,
    readonly topN: number,
    readonly budgetMs: number,
    private readonly cacheSize = 10_000,
  ) {}

  async rerank(query: DecodedImage, querySha: string, results: SearchResult[], candidateImage: (r: SearchResult) => Promise<DecodedImage>,
    opts: { budgetMs?: number } = {}): Promise<{ results: Reranked[]; summary: RerankSummary }> {
    const started = performance.now();
    const budget = opts.budgetMs ?? this.budgetMs;
    const head = results.slice(0, this.topN);
    const scored: Reranked[] = [];
    let cached = 0, reached = 0; // reached: candidates of the head done, scored or gone
    for (const r of head) {
      const key = `${querySha}:${r.id}:${this.modelKey}`;
      let p = this.cache.get(key);
      if (p !== undefined) {
        cached++;
      } else {
        if (performance.now() - started >= budget) break;
        const candidate = await Promise.resolve().then(() => candidateImage(r)).catch((err: unknown) => {
          if (err instanceof NotFoundError) return null; // deleted while we were re-ranking: it leaves the results
          throw err;
        });
        if (candidate) {
          p = await this.vlm.probabilityYes(RERANK_QUESTION, [query, candidate]);
          this.remember(key, p);
        }
      }
      reached++;
      if (p !== undefined) scored.push({ ...r, rerankScore: p });
    }
    const complete = reached === head.length;
    scored.sort((a, b) => b.rerankScore! - a.rerankScore! || b.score - a.score);
    const rest = results.slice(reached).map((r) => ({ ...r, rerankScore: null }));
    return { results: [...scored, ...rest], summary: { reranked: scored.length, cached, complete, tookMs: performance.now() - started } };
  }

  private remember(key: string, p: number): void {
    if (this.cache.size >= this.cacheSize) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(key, p);
  }
}
