// The service's state as a person or a supervisor asks it: health (ready, loading, failed, closing, or degraded while
// Redis is away), stats (counts, labels, index, model, queue, device), and what readiness lacks (/readyz). Answers in
// every phase of the runtime, loading included.
import { describeDevice, gpuMemory } from '../../engine/accel/acceleration.js';
import { RETRY_SECONDS, type Config } from '../../core/config.js';
import { UnavailableError, type ErrorCode } from '../../core/errors.js';
import { DEMO_WORDS_FLOOR } from '../../engine/demo/fashion-mnist.js';
import type { Gallery } from '../../engine/gallery/gallery.js';
import type { RedisLink } from '../jobs/redis-link.js';
import type { ModelSet } from '../models/model-set.js';
import type { Captions } from './captions.js';
import type { Describe } from './describe.js';
import type { QueryEncoder } from './query-encoder.js';
import type { Search } from './search.js';

/** What a ready runtime serves with: the parts Status reads its figures from. */
export interface Serving {
  models: ModelSet;
  gallery: Gallery;
  search: Search;
  describe: Describe;
  queries: QueryEncoder;
  captions: Captions;
}

/** The demo gallery's first build: pictures encoded (or skipped) of all. */
export interface BuildProgress {
  done: number;
  total: number;
}

/** The runtime's phase as Status sees it. */
export type Phase =
  | { status: 'loading'; parts: { models: boolean; gallery: boolean }; building?: BuildProgress }
  | { status: 'failed'; failure: { code: string; message: string } }
  | { status: 'ready'; serving: Serving }
  | { status: 'closed' };

/** What readiness may lack: models loading, the index opening, a start-up task or failed start, Redis, a shutdown. */
export type MissingPart = 'models' | 'index' | 'startup' | 'redis' | 'shutdown';

interface NotReady {
  status: 'loading' | 'error' | 'closed';
  error: { code: string; message: string };
  retryAfter: number;
  building?: BuildProgress;
}

export class Status {
  constructor(
    private readonly phase: () => Phase,
    private readonly redis: RedisLink | null,
    private readonly config: Config,
  ) {}

  /** Ready (or degraded while Redis, with LOOKALIKE_REDIS_URL, cannot be reached), or why not and when to ask again. */
  health() {
    const p = this.phase();
    if (p.status !== 'ready') return { ready: false as const, ...this.notReady(p) };
    const { models, gallery, search, describe } = p.serving;
    const counts = gallery.counts();
    // Redis down: searches and reads still work (with a local encoder), adds and job states answer 503
    const redis = this.redis;
    const degraded =
      redis && !redis.reachable
        ? {
            status: 'degraded' as const,
            error: {
              code: 'queue_unavailable',
              message: `${redis.problem}: adds and job states answer 503 until it is back`,
            },
          }
        : { status: 'ready' as const };
    return {
      ready: true as const,
      ...degraded,
      demo: models.demo,
      model: models.encoder.identity,
      gallery: { images: counts.embedded, labelled: counts.labelled },
      features: { rerank: search.reranks, describe: describe.available, textSearch: models.encoder.textSearch },
      wordsFloor: models.demo && this.config.LOOKALIKE_EMBED_MODEL === 'demo' ? DEMO_WORDS_FLOOR : null,
      device: this.device(models),
    };
  }

  /** Counts, labels, index, model, queue and device; 503 while not ready, as every use case. */
  async stats() {
    const { models, gallery, queries, captions } = this.serving();
    return {
      ...gallery.counts(),
      labels: gallery.labels(),
      index: await gallery.indexStats(),
      captions: captions.progress(),
      model: models.encoder.identity,
      demo: models.demo,
      queue: { inUse: queries.admission.inUse, capacity: queries.admission.capacity },
      device: this.device(models),
    };
  }

  /** What the server lacks to answer traffic, each with a sentence (none when ready), and when to ask again. */
  readiness(): { missing: { part: MissingPart; why: string }[]; retryAfter: number } {
    const missing: { part: MissingPart; why: string }[] = [];
    const p = this.phase();
    if (p.status === 'loading') {
      if (!p.parts.models) missing.push({ part: 'models', why: 'the models are loading' });
      if (!p.parts.gallery) missing.push({ part: 'index', why: 'the database and the vector index are opening' });
      if (p.parts.models && p.parts.gallery) {
        const b = p.building;
        const count = b ? `: ${b.done} of ${b.total} pictures` : '';
        missing.push({ part: 'startup', why: `a start-up task runs (the demo gallery is built${count})` });
      }
    } else if (p.status === 'failed') {
      missing.push({ part: 'startup', why: `the start failed: ${p.failure.message}` });
    } else if (p.status === 'closed') {
      missing.push({ part: 'shutdown', why: 'the server is shutting down' });
    }
    // a server whose queries the workers encode cannot answer a search without Redis; otherwise Redis down only refuses
    // adds (/api/health says degraded), and searches go on
    const redis = this.redis;
    if (this.config.LOOKALIKE_QUERY_ENCODER === 'queue' && redis && !redis.reachable && p.status !== 'closed') {
      missing.push({ part: 'redis', why: `${redis.problem}: the workers encode this server's queries through it` });
    }
    return { missing, retryAfter: p.status === 'failed' ? RETRY_SECONDS.startupFailed : RETRY_SECONDS.loading };
  }

  private notReady(p: Exclude<Phase, { status: 'ready' }>): NotReady {
    if (p.status === 'failed') return { status: 'error', error: p.failure, retryAfter: RETRY_SECONDS.startupFailed };
    const redis = this.redis;
    if (p.status === 'closed') {
      const error = { code: 'closed' satisfies ErrorCode, message: 'the service is shutting down' };
      return { status: p.status, error, retryAfter: RETRY_SECONDS.loading };
    }
    const b = p.building;
    const what = b
      ? `the demo gallery is being built (${b.done} of ${b.total} pictures)`
      : 'the model and gallery are still loading';
    const away = redis && !redis.reachable ? ` (${redis.problem})` : '';
    const error = { code: 'loading' satisfies ErrorCode, message: `${what}${away}; retry shortly` };
    return { status: p.status, error, retryAfter: RETRY_SECONDS.loading, ...(b ? { building: b } : {}) };
  }

  private serving(): Serving {
    const p = this.phase();
    if (p.status === 'ready') return p.serving;
    if (p.status === 'failed') {
      const message = `the service failed to start: ${p.failure.message}`;
      throw new UnavailableError('startup_failed', message, RETRY_SECONDS.startupFailed);
    }
    throw new UnavailableError(
      'loading',
      'the model and gallery are still loading; retry shortly',
      RETRY_SECONDS.loading,
    );
  }

  /** What the models compute on. */
  private device(models: ModelSet) {
    const a = models.acceleration; // null: no model in this process (LOOKALIKE_QUERY_ENCODER=queue)
    const memory = a?.gpu ? gpuMemory(a.gpu) : null;
    const threads = this.config.threads;
    return {
      kind: a?.gpu ? ('gpu' as const) : ('cpu' as const),
      name: a?.gpu?.name ?? 'CPU',
      description: a ? describeDevice(a, threads) : 'no model in this process: the workers encode',
      backend: a?.gpu?.backend ?? 'CPU',
      memoryFree: memory?.free ?? null,
      memoryTotal: memory?.total ?? null,
      threads,
      cpuVariant: a?.cpuVariant ?? null,
      visionTower: models.encoder.device,
      textLayersOnGpu: models.vlm ? models.vlm.layersOnGpu : null,
    };
  }
}
