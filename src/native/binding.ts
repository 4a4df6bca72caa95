// The hand-typed interface of the native module (src/native/*.cpp), and its loader.
// Only src/encoder and src/vlm use it; everything else goes through their classes.
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
}

export interface NativeEncodeResult {
  data: Float32Array; // nTokens x nMmprojEmbd, row-major
  nTokens: number;
  width: number; // size of the image the encoder saw, after preprocessing
  height: number;
}

export interface NativeClipModel {
  load(path: string, options: { minTokens: number; maxTokens: number; useGpu: boolean }): Promise<void>;
  info(): NativeClipInfo;
  encode(rgb: Uint8Array, width: number, height: number, nThreads: number): Promise<NativeEncodeResult>;
  dispose(): void;
}

/** `id` names the content: a VlModel reuses the vision-tower output of an image it saw recently. */
export interface NativeImage { rgb: Uint8Array; width: number; height: number; id?: string }

export interface NativeVlInfo {
  nEmbd: number;
  nEmbdInp: number; // what the vision tower feeds in per image token (main + deepstack slices)
  nLayer: number;
  nCtx: number;
  nVocab: number;
  chatTemplate: string | null;
  marker: string; // the media marker mtmd replaces with an image's tokens
  usesMrope: boolean;
}

export interface NativeVlModel {
  load(textPath: string, mmprojPath: string, options: { loraPath?: string; loraScale: number; nCtx: number; threads: number; minTokens: number; maxTokens: number }): Promise<void>;
  info(): NativeVlInfo;
  applyTemplate(messages: { role: string; content: string }[], addAssistant: boolean): string;
  tokenize(text: string): Int32Array;
  score(prompt: string, images: NativeImage[], tokenIds: Int32Array): Promise<{ logits: Float32Array; nPromptTokens: number }>;
  generate(prompt: string, images: NativeImage[], options: { maxTokens: number; temperature: number; seed: number }, onText: (text: string) => void):
    Promise<{ text: string; nTokens: number; nPromptTokens: number; stop: 'eos' | 'length' | 'cancelled' }>;
  embed(images: NativeImage[]): Promise<{ data: Float32Array; nTokens: number }>;
  cancel(): void;
  dispose(): void;
}

export interface NativeModule {
  ClipModel: new () => NativeClipModel;
  VlModel: new () => NativeVlModel;
}

export class NativeModuleMissingError extends Error {
  constructor(path: string, cause?: unknown) {
    super(`the lookalike native module could not be loaded from ${path}` +
      (cause instanceof Error ? ` (${cause.message})` : '') +
      '. Build it with `npm run build:native` (see "Troubleshooting the native build" in README.md).');
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
