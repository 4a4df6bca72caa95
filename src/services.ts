// What the HTTP app needs, started in the background so the server answers (503 "loading") while models load:
// the models (embedder, VL model, reranker), the gallery (demo gallery built on first start), the admission queue,
// the job writer (with Redis), the metrics.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { buildIndex, formatSummary } from './builder/build-index.js';
import { describeDevice, gpuMemory, type Acceleration } from './accel/acceleration.js';
import type { Config } from './config.js';
import { writeDemoImages } from './demo/fashion-mnist.js';
import { isTextEmbedder, type Embedder } from './encoder/embedder.js';
import { LabelVectors } from './knn/zero-shot.js';
import { ProbeKeeper } from './knn/probe-keeper.js';
import { JobWriter } from './jobs/writer.js';
import { RedisLink } from './jobs/redis-link.js';
import { LookalikeError } from './errors.js';
import { Gallery } from './gallery/gallery.js';
import { indexParams, knnOptions, loadModels } from './models/load-models.js';
import { Admission } from './util/admission.js';
import { Metrics } from './util/metrics.js';
import { Reranker } from './vlm/rerank.js';
import type { VisionLanguageModel } from './vlm/vision-language-model.js';

export type ServiceStatus = 'loading' | 'ready' | 'error' | 'closed';

export interface Logger {
  info(msg: string): void;
  warn(msg: string): void;
  error(obj: unknown, msg?: string): void;
}

export class Services {
  status: ServiceStatus = 'loading';
  failure: { code: string; message: string } | null = null;
  encoder: Embedder | null = null;
  gallery: Gallery | null = null;
  vlm: VisionLanguageModel | null = null;
  reranker: Reranker | null = null;
  /** With LOOKALIKE_REDIS_URL: adds go to the workers as jobs, and this process stores their results. */
  jobs: JobWriter | null = null;
  /** With LOOKALIKE_REDIS_URL: whether Redis can be reached (health says so, adds and jobs answer 503 while not). */
  redis: RedisLink | null = null;
  /** Zero-shot class names embedded as text, with a text-capable embedder. */
  labelVectors: LabelVectors | null = null;
  /** A Qwen3-VL-Reranker model, when LOOKALIKE_RERANK_MODEL loads one (the Instruct model re-ranks otherwise). */
  rerankModel: VisionLanguageModel | null = null;
  acceleration: Acceleration | null = null;
  /** The linear probe over the labelled vectors, retrained in a worker thread when labels change (issue 20 part 1 wiring). */
  probe: ProbeKeeper | null = null;
  demo = false;
  readonly admission: Admission;
  readonly metrics = new Metrics();
  readonly knn;
  /** False once a close failed to save the index (the server's last line says so). */
  indexSaved = true;
  private starting: Promise<void> | null = null;
  private saveTimer: NodeJS.Timeout | null = null;

  constructor(readonly config: Config, private readonly log: Logger) {
    this.admission = new Admission(config.LOOKALIKE_QUEUE_SIZE, () => this.metrics.queueRejections.inc());
    this.metrics.gauge('lookalike_admission_in_use', 'Requests waiting for or holding the encoder', () => this.admission.inUse);
    this.metrics.gauge('lookalike_gallery_images', 'Images embedded for the gallery\'s model', () => this.gallery?.counts().embedded ?? 0);
    this.metrics.gauge('lookalike_index_vectors', 'Vectors in the index, by state', async (): Promise<Record<string, number>> => {
      const s = await this.gallery?.indexStats();
      return s ? { live: s.live, tombstones: s.tombstones, staged: s.staged } : {};
    }, 'state');
    // a scrape while Redis is down answers at once, without the job counts
    this.metrics.gauge('lookalike_jobs', 'Encoding jobs in Redis by state (with LOOKALIKE_REDIS_URL)', async () => (await this.jobs?.counts().catch(() => null)) ?? {}, 'state');
    this.metrics.gauge('lookalike_redis_up', 'Whether Redis (the job queue) can be reached: 1 or 0 (with LOOKALIKE_REDIS_URL)', () => (this.redis ? Number(this.redis.reachable) : {}));
    this.knn = knnOptions(config);
  }

  /** Loads everything; resolves when ready, or with status 'error' (the failure is kept for /api/health). */
  start(): Promise<void> {
    this.starting ??= this.load().catch((err: unknown) => {
      this.status = 'error';
      this.failure = err instanceof LookalikeError ? { code: err.code, message: err.message } : { code: 'startup_failed', message: (err as Error).message };
      // an expected failure (bad file, mismatch, no GPU) is its message; anything else is a bug: keep the stack
      if (err instanceof LookalikeError) this.log.error(`lookalike failed to start: ${err.message}`);
      else this.log.error(err, 'lookalike failed to start');
    });
    return this.starting;
  }

  private async load(): Promise<void> {
    if (this.config.LOOKALIKE_REDIS_URL) this.redis = new RedisLink(this.config.LOOKALIKE_REDIS_URL, (m) => this.log.warn(m));
    const { encoder, vlm, judge, rerankModel, demo, dataDir, mmprojPath, acceleration, warnings } = await loadModels(this.config, (m) => this.log.info(m), this.redis ?? undefined);
    this.encoder = encoder;
    this.vlm = vlm;
    this.rerankModel = rerankModel;
    if (isTextEmbedder(encoder)) this.labelVectors = new LabelVectors(encoder, this.config.LOOKALIKE_ZEROSHOT_TEMPLATE);
    this.demo = demo;
    this.acceleration = acceleration;
    for (const s of acceleration?.skipped ?? []) this.log.info(`GPU: ${s.backend} skipped: ${s.reason}`);
    for (const w of warnings) this.log.warn(w);
    if (acceleration) this.log.info(`device: ${describeDevice(acceleration, this.config.threads)} (LOOKALIKE_GPU=${this.config.LOOKALIKE_GPU})`);
    this.log.info(`encoder ${encoder.identity.modelId} from ${mmprojPath} (${encoder.dim} dims${encoder.textSearch ? ', text search on' : ''})${demo ? ' [demo: tiny models trained on Fashion-MNIST, src/demo/models]' : ''}`);
    if (vlm) this.log.info(`VL model loaded (${vlm.text.architecture}, ${vlm.text.layers} layers, context ${vlm.info.nCtx}): describe is on; the encoder shares its mmproj`);
    if (judge) {
      this.reranker = new Reranker(judge.judge, judge.key, this.config.LOOKALIKE_RERANK_TOP_N, this.config.LOOKALIKE_RERANK_BUDGET_MS);
      this.log.info(`re-ranking with ${rerankModel ? 'the Qwen3-VL-Reranker model' : 'the VL model'}`);
    }
    this.gallery = await Gallery.open({
      dataDir, identity: encoder.identity, indexKind: this.config.LOOKALIKE_INDEX_KIND, indexParams: indexParams(this.config),
      log: (m) => this.log.info(m),
    });
    if (demo && this.gallery.counts().embedded === 0) await this.buildDemoGallery(dataDir);
    const gallery = this.gallery; // issue 20 part 1 wiring (the probe): after the demo build, so it trains on it
    this.probe = ProbeKeeper.open({ dataDir, identity: encoder.identity, currentLabels: () => gallery.labels().map((l) => l.label), log: (m) => this.log.info(m) });
    if (this.redis) {
      this.jobs = JobWriter.open(this.config, this.gallery, encoder.identity.modelId, (m) => this.log.info(m), this.redis);
      this.jobs.start(); // stores results as they complete, those that completed while this process was down first
      this.log.info(`jobs: adds are encoded by the workers of ${this.config.LOOKALIKE_REDIS_URL} (queries: ${this.config.LOOKALIKE_QUERY_ENCODER})`);
    }
    this.saveTimer = setInterval(() => {
      this.gallery?.save().catch((err: Error) => this.log.error(`index save failed (${err.message}): every change is in the database; trying again in 60 s`));
    }, 60_000);
    this.saveTimer.unref();
    this.status = this.status === 'closed' ? 'closed' : 'ready';
    const index = await this.gallery.indexStats();
    this.log.info(`gallery ready: ${this.gallery.counts().embedded} images in ${dataDir}, index ${index.kind}; model ${encoder.identity.fileName} ` +
      `(${encoder.dim} dims); device ${acceleration ? describeDevice(acceleration, this.config.threads) : encoder.device}`);
  }

  private async buildDemoGallery(dataDir: string): Promise<void> {
    const folder = join(dataDir, 'images');
    if (!existsSync(folder)) await writeDemoImages(folder);
    this.log.info(`building the demo gallery from ${folder}`);
    const summary = await buildIndex(this.gallery!, this.encoder!, { folder, labelsFromFolders: true, progressStream: process.stderr });
    this.log.info(formatSummary(summary));
  }

  /** What the models compute on, for /api/health and /api/stats. */
  device() {
    const a = this.acceleration; // null: no model in this process (LOOKALIKE_QUERY_ENCODER=queue)
    const memory = a?.gpu ? gpuMemory(a.gpu) : null;
    return {
      kind: a?.gpu ? 'gpu' as const : 'cpu' as const, name: a?.gpu?.name ?? 'CPU',
      description: a ? describeDevice(a, this.config.threads) : 'no model in this process: the workers encode',
      backend: a?.gpu?.backend ?? 'CPU', memoryFree: memory?.free ?? null, memoryTotal: memory?.total ?? null,
      threads: this.config.threads, cpuVariant: a?.cpuVariant ?? null, visionTower: this.encoder!.device,
      textLayersOnGpu: this.vlm ? this.vlm.layersOnGpu : null,
    };
  }

  get ready(): boolean {
    return this.status === 'ready';
  }

  /** Saves the index and frees the models; safe to call while loading. A failed save is logged, and the models freed all the same. */
  async close(): Promise<void> {
    const wasLoading = this.status === 'loading';
    this.status = 'closed';
    if (this.saveTimer) clearInterval(this.saveTimer);
    if (wasLoading) await this.starting;
    await this.probe?.close(); // issue 20 part 1 wiring (the probe)
    await this.jobs?.close();
    try {
      await this.gallery?.close();
    } catch (err) {
      this.indexSaved = false;
      this.log.error(`index save failed at shutdown (${(err as Error).message}): every change is in the database, and the next start brings the index up to date from it`);
    }
    await this.encoder?.dispose();
    await this.redis?.close();
    await this.vlm?.dispose();
    await this.rerankModel?.dispose();
  }
}
