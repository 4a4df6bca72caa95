// Re-ranking: a model looks at the query and each of the top candidates together and says how well they match, as
// P(yes) from its logits (nothing is parsed from text). Two judges: the Instruct VL model asked a yes/no question, or
// a Qwen3-VL-Reranker in its own prompt format. Scores are cached per (query, candidate id, model); a time budget
// bounds the answer, and what it did not reach keeps its order.
import type { DecodedImage } from '../image/decode.js';
import { NotFoundError } from '../errors.js';
import type { PromptPart } from '../native/binding.js';
import { joinParts, type VisionLanguageModel } from './vision-language-model.js';

export const RERANK_QUESTION = 'Do these two images show the same kind of thing? Answer yes or no.';
/** What is searched for: an image, or words. `key` names it in the cache (the image's sha256, or the text). */
export interface Query { image?: DecodedImage; text?: string; key: string }

/** P(yes): how well a candidate image answers the query. */
export type Judge = (query: Query, candidate: DecodedImage) => Promise<number>;

/** The Instruct VL model: "do these two show the same kind of thing?". It only ever judges image queries: words need
 *  an embedding model, which cannot be loaded beside it (src/models/model-set.ts); a Qwen3-VL-Reranker judges words. */
export function instructJudge(vlm: VisionLanguageModel): Judge {
  return (query, candidate) => {
    if (!query.image) throw new Error('the Instruct model re-ranks image queries only');
    return vlm.probabilityYes(RERANK_QUESTION, [query.image, candidate]);
  };
}

/**
 * A Qwen3-VL-Reranker GGUF (loaded with role 'rank'): its prompt as Qwen's own code lays it out (system judge prompt,
 * `<Instruct>`, `<Query>`, `<Document>`), scored by its classifier head on the last token. llama.cpp applies a softmax
 * to the yes/no outputs, so the "yes" output is sigmoid(logit(yes) - logit(no)).
 */
export function qwenRerankerJudge(vlm: VisionLanguageModel, instruction: string): Judge {
  const labels = vlm.text.header.kv.get(`${vlm.text.architecture}.classifier.output_labels`);
  const yes = Array.isArray(labels) ? labels.indexOf('yes') : -1;
  if (yes < 0) throw new Error('the reranker GGUF has no "yes" classifier label');
  const system = 'Judge whether the Document meets the requirements based on the Query and the Instruct provided. Note that the answer can only be "yes" or "no".';
  const marker = vlm.info.marker;
  return async (query, candidate) => {
    const parts: PromptPart[] = joinParts([
      { text: `<|im_start|>system\n${system}<|im_end|>\n<|im_start|>user\n`, special: true },
      { text: `<Instruct>: ${instruction}<Query>:`, special: false },
      query.image ? { text: marker, special: true } : { text: query.text ?? 'NULL', special: false },
      { text: '\n<Document>:', special: false },
      { text: `${marker}<|im_end|>\n<|im_start|>assistant\n`, special: true },
    ]);
    const out = await vlm.embedPrompt(parts, query.image ? [query.image, candidate] : [candidate]);
    return out[yes]!;
  };
}

export interface RerankSummary {
  reranked: number; // candidates scored by the VL model (cached ones included)
  cached: number;
  complete: boolean; // false: the budget ran out; the rest kept its embedding order
  tookMs: number;
}

/** A search result as far as re-ranking goes: which image, and its embedding score. */
export interface Candidate { id: number; score: number }
export type Reranked<T extends Candidate> = T & { rerankScore: number | null };

export class Reranker {
  private readonly cache = new Map<string, number>();

  constructor(
    private readonly judge: Judge,
    private readonly modelKey: string,
    readonly topN: number,
    readonly budgetMs: number,
    private readonly cacheSize = 10_000,
  ) {}

  /**
   * Re-orders the head of `results`. The budget bounds the answer: it comes within `budgetMs` of the call (plus timer
   * latency), with the candidates scored by then. A judge call still running at the deadline is not waited for: it
   * finishes in the background (the model's calls stay serialised, so the model's next call waits for it) and its
   * score goes to the cache for the next query.
   */
  async rerank<T extends Candidate>(query: Query, results: T[], candidateImage: (r: T) => Promise<DecodedImage>,
    opts: { budgetMs?: number } = {}): Promise<{ results: Reranked<T>[]; summary: RerankSummary }> {
    const started = performance.now();
    const deadline = started + (opts.budgetMs ?? this.budgetMs);
    const head = results.slice(0, this.topN);
    const scored: Reranked<T>[] = [];
    let cached = 0, reached = 0; // reached: candidates of the head done, scored or gone
    for (const r of head) {
      const key = `${query.key}:${r.id}:${this.modelKey}`;
      let p: number | null | undefined = this.cache.get(key);
      if (p !== undefined) {
        cached++;
      } else {
        const left = deadline - performance.now();
        if (left <= 0) break;
        const got = await within(this.score(query, r, candidateImage, key), left);
        if (got === LATE) break; // the deadline came first: answer with what was reached
        p = got;
      }
      reached++;
      if (p !== null) scored.push({ ...r, rerankScore: p });
    }
    const complete = reached === head.length;
    scored.sort((a, b) => b.rerankScore! - a.rerankScore! || b.score - a.score);
    const rest = results.slice(reached).map((r) => ({ ...r, rerankScore: null }));
    return { results: [...scored, ...rest], summary: { reranked: scored.length, cached, complete, tookMs: performance.now() - started } };
  }

  /** One candidate's P(yes), remembered; null when it was deleted meanwhile (it leaves the results). */
  private async score<T extends Candidate>(query: Query, r: T, candidateImage: (r: T) => Promise<DecodedImage>, key: string): Promise<number | null> {
    const candidate = await Promise.resolve().then(() => candidateImage(r)).catch((err: unknown) => {
      if (err instanceof NotFoundError) return null;
      throw err;
    });
    if (!candidate) return null;
    const p = await this.judge(query, candidate);
    this.remember(key, p);
    return p;
  }

  private remember(key: string, p: number): void {
    if (this.cache.size >= this.cacheSize) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(key, p);
  }
}

const LATE = Symbol('late');

/** The work's result, or LATE once `ms` have passed; late work goes on, and a late failure is dropped (nobody waits). */
async function within<T>(work: Promise<T>, ms: number): Promise<T | typeof LATE> {
  let timer: NodeJS.Timeout | undefined;
  work.catch(() => {}); // only for the late case: the race below still sees a failure in time
  try {
    return await Promise.race([work, new Promise<typeof LATE>((resolve) => { timer = setTimeout(resolve, ms, LATE); })]);
  } finally {
    clearTimeout(timer);
  }
}
