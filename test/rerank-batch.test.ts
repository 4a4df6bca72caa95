// Batched re-ranking on the demo models (LOOKALIKE_TEXT_MODEL=demo, LOOKALIKE_RERANK_MODEL=demo): the candidates scored
// side by side in one llama.cpp batch, after the query evaluated once, score as they do one prompt at a time.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DecodedImage } from '../src/engine/image/decode.js';
import {
  DEMO_RERANK_MMPROJ,
  DEMO_TEXT_MMPROJ,
  demoRerankModel,
  demoTextModel,
} from '../src/application/models/resolve.js';
import {
  instructJudge,
  qwenRerankerJudge,
  qwenRerankerPrompt,
  RERANK_QUESTION,
  yesOutput,
  type Query,
} from '../src/engine/vlm/rerank.js';
import { splitAtLastImage, VisionLanguageModel } from '../src/engine/vlm/vision-language-model.js';
import { scenePng } from './helpers/images.js';

const SIZES = [1, 4, 8, 16];
const TOLERANCE = 1e-4;
const INSTRUCTION = 'Given a search query, retrieve relevant candidates that answer the query.';
const options = { minTokens: 16, maxTokens: 64, threads: 2 };

const maxDiff = (a: number[], b: number[]) => Math.max(...a.map((x, i) => Math.abs(x - b[i]!)));

describe('batched re-ranking', () => {
  let query: DecodedImage;
  let candidates: DecodedImage[];
  let instruct: VisionLanguageModel;
  let reranker: VisionLanguageModel;
  beforeAll(async () => {
    instruct = await VisionLanguageModel.load(demoTextModel(), DEMO_TEXT_MMPROJ, options);
    reranker = await VisionLanguageModel.load(demoRerankModel(), DEMO_RERANK_MMPROJ, { ...options, role: 'rank' });
    query = await instruct.decode(await scenePng(1));
    candidates = await Promise.all(
      Array.from({ length: 16 }, async (_, i) => instruct.decode(await scenePng(100 + i))),
    );
  });
  afterAll(async () => {
    await instruct?.dispose();
    await reranker?.dispose();
  });

  it('cuts a prompt before its last image marker, and the halves hold the whole', () => {
    const m = '<__media__>';
    const parts = [
      { text: `<|im_start|>user\n${m}\n${m}\n`, special: true },
      { text: 'same?', special: false },
      { text: '<|im_end|>', special: true },
    ];
    const { prefix, suffix } = splitAtLastImage(parts, m);
    expect(prefix).toEqual([{ text: `<|im_start|>user\n${m}\n`, special: true }]);
    expect(suffix).toEqual([
      { text: `${m}\n`, special: true },
      { text: 'same?', special: false },
      { text: '<|im_end|>', special: true },
    ]);
    expect(() => splitAtLastImage([{ text: m, special: false }], m)).toThrow(/no image marker/);
  });

  // The trained demo judge (on its own tower, fashion-instruct-mmproj.gguf) differs by about 9.4e-4 at N = 4 and
  // 1.1e-3 at 8 and 16, and not at all at N = 1 (measured): ggml's rounding in a larger batch, as for the reranker
  // below. Its scores depend on the query far more than that (another query moved them by 7.7e-2, checked here above
  // 1e-2), so a batch that lost the query from its candidates' sequences would still fail the bound.
  it('the Instruct judge: P(yes) of a batch equals one prompt at a time (1e-4 at N = 1, 2e-3 above)', async () => {
    const sequential: number[] = [];
    for (const c of candidates) sequential.push(await instruct.probabilityYes(RERANK_QUESTION, [query, c]));
    expect(new Set(sequential).size).toBe(16); // the candidates differ: equal scores are no accident
    const judge = instructJudge(instruct);
    for (const n of SIZES) {
      const batched = await judge({ image: query, key: 'q' }, candidates.slice(0, n));
      expect(batched).toHaveLength(n);
      expect(maxDiff(batched, sequential), `N = ${n}`).toBeLessThanOrEqual(n === 1 ? TOLERANCE : 2e-3);
    }
    const other = await judge({ image: candidates[15]!, key: 'other' }, candidates);
    expect(maxDiff(other, sequential), 'another query').toBeGreaterThan(1e-2);
  });

  // The tiny random reranker does not reach 1e-4 from 5 candidates on (it differs by up to about 2e-3): the difference
  // follows the batch's shape only, not where a sequence sits in the KV cache (copies of one candidate score alike in
  // every sequence, to 1e-5), so it is rounding in ggml's kernels for a larger batch, which this untrained model
  // amplifies. Below 5 the scores are bit-identical here; the bound above 4 is the measured one with some room, not
  // 1e-4, and it is weaker than it looks: leaving the query out of the candidates' sequences moved the Instruct judge
  // by only 8.5e-4.
  it(
    'the Qwen3-VL-Reranker judge: image and text queries, batch equals one prompt at a time (1e-4 up to N = 4; ' +
      'see above)',
    async () => {
      const yes = yesOutput(reranker);
      const judge = qwenRerankerJudge(reranker, INSTRUCTION);
      for (const q of [
        { image: query, key: 'q' },
        { text: 'a red boat', key: 'text:a red boat' },
      ] as Query[]) {
        const prompt = qwenRerankerPrompt(reranker.info.marker, INSTRUCTION, q);
        const sequential: number[] = [];
        for (const c of candidates)
          sequential.push((await reranker.embedPrompt(prompt, q.image ? [q.image, c] : [c]))[yes]!);
        expect(new Set(sequential).size).toBe(16);
        for (const n of SIZES) {
          const batched = await judge(q, candidates.slice(0, n));
          expect(maxDiff(batched, sequential), `${q.key}, N = ${n}`).toBeLessThanOrEqual(n <= 4 ? TOLERANCE : 2.5e-3);
        }
        // copies of one candidate in 8 sequences: equal, or within a rounding far under the batch's own bound (on an
        // AMD EPYC without AVX-512 one copy of the text query's 8 differed by 8e-6; elsewhere they were bit-identical)
        const copies = await judge(q, Array(8).fill(candidates[0]!));
        expect(Math.max(...copies) - Math.min(...copies), 'one candidate in 8 sequences').toBeLessThanOrEqual(1e-5);
      }
    },
  );

  it('takes more candidates than the context holds beside the query in turns, with the same scores', async () => {
    const { nPromptTokens } = await instruct.generate(RERANK_QUESTION, [query, candidates[0]!], { maxTokens: 1 });
    // a context of 256 tokens holds the query's prompt and only a few candidates beside it
    expect(nPromptTokens * 4).toBeGreaterThan(256);
    const small = await VisionLanguageModel.load(demoTextModel(), DEMO_TEXT_MMPROJ, { ...options, nCtx: 256 });
    try {
      const sequential: number[] = [];
      for (const c of candidates) sequential.push(await instruct.probabilityYes(RERANK_QUESTION, [query, c]));
      const batched = await small.probabilityYesBatch(RERANK_QUESTION, query, candidates);
      expect(maxDiff(batched, sequential)).toBeLessThanOrEqual(TOLERANCE);
    } finally {
      await small.dispose();
    }
  });

  it('refuses a reranker batch on a model that is not a reranker, and answers an empty batch with nothing', async () => {
    await expect(
      instruct.embedPromptBatch(
        qwenRerankerPrompt(instruct.info.marker, INSTRUCTION, { text: 'x', key: 'x' }),
        [],
        candidates.slice(0, 1),
      ),
    ).rejects.toThrow(/needs a reranker/);
    expect(await instruct.probabilityYesBatch(RERANK_QUESTION, query, [])).toEqual([]);
  });
});
