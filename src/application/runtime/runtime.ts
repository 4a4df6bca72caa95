// The server's runtime: started in the background so the server answers (503 "loading") while models load, it is
// Loading, Failed, Ready or Closed. Ready holds the use cases the routes call, none of them null: a feature the
// loaded models lack answers 409 from its use case. Start-up tasks: the demo gallery on first start, the save timer,
// the trash's expiry timer.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describeDevice } from '../../engine/accel/acceleration.js';
import { RETRY_SECONDS, type Config } from '../../core/config.js';
import { writeDemoImages } from '../../engine/demo/fashion-mnist.js';
import { DiskFullError, isDiskFull, LookalikeError, ModelFileError, UnavailableError } from '../../core/errors.js';
import { PROBE_WORKER, type Gallery } from '../../engine/gallery/gallery.js';
import { ProbeKeeper } from '../../engine/knn/probe-keeper.js';
import { RedisLink } from '../jobs/redis-link.js';
import { JobWriter } from '../jobs/writer.js';
import { CaptionJobs } from '../jobs/caption-jobs.js';
import { instructModelId, knnOptions, serverModels, type ModelSet } from '../models/model-set.js';
import { buildIndex, formatSummary } from '../usecases/build-index.js';
import { Captions } from '../usecases/captions.js';
import { Classify } from '../usecases/classify.js';
import { Describe } from '../usecases/describe.js';
import { Duplicates } from '../usecases/duplicates.js';
import { FewShot } from '../usecases/few-shot.js';
import { Images } from '../usecases/images.js';
import { Ingest } from '../usecases/ingest.js';
import { QueryEncoder } from '../usecases/query-encoder.js';
import { Search } from '../usecases/search.js';
import { Status, type Phase } from '../usecases/status.js';
import { Admission } from '../../core/util/admission.js';
import { Metrics } from '../../core/util/metrics.js';
import type { CaptionLanguage } from '../../engine/vlm/caption.js';
import { Reranker } from '../../engine/vlm/rerank.js';
import { openGallery } from './compose.js';

export interface Logger {
  info(msg: string): void;
  warn(msg: string): void;
  error(obj: unknown, msg?: string): void;
}

export interface Ready {
  readonly queries: QueryEncoder;
  readonly ingest: Ingest;
  readonly images: Images;
  readonly search: Search;
  readonly classify: Classify;
  readonly describe: Describe;
  readonly duplicates: Duplicates;
  readonly captions: Captions;
}

export type RuntimeState =
  | { status: 'loading' }
  | { status: 'failed'; failure: { code: string; message: string } }
  | { status: 'ready'; ready: Ready }
  | { status: 'closed' };

export class Runtime {
  state: RuntimeState = { status: 'loading' };
  readonly admission: Admission;
  readonly metrics = new Metrics();
  /** Health, stats and readiness, in every phase (loading included). */
  readonly status: Status;
  /** With LOOKALIKE_REDIS_URL: whether Redis can be reached (health says so, adds and jobs answer 503 while not). */
  readonly redis: RedisLink | null;
  /** False once a close failed to save the index (the server's last line says so). */
  indexSaved = true;
  private starting: Promise<void> | null = null;
  private loaded: {
    models?: ModelSet;
    gallery?: Gallery;
    jobs?: JobWriter;
    captionJobs?: CaptionJobs;
    probe?: ProbeKeeper;
    captions?: Captions;
  } = {};
  /** The demo gallery's first build, while it runs: pictures done of all. */
  private building: { done: number; total: number } | null = null;
  private saveTimer: NodeJS.Timeout | null = null;
  private trashTimer: NodeJS.Timeout | null = null;

  constructor(
    readonly config: Config,
    private readonly log: Logger,
  ) {
    this.admission = new Admission(config.LOOKALIKE_QUEUE_SIZE, () => this.metrics.queueRejections.inc());
    this.redis = config.LOOKALIKE_REDIS_URL ? new RedisLink(config.LOOKALIKE_REDIS_URL, (m) => log.warn(m)) : null;
    this.status = new Status(() => this.phase(), this.redis, config);
    this.registerGauges();
  }

  /** Loads everything; resolves when ready, or with status 'failed' (the failure is kept for /api/health). */
  start(): Promise<void> {
    this.starting ??= this.load()
      .then((ready) => {
        if (this.state.status === 'loading') this.state = { status: 'ready', ready };
      })
      .catch((caught: unknown) => {
        // a full disk is no bug, wherever the start wrote (the database, the demo's pictures, the index): say so
        const err =
          isDiskFull(caught) && !(caught instanceof LookalikeError)
            ? new DiskFullError(
                `the disk holding ${this.config.LOOKALIKE_DATA_DIR} is full ` +
                  `(${(caught as Error).message}); free some space and start again`,
              )
            : caught;
        const failure =
          err instanceof LookalikeError
            ? { code: err.code, message: err.message }
            : { code: 'startup_failed', message: (err as Error).message };
        this.state = { status: 'failed', failure };
        // an expected failure (bad file, mismatch, no GPU) is its message; anything else is a bug: keep the stack
        if (err instanceof LookalikeError) this.log.error(`lookalike failed to start: ${err.message}`);
        else this.log.error(err, 'lookalike failed to start');
      });
    return this.starting;
  }

  /** The use cases; 503 (with Retry-After) while loading, after a failed start, and while closing. */
  ready(): Ready {
    const s = this.state;
    if (s.status === 'ready') return s.ready;
    if (s.status === 'failed')
      throw new UnavailableError(
        'startup_failed',
        `the service failed to start: ${s.failure.message}`,
        RETRY_SECONDS.startupFailed,
      );
    throw new UnavailableError(
      'loading',
      'the model and gallery are still loading; retry shortly',
      RETRY_SECONDS.loading,
    );
  }

  /** The loaded gallery and models, for start-up tasks and tests (routes go through the use cases of ready()); 503
   *  as ready() while not ready. */
  parts(): { gallery: Gallery; models: ModelSet } {
    this.ready();
    return { gallery: this.loaded.gallery!, models: this.loaded.models! };
  }

  /** The phase as Status reads it: which parts of a start have finished, or what a ready runtime serves with. */
  private phase(): Phase {
    const s = this.state;
    const { models, gallery } = this.loaded;
    if (s.status === 'loading') {
      const parts = { models: models !== undefined, gallery: gallery !== undefined };
      return { status: 'loading', parts, ...(this.building ? { building: { ...this.building } } : {}) };
    }
    if (s.status !== 'ready') return s;
    return { status: 'ready', serving: { ...s.ready, models: models!, gallery: gallery! } };
  }

  private async load(): Promise<Ready> {
    const cfg = this.config;
    if (cfg.LOOKALIKE_CAPTIONS === 'on' && !cfg.LOOKALIKE_TEXT_MODEL) {
      throw new ModelFileError(
        "LOOKALIKE_CAPTIONS=on: the captions are the Instruct model's, and there is none: set LOOKALIKE_TEXT_MODEL",
      );
    }
    const models = await serverModels(cfg, (m) => this.log.info(m), this.redis ?? undefined);
    this.loaded.models = models;
    const { encoder, vlm, judge, demo, dataDir, mmprojPath, acceleration } = models;
    for (const s of acceleration?.skipped ?? []) this.log.info(`GPU: ${s.backend} skipped: ${s.reason}`);
    for (const w of models.warnings) this.log.warn(w);
    if (acceleration)
      this.log.info(`device: ${describeDevice(acceleration, cfg.threads)} (LOOKALIKE_GPU=${cfg.LOOKALIKE_GPU})`);
    this.log.info(
      `encoder ${encoder.identity.modelId} from ${mmprojPath} (${encoder.dim} ` +
        `dims${encoder.textSearch ? ', text search on' : ''})${
          demo ? ' ' + '[demo: tiny models trained on Fashion-MNIST, src/engine/demo/models]' : ''
        }`,
    );
    if (vlm) {
      const shared =
        vlm.mmprojPath === mmprojPath ? 'the encoder shares its mmproj' : `its own mmproj ${vlm.mmprojPath}`;
      this.log.info(
        `VL model loaded (${vlm.text.architecture}, ${vlm.text.layers} layers, context ${vlm.info.nCtx}): describe ` +
          `is on; ${shared}`,
      );
    }
    if (judge) this.log.info(`re-ranking with ${models.rerankModel ? 'the Qwen3-VL-Reranker model' : 'the VL model'}`);
    const gallery = await openGallery(cfg, models, { log: (m) => this.log.info(m) });
    this.loaded.gallery = gallery;
    if (demo && gallery.counts().embedded === 0) await this.buildDemoGallery(gallery, models);
    // the linear probe trains in a worker thread, after the demo gallery's build, and again when labels change
    const probe = ProbeKeeper.open({
      dataDir,
      identity: encoder.identity,
      worker: PROBE_WORKER,
      currentLabels: () => gallery.labels().map((l) => l.label),
      log: (m) => this.log.info(m),
    });
    this.loaded.probe = probe;
    gallery.onLabelsChanged(() => probe.labelsChanged());
    let jobs: JobWriter | null = null;
    if (this.redis) {
      jobs = this.loaded.jobs = JobWriter.open(cfg, encoder.identity.modelId, (m) => this.log.info(m), this.redis);
      this.log.info(
        `jobs: adds are encoded by the workers of ${cfg.LOOKALIKE_REDIS_URL} (queries: ${cfg.LOOKALIKE_QUERY_ENCODER})`,
      );
    }
    // with a job queue the workers caption, as they encode: this process needs no Instruct model for it
    let captionJobs: CaptionJobs | null = null;
    if (this.redis && cfg.LOOKALIKE_CAPTIONS === 'on') {
      const id = await instructModelId(cfg, (m) => this.log.info(m));
      captionJobs = this.loaded.captionJobs = CaptionJobs.open(cfg, id, this.redis);
    }
    this.startSaveTimer(gallery);
    this.startTrashTimer(gallery);
    const index = await gallery.indexStats();
    this.log.info(
      `gallery ready: ${gallery.counts().embedded} images in ${dataDir}, index ${index.kind}; ` +
        `model ${encoder.identity.fileName} ` +
        `(${encoder.dim} dims); device ${acceleration ? describeDevice(acceleration, cfg.threads) : encoder.device}`,
    );
    const ready = this.useCases(models, gallery, jobs, probe, captionJobs);
    // stores results as they complete, those that completed while this process was down first
    jobs?.start(ready.ingest);
    this.loaded.captions = ready.captions;
    if (ready.captions.enabled) {
      const { captioned, pending } = ready.captions.progress();
      const by = captionJobs ? `by the workers of model ${captionJobs.modelId}` : 'in the background';
      this.log.info(
        `captions: on (${cfg.LOOKALIKE_CAPTION_LANGUAGES}); ${captioned} captioned, ${pending} to go, ${by}`,
      );
      ready.captions.start();
    }
    return ready;
  }

  private useCases(
    models: ModelSet,
    gallery: Gallery,
    jobs: JobWriter | null,
    probe: ProbeKeeper,
    captionJobs: CaptionJobs | null,
  ): Ready {
    const cfg = this.config;
    const knn = knnOptions(cfg);
    const queries = new QueryEncoder(models.encoder, this.admission, this.metrics);
    const reranker =
      models.judge &&
      new Reranker(models.judge.judge, models.judge.key, cfg.LOOKALIKE_RERANK_TOP_N, cfg.LOOKALIKE_RERANK_BUDGET_MS);
    const classify = new Classify(
      gallery,
      queries,
      probe,
      new FewShot(
        models.vlm,
        gallery,
        {
          maxClasses: cfg.LOOKALIKE_FEWSHOT_MAX_CLASSES,
          maxExamples: cfg.LOOKALIKE_FEWSHOT_MAX_EXAMPLES,
        },
        cfg.LOOKALIKE_TEXT_MODEL === 'demo',
      ),
      knn,
      {
        template: cfg.LOOKALIKE_ZEROSHOT_TEMPLATE,
        temperature: cfg.LOOKALIKE_ZEROSHOT_TEMPERATURE,
        minProbability: cfg.LOOKALIKE_ZEROSHOT_MIN_PROBABILITY,
        maxNewLabels: cfg.LOOKALIKE_ZEROSHOT_MAX_NEW_LABELS,
      },
    );
    const captioner = cfg.LOOKALIKE_CAPTIONS === 'on' ? (captionJobs ?? models.vlm) : null;
    const captions = new Captions(gallery, captioner, this.admission, {
      languages: cfg.LOOKALIKE_CAPTION_LANGUAGES.split(',') as CaptionLanguage[],
      model: cfg.LOOKALIKE_TEXT_MODEL,
      log: (m) => this.log.warn(m),
    });
    const search = new Search(
      gallery,
      queries,
      reranker && { reranker, judge: models.judge!.name },
      classify,
      captions,
    );
    const ingest = new Ingest(gallery, { encoder: queries, writer: jobs });
    return {
      queries,
      search,
      classify,
      ingest,
      images: new Images(gallery, ingest),
      describe: new Describe(
        models.vlm,
        this.admission,
        cfg.LOOKALIKE_DESCRIBE_MAX_TOKENS,
        cfg.LOOKALIKE_TEXT_MODEL === 'demo',
      ),
      duplicates: new Duplicates(gallery, cfg.duplicateThreshold),
      captions,
    };
  }

  /** Start-up task of the demo: its gallery is built from Fashion-MNIST's pictures on the first start. */
  private async buildDemoGallery(gallery: Gallery, models: ModelSet): Promise<void> {
    const folder = join(models.dataDir, 'images');
    if (!existsSync(folder)) await writeDemoImages(folder);
    this.log.info(`building the demo gallery from ${folder}`);
    const onProgress = (done: number, total: number) => {
      this.building = { done, total };
    };
    try {
      const summary = await buildIndex(gallery, models.encoder, {
        folder,
        labelsFromFolders: true,
        progressStream: process.stderr,
        onProgress,
      });
      this.log.info(formatSummary(summary));
    } finally {
      this.building = null;
    }
  }

  /** Start-up task: the index is saved every minute when it changed (every change is in SQLite at once). */
  private startSaveTimer(gallery: Gallery): void {
    this.saveTimer = setInterval(() => {
      gallery
        .save()
        .catch((err: Error) =>
          this.log.error(`index save failed (${err.message}): every change is in the database; trying again in 60 s`),
        );
    }, 60_000);
    this.saveTimer.unref();
  }

  /**
   * Start-up task: what has been in the trash longer than LOOKALIKE_TRASH_DAYS is deleted for good, at start and then
   * every tenth of that time (at least every second, at most every hour): an image leaves at most that late.
   */
  private startTrashTimer(gallery: Gallery): void {
    const expire = () => {
      try {
        const n = gallery.expireTrash();
        if (n) this.log.info(`trash: ${n} image(s) kept ${this.config.LOOKALIKE_TRASH_DAYS} days deleted for good`);
      } catch (err) {
        this.log.error(`trash expiry failed (${(err as Error).message}): trying again at the next round`);
      }
    };
    expire();
    const every = Math.min(Math.max(gallery.trashMs / 10, 1000), 3_600_000);
    this.trashTimer = setInterval(expire, every);
    this.trashTimer.unref();
  }

  private registerGauges(): void {
    const gallery = () => this.loaded.gallery;
    this.metrics.gauge(
      'lookalike_admission_in_use',
      'Requests waiting for or holding the encoder',
      () => this.admission.inUse,
    );
    this.metrics.gauge(
      'lookalike_gallery_images',
      "Images embedded for the gallery's model",
      () => gallery()?.counts().embedded ?? 0,
    );
    this.metrics.gauge(
      'lookalike_index_vectors',
      'Vectors in the index, by state',
      async (): Promise<Record<string, number>> => {
        const s = await gallery()?.indexStats();
        return s ? { live: s.live, tombstones: s.tombstones, staged: s.staged } : {};
      },
      'state',
    );
    // a scrape while Redis is down answers at once, without the job counts
    this.metrics.gauge(
      'lookalike_jobs',
      'Encoding jobs in Redis by state (with LOOKALIKE_REDIS_URL)',
      async () => (await this.loaded.jobs?.counts().catch(() => null)) ?? {},
      'state',
    );
    this.metrics.gauge(
      'lookalike_redis_up',
      'Whether Redis (the job queue) can be reached: 1 or 0 (with LOOKALIKE_REDIS_URL)',
      () => (this.redis ? Number(this.redis.reachable) : {}),
    );
  }

  /**
   * Saves the index and frees the models; safe to call while loading. A failed save is logged, and the models freed all
   * the same.
   */
  async close(): Promise<void> {
    const wasLoading = this.state.status === 'loading';
    this.state = { status: 'closed' };
    if (this.saveTimer) clearInterval(this.saveTimer);
    if (this.trashTimer) clearInterval(this.trashTimer);
    if (wasLoading) await this.starting;
    // set by a load that finished meanwhile
    if (this.saveTimer) clearInterval(this.saveTimer);
    if (this.trashTimer) clearInterval(this.trashTimer);
    const { models, gallery, jobs, captionJobs, probe, captions } = this.loaded;
    await captions?.stop(); // the caption in hand is finished before its model is freed
    await captionJobs?.close();
    await jobs?.close();
    await probe?.close();
    try {
      await gallery?.close();
    } catch (err) {
      this.indexSaved = false;
      this.log.error(
        `index save failed at shutdown (${(err as Error).message}): every change is in the database, and the next ` +
          `start brings the index up to date from it`,
      );
    }
    await models?.dispose();
    await this.redis?.close();
  }
}
