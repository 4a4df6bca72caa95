// Checks an mmproj file in JS before llama.cpp loads it: a wrong file must be a clear error, not a GGML_ASSERT
// that aborts the process. Reads only the GGUF header.
import { GgufFormatError, readGgufHeader, type GgufHeader } from './reader.js';
import { DEFAULT_TOKEN_LIMITS } from '../../core/config.js';
import { ModelFileError } from '../../core/errors.js';
import type { SizeLimits } from '../image/decode.js';

// Projectors whose images go through llama.cpp's dynamic-size (Qwen-VL) preprocessor, which the native encoder uses.
export const SUPPORTED_PROJECTORS = ['qwen2vl_merger', 'qwen2.5vl_merger', 'qwen3vl_merger'] as const;

export interface MmprojInfo {
  projectorType: string;
  projectionDim: number; // what the language model sees per token: the main slice
  deepstackLayers: number[];
  hiddenSize: number;
  layers: number;
  patchSize: number;
  mergeSize: number; // spatial merge per side: 2 for Qwen-VL (2x2 patches per token)
  name: string;
  /** The image tokens the file says it is meant for (llama.cpp's clip.vision.image_min/max_pixels), if it says. */
  tokenLimits: { min: number; max: number } | null;
}

function num(header: GgufHeader, key: string, path: string): number {
  const v = header.kv.get(key);
  if (typeof v !== 'number' && typeof v !== 'bigint')
    throw new ModelFileError(`${path}: missing or non-numeric key ${key}`);
  return Number(v);
}

export function inspectMmproj(path: string): MmprojInfo {
  let header: GgufHeader;
  try {
    header = readGgufHeader(path);
  } catch (err) {
    if (err instanceof GgufFormatError) throw new ModelFileError(err.message);
    throw err;
  }
  const arch = header.kv.get('general.architecture');
  if (arch !== 'clip') {
    throw new ModelFileError(
      `${path} is a GGUF of architecture '${String(arch)}', not an mmproj (vision projector, architecture 'clip'). ` +
        'Pass the mmproj-*.gguf file as the encoder model; the text model goes in the text model setting.',
    );
  }
  if (header.kv.get('clip.has_vision_encoder') !== true) throw new ModelFileError(`${path} has no vision encoder`);
  const projectorType = String(
    header.kv.get('clip.vision.projector_type') ?? header.kv.get('clip.projector_type') ?? '',
  );
  if (!(SUPPORTED_PROJECTORS as readonly string[]).includes(projectorType)) {
    throw new ModelFileError(
      `${path} has projector type '${projectorType}'; supported: ${SUPPORTED_PROJECTORS.join(', ')}`,
    );
  }
  const hiddenSize = num(header, 'clip.vision.embedding_length', path);
  const layers = num(header, 'clip.vision.block_count', path);
  const heads = num(header, 'clip.vision.attention.head_count', path);
  const patchSize = num(header, 'clip.vision.patch_size', path);
  const projectionDim = num(header, 'clip.vision.projection_dim', path);
  if (heads <= 0 || hiddenSize % heads !== 0 || patchSize <= 0 || patchSize > 64 || layers <= 0 || projectionDim <= 0) {
    throw new ModelFileError(
      `${path}: inconsistent vision hyper-parameters (hidden ${hiddenSize}, heads ${heads}, patch ${patchSize}, ` +
        `layers ${layers})`,
    );
  }
  const tensors = new Map(header.tensors.map((t) => [t.name, t.dims]));
  const expectDims = (name: string, dims: (number | undefined)[]) => {
    const got = tensors.get(name);
    if (!got) throw new ModelFileError(`${path}: tensor ${name} is missing`);
    dims.forEach((d, i) => {
      if (d !== undefined && got[i] !== d)
        throw new ModelFileError(
          `${path}: tensor ${name} has shape [${got.join(', ')}], expected dimension ${i} = ${d}`,
        );
    });
  };
  const merged = hiddenSize * 4;
  expectDims('v.patch_embd.weight', [patchSize, patchSize, 3, hiddenSize]);
  expectDims('v.position_embd.weight', [hiddenSize]);
  const nPos = tensors.get('v.position_embd.weight')![1] ?? 0;
  if (Math.sqrt(nPos) % 1 !== 0)
    throw new ModelFileError(`${path}: the position embedding grid (${nPos}) is not square`);
  for (let i = 0; i < layers; i++) expectDims(`v.blk.${i}.attn_qkv.weight`, [hiddenSize, 3 * hiddenSize]);
  expectDims('mm.0.weight', [merged]);
  expectDims('mm.2.weight', [undefined, projectionDim]);
  const deepstackLayers = [...tensors.keys()]
    .map((n) => /^v\.deepstack\.(\d+)\.fc1\.weight$/.exec(n)?.[1])
    .filter((x): x is string => x !== undefined)
    .map(Number)
    .sort((a, b) => a - b);
  for (const i of deepstackLayers) expectDims(`v.deepstack.${i}.fc2.weight`, [merged, projectionDim]);
  const mergeSize = Number(header.kv.get('clip.vision.spatial_merge_size') ?? 2);
  const tokenArea = (patchSize * mergeSize) ** 2;
  const minPixels = Number(header.kv.get('clip.vision.image_min_pixels') ?? 0),
    maxPixels = Number(header.kv.get('clip.vision.image_max_pixels') ?? 0);
  const tokenLimits =
    minPixels > 0 && maxPixels >= minPixels
      ? { min: Math.max(1, Math.round(minPixels / tokenArea)), max: Math.max(1, Math.round(maxPixels / tokenArea)) }
      : null;
  return {
    projectorType,
    projectionDim,
    deepstackLayers,
    hiddenSize,
    layers,
    patchSize,
    mergeSize,
    name: String(header.kv.get('general.name') ?? ''),
    tokenLimits,
  };
}

export const LIMITS = { threads: [1, 256], tokens: [1, 16384] } as const;

export function intOption(
  name: string,
  value: number | undefined,
  fallback: number,
  [min, max]: readonly [number, number],
): number {
  const v = value ?? fallback;
  if (!Number.isInteger(v) || v < min || v > max)
    throw new RangeError(`${name} must be an integer from ${min} to ${max}, got ${value}`);
  return v;
}

/** The token limits an encode uses: as given, else what the mmproj says it was trained at, else the defaults. */
export function tokenLimits(
  info: MmprojInfo,
  minTokens?: number,
  maxTokens?: number,
): { minTokens: number; maxTokens: number } {
  const min = intOption('minTokens', minTokens, info.tokenLimits?.min ?? DEFAULT_TOKEN_LIMITS.min, LIMITS.tokens);
  const max = intOption('maxTokens', maxTokens, info.tokenLimits?.max ?? DEFAULT_TOKEN_LIMITS.max, LIMITS.tokens);
  if (min > max) throw new RangeError(`minTokens (${min}) is larger than maxTokens (${max})`);
  return { minTokens: min, maxTokens: max };
}

/**
 * The image size limits llama.cpp's Qwen-VL preprocessor applies for these token limits (clip.cpp
 * set_limit_image_tokens).
 */
export function sizeLimits(info: MmprojInfo, minTokens: number, maxTokens: number): SizeLimits {
  const align = info.patchSize * info.mergeSize;
  return { align, minPixels: minTokens * align * align, maxPixels: maxTokens * align * align };
}
