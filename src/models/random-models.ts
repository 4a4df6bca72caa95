// Random-weight GGUF models of the real Qwen3-VL architectures, written deterministically from a seed.
// Tests and the demo use the tiny ones, so the code path under test is llama.cpp's real one; benchmarks use a
// random mmproj of the real Qwen3-VL-8B vision size. None of these files is committed: they are made on demand.
import { existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { GgmlType } from '../gguf/format.js';
import { writeGguf, type GgufKv, type GgufTensorData } from '../gguf/writer.js';

export interface VisionSpec {
  hidden: number;
  heads: number;
  ffn: number;
  layers: number;
  patch: number;
  imageSize: number; // sets the learned position grid: (imageSize / patch)^2 positions
  deepstack: number[]; // encoder layers that feed a deepstack merger
  projectionDim: number; // = the text model's n_embd
}

export const TINY_VISION: VisionSpec = { hidden: 64, heads: 4, ffn: 128, layers: 3, patch: 16, imageSize: 256, deepstack: [0, 1], projectionDim: 64 };
// Qwen3-VL-8B-Instruct's vision tower (mmproj-Qwen3VL-8B-Instruct-F16.gguf), for benchmarks.
export const QWEN3VL_8B_VISION: VisionSpec = { hidden: 1152, heads: 16, ffn: 4304, layers: 27, patch: 16, imageSize: 768, deepstack: [8, 16, 24], projectionDim: 4096 };

// splitmix32: small, fast and the same on every machine.
export function seededRandom(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return ((z ^ (z >>> 16)) >>> 0) / 4294967296;
  };
}

type Init = { kind: 'uniform'; scale: number } | { kind: 'const'; value: number };
interface TensorPlan { name: string; dims: number[]; type: GgmlType; init: Init }

function weight(name: string, dims: number[], fanIn = dims[0]!): TensorPlan {
  // variance 1/fan_in keeps activations in range through the random layers
  return { name, dims, type: GgmlType.F16, init: { kind: 'uniform', scale: Math.sqrt(3 / fanIn) } };
}
function vector(name: string, n: number, init: Init): TensorPlan {
  return { name, dims: [n], type: GgmlType.F32, init };
}
const ones: Init = { kind: 'const', value: 1 };
const smallBias: Init = { kind: 'uniform', scale: 0.02 };

function materialize(plan: TensorPlan, rand: () => number): GgufTensorData {
  const n = plan.dims.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  if (plan.init.kind === 'const') data.fill(plan.init.value);
  else for (let i = 0; i < n; i++) data[i] = (rand() * 2 - 1) * plan.init.scale;
  return { name: plan.name, dims: plan.dims, type: plan.type, data };
}

function writePlanned(path: string, kv: Record<string, GgufKv>, plans: TensorPlan[], seed: number): void {
  mkdirSync(dirname(path), { recursive: true });
  const rand = seededRandom(seed);
  writeGguf(path, kv, plans.map((p) => () => materialize(p, rand)), plans);
}

export function writeRandomMmproj(path: string, spec: VisionSpec, seed = 1): void {
  const { hidden: h, ffn, patch, projectionDim: proj } = spec;
  const merged = h * 4; // 2x2 spatial merge
  const plans: TensorPlan[] = [
    weight('v.patch_embd.weight', [patch, patch, 3, h], patch * patch * 3 * 2),
    weight('v.patch_embd.weight.1', [patch, patch, 3, h], patch * patch * 3 * 2),
    vector('v.patch_embd.bias', h, smallBias),
    { ...weight('v.position_embd.weight', [h, (spec.imageSize / patch) ** 2]), type: GgmlType.F32, init: { kind: 'uniform', scale: 0.5 } },
  ];
  for (let i = 0; i < spec.layers; i++) {
    const b = `v.blk.${i}`;
    plans.push(
      vector(`${b}.ln1.weight`, h, ones), vector(`${b}.ln1.bias`, h, smallBias),
      weight(`${b}.attn_qkv.weight`, [h, 3 * h]), vector(`${b}.attn_qkv.bias`, 3 * h, smallBias),
      weight(`${b}.attn_out.weight`, [h, h]), vector(`${b}.attn_out.bias`, h, smallBias),
      vector(`${b}.ln2.weight`, h, ones), vector(`${b}.ln2.bias`, h, smallBias),
      weight(`${b}.ffn_up.weight`, [h, ffn]), vector(`${b}.ffn_up.bias`, ffn, smallBias),
      weight(`${b}.ffn_down.weight`, [ffn, h]), vector(`${b}.ffn_down.bias`, h, smallBias),
    );
  }
  for (const i of spec.deepstack) {
    const b = `v.deepstack.${i}`;
    plans.push(
      vector(`${b}.norm.weight`, merged, ones), vector(`${b}.norm.bias`, merged, smallBias),
      weight(`${b}.fc1.weight`, [merged, merged]), vector(`${b}.fc1.bias`, merged, smallBias),
      weight(`${b}.fc2.weight`, [merged, proj]), vector(`${b}.fc2.bias`, proj, smallBias),
    );
  }
  plans.push(
    vector('v.post_ln.weight', h, ones), vector('v.post_ln.bias', h, smallBias),
    weight('mm.0.weight', [merged, merged]), vector('mm.0.bias', merged, smallBias),
    weight('mm.2.weight', [merged, proj]), vector('mm.2.bias', proj, smallBias),
  );
  const kv: Record<string, GgufKv> = {
    'general.architecture': { type: 'str', value: 'clip' },
    'general.name': { type: 'str', value: `lookalike random qwen3vl mmproj (hidden ${h}, ${spec.layers} layers, seed ${seed})` },
    'general.file_type': { type: 'u32', value: 1 },
    'clip.has_vision_encoder': { type: 'bool', value: true },
    'clip.projector_type': { type: 'str', value: 'qwen3vl_merger' },
    'clip.use_gelu': { type: 'bool', value: true },
    'clip.vision.projection_dim': { type: 'u32', value: proj },
    'clip.vision.image_size': { type: 'u32', value: spec.imageSize },
    'clip.vision.patch_size': { type: 'u32', value: patch },
    'clip.vision.embedding_length': { type: 'u32', value: h },
    'clip.vision.feed_forward_length': { type: 'u32', value: ffn },
    'clip.vision.block_count': { type: 'u32', value: spec.layers },
    'clip.vision.spatial_merge_size': { type: 'u32', value: 2 },
    'clip.vision.attention.head_count': { type: 'u32', value: spec.heads },
    'clip.vision.attention.layer_norm_epsilon': { type: 'f32', value: 1e-6 },
    'clip.vision.image_mean': { type: 'f32[]', value: [0.5, 0.5, 0.5] },
    'clip.vision.image_std': { type: 'f32[]', value: [0.5, 0.5, 0.5] },
  };
  writePlanned(path, kv, plans, seed);
}

/** Writes the file unless it exists; generation is deterministic, so an existing file is the same file. */
export function ensureRandomMmproj(path: string, spec: VisionSpec = TINY_VISION, seed = 1): string {
  if (!existsSync(path)) writeRandomMmproj(path, spec, seed);
  return path;
}
