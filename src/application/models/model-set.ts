// The models a process runs, as one set with one dispose(), built by a recipe: serverModels (everything the
// configuration asks for), localEmbedder (the embedder alone, encoding here: workers and the command-line scripts).
// - The embedder: the Instruct model's mmproj alone (VisionEncoder, images only), or Qwen3-VL-Embedding
//   (LOOKALIKE_EMBED_MODEL with LOOKALIKE_MMPROJ: images and words in one space).
// - Optionally the full Instruct VL model (LOOKALIKE_TEXT_MODEL, with its own LOOKALIKE_TEXT_MMPROJ) for describe,
//   captions and re-ranking. When its mmproj is the encoder's, the encoder runs on its mtmd context, so the mmproj is
//   in memory once; another one (the embedding model's) is loaded beside it.
// - Optionally a Qwen3-VL-Reranker (LOOKALIKE_RERANK_MODEL with LOOKALIKE_RERANK_MMPROJ), which then re-ranks. With no
//   LOOKALIKE_MMPROJ it is the demo: tiny models (src/engine/demo/models, trained), with their own data folder (<data
//   dir>/demo, or demo-embedding for the demo embedding model) so a real gallery is never bound to a demo model.
import { createHash } from 'node:crypto';
import { basename, join } from 'node:path';
import { statSync } from 'node:fs';
import { selectAcceleration, type Acceleration } from '../../engine/accel/acceleration.js';
import { tokenSetting, type Config } from '../../core/config.js';
import type { Embedder, ModelDescription } from '../../engine/encoder/embedder.js';
import { QueryClient } from '../jobs/remote.js';
import { RemoteEmbedder } from '../../engine/encoder/remote-embedder.js';
import type { RedisLink } from '../jobs/redis-link.js';
import { VisionEncoder } from '../../engine/encoder/vision-encoder.js';
import { VlEmbedder } from '../../engine/encoder/vl-embedder.js';
import { fileFingerprint } from '../../engine/encoder/fingerprint.js';
import { ModelFileError } from '../../core/errors.js';
import { instructJudge, qwenRerankerJudge, type Judge, type JudgeName } from '../../engine/vlm/rerank.js';
import { VisionLanguageModel } from '../../engine/vlm/vision-language-model.js';
import {
  DEMO_EMBED_MMPROJ,
  DEMO_EMBED_MODEL,
  DEMO_MMPROJ,
  DEMO_RERANK_MMPROJ,
  DEMO_TEXT_MMPROJ,
  demoRerankModel,
  demoTextModel,
  resolveModelFile,
} from './resolve.js';

/** What both embedder recipes give, the model loaded or not: one shape, so no caller asks which recipe ran. */
export interface EmbedderSet {
  /** The embedder's identity and how it decodes: what the gallery and a builder whose workers encode need. */
  description: ModelDescription;
  /** The loaded embedder; null when its weights stay on the workers (describeEmbedder). */
  encoder: Embedder | null;
  demo: boolean;
  dataDir: string;
  mmprojPath: string;
  /** null where no model is loaded here (the workers encode), so no GPU is probed. */
  acceleration: Acceleration | null;
  /** Things about the model files worth a line in the log. */
  warnings: string[];
  /** Frees every model of the set (once; later calls do nothing). */
  dispose(): Promise<void>;
}

export interface ModelSet extends EmbedderSet {
  encoder: Embedder;
  /** The Instruct VL model, for describe (and re-ranking when no reranker model is loaded). */
  vlm: VisionLanguageModel | null;
  /** Who re-ranks, which model that is, and the key that names it in the score cache. */
  judge: { judge: Judge; name: JudgeName; key: string } | null;
  /** The Qwen3-VL-Reranker model, when one is loaded. */
  rerankModel: VisionLanguageModel | null;
}

/** A model setting to a local file: `demo` to the demo's own, a path as it is, an `hf:` URI downloaded. */
async function modelFile(
  cfg: Config,
  name: string,
  spec: string,
  demoFile: () => string,
  log: (msg: string) => void,
): Promise<string> {
  if (spec === 'demo') {
    if (cfg.LOOKALIKE_MMPROJ !== '')
      throw new ModelFileError(`${name}=demo goes with the demo encoder (empty LOOKALIKE_MMPROJ)`);
    return demoFile();
  }
  return resolveModelFile(spec, cfg.modelsDir, log);
}

/**
 * The configured mmproj as a local file: the demo's (the demo embedding model has its own), a path, or an `hf:` URI.
 */
async function mmprojFile(cfg: Config, log: (msg: string) => void): Promise<string> {
  if (cfg.LOOKALIKE_MMPROJ !== '') return resolveModelFile(cfg.LOOKALIKE_MMPROJ, cfg.modelsDir, log);
  return cfg.LOOKALIKE_EMBED_MODEL === 'demo' ? DEMO_EMBED_MMPROJ : DEMO_MMPROJ;
}

/** The Instruct model's mmproj: LOOKALIKE_TEXT_MMPROJ, the demo's own for the demo, else the encoder's (one file). */
async function textMmprojFile(cfg: Config, encoderMmproj: string, log: (msg: string) => void): Promise<string> {
  if (cfg.LOOKALIKE_TEXT_MMPROJ !== '') return resolveModelFile(cfg.LOOKALIKE_TEXT_MMPROJ, cfg.modelsDir, log);
  if (cfg.LOOKALIKE_TEXT_MODEL === 'demo') return DEMO_TEXT_MMPROJ;
  if (cfg.LOOKALIKE_EMBED_MODEL) {
    throw new ModelFileError(
      'LOOKALIKE_TEXT_MODEL with LOOKALIKE_EMBED_MODEL needs LOOKALIKE_TEXT_MMPROJ, the Instruct ' +
        "model's own mmproj: LOOKALIKE_MMPROJ is the embedding model's",
    );
  }
  return encoderMmproj;
}

/** Where model files' sha256 are remembered between starts (src/engine/encoder/fingerprint.ts). */
const fingerprintCache = (cfg: Config) => join(cfg.modelsDir, 'fingerprints.json');

/**
 * The configured embedder as far as identity and decoding go, without loading its weights: for a writer whose workers
 * encode (the index builder with --queue, a server with LOOKALIKE_QUERY_ENCODER=queue).
 */
export async function describeEmbedder(cfg: Config, log: (msg: string) => void = () => {}): Promise<EmbedderSet> {
  const mmprojPath = await mmprojFile(cfg, log);
  const common = {
    minTokens: tokenSetting(cfg.LOOKALIKE_MIN_TOKENS),
    maxTokens: tokenSetting(cfg.LOOKALIKE_MAX_TOKENS),
    maxInputPixels: cfg.LOOKALIKE_MAX_PIXELS,
    fingerprintCache: fingerprintCache(cfg),
  };
  const description = cfg.LOOKALIKE_EMBED_MODEL
    ? await VlEmbedder.describe(
        await modelFile(cfg, 'LOOKALIKE_EMBED_MODEL', cfg.LOOKALIKE_EMBED_MODEL, () => DEMO_EMBED_MODEL, log),
        mmprojPath,
        {
          ...common,
          dim: cfg.LOOKALIKE_EMBED_DIM,
          itemInstruction: cfg.LOOKALIKE_EMBED_ITEM_INSTRUCTION,
        },
      )
    : await VisionEncoder.describe(mmprojPath, { ...common, pooling: cfg.LOOKALIKE_POOLING });
  return {
    description,
    encoder: null,
    demo: cfg.LOOKALIKE_MMPROJ === '',
    dataDir: galleryDir(cfg),
    mmprojPath,
    acceleration: null,
    warnings: [],
    dispose: async () => {},
  };
}

/** Everything the configuration asks for. `redis`: the process's link to Redis, for a server whose queries go to the
 *  workers (LOOKALIKE_QUERY_ENCODER=queue). */
export function serverModels(cfg: Config, log: (msg: string) => void = () => {}, redis?: RedisLink): Promise<ModelSet> {
  return loadModelSet(cfg, log, redis);
}

/** The embedder alone, encoding in this process whatever the server's settings say (a worker that sent its jobs back
 *  to the queue would never encode): for workers and the command-line scripts. No VL model, no reranker. */
export function localEmbedder(cfg: Config, log: (msg: string) => void = () => {}): Promise<ModelSet> {
  return loadModelSet(
    { ...cfg, LOOKALIKE_QUERY_ENCODER: 'local', LOOKALIKE_TEXT_MODEL: '', LOOKALIKE_RERANK_MODEL: '' },
    log,
  );
}

/** The Instruct model alone (LOOKALIKE_TEXT_MODEL with its mmproj), on the CPU: for `npm run captions`, whose gallery
 *  is opened from describeEmbedder (no encoder loaded). */
export async function instructModel(cfg: Config, log: (msg: string) => void = () => {}): Promise<VisionLanguageModel> {
  if (!cfg.LOOKALIKE_TEXT_MODEL)
    throw new ModelFileError("captions are the Instruct model's: set LOOKALIKE_TEXT_MODEL");
  const textPath = await modelFile(cfg, 'LOOKALIKE_TEXT_MODEL', cfg.LOOKALIKE_TEXT_MODEL, demoTextModel, log);
  const textMmproj = await textMmprojFile(cfg, await mmprojFile(cfg, log), log);
  const loraPath = cfg.LOOKALIKE_LORA ? await resolveModelFile(cfg.LOOKALIKE_LORA, cfg.modelsDir, log) : undefined;
  return VisionLanguageModel.load(textPath, textMmproj, {
    threads: cfg.threads,
    minTokens: tokenSetting(cfg.LOOKALIKE_MIN_TOKENS),
    maxTokens: tokenSetting(cfg.LOOKALIKE_MAX_TOKENS),
    maxInputPixels: cfg.LOOKALIKE_MAX_PIXELS,
    nCtx: cfg.LOOKALIKE_CONTEXT,
    loraPath,
    loraScale: cfg.LOOKALIKE_LORA_SCALE,
  });
}

/**
 * The Instruct model's id, from its files' sha256 (the text GGUF, its mmproj, the LoRA if any) without loading it: the
 * caption queue's name, and what a worker's caption is checked against, as the encoder's model id is for vectors.
 */
export async function instructModelId(cfg: Config, log: (msg: string) => void = () => {}): Promise<string> {
  if (!cfg.LOOKALIKE_TEXT_MODEL)
    throw new ModelFileError("captions are the Instruct model's: set LOOKALIKE_TEXT_MODEL");
  const textPath = await modelFile(cfg, 'LOOKALIKE_TEXT_MODEL', cfg.LOOKALIKE_TEXT_MODEL, demoTextModel, log);
  const files = [textPath, await textMmprojFile(cfg, await mmprojFile(cfg, log), log)];
  if (cfg.LOOKALIKE_LORA) files.push(await resolveModelFile(cfg.LOOKALIKE_LORA, cfg.modelsDir, log));
  const hash = createHash('sha256');
  for (const f of files) hash.update((await fileFingerprint(f, fingerprintCache(cfg))).sha256);
  if (cfg.LOOKALIKE_LORA) hash.update(`@${cfg.LOOKALIKE_LORA_SCALE}`);
  // a queue name holds letters, digits, `_`, `.` and `-` only
  const name = basename(textPath, '.gguf').replace(/[^\w.-]/g, '_');
  return `${name}-${hash.digest('hex').slice(0, 12)}`;
}

async function loadModelSet(cfg: Config, log: (msg: string) => void, redis?: RedisLink): Promise<ModelSet> {
  const remote = cfg.LOOKALIKE_QUERY_ENCODER === 'queue';
  const acceleration = remote ? null : selectAcceleration(cfg.LOOKALIKE_GPU);
  const useGpu = acceleration?.gpu != null;
  const demo = cfg.LOOKALIKE_MMPROJ === '';
  const mmprojPath = await mmprojFile(cfg, log);
  const dataDir = galleryDir(cfg);
  const common = {
    threads: cfg.threads,
    minTokens: tokenSetting(cfg.LOOKALIKE_MIN_TOKENS),
    maxTokens: tokenSetting(cfg.LOOKALIKE_MAX_TOKENS),
    maxInputPixels: cfg.LOOKALIKE_MAX_PIXELS,
    useGpu,
    gpuLayers: useGpu ? cfg.gpuLayers : 0,
    nCtx: cfg.LOOKALIKE_CONTEXT,
    fingerprintCache: fingerprintCache(cfg),
    log,
  };
  const loaded: { dispose(): Promise<void> }[] = []; // freed again if a later model fails
  try {
    let encoder: Embedder | undefined;
    let vlm: VisionLanguageModel | null = null;
    let judge: ModelSet['judge'] = null;
    let rerankModel: VisionLanguageModel | null = null;
    const warnings: string[] = [];
    if (remote) {
      if (!cfg.LOOKALIKE_REDIS_URL)
        throw new ModelFileError(
          'LOOKALIKE_QUERY_ENCODER=queue sends queries to workers: it needs LOOKALIKE_REDIS_URL',
        );
      // with captions on, LOOKALIKE_TEXT_MODEL names the workers' captioning model, which this process does not load
      if (cfg.LOOKALIKE_TEXT_MODEL && cfg.LOOKALIKE_CAPTIONS !== 'on')
        throw new ModelFileError(
          'LOOKALIKE_QUERY_ENCODER=queue loads no model here, but describe (LOOKALIKE_TEXT_MODEL) needs the VL ' +
            "model in this process (with LOOKALIKE_CAPTIONS=on it names the workers' captioning model instead)",
        );
      // the workers never re-rank: a reranker would be a VL model loaded here, on the CPU (no GPU is probed here)
      if (cfg.LOOKALIKE_RERANK_MODEL) {
        throw new ModelFileError(
          'LOOKALIKE_QUERY_ENCODER=queue loads no model here, but re-ranking ' +
            '(LOOKALIKE_RERANK_MODEL) needs the reranker in this process: unset one of them',
        );
      }
      const { description } = await describeEmbedder(cfg, log);
      encoder = new RemoteEmbedder(description, QueryClient.open(cfg, description.identity.modelId, redis, log));
      loaded.push(encoder);
    } else if (cfg.LOOKALIKE_EMBED_MODEL) {
      const path = await modelFile(
        cfg,
        'LOOKALIKE_EMBED_MODEL',
        cfg.LOOKALIKE_EMBED_MODEL,
        () => DEMO_EMBED_MODEL,
        log,
      );
      const embedder = await VlEmbedder.load(path, mmprojPath, {
        ...common,
        dim: cfg.LOOKALIKE_EMBED_DIM,
        itemInstruction: cfg.LOOKALIKE_EMBED_ITEM_INSTRUCTION,
        queryInstruction: cfg.LOOKALIKE_EMBED_QUERY_INSTRUCTION,
      });
      loaded.push(embedder);
      if (embedder.warning) warnings.push(embedder.warning);
      encoder = embedder;
    }
    if (cfg.LOOKALIKE_TEXT_MODEL && !remote) {
      const textPath = await modelFile(cfg, 'LOOKALIKE_TEXT_MODEL', cfg.LOOKALIKE_TEXT_MODEL, demoTextModel, log);
      const textMmproj = await textMmprojFile(cfg, mmprojPath, log);
      const loraPath = cfg.LOOKALIKE_LORA ? await resolveModelFile(cfg.LOOKALIKE_LORA, cfg.modelsDir, log) : undefined;
      vlm = await VisionLanguageModel.load(textPath, textMmproj, {
        ...common,
        loraPath,
        loraScale: cfg.LOOKALIKE_LORA_SCALE,
      });
      loaded.push(vlm);
      if (!encoder) {
        // one vision tower in memory when both read pictures through the same mmproj
        encoder =
          textMmproj === mmprojPath
            ? await VisionEncoder.withBackend(vlm.encoderBackend(), mmprojPath, {
                ...common,
                pooling: cfg.LOOKALIKE_POOLING,
              })
            : await VisionEncoder.load(mmprojPath, { ...common, pooling: cfg.LOOKALIKE_POOLING });
        loaded.push(encoder);
      }
      const key = [
        encoder.identity.modelId,
        basename(textPath),
        statSync(textPath).size,
        loraPath ? `${basename(loraPath)}@${cfg.LOOKALIKE_LORA_SCALE}` : '',
      ].join('|');
      judge = { judge: instructJudge(vlm), name: 'instruct', key };
    }
    if (!encoder) {
      encoder = await VisionEncoder.load(mmprojPath, { ...common, pooling: cfg.LOOKALIKE_POOLING });
      loaded.push(encoder);
    }
    if (cfg.LOOKALIKE_RERANK_MODEL) {
      const path = await modelFile(cfg, 'LOOKALIKE_RERANK_MODEL', cfg.LOOKALIKE_RERANK_MODEL, demoRerankModel, log);
      if (!cfg.LOOKALIKE_RERANK_MMPROJ && cfg.LOOKALIKE_RERANK_MODEL !== 'demo')
        throw new ModelFileError("LOOKALIKE_RERANK_MODEL needs LOOKALIKE_RERANK_MMPROJ, the reranker's own mmproj");
      // the demo reranker reads pictures through the tower it was trained with, whichever demo encodes the gallery
      const rerankMmproj = cfg.LOOKALIKE_RERANK_MMPROJ
        ? await resolveModelFile(cfg.LOOKALIKE_RERANK_MMPROJ, cfg.modelsDir, log)
        : DEMO_RERANK_MMPROJ;
      rerankModel = await VisionLanguageModel.load(path, rerankMmproj, { ...common, role: 'rank' });
      loaded.push(rerankModel);
      const key = ['qwen3vl-reranker', basename(path), statSync(path).size, cfg.LOOKALIKE_RERANK_INSTRUCTION].join('|');
      judge = { judge: qwenRerankerJudge(rerankModel, cfg.LOOKALIKE_RERANK_INSTRUCTION), name: 'reranker', key };
    }
    let freed: Promise<void> | null = null;
    const dispose = () => (freed ??= disposeAll(loaded));
    return {
      description: encoder,
      encoder,
      vlm,
      judge,
      rerankModel,
      demo,
      dataDir,
      mmprojPath,
      acceleration,
      warnings,
      dispose,
    };
  } catch (err) {
    await disposeAll(loaded);
    throw err;
  }
}

/** Frees models in the reverse order of loading: an encoder on the VL model's context before that model. */
async function disposeAll(models: { dispose(): Promise<void> }[]): Promise<void> {
  for (const m of [...models].reverse()) await m.dispose();
}

/**
 * The data folder the configured models use: the demo models have their own, so a real gallery is never bound to one.
 */
export function galleryDir(cfg: Config): string {
  if (cfg.LOOKALIKE_MMPROJ !== '') return cfg.dataDir;
  return join(cfg.dataDir, cfg.LOOKALIKE_EMBED_MODEL ? 'demo-embedding' : 'demo');
}

export function knnOptions(cfg: Config) {
  return {
    k: cfg.LOOKALIKE_KNN_K,
    temperature: cfg.LOOKALIKE_KNN_TEMPERATURE,
    minSimilarity: cfg.LOOKALIKE_KNN_MIN_SIMILARITY,
    minConfidence: cfg.LOOKALIKE_KNN_MIN_CONFIDENCE,
  };
}
