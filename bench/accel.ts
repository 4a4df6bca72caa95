// bench/accel: how fast the Qwen3-VL-8B vision tower encodes on this machine's CPU and GPU, and how close that comes
// to the machine's own limit. Random weights of the real 8B vision size (made on the fly into bench/.models/).
//   npm run bench:accel
//   LOOKALIKE_GPU=vulkan GGML_VK_VISIBLE_DEVICES=0 npm run bench:accel   (adds Mesa's CPU Vulkan driver, lavapipe)
//   LOOKALIKE_GPU=cuda npm run bench:accel                                (on a machine with an NVIDIA GPU)
// Prints: the ggml CPU variant and the device; a same-run matmul peak per weight type and thread count; images/s and
// GFLOP/s (FLOPs counted from the architecture) at 64, 196 and 256 tokens on 1 and all cores and on the GPU; the
// mmproj stored as F32, F16, BF16 and Q8_0 with the cosine of each type's vectors to F32's on 20 images; flash
// attention on and off; and a per-op profile of one encode.
// LOOKALIKE_BENCH_REPS (default 1) timed encodes per cell after a first one that sizes the buffers;
// LOOKALIKE_BENCH_ONLY=gpu skips the CPU sections; LOOKALIKE_BENCH_GPU_TOKENS=64 (comma list) limits the GPU sizes
// (lavapipe, a CPU behind Vulkan, takes about 40 s per image at 64 tokens).
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { describeDevice, selectAcceleration } from '../src/engine/accel/acceleration.js';
import { physicalCores } from '../src/core/util/cpu.js';
import type { GpuMode } from '../src/core/config.js';
import { VisionEncoder } from '../src/engine/encoder/vision-encoder.js';
import { GgmlType } from '../src/engine/gguf/format.js';
import { QWEN3VL_8B_VISION, writeRandomMmproj, type VisionSpec } from '../test/helpers/random-models.js';
import { loadNative, type FlashAttention } from '../src/engine/native/binding.js';
import { scenePng } from '../test/helpers/images.js';
import { median, mib, table, timed } from './common.js';

const reps = Number(process.env.LOOKALIKE_BENCH_REPS ?? 1);
const cpuSections = process.env.LOOKALIKE_BENCH_ONLY !== 'gpu';
const gpuTokens = (process.env.LOOKALIKE_BENCH_GPU_TOKENS ?? '64,196,256').split(',').map(Number);
const all = physicalCores();
const threadCounts = [...new Set([1, all])];
const TYPES = { F32: GgmlType.F32, F16: GgmlType.F16, BF16: GgmlType.BF16, Q8_0: GgmlType.Q8_0 } as const;
type TypeName = keyof typeof TYPES;
const PEAK_TYPE: Record<TypeName, 'f32' | 'f16' | 'bf16' | 'q8_0'> = {
  F32: 'f32',
  F16: 'f16',
  BF16: 'bf16',
  Q8_0: 'q8_0',
};
// one token per 32x32 px after the 2x2 merge: these sizes give exactly 64, 196 and 256 tokens
const SIZES = [
  { tokens: 64, px: 256 },
  { tokens: 196, px: 448 },
  { tokens: 256, px: 512 },
];

/**
 * FLOPs of one encode: patch embedding, the transformer layers (projections, attention, MLP), the 1 + deepstack
 * mergers.
 */
export function visionFlops(spec: VisionSpec, tokens: number): number {
  const n = tokens * 4; // patches: 2x2 merged into one token
  const d = spec.hidden,
    merged = 4 * d;
  const patchEmbed = 2 * 2 * n * spec.patch * spec.patch * 3 * d; // two conv kernels (Qwen's temporal pair)
  const layer = 2 * n * d * 3 * d + 2 * n * d * d + 2 * 2 * n * d * spec.ffn + 2 * 2 * n * n * d;
  const merger = 2 * (n / 4) * merged * merged + 2 * (n / 4) * merged * spec.projectionDim;
  return patchEmbed + spec.layers * layer + (1 + spec.deepstack.length) * merger;
}

const dir = fileURLToPath(new URL('./.models/', import.meta.url));
mkdirSync(dir, { recursive: true });
function mmprojOf(type: TypeName): string {
  const path = `${dir}/random-qwen3vl-8b-vision-mmproj-${type.toLowerCase()}.gguf`;
  if (!existsSync(path)) {
    const started = performance.now();
    writeRandomMmproj(path, QWEN3VL_8B_VISION, 8, TYPES[type]);
    console.log(
      `wrote ${path} (${mib(statSync(path).size)} MiB) in ${((performance.now() - started) / 1000).toFixed(1)} s`,
    );
  }
  return path;
}

const accel = selectAcceleration((process.env.LOOKALIKE_GPU ?? 'auto') as GpuMode);
const native = loadNative();
console.log(`CPU: ${cpus()[0]?.model}, ${all} physical cores; ggml CPU variant: libggml-cpu-${accel.cpuVariant}.so`);
console.log(
  `GPU: ${accel.gpu ? describeDevice(accel, all) : 'none'}${accel.skipped
    .map((s) => `\n  ` + `skipped ${s.backend}: ${s.reason}`)
    .join('')}`,
);

// 1. the machine's own ceiling: one large matrix product through ggml's CPU backend, per weight type and thread count
const peak = new Map<string, number>();
const peakRows: (string | number)[][] = [];
for (const t of threadCounts) {
  for (const type of Object.keys(TYPES) as TypeName[]) {
    const gflops = native.matmulPeak(2048, t, PEAK_TYPE[type], 5);
    peak.set(`${type}/${t}`, gflops);
    peakRows.push([t, type, gflops.toFixed(1)]);
  }
}
console.log(
  `\nmatmul peak, 2048 x 2048 x 2048 (weights of the type x F32 activations), ggml CPU ` +
    `backend:\n${table(['threads', 'weights', 'GFLOP/s'], peakRows)}`,
);

const images = new Map<number, Buffer>();
for (const s of SIZES) images.set(s.tokens, await scenePng(s.tokens, s.px, s.px));

interface Load {
  type: TypeName;
  threads: number;
  useGpu?: boolean;
  flashAttn?: FlashAttention;
  profile?: boolean;
}
async function withEncoder<T>(o: Load, body: (e: VisionEncoder) => Promise<T>): Promise<T> {
  const encoder = await VisionEncoder.load(mmprojOf(o.type), {
    threads: o.threads,
    minTokens: 16,
    maxTokens: 256,
    useGpu: o.useGpu ?? false,
    flashAttn: o.flashAttn,
    profile: o.profile,
  });
  try {
    return await body(encoder);
  } finally {
    await encoder.dispose();
  }
}

/** Seconds per encode at this many tokens: the first encode (which sizes buffers) is not counted. */
async function secondsPerEncode(e: VisionEncoder, tokens: number): Promise<{ first: number; seconds: number }> {
  const decoded = await e.decode(images.get(tokens)!);
  const [out, first] = await timed(() => e.encodeTokens(decoded));
  if (out.nTokens !== tokens) throw new Error(`expected ${tokens} tokens, got ${out.nTokens}`);
  const times: number[] = [];
  for (let r = 0; r < reps; r++) times.push((await timed(() => e.encodeTokens(decoded)))[1]);
  return { first: first / 1000, seconds: median(times) / 1000 };
}

const row = (device: string, threads: number | string, type: TypeName, tokens: number, s: number, peakKey?: string) => {
  const gflops = visionFlops(QWEN3VL_8B_VISION, tokens) / s / 1e9;
  const ofPeak = (k: string) => (peak.has(k) ? `${((100 * gflops) / peak.get(k)!).toFixed(0)}%` : '-');
  return [
    device,
    threads,
    type,
    tokens,
    s.toFixed(2),
    (1 / s).toFixed(3),
    gflops.toFixed(1),
    peakKey ? ofPeak(`F32/${peakKey}`) : '-',
    peakKey ? ofPeak(`${type}/${peakKey}`) : '-',
  ];
};
const HEAD = [
  'device',
  'threads',
  'weights',
  'tokens',
  's/image',
  'images/s',
  'GFLOP/s',
  '% of F32 peak',
  '% of own type peak',
];

// 2. the default file type (the published mmproj is F16) on the CPU with 1 and all threads, and on the GPU
const speedRows: (string | number)[][] = [];
for (const threads of cpuSections ? threadCounts : []) {
  await withEncoder({ type: 'F16', threads }, async (e) => {
    for (const s of SIZES) {
      const { seconds, first } = await secondsPerEncode(e, s.tokens);
      console.log(
        `CPU F16 ${threads} thread(s) ${s.tokens} tokens: first ${first.toFixed(2)} s, then ${seconds.toFixed(2)} s`,
      );
      speedRows.push(row('CPU', threads, 'F16', s.tokens, seconds, String(threads)));
    }
  });
}
if (accel.gpu) {
  await withEncoder({ type: 'F16', threads: all, useGpu: true }, async (e) => {
    for (const s of SIZES.filter((x) => gpuTokens.includes(x.tokens))) {
      const { seconds, first } = await secondsPerEncode(e, s.tokens);
      console.log(
        `${accel.gpu!.name} F16 ${s.tokens} tokens: first ${first.toFixed(2)} s (shader compilation included), ` +
          `then ${seconds.toFixed(2)} s`,
      );
      speedRows.push(row(`${accel.gpu!.name} (${accel.gpu!.description})`, '-', 'F16', s.tokens, seconds));
    }
  });
}
console.log(`\nencode speed, F16 mmproj:\n${table(HEAD, speedRows)}`);
if (!cpuSections) process.exit(0);

// 3. weight types: speed at 196 tokens on all cores, and fidelity to F32 on 20 images
const typeRows: (string | number)[][] = [];
const reference: Float32Array[] = [];
for (const type of Object.keys(TYPES) as TypeName[]) {
  await withEncoder({ type, threads: all }, async (e) => {
    const { seconds } = await secondsPerEncode(e, 196);
    const cosines: number[] = [];
    for (let i = 0; i < 20; i++) {
      const v = (await e.embed(await scenePng(1000 + i, 256, 256))).vector;
      if (type === 'F32') reference.push(v);
      cosines.push(v.reduce((acc, x, j) => acc + x * reference[i]![j]!, 0));
    }
    console.log(`${type}: ${seconds.toFixed(2)} s at 196 tokens; cosine to F32 min ${Math.min(...cosines).toFixed(6)}`);
    typeRows.push([
      ...row('CPU', all, type, 196, seconds, String(all)),
      mib(statSync(mmprojOf(type)).size),
      Math.min(...cosines).toFixed(6),
      (cosines.reduce((a, b) => a + b, 0) / cosines.length).toFixed(6),
    ]);
  });
}
console.log(
  `\nweight types, 196 tokens, ${all} threads; cosine of pooled vectors to F32's over 20 images (64 ` +
    `tokens):\n${table([...HEAD, 'file (MiB)', 'min cosine', 'mean cosine'], typeRows)}`,
);

// 4. clip's flash attention, on and off (the encoder's default on the CPU is off: see flashAttentionFor in
//    src/engine/accel)
const flashRows: (string | number)[][] = [];
for (const flashAttn of ['on', 'off'] as const) {
  await withEncoder({ type: 'F16', threads: all, flashAttn }, async (e) => {
    for (const tokens of [64, 256])
      flashRows.push([flashAttn, tokens, (await secondsPerEncode(e, tokens)).seconds.toFixed(2)]);
  });
}
console.log(`\nflash attention (F16, ${all} threads):\n${table(['flash attention', 'tokens', 's/image'], flashRows)}`);

// 5. where the time goes: every ggml op timed on its own (each op becomes a sync point), with flash attention as it was
// by default before (on) and as it is now on the CPU (off)
for (const [type, flashAttn] of [
  ['F16', 'on'],
  ['F16', 'off'],
  ['BF16', 'off'],
] as const) {
  await withEncoder({ type, threads: all, profile: true, flashAttn }, async (e) => {
    const decoded = await e.decode(images.get(196)!);
    await e.encodeTokens(decoded);
    await e.takeProfile();
    const [, ms] = await timed(() => e.encodeTokens(decoded));
    const ops = (await e.takeProfile()).sort((a, b) => b.ms - a.ms);
    const total = ops.reduce((s, o) => s + o.ms, 0);
    const flop = ops.reduce((s, o) => s + o.flop, 0);
    const rows = ops
      .slice(0, 12)
      .map((o) => [
        o.op,
        o.count,
        o.ms.toFixed(0),
        `${((100 * o.ms) / total).toFixed(1)}%`,
        o.flop ? (o.flop / o.ms / 1e6).toFixed(1) : '-',
      ]);
    console.log(
      `\nprofile, ${type}, flash attention ${flashAttn}, 196 tokens, ${all} threads: ${ms.toFixed(0)} ms in all ` +
        `(${total.toFixed(0)} ms inside ops); ` +
        `${(flop / 1e9).toFixed(0)} GFLOP counted by ggml in matmul and attention (the ` +
        `formula: ${(visionFlops(QWEN3VL_8B_VISION, 196) / 1e9).toFixed(0)})\n` +
        table(['op', 'count', 'ms', 'share', 'GFLOP/s'], rows),
    );
  });
}
