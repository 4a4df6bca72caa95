import { existsSync } from 'node:fs';
import { TINY_TEXT, writeRandomTextModel } from './random-text-model.js';
import { ensureRandomMmproj, TINY_VISION, writeRandomLora } from './random-models.js';
import { ensureLlamaEmbedding } from './llama-embedding.js';
import {
  OTHER_LORA,
  TINY_EMBED_MODEL,
  TINY_LORA,
  TINY_MMPROJ,
  TINY_RERANK_MODEL,
  TINY_TEXT_MODEL,
  WIDE_MMPROJ,
} from './models.js';

export default function setup(): void {
  ensureRandomMmproj(TINY_MMPROJ, TINY_VISION, 1);
  ensureRandomMmproj(WIDE_MMPROJ, { ...TINY_VISION, projectionDim: 96 }, 1);
  if (!existsSync(TINY_TEXT_MODEL)) writeRandomTextModel(TINY_TEXT_MODEL, TINY_TEXT, 2);
  if (!existsSync(TINY_LORA)) writeRandomLora(TINY_LORA, TINY_TEXT, 4, 3);
  if (!existsSync(OTHER_LORA)) writeRandomLora(OTHER_LORA, { ...TINY_TEXT, embd: 96 }, 4, 3);
  if (!existsSync(TINY_EMBED_MODEL)) writeRandomTextModel(TINY_EMBED_MODEL, TINY_TEXT, 5, 'embed');
  if (!existsSync(TINY_RERANK_MODEL)) writeRandomTextModel(TINY_RERANK_MODEL, TINY_TEXT, 6, 'rank');
  ensureLlamaEmbedding(); // llama.cpp's own tool, the reference for the embedder's vectors
}
