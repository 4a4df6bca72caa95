// bench/embedding: search by words with Qwen3-VL-Embedding-shaped random models (pooling LAST) of the real 2B and 8B
// sizes. The 2B text model at its full depth (28 layers, F16, 2.8 GB); the 8B text model with 4 of its 36 layers
// (the full depth is 16 GB in F16: it does not fit next to everything else here), as in bench/generative. The
// vocabulary is the tiny test one: an embedding reads the last hidden state, not the output head, so that costs
// nothing here; the real vocabulary adds its embedding table (151k x width) to memory only.
// Prints load time and memory, the latency of a text query and the cost of an image at 64 and 256 tokens, then, for
// the index: memory per vector at full and truncated (Matryoshka) dims, and recall@10 of truncated against full dims
// on a clustered synthetic set.   npm run bench:embedding   (LOOKALIKE_BENCH_REPS=5, LOOKALIKE_BENCH_MODELS=2B,8B)
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { physicalCores } from '../src/core/util/cpu.js';
import { l2Normalize } from '../src/engine/encoder/vision-encoder.js';
import { truncate, VlEmbedder } from '../src/engine/encoder/vl-embedder.js';
import { VectorIndex } from '../src/engine/index/vector-index.js';
import type { IndexKind } from '../src/engine/index/kinds.js';
import { seededRandom, writeRandomTextModel, type TextSpec } from '../test/helpers/random-text-model.js';
import {
  QWEN3VL_2B_VISION,
  QWEN3VL_8B_VISION,
  writeRandomMmproj,
  type VisionSpec,
} from '../test/helpers/random-models.js';
import { scenePng } from '../test/helpers/images.js';
import { median, mib, table, timed } from './common.js';

const reps = Number(process.env.LOOKALIKE_BENCH_REPS ?? 5);
const dir = fileURLToPath(new URL('./.models/', import.meta.url));
mkdirSync(dir, { recursive: true });

const MODELS: { name: string; vision: VisionSpec; text: TextSpec; layersOf: number }[] = [
  {
    name: '2B',
    vision: QWEN3VL_2B_VISION,
    text: { embd: 2048, layers: 28, heads: 16, kvHeads: 8, headDim: 128, ffn: 6144, context: 4096, deepstack: 3 },
    layersOf: 28,
  },
  {
    name: '8B',
    vision: QWEN3VL_8B_VISION,
    text: { embd: 4096, layers: 4, heads: 32, kvHeads: 8, headDim: 128, ffn: 12288, context: 4096, deepstack: 3 },
    layersOf: 36,
  },
];

function ensure(path: string, write: () => void): string {
  if (!existsSync(path)) {
    const started = performance.now();
    write();
    console.log(
      `wrote ${path} (${mib(statSync(path).size)} MiB) in ${((performance.now() - started) / 1000).toFixed(0)} s`,
    );
  }
  return path;
}

// The test tokenizer is byte-level with a handful of merges, so its prompts are about 3 times longer in tokens than
// the Qwen tokenizer's: the table also gives the time per token, and the time for a prompt of the real length
// (instruction, chat template and a short query: about 35 tokens).
const REAL_PROMPT_TOKENS = 35;
const QUERIES = [
  'a red bicycle in the snow',
  'two dogs playing on a beach at sunset',
  'a bowl of noodles on a wooden table',
  'the city skyline at night, seen from a bridge',
  'a child reading a book under a tree',
];
const modelRows: (string | number)[][] = [];
const only = process.env.LOOKALIKE_BENCH_MODELS?.split(','); // e.g. 8B
for (const m of MODELS.filter((x) => !only || only.includes(x.name))) {
  const mmproj = ensure(join(dir, `random-qwen3vl-embedding-${m.name.toLowerCase()}-mmproj-f16.gguf`), () =>
    writeRandomMmproj(join(dir, `random-qwen3vl-embedding-${m.name.toLowerCase()}-mmproj-f16.gguf`), m.vision, 12),
  );
  const textPath = join(dir, `random-qwen3vl-embedding-${m.name.toLowerCase()}-${m.text.layers}l-f16.gguf`);
  ensure(textPath, () => writeRandomTextModel(textPath, m.text, 13, 'embed'));
  const rss0 = process.memoryUsage().rss;
  const [e, loadMs] = await timed(() =>
    VlEmbedder.load(textPath, mmproj, { minTokens: 16, maxTokens: 256, nCtx: 2048 }),
  );
  const rss = process.memoryUsage().rss - rss0;
  await e.embedText('warm-up'); // the first call sizes compute buffers
  const textMs: number[] = [];
  for (let r = 0; r < reps; r++) for (const q of QUERIES) textMs.push((await timed(() => e.embedText(`${q} ${r}`)))[1]);
  const tokens = median(await Promise.all(QUERIES.map((q) => e.textPromptTokens(q))));
  const imageMs: Record<number, number> = {};
  for (const [tokens, px] of [
    [64, 256],
    [256, 512],
  ] as const) {
    const decoded = await e.decode(await scenePng(tokens, px, px));
    await e.encode(decoded);
    const times: number[] = [];
    for (let r = 0; r < Math.min(reps, 3); r++) times.push((await timed(() => e.encode(decoded)))[1]);
    imageMs[tokens] = median(times);
  }
  await e.dispose();
  const perToken = median(textMs) / tokens;
  const row = [
    `${m.name} (${m.text.layers} of ${m.layersOf} text layers)`,
    (loadMs / 1000).toFixed(1),
    mib(rss),
    median(textMs).toFixed(0),
    Math.max(...textMs).toFixed(0),
    tokens,
    perToken.toFixed(1),
    (perToken * REAL_PROMPT_TOKENS).toFixed(0),
    (imageMs[64]! / 1000).toFixed(2),
    (imageMs[256]! / 1000).toFixed(2),
  ];
  modelRows.push(row);
  console.log(row.join(' | '));
}
console.log(`\n${physicalCores()} threads, F16 weights, context 2048; text query: ${QUERIES.length * reps} queries\n`);
console.log(
  table(
    [
      'model',
      'load (s)',
      'RSS after load (MiB)',
      'text query p50 (ms)',
      'text query max (ms)',
      'prompt tokens (test tokenizer)',
      'ms per prompt token',
      `text query at ${REAL_PROMPT_TOKENS} tokens (ms)`,
      'image, 64 tokens (s)',
      'image, 256 tokens (s)',
    ],
    modelRows,
  ),
);

// Index side: memory per vector and recall of truncated vectors. Synthetic 2048-d vectors in clusters whose
// differences decay along the dimensions (as Matryoshka training makes the leading dims carry the most).
const N = 20_000,
  DIM = 2048,
  NQ = 100,
  CLUSTERS = 400,
  K = 10;
const rand = seededRandom(7);
const gauss = () => Math.sqrt(-2 * Math.log(rand() + 1e-12)) * Math.cos(2 * Math.PI * rand());
const scale = Float32Array.from({ length: DIM }, (_, i) => 1 / Math.sqrt(1 + i / 32));
const centres = Array.from({ length: CLUSTERS }, () =>
  Float32Array.from({ length: DIM }, (_, i) => gauss() * scale[i]!),
);
const point = (c: number) => l2Normalize(Float32Array.from(centres[c]!, (v, i) => v + 0.6 * gauss() * scale[i]!));
const base = Array.from({ length: N }, (_, i) => point(i % CLUSTERS));
const queries = Array.from({ length: NQ }, () => point(Math.floor(rand() * CLUSTERS)));
const exactTop = (vs: Float32Array[], q: Float32Array) =>
  vs
    .map((v, i) => ({ i, s: v.reduce((a, x, j) => a + x * q[j]!, 0) }))
    .sort((a, b) => b.s - a.s)
    .slice(0, K)
    .map((h) => h.i);
const truth = queries.map((q) => exactTop(base, q));
const tmp = mkdtempSync(join(tmpdir(), 'lookalike-bench-embedding-'));
const indexRows: (string | number)[][] = [];
try {
  for (const dim of [2048, 1024, 512, 256, 128]) {
    const vs = base.map((v) => truncate(v, dim));
    const recall =
      queries.reduce(
        (s, q, qi) => s + exactTop(vs, truncate(q, dim)).filter((i) => truth[qi]!.includes(i)).length / K,
        0,
      ) / NQ;
    const bytes: Record<string, string> = {};
    for (const kind of ['flat', 'ivf-sq8'] as IndexKind[]) {
      const index = await VectorIndex.start({
        dir: join(tmp, `${kind}-${dim}`),
        kind,
        dim,
        modelId: 'bench',
        params: { hnswM: 32, efSearch: 128, nprobe: 16 },
        threads: 1,
      });
      await index.call.beginBuild();
      const flat = new Float32Array(N * dim);
      vs.forEach((v, i) => flat.set(v, i * dim));
      await index.call.add(
        Array.from({ length: N }, (_, i) => i + 1),
        flat,
      );
      await index.call.finishBuild();
      await index.call.save(0);
      await index.close();
      const manifest = JSON.parse(readFileSync(join(tmp, `${kind}-${dim}`, `${kind}.json`), 'utf8')) as {
        file: string;
      };
      bytes[kind] = (statSync(join(tmp, `${kind}-${dim}`, manifest.file)).size / N).toFixed(0);
    }
    indexRows.push([dim, bytes.flat!, bytes['ivf-sq8']!, recall.toFixed(3)]);
  }
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
console.log(
  `\nindex: ${N} synthetic vectors of ${DIM} dims in ${CLUSTERS} clusters, ${NQ} queries; recall@${K} of exact ` +
    `search on truncated vectors against exact search on all ${DIM}\n`,
);
console.log(
  table(['dims kept', 'flat (bytes/vector, file)', 'ivf-sq8 (bytes/vector, file)', `recall@${K} vs full`], indexRows),
);
