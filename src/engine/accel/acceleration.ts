// Which device the models compute on, decided at run time from one build (LOOKALIKE_GPU). The native module links
// node-llama-cpp's CPU libraries; a GPU backend is the libggml-cuda.so or libggml-vulkan.so of node-llama-cpp's other
// prebuilt packages (installed with it as optional dependencies), loaded into the same ggml registry. That works
// because every variant ships the same libggml-base.so. `auto` tries CUDA, then Vulkan, and falls back to the CPU,
// keeping the reason each one was skipped; a backend asked for by name that cannot be used is an error.
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { GpuMode } from '../../core/config.js';
import { LookalikeError } from '../../core/errors.js';
import { readGgufHeader } from '../gguf/reader.js';
import { loadNative, type FlashAttention, type NativeDevice } from '../native/binding.js';

export interface Acceleration {
  mode: GpuMode;
  /** The GPU the models use, or null for the CPU. */
  gpu: NativeDevice | null;
  /** Backends tried and not used, with why. */
  skipped: { backend: string; reason: string }[];
  /** The ggml CPU variant ggml picked for this processor (libggml-cpu-<variant>.so). */
  cpuVariant: string | null;
}

export class GpuUnavailableError extends LookalikeError {
  constructor(message: string) {
    super('gpu_unavailable', message);
  }
}

interface Candidate {
  backend: 'CUDA' | 'Vulkan';
  pkg: string;
  file: string;
  label: string;
}

// In the order `auto` tries them. The CUDA 12 build is node-llama-cpp's fallback for machines without CUDA 13.
const CANDIDATES: Record<'cuda' | 'vulkan', Candidate[]> = {
  cuda: [
    {
      backend: 'CUDA',
      pkg: '@node-llama-cpp/linux-x64-cuda',
      file: 'bins/linux-x64-cuda/libggml-cuda.so',
      label: 'CUDA 13 build',
    },
    {
      backend: 'CUDA',
      pkg: '@node-llama-cpp/linux-x64-cuda-ext',
      file: 'bins/linux-x64-cuda/fallback/libggml-cuda.so',
      label: 'CUDA 12 build',
    },
  ],
  vulkan: [
    {
      backend: 'Vulkan',
      pkg: '@node-llama-cpp/linux-x64-vulkan',
      file: 'bins/linux-x64-vulkan/libggml-vulkan.so',
      label: 'Vulkan build',
    },
  ],
};

const require = createRequire(import.meta.url);

function packageDir(name: string): string | null {
  for (const base of require.resolve.paths(name) ?? [])
    if (existsSync(join(base, name, 'package.json'))) return join(base, name);
  return null;
}

/** Why a backend library could not be used, in words a user can act on. */
function explain(c: Candidate, error: string): string {
  if (error === 'no device') {
    return c.backend === 'Vulkan'
      ? "no device: the Vulkan loader found no GPU (ggml skips CPU-type devices such as Mesa's llvmpipe unless " +
          'GGML_VK_VISIBLE_DEVICES names them, e.g. GGML_VK_VISIBLE_DEVICES=0)'
      : 'no device: the CUDA runtime loaded but found no NVIDIA GPU';
  }
  if (/libcuda\.so|libvulkan\.so/.test(error)) return `no driver (${c.label}): ${error}`;
  if (/libcudart|libcublas/.test(error))
    return `CUDA runtime missing (${c.label}; install the NVIDIA CUDA runtime and cuBLAS): ${error}`;
  return `could not load the ${c.label}: ${error}`;
}

/** Tries one backend's candidates in order; returns its device, or pushes why not. */
function tryBackend(kind: 'cuda' | 'vulkan', skipped: Acceleration['skipped']): NativeDevice | null {
  const native = loadNative();
  if (kind === 'cuda' && process.platform === 'linux' && !existsSync('/proc/driver/nvidia')) {
    skipped.push({
      backend: 'CUDA',
      reason: 'no driver: no NVIDIA kernel driver is loaded (/proc/driver/nvidia is absent)',
    });
    return null;
  }
  for (const c of CANDIDATES[kind]) {
    const dir = packageDir(c.pkg);
    if (!dir || !existsSync(join(dir, c.file))) {
      skipped.push({
        backend: c.backend,
        reason:
          `library missing: ${c.pkg} is not installed (an optional dependency of node-llama-cpp; run npm ci ` +
          `on this platform)`,
      });
      continue;
    }
    // one build can take another variant's backend only because they share libggml-base.so: check, do not assume
    const base = join(dir, c.file, '..', 'libggml-base.so');
    const ours = join(
      packageDir(`@node-llama-cpp/linux-${process.arch}`) ?? '',
      `bins/linux-${process.arch}/libggml-base.so`,
    );
    if (existsSync(base) && existsSync(ours) && !readFileSync(base).equals(readFileSync(ours))) {
      skipped.push({
        backend: c.backend,
        reason:
          `${c.pkg}'s libggml-base.so differs from the CPU build's, so its backend cannot be loaded into ` +
          `this build`,
      });
      continue;
    }
    const result = native.loadBackend(join(dir, c.file));
    if (result.ok) return result.devices[0]!;
    skipped.push({ backend: c.backend, reason: explain(c, result.error) });
  }
  return null;
}

function cpuVariant(): string | null {
  try {
    return /libggml-cpu-([\w.-]+)\.so/.exec(readFileSync('/proc/self/maps', 'utf8'))?.[1] ?? null;
  } catch {
    return null;
  }
}

let chosen: Acceleration | null = null;

/**
 * Loads the GPU backend the mode asks for, once per process (ggml's registry is process-wide). Throws
 * GpuUnavailableError when a backend asked for by name cannot be used.
 */
export function selectAcceleration(mode: GpuMode): Acceleration {
  if (chosen) {
    if (chosen.mode !== mode)
      throw new Error(`acceleration was already set up as ${chosen.mode} in this process; it cannot change to ${mode}`);
    return chosen;
  }
  const skipped: Acceleration['skipped'] = [];
  let gpu: NativeDevice | null = null;
  if (mode === 'metal') {
    throw new GpuUnavailableError(
      process.platform === 'darwin'
        ? 'LOOKALIKE_GPU=metal: this build of lookalike is for Linux x64 only; Metal needs a macOS build, which ' +
            'does not exist yet'
        : 'LOOKALIKE_GPU=metal: Metal exists only on macOS; use cuda, vulkan, auto or off here',
    );
  }
  if (mode === 'cuda' || mode === 'vulkan') {
    gpu = tryBackend(mode, skipped);
    if (!gpu)
      throw new GpuUnavailableError(
        `LOOKALIKE_GPU=${mode}: ${skipped.map((s) => s.reason).join('; ')}. Use LOOKALIKE_GPU=auto to fall back to ` +
          `the CPU.`,
      );
  } else if (mode === 'auto') {
    gpu = tryBackend('cuda', skipped) ?? tryBackend('vulkan', skipped);
    if (process.platform === 'darwin') skipped.push({ backend: 'Metal', reason: 'this build is for Linux x64 only' });
  }
  loadNative().devices(); // registers the CPU backend, so the variant below is known
  chosen = { mode, gpu, skipped, cpuVariant: cpuVariant() };
  return chosen;
}

/** The GPU's current free and total memory, where ggml reports it (0 when it does not). */
export function gpuMemory(gpu: NativeDevice): { free: number; total: number } {
  const now = loadNative()
    .devices()
    .find((d) => d.name === gpu.name);
  return { free: now?.memoryFree ?? 0, total: now?.memoryTotal ?? 0 };
}

/** One line for the log and the health route: "Vulkan0 (llvmpipe ...)" or "CPU (zen4 kernels)". */
export function describeDevice(a: Acceleration, threads: number): string {
  return a.gpu
    ? `${a.gpu.name} (${a.gpu.description})`
    : `CPU, ${threads} thread${threads === 1 ? '' : 's'}${a.cpuVariant ? `, ggml ${a.cpuVariant} kernels` : ''}`;
}

/**
 * Flash attention for the vision tower: off on the CPU, where ggml's flash-attention kernel ran at 14 GFLOP/s and took
 * over half of an 8B-size encode (bench/accel: 196 tokens 10.1 s with it, off much less); the GPU backends decide.
 */
export function flashAttentionFor(useGpu: boolean): FlashAttention {
  return useGpu ? 'auto' : 'off';
}

/**
 * Says so when the first encode on a GPU compiles shader pipelines (ggml's Vulkan backend builds them on first use: 27
 * s for the tiny tower on lavapipe with an empty Mesa cache, under a second once cached), which looks like a hang
 * otherwise. Later image sizes add about a second each, not worth a line.
 */
export function gpuFirstEncode(device: () => string, log: ((msg: string) => void) | undefined) {
  let first = true;
  return async <T>(encode: () => Promise<T>): Promise<T> => {
    if (!first || !log || device() === 'CPU') return encode();
    first = false;
    log(
      `first encode on ${device()}: compiling GPU shader pipelines, up to a minute on an empty shader cache (under ` +
        `a second once cached)`,
    );
    const started = performance.now();
    const out = await encode();
    log(`first encode on ${device()} took ${((performance.now() - started) / 1000).toFixed(1)} s`);
    return out;
  };
}

const MATRIX_TYPES: Record<number, 'f32' | 'f16' | 'bf16' | 'q8_0'> = { 0: 'f32', 1: 'f16', 30: 'bf16', 8: 'q8_0' };

/**
 * Whether another weight type of the mmproj would encode faster on this CPU, from a same-run matrix product of each
 * type (about a second): the published Q8_0 mmproj is smaller and, on CPUs with VNNI or AVX512-BF16, faster than F16.
 * Another file is another model: the gallery must be re-indexed, so this is advice for the start of an index.
 */
export function weightTypeAdvice(mmprojPath: string, threads: number): string | null {
  const header = readGgufHeader(mmprojPath);
  const current = MATRIX_TYPES[header.tensors.find((t) => t.name === 'v.blk.0.ffn_up.weight')?.type ?? -1];
  if (!current) return null;
  const native = loadNative();
  const speed = (type: 'f32' | 'f16' | 'bf16' | 'q8_0') => native.matmulPeak(1024, threads, type, 3);
  const base = speed(current);
  const faster = (['q8_0', 'bf16'] as const)
    .filter((t) => t !== current)
    .map((t) => ({ t, ratio: speed(t) / base }))
    .filter((x) => x.ratio > 1.25);
  if (!faster.length) return null;
  return (
    `the mmproj's matrices are ${current.toUpperCase()}; on this ` +
    `CPU ${faster
      .map((x) => `${x.t.toUpperCase()} ` + `matrix products run ${x.ratio.toFixed(1)}x faster`)
      .join(' and ')} ` +
    '(the encode as a whole gains less: see README "Acceleration"). The published ' +
    'mmproj-Qwen3VL-8B-Instruct-Q8_0.gguf is such a file; ' +
    'another file is another model, so switching means re-indexing (--switch-model).'
  );
}
