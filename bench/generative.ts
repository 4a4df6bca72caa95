// bench/generative: the full VL model (text GGUF + mmproj) on the tiny random pair, and on random models of the real
// Qwen3-VL-8B widths: the 8B vision tower, and a text model of the 8B width with 4 of its 36 layers (the full depth is
// 16 GB in F16: it does not fit in this machine's memory next to everything else, and takes very long to write). All
// cores, vision flash attention off (the defaults). Prints load time, prompt evaluation for one image, re-rank time per
// candidate (the query image's vision output cached, as in a re-rank of several candidates) and describe tokens/s.
//   npm run bench:generative        (LOOKALIKE_BENCH_8B=0 skips the 8B-width part)
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { TINY_TEXT, writeRandomTextModel, type TextSpec } from '../test/helpers/random-text-model.js';
import {
  QWEN3VL_8B_VISION,
  TINY_VISION,
  ensureRandomMmproj,
  writeRandomMmproj,
} from '../test/helpers/random-models.js';
import { physicalCores } from '../src/core/util/cpu.js';
import { RERANK_QUESTION } from '../src/engine/vlm/rerank.js';
import { VisionLanguageModel } from '../src/engine/vlm/vision-language-model.js';
import { scenePng } from '../test/helpers/images.js';
import { median, mib, peakRssMiB, table, timed } from './common.js';

const dir = fileURLToPath(new URL('./.models/', import.meta.url));
mkdirSync(dir, { recursive: true });
// Qwen3-VL-8B's text model is 36 layers of this; 4 are enough to measure the cost per layer
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

async function measure(name: string, textPath: string, mmprojPath: string, tokens: number, reps: number) {
  const rss0 = process.memoryUsage().rss;
  const [vlm, loadMs] = await timed(() =>
    VisionLanguageModel.load(textPath, mmprojPath, { minTokens: tokens, maxTokens: tokens, nCtx: 2048 }),
  );
  const rssLoaded = process.memoryUsage().rss - rss0;
  try {
    // a new image for every measured prompt: the model caches the vision output of images it has seen
    let seed = 100;
    const fresh = async () => vlm.decode(await scenePng(seed++, 320, 240));
    const a = await fresh();
    // the first call sizes compute buffers (and leaves the query `a` in the cache, as a re-rank does): not counted
    await vlm.probabilityYes('Is this a photo? Answer yes or no.', [a]);
    const evalMs: number[] = [],
      rerankMs: number[] = [];
    for (let i = 0; i < reps; i++) {
      const img = await fresh();
      evalMs.push((await timed(() => vlm.probabilityYes('Is this a photo? Answer yes or no.', [img])))[1]);
      const candidate = await fresh();
      // query cached, candidate new
      rerankMs.push((await timed(() => vlm.probabilityYes(RERANK_QUESTION, [a, candidate])))[1]);
    }
    const genTokens = 32;
    const img = await fresh();
    const [gen, genMs] = await timed(() => vlm.generate('Describe this image.', [img], { maxTokens: genTokens }));
    // tokens/s of the decoding loop alone: generation time minus one prompt evaluation
    const decodeS = (genMs - median(evalMs)) / 1000;
    return {
      name,
      loadS: loadMs / 1000,
      rssMiB: Number(mib(rssLoaded)),
      tokens,
      evalS: median(evalMs) / 1000,
      rerankS: median(rerankMs) / 1000,
      tokPerS: gen.nTokens / decodeS,
      nTokens: gen.nTokens,
      promptTokens: gen.nPromptTokens,
    };
  } finally {
    await vlm.dispose();
  }
}

const rows = [];
const tinyMm = ensureRandomMmproj(`${dir}/tiny-qwen3vl-mmproj.gguf`, TINY_VISION, 1);
const tinyText = `${dir}/tiny-qwen3vl-text.gguf`;
if (!existsSync(tinyText)) writeRandomTextModel(tinyText, TINY_TEXT, 2);
rows.push(await measure('tiny pair (vision 64-d, text 64-d x 4 layers)', tinyText, tinyMm, 64, 5));
console.log(rows.at(-1));

if (process.env.LOOKALIKE_BENCH_8B !== '0') {
  const mm = `${dir}/random-qwen3vl-8b-vision-mmproj-f16.gguf`;
  if (!existsSync(mm)) writeRandomMmproj(mm, QWEN3VL_8B_VISION, 8);
  const text = `${dir}/random-qwen3vl-8b-width-4-layers-f16.gguf`;
  if (!existsSync(text)) {
    const [, ms] = await timed(async () => writeRandomTextModel(text, TEXT_8B_WIDTH_4_LAYERS, 9));
    console.log(`wrote ${text} (${mib(statSync(text).size)} MiB) in ${(ms / 1000).toFixed(0)} s`);
  }
  rows.push(await measure('8B vision F16 + 8B-width text, 4 of 36 layers, F16', text, mm, 64, 2));
  console.log(rows.at(-1));
}

console.log(
  `\nthreads ${physicalCores()} (all cores), image tokens fixed at 64 (a 256x256 input), peak RSS ${peakRssMiB()} MiB\n`,
);
console.log(
  table(
    [
      'model',
      'load (s)',
      'RSS after load (MiB)',
      'prompt eval, 1 image (s)',
      'prompt tokens',
      're-rank per candidate (s)',
      'describe (tokens/s)',
    ],
    rows.map((r) => [
      r.name,
      r.loadS.toFixed(2),
      r.rssMiB,
      r.evalS.toFixed(3),
      r.promptTokens,
      r.rerankS.toFixed(3),
      r.tokPerS.toFixed(1),
    ]),
  ),
);
