// bench/encode: what loading and the embed path cost around the encoder, at the real Qwen3-VL-8B vision size
// (random weights, F16, ~1.1 GB, made on the fly into bench/.models/), with the default settings (threads: all cores,
// flash attention off on the CPU). Prints load time and memory, first load (the file is hashed) against a restart
// (the hash comes from the fingerprint cache), and the ratio of the full embed path (decode + resize + encode +
// pooling) to the native encode alone. Speed per device, thread count and weight type: bench/accel.
//   npm run bench:encode            (LOOKALIKE_BENCH_REPS=2 timed runs per cell)
import { existsSync, mkdirSync, rmSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { VisionEncoder, meanPool } from '../src/engine/encoder/vision-encoder.js';
import { QWEN3VL_8B_VISION, writeRandomMmproj } from '../test/helpers/random-models.js';
import { scenePng } from '../test/helpers/images.js';
import { median, mib, peakRssMiB, table, timed } from './common.js';

const reps = Number(process.env.LOOKALIKE_BENCH_REPS ?? 2);
const dir = fileURLToPath(new URL('./.models/', import.meta.url));
const path = `${dir}/random-qwen3vl-8b-vision-mmproj-f16.gguf`;
const fingerprints = `${dir}/fingerprints-bench.json`;
mkdirSync(dir, { recursive: true });
if (!existsSync(path)) {
  const [, ms] = await timed(async () => writeRandomMmproj(path, QWEN3VL_8B_VISION, 8));
  console.log(`wrote ${path} (${mib(statSync(path).size)} MiB) in ${(ms / 1000).toFixed(1)} s`);
}
rmSync(fingerprints, { force: true });

const options = { minTokens: 16, maxTokens: 256, fingerprintCache: fingerprints };
const rss0 = process.memoryUsage().rss;
const [first, firstLoadMs] = await timed(() => VisionEncoder.load(path, options));
const loadedRss = process.memoryUsage().rss - rss0;
await first.dispose();
const [encoder, restartMs] = await timed(() => VisionEncoder.load(path, options));
console.log(
  `load: ${(firstLoadMs / 1000).toFixed(2)} s the first time (sha256 of the file ` +
    `included), ${(restartMs / 1000).toFixed(2)} s ` +
    `on a restart (fingerprint from the cache); RSS +${mib(loadedRss)} MiB`,
);

// one token per 32x32 px after the 2x2 merge: these sizes give exactly 64, 196 and 256 tokens
const rows: (string | number)[][] = [];
for (const s of [
  { tokens: 64, px: 256 },
  { tokens: 196, px: 448 },
  { tokens: 256, px: 512 },
]) {
  const decoded = await encoder.decode(await scenePng(s.tokens, s.px, s.px));
  // the first encode at a size sizes its buffers
  const [out, firstMs] = await timed(() => encoder.encodeTokens(decoded));
  if (out.nTokens !== s.tokens) throw new Error(`expected ${s.tokens} tokens, got ${out.nTokens}`);
  const times: number[] = [];
  for (let r = 0; r < reps; r++) times.push((await timed(() => encoder.encodeTokens(decoded)))[1]);
  rows.push([s.tokens, `${s.px}x${s.px}`, (firstMs / 1000).toFixed(2), (median(times) / 1000).toFixed(2)]);
}

// full path vs native alone at 196 tokens, interleaved so drift hits both alike
const png = await scenePng(196, 448, 448);
const decoded = await encoder.decode(png);
const full: number[] = [],
  native: number[] = [];
for (let r = 0; r < Math.max(2, reps); r++) {
  full.push((await timed(() => encoder.embed(png)))[1]);
  native.push((await timed(() => encoder.encodeTokens(decoded)))[1]);
}
// what the full path adds, timed on its own (the ratio above carries the noise of two long encodes)
const decodeMs = median(await Promise.all([0, 1, 2].map(async () => (await timed(() => encoder.decode(png)))[1])));
const tokens = await encoder.encodeTokens(decoded);
const poolMs = median(
  [0, 1, 2].map(() => {
    const t = performance.now();
    meanPool(tokens.data, tokens.nTokens, tokens.data.length / tokens.nTokens, encoder.dim);
    return performance.now() - t;
  }),
);
await encoder.dispose();

console.log(
  `\nencode time per image, random Qwen3-VL-8B-sized mmproj (F16), default settings, peak RSS ${peakRssMiB()} MiB\n`,
);
console.log(table(['tokens', 'image', 'first encode (s)', `encode (s, median of ${reps})`], rows));
console.log(
  `\nfull embed path / native encode at 196 tokens: ${(median(full) / 1000).toFixed(3)} s ` +
    `/ ${(median(native) / 1000).toFixed(3)} s = ` +
    `${(median(full) / median(native)).toFixed(3)} (target <= 1.05); the path's own work: ` +
    `decode+resize ${decodeMs.toFixed(1)} ms, ` +
    `pooling ${poolMs.toFixed(2)} ms, i.e. ${(1 + (decodeMs + poolMs) / median(native)).toFixed(4)} of the encode`,
);
