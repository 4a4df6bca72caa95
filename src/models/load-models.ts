// Builds the models the configuration asks for. With no LOOKALIKE_MMPROJ it is the demo: the tiny random encoder,
// with its own data folder (<data dir>/demo) so a real gallery is never bound to the demo model. With a text model
// the full VL model is loaded too, and the encoder runs on its mtmd context: one copy of the mmproj in memory.
import { basename, join } from 'node:path';
import { statSync } from 'node:fs';
import { selectAcceleration, type Acceleration } from '../accel/acceleration.js';
import type { Config } from '../config.js';
import { VisionEncoder } from '../encoder/vision-encoder.js';
import { ModelFileError } from '../errors.js';
import { VisionLanguageModel } from '../vlm/vision-language-model.js';
import { demoMmproj, demoTextModel, resolveModelFile } from './resolve.js';

export interface LoadedModels {
  encoder: VisionEncoder;
  vlm: VisionLanguageModel | null;
  /** Identifies the VL model in re-rank cache keys: encoder id, text file, size, LoRA. */
  vlmKey: string;
  demo: boolean;
  dataDir: string;
  mmprojPath: string;
  acceleration: Acceleration;
}

export async function loadModels(cfg: Config, log: (msg: string) => void = () => {}): Promise<LoadedModels> {
  const demo = cfg.LOOKALIKE_MMPROJ === '';
  const acceleration = selectAcceleration(cfg.LOOKALIKE_GPU);
  const useGpu = acceleration.gpu !== null;
  const mmprojPath = demo ? demoMmproj(cfg.modelsDir) : await resolveModelFile(cfg.LOOKALIKE_MMPROJ, cfg.modelsDir, log);
  const encoderOptions = {
    threads: cfg.threads, minTokens: cfg.LOOKALIKE_MIN_TOKENS, maxTokens: cfg.LOOKALIKE_MAX_TOKENS,
    pooling: cfg.LOOKALIKE_POOLING, maxInputPixels: cfg.LOOKALIKE_MAX_PIXELS, useGpu, fingerprintCache: join(cfg.modelsDir, 'fingerprints.json'),
  };
  const dataDir = demo ? join(cfg.dataDir, 'demo') : cfg.dataDir;
  if (!cfg.LOOKALIKE_TEXT_MODEL) {
    return { encoder: await VisionEncoder.load(mmprojPath, encoderOptions), vlm: null, vlmKey: '', demo, dataDir, mmprojPath, acceleration };
  }
  if (cfg.LOOKALIKE_TEXT_MODEL === 'demo' && !demo) throw new ModelFileError('LOOKALIKE_TEXT_MODEL=demo goes with the demo encoder (empty LOOKALIKE_MMPROJ)');
  const textPath = cfg.LOOKALIKE_TEXT_MODEL === 'demo' ? demoTextModel(cfg.modelsDir) : await resolveModelFile(cfg.LOOKALIKE_TEXT_MODEL, cfg.modelsDir, log);
  const loraPath = cfg.LOOKALIKE_LORA ? await resolveModelFile(cfg.LOOKALIKE_LORA, cfg.modelsDir, log) : undefined;
  const vlm = await VisionLanguageModel.load(textPath, mmprojPath, {
    threads: cfg.threads, gpuLayers: useGpu ? cfg.gpuLayers : 0, useGpu, nCtx: cfg.LOOKALIKE_CONTEXT, minTokens: cfg.LOOKALIKE_MIN_TOKENS, maxTokens: cfg.LOOKALIKE_MAX_TOKENS,
    maxInputPixels: cfg.LOOKALIKE_MAX_PIXELS, loraPath, loraScale: cfg.LOOKALIKE_LORA_SCALE,
  });
  try {
    const encoder = await VisionEncoder.withBackend(vlm.encoderBackend(), mmprojPath, encoderOptions);
    const vlmKey = [encoder.identity.modelId, basename(textPath), statSync(textPath).size, loraPath ? `${basename(loraPath)}@${cfg.LOOKALIKE_LORA_SCALE}` : ''].join('|');
    return { encoder, vlm, vlmKey, demo, dataDir, mmprojPath, acceleration };
  } catch (err) {
    await vlm.dispose();
    throw err;
  }
}

export function indexParams(cfg: Config) {
  return { hnswM: cfg.LOOKALIKE_HNSW_M, efSearch: cfg.LOOKALIKE_EF_SEARCH, nprobe: cfg.LOOKALIKE_NPROBE };
}

export function knnOptions(cfg: Config) {
  return { k: cfg.LOOKALIKE_KNN_K, temperature: cfg.LOOKALIKE_KNN_TEMPERATURE, minSimilarity: cfg.LOOKALIKE_KNN_MIN_SIMILARITY, minConfidence: cfg.LOOKALIKE_KNN_MIN_CONFIDENCE };
}
