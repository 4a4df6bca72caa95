// Re-ranking: a model looks at the query and each of the top candidates together and says how well they match, as
// P(yes) from its logits (nothing is parsed from text). Two judges: the Instruct VL model asked a yes/no question, or
// a Qwen3-VL-Reranker in its own prompt format. Both score candidates in batches: the prompt's shared start (the
// query) is evaluated once, the candidates side by side (VisionLanguageModel.probabilityYesBatch, embedPromptBatch).
// Scores are cached per (query, candidate id, model); a time budget bounds the answer, and what it did not reach keeps
// its order.
import type { DecodedImage } from '../image/decode.js';
import { NotFoundError } from '../../core/errors.js';
import type { PromptPart } from '../native/binding.js';
import { joinParts, MAX_SCORE_BATCH, type VisionLanguageModel } from './vision-language-model.js';

export const RERANK_QUESTION = 'Do these two images show the same kind of thing? Answer yes or no.';
/** What is searched for: an image, or words. `key` names it in the cache (the image's sha256, or the text). */
export interface Query {
  image?: DecodedImage;
  text?: string;
  key: string;
}

/** P(yes) for each candidate image: how well it answers the query. */
export type Judge = (query: Query, candidates: DecodedImage[]) => Promise<number[]>;
/** Which model judges: the Instruct VL model (LOOKALIKE_TEXT_MODEL) or a Qwen3-VL-Reranker (LOOKALIKE_RERANK_MODEL). */
export type JudgeName = 'instruct' | 'reranker';

/**
 * The Instruct VL model: "do these two show the same kind of thing?". It only ever judges image queries: words need an
 * embedding model, which cannot be loaded beside it (src/application/models/model-set.ts); a Qwen3-VL-Reranker judges
 * words.
 */
export function instructJudge(vlm: VisionLanguageModel): Judge {
  return (query, candidates) => {
    if (!query.image) throw new Error('the Instruct model re-ranks image queries only');
    return vlm.probabilityYesBatch(RERANK_QUESTION, query.image, candidates);
  };
}

/**
 * A Qwen3-VL-Reranker's prompt as Qwen's own code lays it out (system judge prompt, `<Instruct>`, `<Query>`,
 * `<Document>`): the query (an image marker, or its words) and the candidate's image marker last.
 */
export function qwenRerankerPrompt(marker: string, instruction: string, query: Query): PromptPart[] {
  const system =
    'Judge whether the Document meets the requirements based on the Query and the Instruct provided. Note that the ' +
    'answer can only be "yes" or "no".';
  return joinParts([
    { text: `<|im_start|>system\n${system}<|im_end|>\n<|im_start|>user\n`, special: true },
    { text: `<Instruct>: ${instruction}<Query>:`, special: false },
    query.image ? { text: marker, special: true } : { text: query.text ?? 'NULL', special: false },
    { text: '\n<Document>:', special: false },
    { text: `${marker}<|im_end|>\n<|im_start|>assistant\n`, special: true },
  ]);
}

/** Where a reranker GGUF's classifier puts "yes". */
export function yesOutput(vlm: VisionLanguageModel): number {
  const labels = vlm.text.header.kv.get(`${vlm.text.architecture}.classifier.output_labels`);
  const yes = Array.isArray(labels) ? labels.indexOf('yes') : -1;
  if (yes < 0) throw new Error('the reranker GGUF has no "yes" classifier label');
  return yes;
}

/**
 * A Qwen3-VL-Reranker GGUF (loaded with role 'rank'), scored by its classifier head on the last token. llama.cpp
 * applies a softmax to the yes/no outputs, so the "yes" output is sigmoid(logit(yes) - logit(no)).
 */
export function qwenRerankerJudge(vlm: VisionLanguageModel, instruction: string): Judge {
  const yes = yesOutput(vlm);
  return async (query, candidates) => {
    const outputs = await vlm.embedPromptBatch(
      qwenRerankerPrompt(vlm.info.marker, instruction, query),
      query.image ? [query.image] : [],
      candidates,
    );
    return outputs.map((out) => out[yes]!);
  };
}

export interface RerankSummary {
  reranked: number; // candidates scored by the VL model (cached ones included)
  cached: number;
  complete: boolean; // false: the budget ran out; the rest kept its embedding order
  tookMs: number;
}

/** A search result as far as re-ranking goes: which image, and its embedding score. */
export interface Candidate {
  id: number;
  score: number;
}
export type Reranked<T extends Candidate> = T & { rerankScore: number | null };

export class Reranker {
  private readonly cache = new Map<string, number>();
  /** What one candidate cost in the last finished batch (ms, its share of the shared query included); 0: none yet. */
  private msPerCandidate = 0;

  constructor(
    private readonly judge: Judge,
    private readonly modelKey: string,
    readonly topN: number,
    readonly budgetMs: number,
    private readonly cacheSize = 10_000,
    readonly batchSize = MAX_SCORE_BATCH,
  ) {}

  /**
   * Re-orders the head of `results`, scoring the candidates in batches (one judge call each). The budget bounds the
   * answer: it comes within `budgetMs` of the call (plus timer latency), with the candidates of the batches finished by
   * then. A batch is cut to as many candidates as the cost per candidate measured on the last batch says fit in the
   * time left (the first batch, with nothing measured yet, is whole), so the budget loses at most the one batch
   * running at the deadline. That batch is not waited for: it finishes in the background (the model's calls stay
   * serialised, so the model's next call waits for it) and its scores go to the cache for the next query.
   */
  async rerank<T extends Candidate>(
    query: Query,
    results: T[],
    candidateImage: (r: T) => Promise<DecodedImage>,
    opts: { budgetMs?: number } = {},
  ): Promise<{ results: Reranked<T>[]; summary: RerankSummary }> {
    const started = performance.now();
    const deadline = started + (opts.budgetMs ?? this.budgetMs);
    const head = results.slice(0, this.topN);
    const key = (r: T) => `${query.key}:${r.id}:${this.modelKey}`;
    const scored: Reranked<T>[] = [];
    let cached = 0,
      reached = 0; // reached: candidates of the head done, scored or gone
    while (reached < head.length) {
      const p = this.cache.get(key(head[reached]!));
      if (p !== undefined) {
        cached++;
        scored.push({ ...head[reached++]!, rerankScore: p });
        continue;
      }
      const left = deadline - performance.now();
      if (left <= 0) break;
      // the next candidates not in the cache, as many as fit in the time left
      const size =
        this.msPerCandidate > 0
          ? Math.max(1, Math.min(this.batchSize, Math.floor(left / this.msPerCandidate)))
          : this.batchSize;
      const batch: T[] = [];
      for (let i = reached; i < head.length && batch.length < size && !this.cache.has(key(head[i]!)); i++)
        batch.push(head[i]!);
      const got = await within(this.scoreBatch(query, batch, candidateImage, key), left);
      if (got === LATE) break; // the deadline came first: answer with what was reached
      batch.forEach((r, i) => {
        if (got[i] !== null) scored.push({ ...r, rerankScore: got[i]! });
      });
      reached += batch.length;
    }
    const complete = reached === head.length;
    scored.sort((a, b) => b.rerankScore! - a.rerankScore! || b.score - a.score);
    const rest = results.slice(reached).map((r) => ({ ...r, rerankScore: null }));
    return {
      results: [...scored, ...rest],
      summary: { reranked: scored.length, cached, complete, tookMs: performance.now() - started },
    };
  }

  /** The batch's P(yes), remembered; null for a candidate deleted meanwhile (it leaves the results). */
  private async scoreBatch<T extends Candidate>(
    query: Query,
    batch: T[],
    candidateImage: (r: T) => Promise<DecodedImage>,
    key: (r: T) => string,
  ): Promise<(number | null)[]> {
    const started = performance.now();
    const images = await Promise.all(
      batch.map((r) =>
        Promise.resolve()
          .then(() => candidateImage(r))
          .catch((err: unknown) => {
            if (err instanceof NotFoundError) return null;
            throw err;
          }),
      ),
    );
    const present = images.filter((img) => img !== null);
    if (present.length === 0) return images.map(() => null);
    const scores = await this.judge(query, present);
    this.msPerCandidate = (performance.now() - started) / present.length;
    let next = 0;
    return images.map((img, i) => {
      if (!img) return null;
      const p = scores[next++]!;
      this.remember(key(batch[i]!), p);
      return p;
    });
  }

  private remember(key: string, p: number): void {
    if (this.cache.size >= this.cacheSize) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(key, p);
  }
}

const LATE = Symbol('late');

/**
 * The work's result, or LATE once `ms` have passed; late work goes on, and a late failure is dropped (nobody waits).
 */
async function within<T>(work: Promise<T>, ms: number): Promise<T | typeof LATE> {
  let timer: NodeJS.Timeout | undefined;
  work.catch(() => {}); // only for the late case: the race below still sees a failure in time
  try {
    return await Promise.race([
      work,
      new Promise<typeof LATE>((resolve) => {
        timer = setTimeout(resolve, ms, LATE);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
