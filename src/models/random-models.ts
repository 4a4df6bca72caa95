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
// Qwen3-VL-2B's (and Qwen3-VL-Embedding-2B's) vision tower, for benchmarks.
export const QWEN3VL_2B_VISION: VisionSpec = { hidden: 1024, heads: 16, ffn: 4096, layers: 24, patch: 16, imageSize: 768, deepstack: [5, 11, 17], projectionDim: 2048 };

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

// llama.cpp's file type numbers (general.file_type) for the weight types below
const FILE_TYPES: Partial<Record<GgmlType, number>> = { [GgmlType.F32]: 0, [GgmlType.F16]: 1, [GgmlType.Q8_0]: 7, [GgmlType.BF16]: 32 };

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
  return plans;
}

function mmprojKv(spec: VisionSpec, seed: number, weightType: GgmlType): Record<string, GgufKv> {
  const { hidden: h, ffn, patch, projectionDim: proj } = spec;
  return {
    'general.architecture': { type: 'str', value: 'clip' },
    'general.name': { type: 'str', value: `lookalike random qwen3vl mmproj (hidden ${h}, ${spec.layers} layers, seed ${seed}${weightType === GgmlType.F16 ? '' : `, ${GgmlType[weightType]}`})` },
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

export interface TextSpec {
  embd: number; // = the mmproj's projection_dim
  layers: number; // must exceed the mmproj's deepstack layer count
  heads: number;
  kvHeads: number;
  headDim: number;
  ffn: number;
  context: number;
  deepstack: number; // = the mmproj's deepstack layer count
}

export const TINY_TEXT: TextSpec = { embd: 64, layers: 4, heads: 4, kvHeads: 2, headDim: 16, ffn: 128, context: 4096, deepstack: 2 };

// GPT-2's byte-to-unicode table: every byte gets a printable character, so byte-level BPE tokens are strings.
function byteTokens(): string[] {
  const printable = new Set<number>();
  for (let b = 33; b <= 126; b++) printable.add(b);
  for (let b = 161; b <= 172; b++) printable.add(b);
  for (let b = 174; b <= 255; b++) printable.add(b);
  let extra = 0;
  return Array.from({ length: 256 }, (_, b) => String.fromCodePoint(printable.has(b) ? b : 256 + extra++));
}

const MERGES = ['Ġ t', 'h e', 'i n', 'e r', 'Ġ a', 'Ġt he'];
export const CHAT_SPECIALS = ['<|endoftext|>', '<|im_start|>', '<|im_end|>', '<|vision_start|>', '<|vision_end|>', '<|vision_pad|>', '<|image_pad|>', '<|video_pad|>'];
const CHATML = "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

/**
 * A random-weight text model of llama.cpp's `qwen3vl` architecture with a byte-level BPE tokenizer and ChatML. `role`
 * marks it as llama.cpp's converter marks the real files: `embed` as Qwen3-VL-Embedding (pooling LAST), `rank` as
 * Qwen3-VL-Reranker (pooling RANK, a yes/no classifier head `cls.output`).
 */
export function writeRandomTextModel(path: string, spec: TextSpec = TINY_TEXT, seed = 2, role: 'generate' | 'embed' | 'rank' = 'generate'): void {
  const tokens = [...byteTokens(), ...MERGES.map((m) => m.replace(' ', '')), ...CHAT_SPECIALS];
  const types = tokens.map((_, i) => (i >= tokens.length - CHAT_SPECIALS.length ? 3 : 1));
  const id = (t: string) => tokens.indexOf(t);
  const { embd, headDim, heads, kvHeads, ffn } = spec;
  const plans: TensorPlan[] = [
    { ...weight('token_embd.weight', [embd, tokens.length]), init: { kind: 'uniform', scale: 1 } },
    vector('output_norm.weight', embd, ones),
  ];
  for (let i = 0; i < spec.layers; i++) {
    const b = `blk.${i}`;
    plans.push(
      vector(`${b}.attn_norm.weight`, embd, ones),
      weight(`${b}.attn_q.weight`, [embd, heads * headDim]),
      weight(`${b}.attn_k.weight`, [embd, kvHeads * headDim]),
      weight(`${b}.attn_v.weight`, [embd, kvHeads * headDim]),
      weight(`${b}.attn_output.weight`, [heads * headDim, embd]),
      vector(`${b}.attn_q_norm.weight`, headDim, ones),
      vector(`${b}.attn_k_norm.weight`, headDim, ones),
      vector(`${b}.ffn_norm.weight`, embd, ones),
      weight(`${b}.ffn_gate.weight`, [embd, ffn]),
      weight(`${b}.ffn_up.weight`, [embd, ffn]),
      weight(`${b}.ffn_down.weight`, [ffn, embd]),
    );
  }
  const a = 'qwen3vl';
  const quarter = headDim / 2;
  const sections = [Math.ceil(quarter / 3), Math.ceil(quarter / 3), quarter - 2 * Math.ceil(quarter / 3), 0];
  const kv: Record<string, GgufKv> = {
    'general.architecture': { type: 'str', value: a },
    'general.name': { type: 'str', value: `lookalike random qwen3vl text model (embd ${embd}, ${spec.layers} layers, seed ${seed})` },
    'general.file_type': { type: 'u32', value: 1 },
    [`${a}.context_length`]: { type: 'u32', value: spec.context },
    [`${a}.embedding_length`]: { type: 'u32', value: embd },
    [`${a}.block_count`]: { type: 'u32', value: spec.layers },
    [`${a}.feed_forward_length`]: { type: 'u32', value: ffn },
    [`${a}.attention.head_count`]: { type: 'u32', value: heads },
    [`${a}.attention.head_count_kv`]: { type: 'u32', value: kvHeads },
    [`${a}.attention.key_length`]: { type: 'u32', value: headDim },
    [`${a}.attention.value_length`]: { type: 'u32', value: headDim },
    [`${a}.rope.freq_base`]: { type: 'f32', value: 5_000_000 },
    [`${a}.attention.layer_norm_rms_epsilon`]: { type: 'f32', value: 1e-6 },
    [`${a}.rope.dimension_sections`]: { type: 'i32[]', value: sections },
    [`${a}.n_deepstack_layers`]: { type: 'u32', value: spec.deepstack },
    'tokenizer.ggml.model': { type: 'str', value: 'gpt2' },
    'tokenizer.ggml.pre': { type: 'str', value: 'qwen2' },
    'tokenizer.ggml.tokens': { type: 'str[]', value: tokens },
    'tokenizer.ggml.token_type': { type: 'i32[]', value: types },
    'tokenizer.ggml.merges': { type: 'str[]', value: MERGES },
    'tokenizer.ggml.eos_token_id': { type: 'u32', value: id('<|im_end|>') },
    'tokenizer.ggml.padding_token_id': { type: 'u32', value: id('<|endoftext|>') },
    'tokenizer.ggml.bos_token_id': { type: 'u32', value: id('<|endoftext|>') },
    'tokenizer.ggml.add_bos_token': { type: 'bool', value: false },
    'tokenizer.chat_template': { type: 'str', value: CHATML },
  };
  if (role === 'embed') kv[`${a}.pooling_type`] = { type: 'u32', value: 3 };
  if (role === 'rank') {
    kv[`${a}.pooling_type`] = { type: 'u32', value: 4 };
    kv[`${a}.classifier.output_labels`] = { type: 'str[]', value: ['yes', 'no'] };
    plans.push(weight('cls.output.weight', [embd, 2]));
  }
  writePlanned(path, kv, plans, seed);
}

/** A LoRA adapter GGUF (rank r) on the attention projections of a `qwen3vl` text model of width `embd`. */
export function writeRandomLora(path: string, spec: TextSpec = TINY_TEXT, rank = 4, seed = 3): void {
  const plans: TensorPlan[] = [];
  for (let i = 0; i < spec.layers; i++) {
    for (const [name, out] of [['attn_q', spec.heads * spec.headDim], ['attn_v', spec.kvHeads * spec.headDim]] as const) {
      plans.push(
        { ...weight(`blk.${i}.${name}.weight.lora_a`, [spec.embd, rank]), type: GgmlType.F32 },
        { ...weight(`blk.${i}.${name}.weight.lora_b`, [rank, out]), type: GgmlType.F32 },
      );
    }
  }
  writePlanned(path, {
    'general.architecture': { type: 'str', value: 'qwen3vl' },
    'general.type': { type: 'str', value: 'adapter' },
    'adapter.type': { type: 'str', value: 'lora' },
    'adapter.lora.alpha': { type: 'f32', value: rank },
  }, plans, seed);
}
