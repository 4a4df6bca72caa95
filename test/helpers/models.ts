// Where the tests' tiny random models live; global-setup.ts writes them once per run.
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

export const MODELS_DIR = fileURLToPath(new URL('../.tmp/models/', import.meta.url));
export const TINY_MMPROJ = join(MODELS_DIR, 'tiny-qwen3vl-mmproj.gguf');
export const TINY_TEXT_MODEL = join(MODELS_DIR, 'tiny-qwen3vl-text.gguf');
export const TINY_LORA = join(MODELS_DIR, 'tiny-qwen3vl-lora.gguf');
/** A LoRA made for a wider (96-d) model. */
export const OTHER_LORA = join(MODELS_DIR, 'other-model-lora.gguf');
/** An mmproj whose output width (96) does not match the tiny text model (64). */
export const WIDE_MMPROJ = join(MODELS_DIR, 'wide-qwen3vl-mmproj.gguf');
/** A tiny random qwen3vl model marked as llama.cpp marks Qwen3-VL-Embedding (pooling LAST). */
export const TINY_EMBED_MODEL = join(MODELS_DIR, 'tiny-qwen3vl-embedding.gguf');
/** A tiny random qwen3vl model marked as llama.cpp marks Qwen3-VL-Reranker (pooling RANK, yes/no head). */
export const TINY_RERANK_MODEL = join(MODELS_DIR, 'tiny-qwen3vl-reranker.gguf');
