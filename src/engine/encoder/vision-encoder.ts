// VisionEncoder: image bytes in, one L2-normalised embedding out, from the vision tower of a Qwen-VL mmproj run
// by llama.cpp (src/engine/native). Calls are serialised per model and never block the event loop.
import { basename } from 'node:path';
import { flashAttentionFor, gpuFirstEncode } from '../accel/acceleration.js';
import { physicalCores } from '../../core/util/cpu.js';
import { settingDefault } from '../../core/config.js';
import { loadNative, type FlashAttention, type NativeOpProfile } from '../native/binding.js';
import { SerialQueue } from '../../core/util/serial-queue.js';
import { embeddingOf, type Embedder, type Embedding, type ModelDescription } from './embedder.js';
import type { EncoderIdentity, Pooling } from '../../core/identity.js';
import { fileFingerprint } from './fingerprint.js';
import { decodeForEncoder, type DecodedImage, type SizeLimits } from '../image/decode.js';
import { LIMITS, inspectMmproj, intOption, sizeLimits, tokenLimits, type MmprojInfo } from '../gguf/mmproj.js';
import type { EncoderBackend } from '../native/vision-backend.js';

export interface VisionEncoderOptions {
  threads?: number;
  minTokens?: number;
  maxTokens?: number;
  pooling?: Pooling;
  maxInputPixels?: number;
  /** Run the vision tower on the GPU that src/engine/accel loaded (the CPU when none is). */
  useGpu?: boolean;
  flashAttn?: FlashAttention;
  /** A file that remembers the mmproj's sha256 by path, size, mtime and inode, so restarts do not hash it again. */
  fingerprintCache?: string;
  /** Time every ggml op (slower; for bench/accel): see VisionEncoder.takeProfile(). */
  profile?: boolean;
  /** Where to say that the first encode on a GPU compiles shaders (gpuFirstEncode). */
  log?: (msg: string) => void;
}

export function l2Normalize(v: Float32Array): Float32Array {
  let sum = 0;
  for (let i = 0; i < v.length; i++) sum += v[i]! * v[i]!;
  const norm = Math.sqrt(sum);
  if (norm > 0) for (let i = 0; i < v.length; i++) v[i]! /= norm;
  return v;
}

/** Mean over tokens of the first `width` floats of each row of `rows` (nTokens x rowWidth). */
export function meanPool(rows: Float32Array, nTokens: number, rowWidth: number, width: number): Float32Array {
  const acc = new Float64Array(width);
  for (let t = 0; t < nTokens; t++) {
    const base = t * rowWidth;
    for (let i = 0; i < width; i++) acc[i]! += rows[base + i]!;
  }
  const out = new Float32Array(width);
  for (let i = 0; i < width; i++) out[i] = acc[i]! / nTokens;
  return out;
}

interface ResolvedOptions {
  threads: number;
  minTokens: number;
  maxTokens: number;
  pooling: Pooling;
  maxInputPixels: number;
}

/** Floats per image token that the vision tower returns: the main projector slice and every deepstack slice. */
function nativeWidth(info: MmprojInfo): number {
  return info.projectionDim * (1 + info.deepstackLayers.length);
}

function identityOf(path: string, info: MmprojInfo, fingerprint: string, o: ResolvedOptions): EncoderIdentity {
  const dim = o.pooling === 'mean' ? info.projectionDim : nativeWidth(info);
  return {
    modelId: `${info.projectorType}-${fingerprint.slice(0, 16)}-${o.pooling}-t${o.minTokens}-${o.maxTokens}`,
    fingerprint,
    fileName: basename(path),
    projectorType: info.projectorType,
    dim,
    pooling: o.pooling,
    minTokens: o.minTokens,
    maxTokens: o.maxTokens,
    projectionDim: info.projectionDim,
    deepstackLayers: info.deepstackLayers,
  };
}

function resolveOptions(options: VisionEncoderOptions, info: MmprojInfo): ResolvedOptions {
  const threads = intOption('threads', options.threads, physicalCores(), LIMITS.threads);
  const { minTokens, maxTokens } = tokenLimits(info, options.minTokens, options.maxTokens);
  const pooling = options.pooling ?? settingDefault('LOOKALIKE_POOLING');
  if (pooling !== 'mean' && pooling !== 'mean-deepstack')
    throw new RangeError(`pooling must be 'mean' or 'mean-deepstack', got ${String(pooling)}`);
  const maxInputPixels = intOption('maxInputPixels', options.maxInputPixels, settingDefault('LOOKALIKE_MAX_PIXELS'), [
    1,
    2 ** 31 - 1,
  ]);
  return { threads, minTokens, maxTokens, pooling, maxInputPixels };
}

export class VisionEncoder implements Embedder {
  /** The mmproj's vectors are the vision tower's alone: no text search. */
  readonly textSearch = false;

  private readonly queue = new SerialQueue();
  private disposed = false;
  private readonly firstEncode;

  private constructor(
    private readonly backend: EncoderBackend,
    readonly identity: EncoderIdentity,
    readonly info: MmprojInfo,
    private readonly limits: SizeLimits,
    private readonly maxInputPixels: number,
    log?: (msg: string) => void,
  ) {
    this.firstEncode = gpuFirstEncode(() => this.device, log);
  }

  /** Loads the vision tower of an mmproj with llama.cpp's clip. */
  static async load(path: string, options: VisionEncoderOptions = {}): Promise<VisionEncoder> {
    const info = inspectMmproj(path); // throws ModelFileError before the native code sees a bad file
    const o = resolveOptions(options, info);
    const { sha256: fingerprint } = await fileFingerprint(path, options.fingerprintCache);
    const native = new (loadNative().ClipModel)();
    const useGpu = options.useGpu ?? false;
    await native.load(path, {
      minTokens: o.minTokens,
      maxTokens: o.maxTokens,
      useGpu,
      flashAttn: options.flashAttn ?? flashAttentionFor(useGpu),
      profile: options.profile,
    });
    const n = native.info();
    const limits = sizeLimits(info, o.minTokens, o.maxTokens);
    if (
      n.nMmprojEmbd !== nativeWidth(info) ||
      n.imageMinPixels !== limits.minPixels ||
      n.imageMaxPixels !== limits.maxPixels
    ) {
      native.dispose();
      throw new Error(
        `llama.cpp reports ${n.nMmprojEmbd} floats per token and ${n.imageMinPixels}..${n.imageMaxPixels} pixels; ` +
          `the file header implies ${info.projectionDim} x ${1 + info.deepstackLayers.length} ` +
          `and ${limits.minPixels}..${limits.maxPixels}`,
      );
    }
    const backend: EncoderBackend = {
      device: n.device,
      encode: (rgb, w, h) => native.encode(rgb, w, h, o.threads),
      dispose: () => native.dispose(),
      takeProfile: () => native.takeProfile(),
    };
    return VisionEncoder.create(backend, path, info, fingerprint, o, options.log);
  }

  /** An encoder on a backend that already holds this mmproj (the VL model's mtmd context). */
  static async withBackend(
    backend: EncoderBackend,
    path: string,
    options: VisionEncoderOptions = {},
  ): Promise<VisionEncoder> {
    const info = inspectMmproj(path);
    return VisionEncoder.create(
      backend,
      path,
      info,
      (await fileFingerprint(path, options.fingerprintCache)).sha256,
      resolveOptions(options, info),
      options.log,
    );
  }

  /** What the encoder of this file and options would be, without loading it: its identity, and how it decodes. */
  static async describe(path: string, options: VisionEncoderOptions = {}): Promise<ModelDescription> {
    const info = inspectMmproj(path);
    const o = resolveOptions(options, info);
    const identity = identityOf(path, info, (await fileFingerprint(path, options.fingerprintCache)).sha256, o);
    const limits = sizeLimits(info, o.minTokens, o.maxTokens);
    return {
      identity,
      textSearch: false,
      decode: (image) => decodeForEncoder(image, limits, { maxInputPixels: o.maxInputPixels }),
    };
  }

  private static create(
    backend: EncoderBackend,
    path: string,
    info: MmprojInfo,
    fingerprint: string,
    o: ResolvedOptions,
    log?: (msg: string) => void,
  ): VisionEncoder {
    return new VisionEncoder(
      backend,
      identityOf(path, info, fingerprint, o),
      info,
      sizeLimits(info, o.minTokens, o.maxTokens),
      o.maxInputPixels,
      log,
    );
  }

  get dim(): number {
    return this.identity.dim;
  }

  /** Where the vision tower runs: "CPU", "Vulkan0", "CUDA0". */
  get device(): string {
    return this.backend.device;
  }

  /** Time and FLOPs per ggml op since the last call (an encoder loaded with profile: true); queued like encode(). */
  takeProfile(): Promise<NativeOpProfile[]> {
    return this.queue.run(async () => {
      if (!this.backend.takeProfile) throw new Error('this encoder backend does not profile');
      return this.backend.takeProfile();
    });
  }

  /** Decodes and resizes an image as the encoder wants it; cheap next to encode(), and safe to run ahead of it. */
  decode(image: Buffer): Promise<DecodedImage> {
    return decodeForEncoder(image, this.limits, { maxInputPixels: this.maxInputPixels });
  }

  /** Runs the vision tower on a decoded image and pools the tokens into one unit vector. */
  encode(image: DecodedImage): Promise<Embedding> {
    return this.queue.run(async () => {
      this.assertLive();
      const out = await this.firstEncode(() => this.backend.encode(image.rgb, image.width, image.height));
      return embeddingOf(
        l2Normalize(meanPool(out.data, out.nTokens, nativeWidth(this.info), this.dim)),
        image,
        out.nTokens,
      );
    });
  }

  async embed(image: Buffer): Promise<Embedding> {
    this.assertLive();
    return this.encode(await this.decode(image));
  }

  /** The raw backend call, for benchmarks: per-token rows, no pooling. */
  encodeTokens(image: DecodedImage): Promise<{ data: Float32Array; nTokens: number }> {
    return this.queue.run(async () => {
      this.assertLive();
      return this.backend.encode(image.rgb, image.width, image.height);
    });
  }

  /** Frees the model once queued calls have finished. */
  dispose(): Promise<void> {
    return this.queue.run(async () => {
      if (this.disposed) return;
      this.disposed = true;
      this.backend.dispose();
    });
  }

  private assertLive(): void {
    if (this.disposed) throw new Error('VisionEncoder was disposed');
  }
}
