// The hand-typed interface of the native module (src/engine/native/*.cpp), and its loader.
// Only src/engine/encoder and src/engine/vlm use it; everything else goes through their classes.
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export interface NativeClipInfo {
  projectorType: string;
  nMmprojEmbd: number;
  patchSize: number;
  nMerge: number;
  imageMinPixels: number;
  imageMaxPixels: number;
  hiddenSize: number;
  nLayer: number;
  loadLog: string; // what llama.cpp logged while loading (diagnostics only)
  device: string; // where the vision tower's weights are (ggml's per-device memory accounting): "CPU", "Vulkan0"
}

export interface NativeEncodeResult {
  data: Float32Array; // nTokens x nMmprojEmbd, row-major
  nTokens: number;
  width: number; // size of the image the encoder saw, after preprocessing
  height: number;
}

export type FlashAttention = 'auto' | 'on' | 'off';

/** Time and FLOPs per ggml op since the last takeProfile() (a model loaded with profile: true). */
export interface NativeOpProfile {
  op: string;
  ms: number;
  flop: number;
  count: number;
}

export interface NativeClipModel {
  load(
    path: string,
    options: { minTokens: number; maxTokens: number; useGpu: boolean; flashAttn?: FlashAttention; profile?: boolean },
  ): Promise<void>;
  info(): NativeClipInfo;
  encode(rgb: Uint8Array, width: number, height: number, nThreads: number): Promise<NativeEncodeResult>;
  takeProfile(): NativeOpProfile[];
  dispose(): void;
}

/** A device ggml can compute on. */
export interface NativeDevice {
  name: string; // "CPU", "Vulkan0", "CUDA0"
  description: string; // "llvmpipe (LLVM 15.0.6, 256 bits)", "NVIDIA H200"
  type: 'cpu' | 'gpu' | 'igpu' | 'accel';
  backend: string; // "CPU", "Vulkan", "CUDA"
  memoryFree: number; // bytes, 0 where ggml does not know
  memoryTotal: number;
}

/** `id` names the content: a VlModel reuses the vision-tower output of an image it saw recently. */
export interface NativeImage {
  rgb: Uint8Array;
  width: number;
  height: number;
  id?: string;
}

/**
 * A piece of a prompt: the chat template's own text (`special`: control tokens parsed, media markers replaced by the
 * images in order), or text from a user (tokenized as plain text, so it cannot change the prompt's structure).
 */
export interface PromptPart {
  text: string;
  special: boolean;
}

export interface NativeVlInfo {
  nEmbd: number;
  nEmbdInp: number; // what the vision tower feeds in per image token (main + deepstack slices)
  nLayer: number;
  nCtx: number;
  nVocab: number;
  chatTemplate: string | null;
  marker: string; // the media marker mtmd replaces with an image's tokens
  usesMrope: boolean;
  loadLog: string; // what llama.cpp logged while loading (diagnostics only)
  visionDevice: string; // where the vision tower's weights are (mtmd's per-device memory accounting): "CPU", "Vulkan0"
  layersOnGpu: number; // text layers on a GPU (libllama's n_gpu_layers rule; it has no per-layer query)
  nClsOut: number; // classifier outputs (a reranker's yes/no head), 0 for other models
  mode: 'generate' | 'embed' | 'rank';
}

export interface NativeVlModel {
  load(
    textPath: string,
    mmprojPath: string,
    options: {
      loraPath?: string;
      loraScale: number;
      nCtx: number;
      threads: number;
      minTokens: number;
      maxTokens: number;
      /** Text layers on the GPU; negative: all. */
      gpuLayers: number;
      /** Candidates scoreBatch decodes side by side (1 to 64); more take turns. */
      maxBatch: number;
      /** The vision tower on the GPU. */
      useGpu: boolean;
      /** The vision tower's flash attention (accel's flashAttentionFor). */
      flashAttn?: FlashAttention;
      /**
       * generate (default): logits; embed: the last token's hidden state (embedding models); rank: the classifier head
       * (rerankers).
       */
      mode?: 'generate' | 'embed' | 'rank';
    },
  ): Promise<void>;
  info(): NativeVlInfo;
  applyTemplate(messages: { role: string; content: string }[], addAssistant: boolean): string;
  tokenize(text: string, parseSpecial: boolean): Int32Array;
  score(
    prompt: PromptPart[],
    images: NativeImage[],
    tokenIds: Int32Array,
  ): Promise<{ logits: Float32Array; nPromptTokens: number }>;
  /**
   * Scores prompts that share their start: `prefix` (with `prefixImages`) is evaluated once, then each suffix in a
   * sequence of its own, side by side. Each output equals what score() (generate mode: the logits of `tokenIds`) or
   * embedPrompt() (rank mode: the classifier's outputs; `tokenIds` empty) gives for prefix + suffix. Each suffix must
   * end with text. Not for embed mode.
   */
  scoreBatch(
    prefix: PromptPart[],
    prefixImages: NativeImage[],
    suffixes: { prompt: PromptPart[]; images: NativeImage[] }[],
    tokenIds: Int32Array,
  ): Promise<{ outputs: Float32Array[]; nPromptTokens: number[] }>;
  generate(
    prompt: PromptPart[],
    images: NativeImage[],
    options: { maxTokens: number; temperature: number; seed: number },
    onText: (text: string) => void,
  ): Promise<{ text: string; nTokens: number; nPromptTokens: number; stop: 'eos' | 'length' | 'cancelled' }>;
  embed(images: NativeImage[]): Promise<{ data: Float32Array; nTokens: number }>;
  /**
   * An embed-mode model's last hidden state for the prompt (n_embd floats), or a rank-mode model's classifier outputs.
   */
  embedPrompt(prompt: PromptPart[], images: NativeImage[]): Promise<{ data: Float32Array; nPromptTokens: number }>;
  cancel(): void;
  dispose(): void;
}

export interface NativeModule {
  ClipModel: new () => NativeClipModel;
  VlModel: new () => NativeVlModel;
  /** Every device ggml has registered (the CPU, and a GPU once its backend is loaded). */
  devices(): NativeDevice[];
  /** Loads a ggml backend library; a backend without devices is unloaded again and reported as 'no device'. */
  loadBackend(path: string): { ok: true; name: string; devices: NativeDevice[] } | { ok: false; error: string };
  /** GFLOP/s of an n x n x n matrix product on the CPU backend, weights of `type` times F32 activations. */
  matmulPeak(n: number, threads: number, type: 'f32' | 'f16' | 'bf16' | 'q8_0', reps: number): number;
}

/**
 * A native call's failure: an Error with a stable code. 'invalid_argument': a TypeError or RangeError of the call's
 * own checks; 'context_overflow': the prompt did not fit the context; 'out_of_memory': an allocation failed (the
 * model is still usable); 'callback_failed': generate's onText threw (the generation stopped; the thrown value is the
 * error's `cause`); 'native_error' otherwise (a model busy or not loaded, or a failure with what llama.cpp logged).
 */
const NATIVE_CODES = [
  'invalid_argument',
  'context_overflow',
  'out_of_memory',
  'callback_failed',
  'native_error',
] as const;
export type NativeErrorCode = (typeof NATIVE_CODES)[number];

export function nativeCode(err: unknown): NativeErrorCode | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return NATIVE_CODES.find((c) => c === code);
}

export class NativeModuleMissingError extends Error {
  constructor(path: string, cause?: unknown) {
    super(
      `the lookalike native module could not be loaded from ${path}` +
        (cause instanceof Error ? ` (${cause.message})` : '') +
        '. Build it with `npm run build:native` (see "Troubleshooting the native build" in README.md).',
    );
    this.name = 'NativeModuleMissingError';
  }
}

const modulePath = fileURLToPath(new URL('./build/Release/lookalike_native.node', import.meta.url));
let loaded: NativeModule | undefined;

export function loadNative(): NativeModule {
  if (loaded) return loaded;
  if (!existsSync(modulePath)) throw new NativeModuleMissingError(modulePath);
  try {
    loaded = createRequire(import.meta.url)(modulePath) as NativeModule;
  } catch (err) {
    throw new NativeModuleMissingError(modulePath, err);
  }
  return loaded;
}
