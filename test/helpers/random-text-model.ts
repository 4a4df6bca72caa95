// Random-weight GGUF text models of the real Qwen3-VL architecture, written deterministically from a seed, for the
// tests and benches (the demo's text model is trained: src/engine/demo/models). The tensor plans are shared with the
// writers of random vision towers and LoRA adapters (random-models.ts). None of these files is committed: they are
// made on demand.
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { GgmlType } from '../../src/engine/gguf/format.js';
import { writeGguf, type GgufKv, type GgufTensorData } from '../../src/engine/gguf/writer.js';

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

export type Init = { kind: 'uniform'; scale: number } | { kind: 'const'; value: number };
export interface TensorPlan {
  name: string;
  dims: number[];
  type: GgmlType;
  init: Init;
}

export function weight(name: string, dims: number[], fanIn = dims[0]!): TensorPlan {
  // variance 1/fan_in keeps activations in range through the random layers
  return { name, dims, type: GgmlType.F16, init: { kind: 'uniform', scale: Math.sqrt(3 / fanIn) } };
}
export function vector(name: string, n: number, init: Init): TensorPlan {
  return { name, dims: [n], type: GgmlType.F32, init };
}
export const ones: Init = { kind: 'const', value: 1 };
export const smallBias: Init = { kind: 'uniform', scale: 0.02 };

function materialize(plan: TensorPlan, rand: () => number): GgufTensorData {
  const n = plan.dims.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  if (plan.init.kind === 'const') data.fill(plan.init.value);
  else for (let i = 0; i < n; i++) data[i] = (rand() * 2 - 1) * plan.init.scale;
  return { name: plan.name, dims: plan.dims, type: plan.type, data };
}

export function writePlanned(path: string, kv: Record<string, GgufKv>, plans: TensorPlan[], seed: number): void {
  mkdirSync(dirname(path), { recursive: true });
  const rand = seededRandom(seed);
  writeGguf(
    path,
    kv,
    plans.map((p) => () => materialize(p, rand)),
    plans,
  );
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

export const TINY_TEXT: TextSpec = {
  embd: 64,
  layers: 4,
  heads: 4,
  kvHeads: 2,
  headDim: 16,
  ffn: 128,
  context: 4096,
  deepstack: 2,
};

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
export const CHAT_SPECIALS = [
  '<|endoftext|>',
  '<|im_start|>',
  '<|im_end|>',
  '<|vision_start|>',
  '<|vision_end|>',
  '<|vision_pad|>',
  '<|image_pad|>',
  '<|video_pad|>',
];
const CHATML =
  "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + " +
  "'\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

/**
 * A random-weight text model of llama.cpp's `qwen3vl` architecture with a byte-level BPE tokenizer and ChatML. `role`
 * marks it as llama.cpp's converter marks the real files: `embed` as Qwen3-VL-Embedding (pooling LAST), `rank` as
 * Qwen3-VL-Reranker (pooling RANK, a yes/no classifier head `cls.output`).
 */
export function writeRandomTextModel(
  path: string,
  spec: TextSpec = TINY_TEXT,
  seed = 2,
  role: 'generate' | 'embed' | 'rank' = 'generate',
): void {
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
    'general.name': {
      type: 'str',
      value: `lookalike random qwen3vl text model (embd ${embd}, ${spec.layers} layers, seed ${seed})`,
    },
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
