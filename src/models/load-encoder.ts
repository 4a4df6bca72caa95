// Builds the encoder the configuration asks for. With no LOOKALIKE_MMPROJ it is the demo: the tiny random model,
// with its own data folder (<data dir>/demo) so a real gallery is never bound to the demo model.
import { join } from 'node:path';
import type { Config } from '../config.js';
import { VisionEncoder } from '../encoder/vision-encoder.js';
import { demoMmproj, resolveModelFile } from './resolve.js';

export interface LoadedEncoder {
  encoder: VisionEncoder;
  demo: boolean;
  dataDir: string;
  mmprojPath: string;
}

export async function loadEncoder(cfg: Config, log: (msg: string) => void = () => {}): Promise<LoadedEncoder> {
  const demo = cfg.LOOKALIKE_MMPROJ === '';
  const mmprojPath = demo ? demoMmproj(cfg.modelsDir) : await resolveModelFile(cfg.LOOKALIKE_MMPROJ, cfg.modelsDir, log);
  const encoder = await VisionEncoder.load(mmprojPath, {
    threads: cfg.LOOKALIKE_THREADS, minTokens: cfg.LOOKALIKE_MIN_TOKENS, maxTokens: cfg.LOOKALIKE_MAX_TOKENS,
    pooling: cfg.LOOKALIKE_POOLING, maxInputPixels: cfg.LOOKALIKE_MAX_PIXELS,
  });
  return { encoder, demo, dataDir: demo ? join(cfg.dataDir, 'demo') : cfg.dataDir, mmprojPath };
}

export function indexParams(cfg: Config) {
  return { hnswM: cfg.LOOKALIKE_HNSW_M, efSearch: cfg.LOOKALIKE_EF_SEARCH, nprobe: cfg.LOOKALIKE_NPROBE };
}

export function knnOptions(cfg: Config) {
  return { k: cfg.LOOKALIKE_KNN_K, temperature: cfg.LOOKALIKE_KNN_TEMPERATURE, minSimilarity: cfg.LOOKALIKE_KNN_MIN_SIMILARITY, minConfidence: cfg.LOOKALIKE_KNN_MIN_CONFIDENCE };
}
