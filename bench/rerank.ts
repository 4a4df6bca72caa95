// bench/rerank: re-ranking throughput, one prompt per candidate (sequential) against one batched call (the query
// evaluated once, the candidates as sequences side by side), at N = 1, 4, 8 and 16 candidates. Models: the demo's
// (LOOKALIKE_TEXT_MODEL=demo with the Instruct judge, LOOKALIKE_RERANK_MODEL=demo with the reranker judge), and the
// 8B vision tower with a text model of the 8B width and 4 of its 36 layers (bench/generative.ts writes the same files).
// Every candidate is a new image (the model caches vision outputs of images it has seen); the query's vision output is
// cached before timing, as it is for every candidate after the first in a real re-rank.
//   npm run bench:rerank        (LOOKALIKE_BENCH_8B=0 skips the 8B-width part)
import { existsSync, mkdirSync } from 'node:fs';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { physicalCores } from '../src/core/util/cpu.js';
import type { DecodedImage } from '../src/engine/image/decode.js';
import {
  DEMO_RERANK_MMPROJ,
  DEMO_TEXT_MMPROJ,
  demoRerankModel,
  demoTextModel,
} from '../src/application/models/resolve.js';
import { writeRandomTextModel, type TextSpec } from '../test/helpers/random-text-model.js';
import { QWEN3VL_8B_VISION, writeRandomMmproj } from '../test/helpers/random-models.js';
import {
  instructJudge,
  qwenRerankerJudge,
  qwenRerankerPrompt,
  RERANK_QUESTION,
  yesOutput,
  type Judge,
} from '../src/engine/vlm/rerank.js';
import { VisionLanguageModel } from '../src/engine/vlm/vision-language-model.js';
import { scenePng } from '../test/helpers/images.js';
import { median, table, timed } from './common.js';

const dir = fileURLToPath(new URL('./.models/', import.meta.url));
mkdirSync(dir, { recursive: true });
const SIZES = [1, 4, 8, 16];
const INSTRUCTION = 'Given a search query, retrieve relevant candidates that answer the query.';
const TEXT_8B_WIDTH_4_LAYERS: TextSpec = {
  embd: 4096,
  layers: 4,
  heads: 32,
  kvHeads: 8,
  headDim: 128,
  ffn: 12288,
  context: 4096,
  deepstack: 3,
};
// images at 64 tokens, as in bench:generative; one thread: on a machine shared with other work, ggml's spinning thread
// pool makes two threads several times slower and the figures noise (see README, bench:generative)
const tokens = { minTokens: 64, maxTokens: 64, threads: 1 };

type Sequential = (query: DecodedImage, candidate: DecodedImage) => Promise<number>;
const rows: string[][] = [];

async function measure(name: string, vlm: VisionLanguageModel, sequential: Sequential, batched: Judge, reps: number) {
  let seed = 1000;
  const fresh = async (n: number) =>
    Promise.all(Array.from({ length: n }, async () => vlm.decode(await scenePng(seed++, 320, 240))));
  const [query] = await fresh(1);
  await sequential(query!, (await fresh(1))[0]!); // sizes buffers and caches the query's vision output: not counted
  await batched({ image: query, key: 'q' }, await fresh(2));
  for (const n of SIZES) {
    const seqMs: number[] = [],
      batchMs: number[] = [];
    for (let r = 0; r < reps; r++) {
      const a = await fresh(n);
      seqMs.push(
        (
          await timed(async () => {
            for (const c of a) await sequential(query!, c);
          })
        )[1],
      );
      const b = await fresh(n);
      batchMs.push((await timed(() => batched({ image: query, key: 'q' }, b)))[1]);
    }
    const seqRate = n / (median(seqMs) / 1000),
      batchRate = n / (median(batchMs) / 1000);
    const rate = (r: number) => r.toFixed(r < 10 ? 2 : 1);
    rows.push([name, String(n), rate(seqRate), rate(batchRate), `${(batchRate / seqRate).toFixed(2)}x`]);
    console.log(rows.at(-1)!.join(' | '));
  }
}

const demoText = await VisionLanguageModel.load(demoTextModel(), DEMO_TEXT_MMPROJ, tokens);
try {
  await measure(
    'demo, Instruct judge (LOOKALIKE_TEXT_MODEL=demo)',
    demoText,
    (q, c) => demoText.probabilityYes(RERANK_QUESTION, [q, c]),
    instructJudge(demoText),
    5,
  );
} finally {
  await demoText.dispose();
}

const demoRank = await VisionLanguageModel.load(demoRerankModel(), DEMO_RERANK_MMPROJ, { ...tokens, role: 'rank' });
try {
  const yes = yesOutput(demoRank);
  const prompt = (q: DecodedImage) => qwenRerankerPrompt(demoRank.info.marker, INSTRUCTION, { image: q, key: 'q' });
  await measure(
    'demo, reranker judge (LOOKALIKE_RERANK_MODEL=demo)',
    demoRank,
    async (q, c) => (await demoRank.embedPrompt(prompt(q), [q, c]))[yes]!,
    qwenRerankerJudge(demoRank, INSTRUCTION),
    5,
  );
} finally {
  await demoRank.dispose();
}

if (process.env.LOOKALIKE_BENCH_8B !== '0') {
  const mm = `${dir}/random-qwen3vl-8b-vision-mmproj-f16.gguf`;
  if (!existsSync(mm)) writeRandomMmproj(mm, QWEN3VL_8B_VISION, 8);
  const text = `${dir}/random-qwen3vl-8b-width-4-layers-f16.gguf`;
  if (!existsSync(text)) writeRandomTextModel(text, TEXT_8B_WIDTH_4_LAYERS, 9);
  const vlm = await VisionLanguageModel.load(text, mm, { ...tokens, nCtx: 4096 });
  try {
    await measure(
      '8B vision F16 + 8B-width text, 4 of 36 layers, F16; Instruct judge',
      vlm,
      (q, c) => vlm.probabilityYes(RERANK_QUESTION, [q, c]),
      instructJudge(vlm),
      1,
    );
  } finally {
    await vlm.dispose();
  }
}

console.log(
  `\n1 thread (of ${physicalCores()} cores), load average ${loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')}, images at 64 tokens, candidates per second (median of 5 runs on the demo models, 1 run at 8B width)\n`,
);
console.log(table(['model', 'N', 'sequential (candidates/s)', 'batched (candidates/s)', 'speed-up'], rows));
