// Checks of the text model and LoRA files against each other and the mmproj, in JS, before llama.cpp loads them:
// a mismatch must be a clear error, not a GGML_ASSERT that aborts the process.
import { ModelFileError } from '../../core/errors.js';
import { GgufFormatError, readGgufHeader, type GgufHeader } from './reader.js';
import type { MmprojInfo } from './mmproj.js';

export const VL_ARCHITECTURES = ['qwen3vl', 'qwen2vl', 'qwen3vlmoe'] as const;

export interface TextModelInfo {
  architecture: string;
  embd: number;
  layers: number;
  contextLength: number;
  deepstack: number;
  /** llama.cpp's pooling type from the GGUF (3 LAST: an embedding model; 4 RANK: a reranker), null when unset. */
  poolingType: number | null;
  /** A classifier head (cls.output): what llama.cpp's converter gives a reranker. */
  classifier: boolean;
  header: GgufHeader;
}

/** What a text GGUF is used for here: generation (Instruct), embeddings (Qwen3-VL-Embedding), or ranking (Reranker). */
export type TextModelRole = 'generate' | 'embed' | 'rank';
export const POOLING_LAST = 3,
  POOLING_RANK = 4;

function header(path: string): GgufHeader {
  try {
    return readGgufHeader(path);
  } catch (err) {
    if (err instanceof GgufFormatError) throw new ModelFileError(err.message);
    throw err;
  }
}

export function inspectTextModel(path: string, mmproj: MmprojInfo): TextModelInfo {
  const h = header(path);
  const arch = String(h.kv.get('general.architecture'));
  if (arch === 'clip')
    throw new ModelFileError(`${path} is an mmproj (vision projector); the text model is the other GGUF of the pair`);
  if (!(VL_ARCHITECTURES as readonly string[]).includes(arch)) {
    throw new ModelFileError(
      `${path} has architecture '${arch}'; a vision-language text model is needed (${VL_ARCHITECTURES.join(', ')})`,
    );
  }
  const n = (key: string, fallback?: number) => {
    const v = h.kv.get(`${arch}.${key}`);
    if (v === undefined && fallback !== undefined) return fallback;
    if (typeof v !== 'number' && typeof v !== 'bigint') throw new ModelFileError(`${path}: missing key ${arch}.${key}`);
    return Number(v);
  };
  const pooling = h.kv.get(`${arch}.pooling_type`);
  const info = {
    architecture: arch,
    embd: n('embedding_length'),
    layers: n('block_count'),
    contextLength: n('context_length'),
    deepstack: n('n_deepstack_layers', 0),
    poolingType: pooling === undefined ? null : Number(pooling),
    classifier: h.tensors.some((t) => t.name === 'cls.output.weight'),
    header: h,
  };
  if (info.embd !== mmproj.projectionDim) {
    throw new ModelFileError(
      `the mmproj's output width (${mmproj.projectionDim}) does not match the text model's embedding width ` +
        `(${info.embd}): they are not two halves of the same model`,
    );
  }
  if (info.deepstack !== mmproj.deepstackLayers.length) {
    throw new ModelFileError(
      `the mmproj has ${mmproj.deepstackLayers.length} deepstack layers, the text model expects ${info.deepstack}: ` +
        `they are not two halves of the same model`,
    );
  }
  if (info.layers <= info.deepstack)
    throw new ModelFileError(`${path}: ${info.layers} layers cannot take ${info.deepstack} deepstack inputs`);
  if (!h.kv.has('tokenizer.ggml.tokens')) throw new ModelFileError(`${path} has no tokenizer`);
  return info;
}

export function checkLora(path: string, text: TextModelInfo): void {
  const h = header(path);
  if (h.kv.get('general.type') !== 'adapter' || h.kv.get('adapter.type') !== 'lora')
    throw new ModelFileError(`${path} is not a LoRA adapter GGUF`);
  const arch = String(h.kv.get('general.architecture'));
  if (arch !== text.architecture)
    throw new ModelFileError(`${path} is a LoRA for architecture '${arch}', the text model is '${text.architecture}'`);
  const base = new Map(text.header.tensors.map((t) => [t.name, t.dims]));
  const dims = new Map(h.tensors.map((t) => [t.name, t.dims]));
  for (const [name, a] of dims) {
    if (!name.endsWith('.lora_a')) continue;
    const target = name.slice(0, -'.lora_a'.length);
    const b = dims.get(`${target}.lora_b`);
    const w = base.get(target);
    if (!b) throw new ModelFileError(`${path}: ${name} has no matching lora_b`);
    if (!w)
      throw new ModelFileError(
        `${path} adapts ${target}, which the text model does not have: it was made for another model`,
      );
    if (a[0] !== w[0] || b[1] !== w[1] || a[1] !== b[0]) {
      throw new ModelFileError(
        `${path} adapts ${target} [${w.join(', ')}] with factors [${a.join(', ')}] x [${b.join(', ')}]: it was ` +
          `made for another model`,
      );
    }
  }
}

/**
 * Refuses a text GGUF made for another role, with a message that says which file goes where. An Instruct GGUF (no
 * pooling type) given as the embedding model is accepted: its vectors work but were not trained for retrieval, and
 * `warning` says so for the log.
 */
export function checkRole(path: string, info: TextModelInfo, role: TextModelRole): { warning: string | null } {
  const reranker = info.poolingType === POOLING_RANK || info.classifier;
  const embedding = info.poolingType === POOLING_LAST;
  if (role === 'rank') {
    if (!info.classifier) {
      // the head is what scores: pooling RANK without it has nothing to score with
      throw new ModelFileError(
        `${path} is not a reranker GGUF (no classifier head, pooling type ${info.poolingType ?? 'unset'}): ` +
          `LOOKALIKE_RERANK_MODEL takes a Qwen3-VL-Reranker GGUF`,
      );
    }
    return { warning: null };
  }
  if (reranker) {
    throw new ModelFileError(
      `${path} is a reranker GGUF (a yes/no classifier head): give it as LOOKALIKE_RERANK_MODEL, not as ` +
        `the ${role === 'embed' ? 'embedding' : 'text'} model`,
    );
  }
  if (role === 'generate' && embedding) {
    throw new ModelFileError(
      `${path} is an embedding model (pooling LAST): give it as LOOKALIKE_EMBED_MODEL; LOOKALIKE_TEXT_MODEL takes ` +
        `the Instruct model, which generates text`,
    );
  }
  if (role === 'embed' && !embedding) {
    return {
      warning:
        `${path} declares no pooling type: if it is an Instruct model, its last-token vectors work but were ` +
        `not trained for retrieval; a Qwen3-VL-Embedding GGUF is meant here`,
    };
  }
  return { warning: null };
}
