import type { NativeOpProfile } from './binding.js';

/**
 * What runs the vision tower: llama.cpp's clip directly, or the mtmd context of a loaded VL model (one mmproj copy).
 */
export interface EncoderBackend {
  /** Where the vision tower runs, as clip reported it: "CPU", "Vulkan0", "CUDA0". */
  device: string;
  encode(rgb: Uint8Array, width: number, height: number): Promise<{ data: Float32Array; nTokens: number }>;
  dispose(): void;
  /** Per-op time since the last call, when loaded with profile: true. */
  takeProfile?(): NativeOpProfile[];
}
