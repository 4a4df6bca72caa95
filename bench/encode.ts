// bench/encode: the vision encoder at the real Qwen3-VL-8B vision size (random weights, F16, ~1.2 GB, made on the
// fly into bench/.models/). Prints load time and memory, encode time per image at 64, 196 and 256 tokens with 1 and
// 2 threads, and the ratio of the full embed path (decode + resize + encode + pooling) to the native encode alone.
//   npm run bench:encode            (LOOKALIKE_BENCH_REPS=2 timed runs per cell)
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { VisionEncoder, meanPool } from '../src/encoder/vision-encoder.js';
import { QWEN3VL_8B_VISION, writeRandomMmproj } from '../src/models/random-models.js';
import { scenePng } from '../test/helpers/images.js';
import { median, mib, peakRssMiB, table, timed } from './common.js';

const reps = Number(process.env.LOOKALIKE_BENCH_REPS ?? 2);
const dir = fileURLToPath(new URL('./.models/', import.meta.url));
const path = `${dir}/random-qwen3vl-8b-vision-mmproj-f16.gguf`;
mkdirSync(dir, { recursive: true });
if (!existsSync(path)) {
  const [, ms] = await timed(async () => writeRandomMmproj(path, QWEN3VL_8B_VISION, 8));
  console.log(`wrote ${path} (${mib(statSync(path).size)} MiB) in ${(ms / 1000).toFixed(1)} s`);
}
// one token per 32x32 px after the 2x2 merge: these sizes give exactly 64, 196 and 256 tokens
const sizes = [{ tokens: 64, px: 256 }, { tokens: 196, px: 448 }, { tokens: 256, px: 512 }];
const images = new Map<number, Buffer>();
for (const s of sizes) images.set(s.tokens, await scenePng(s.tokens, s.px, s.px));

const rows: (string | number)[][] = [];
let ratioLine = '';
for (const threads of [1, 2]) {
  const rss0 = process.memoryUsage().rss;
  const [encoder, loadMs] = await timed(() => VisionEncoder.load(path, { threads, minTokens: 16, maxTokens: 256 }));
  console.log(`threads ${threads}: load ${(loadMs / 1000).toFixed(2)} s (file hash included), RSS +${mib(process.memoryUsage().rss - rss0)} MiB, peak RSS ${peakRssMiB()} MiB`);
  for (const s of sizes) {
    const decoded = await encoder.decode(images.get(s.tokens)!);
    const [first, warmMs] = await timed(() => encoder.encodeTokens(decoded)); // the first encode at a size sizes its buffers
    if (first.nTokens !== s.tokens) throw new Error(`expected ${s.tokens} tokens, got ${first.nTokens}`);
    const times: number[] = [];
    for (let r = 0; r < reps; r++) times.push((await timed(() => encoder.encodeTokens(decoded)))[1]);
    rows.push([threads, s.tokens, `${s.px}x${s.px}`, (warmMs / 1000).toFixed(2), (median(times) / 1000).toFixed(2)]);
    console.log(`  ${s.tokens} tokens: first ${(warmMs / 1000).toFixed(2)} s, then ${times.map((t) => (t / 1000).toFixed(2)).join(' / ')} s`);
  }
  if (threads === 1) {
    // full path vs native alone at 196 tokens, interleaved so drift hits both alike
    const png = images.get(196)!;
    const full: number[] = [], native: number[] = [];
    const decoded = await encoder.decode(png);
    for (let r = 0; r < Math.max(2, reps); r++) {
      full.push((await timed(() => encoder.embed(png)))[1]);
      native.push((await timed(() => encoder.encodeTokens(decoded)))[1]);
    }
    const ratio = median(full) / median(native);
    // what the full path adds, timed on its own (the ratio above carries the noise of two long encodes)
    const decodeMs = median(await Promise.all([0, 1, 2].map(async () => (await timed(() => encoder.decode(png)))[1])));
    const tokens = await encoder.encodeTokens(decoded);
    const poolMs = median([0, 1, 2].map(() => { const t = performance.now(); meanPool(tokens.data, tokens.nTokens, tokens.data.length / tokens.nTokens, encoder.dim); return performance.now() - t; }));
    ratioLine = `full embed path / native encode at 196 tokens, 1 thread: ${(median(full) / 1000).toFixed(3)} s / ${(median(native) / 1000).toFixed(3)} s = ${ratio.toFixed(3)} (target <= 1.05); ` +
      `the path's own work: decode+resize ${decodeMs.toFixed(1)} ms, pooling ${poolMs.toFixed(2)} ms, i.e. ${(1 + (decodeMs + poolMs) / median(native)).toFixed(4)} of the encode`;
    console.log(ratioLine);
  }
  await encoder.dispose();
}
console.log(`\nencode time per image, random Qwen3-VL-8B-sized mmproj (F16), peak RSS ${peakRssMiB()} MiB\n`);
console.log(table(['threads', 'tokens', 'image', 'first encode (s)', `encode (s, median of ${reps})`], rows));
console.log(`\n${ratioLine}`);
