// Random-weight GGUF files for tests and benchmarks: vision towers (mmproj) of the real Qwen3-VL architectures, and
// LoRA adapters, written deterministically from a seed, so the code path under test is llama.cpp's real one.
// Benchmarks use a random mmproj of the real Qwen3-VL-8B vision size. None of these files is committed.
import { existsSync } from 'node:fs';
import { GgmlType } from '../../src/engine/gguf/format.js';
import type { GgufKv } from '../../src/engine/gguf/writer.js';
import {
  ones,
  smallBias,
  TINY_TEXT,
  vector,
  weight,
  writePlanned,
  type TensorPlan,
  type TextSpec,
} from './random-text-model.js';

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

export const TINY_VISION: VisionSpec = {
  hidden: 64,
  heads: 4,
  ffn: 128,
  layers: 3,
  patch: 16,
  imageSize: 256,
  deepstack: [0, 1],
  projectionDim: 64,
};
// Qwen3-VL-8B-Instruct's vision tower (mmproj-Qwen3VL-8B-Instruct-F16.gguf), for benchmarks.
export const QWEN3VL_8B_VISION: VisionSpec = {
  hidden: 1152,
  heads: 16,
  ffn: 4304,
  layers: 27,
  patch: 16,
  imageSize: 768,
  deepstack: [8, 16, 24],
  projectionDim: 4096,
};
// Qwen3-VL-2B's (and Qwen3-VL-Embedding-2B's) vision tower, for benchmarks.
export const QWEN3VL_2B_VISION: VisionSpec = {
  hidden: 1024,
  heads: 16,
  ffn: 4096,
  layers: 24,
  patch: 16,
  imageSize: 768,
  deepstack: [5, 11, 17],
  projectionDim: 2048,
};

// llama.cpp's file type numbers (general.file_type) for the weight types below
const FILE_TYPES: Partial<Record<GgmlType, number>> = {
  [GgmlType.F32]: 0,
  [GgmlType.F16]: 1,
  [GgmlType.Q8_0]: 7,
  [GgmlType.BF16]: 32,
};

/**
 * `weightType` is the type of the matrices (attention, MLP, mergers), as in a converted mmproj's file type. As
 * llama.cpp's converter and quantizer do, the patch embedding stays F16 (F32 in an F32 file), norms, biases and
 * positions F32, and a Q8_0 matrix whose rows are not whole blocks of 32 falls back to F16. The same seed gives the
 * same underlying values whatever the type, so types can be compared.
 */
export function writeRandomMmproj(path: string, spec: VisionSpec, seed = 1, weightType: GgmlType = GgmlType.F16): void {
  const plans = mmprojPlans(spec);
  for (const p of plans) {
    if (p.dims.length < 2 || p.name === 'v.position_embd.weight') continue;
    if (p.name.startsWith('v.patch_embd.weight')) p.type = weightType === GgmlType.F32 ? GgmlType.F32 : GgmlType.F16;
    else p.type = weightType === GgmlType.Q8_0 && p.dims[0]! % 32 !== 0 ? GgmlType.F16 : weightType;
  }
  writePlanned(path, mmprojKv(spec, seed, weightType), plans, seed);
}

function mmprojPlans(spec: VisionSpec): TensorPlan[] {
  const { hidden: h, ffn, patch, projectionDim: proj } = spec;
  const merged = h * 4; // 2x2 spatial merge
  const plans: TensorPlan[] = [
    weight('v.patch_embd.weight', [patch, patch, 3, h], patch * patch * 3 * 2),
    weight('v.patch_embd.weight.1', [patch, patch, 3, h], patch * patch * 3 * 2),
    vector('v.patch_embd.bias', h, smallBias),
    {
      ...weight('v.position_embd.weight', [h, (spec.imageSize / patch) ** 2]),
      type: GgmlType.F32,
      init: { kind: 'uniform', scale: 0.5 },
    },
  ];
  for (let i = 0; i < spec.layers; i++) {
    const b = `v.blk.${i}`;
    plans.push(
      vector(`${b}.ln1.weight`, h, ones),
      vector(`${b}.ln1.bias`, h, smallBias),
      weight(`${b}.attn_qkv.weight`, [h, 3 * h]),
      vector(`${b}.attn_qkv.bias`, 3 * h, smallBias),
      weight(`${b}.attn_out.weight`, [h, h]),
      vector(`${b}.attn_out.bias`, h, smallBias),
      vector(`${b}.ln2.weight`, h, ones),
      vector(`${b}.ln2.bias`, h, smallBias),
      weight(`${b}.ffn_up.weight`, [h, ffn]),
      vector(`${b}.ffn_up.bias`, ffn, smallBias),
      weight(`${b}.ffn_down.weight`, [ffn, h]),
      vector(`${b}.ffn_down.bias`, h, smallBias),
    );
  }
  for (const i of spec.deepstack) {
    const b = `v.deepstack.${i}`;
    plans.push(
      vector(`${b}.norm.weight`, merged, ones),
      vector(`${b}.norm.bias`, merged, smallBias),
      weight(`${b}.fc1.weight`, [merged, merged]),
      vector(`${b}.fc1.bias`, merged, smallBias),
      weight(`${b}.fc2.weight`, [merged, proj]),
      vector(`${b}.fc2.bias`, proj, smallBias),
    );
  }
  plans.push(
    vector('v.post_ln.weight', h, ones),
    vector('v.post_ln.bias', h, smallBias),
    weight('mm.0.weight', [merged, merged]),
    vector('mm.0.bias', merged, smallBias),
    weight('mm.2.weight', [merged, proj]),
    vector('mm.2.bias', proj, smallBias),
  );
  return plans;
}

function mmprojKv(spec: VisionSpec, seed: number, weightType: GgmlType): Record<string, GgufKv> {
  const { hidden: h, ffn, patch, projectionDim: proj } = spec;
  return {
    'general.architecture': { type: 'str', value: 'clip' },
    'general.name': {
      type: 'str',
      value:
        `lookalike random qwen3vl mmproj (hidden ${h}, ${spec.layers} layers, ` +
        `seed ${seed}${weightType === GgmlType.F16 ? '' : `, ${GgmlType[weightType]}`})`,
    },
    'general.file_type': { type: 'u32', value: FILE_TYPES[weightType]! },
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
}

/** Writes the file unless it exists; generation is deterministic, so an existing file is the same file. */
export function ensureRandomMmproj(path: string, spec: VisionSpec = TINY_VISION, seed = 1): string {
  if (!existsSync(path)) writeRandomMmproj(path, spec, seed);
  return path;
}

/** A LoRA adapter GGUF (rank r) on the attention projections of a `qwen3vl` text model of width `embd`. */
export function writeRandomLora(path: string, spec: TextSpec = TINY_TEXT, rank = 4, seed = 3): void {
  const plans: TensorPlan[] = [];
  for (let i = 0; i < spec.layers; i++) {
    for (const [name, out] of [
      ['attn_q', spec.heads * spec.headDim],
      ['attn_v', spec.kvHeads * spec.headDim],
    ] as const) {
      plans.push(
        { ...weight(`blk.${i}.${name}.weight.lora_a`, [spec.embd, rank]), type: GgmlType.F32 },
        { ...weight(`blk.${i}.${name}.weight.lora_b`, [rank, out]), type: GgmlType.F32 },
      );
    }
  }
  writePlanned(
    path,
    {
      'general.architecture': { type: 'str', value: 'qwen3vl' },
      'general.type': { type: 'str', value: 'adapter' },
      'adapter.type': { type: 'str', value: 'lora' },
      'adapter.lora.alpha': { type: 'f32', value: rank },
    },
    plans,
    seed,
  );
}
