// The writing side of the job queue: the server or the index builder, the only process that writes SQLite and FAISS.
// It enqueues gallery images (one job per content and model: a retried or duplicated job stores one row) and hands
// results to the one write path (a ResultSink: the Ingest use case) as they complete, polling Redis for completed
// jobs: that survives a Redis restart, and a writer that restarts collects the results that completed while it was
// down. A result from another model is refused, logged
// and listed, never stored; one that throws when stored is logged and listed as failed, and the next ones go on. The
// server answers requests within a bounded time while Redis is down (`bounded`, 503 queue_unavailable); the builder
// waits for it to come back.
import type { Queue } from 'bullmq';
import { DiskFullError } from '../../core/errors.js';
import type { Config } from '../../core/config.js';
import type { PreparedImage } from '../../engine/image/prepare.js';
import type { PhotoMeta } from '../../core/domain/records.js';
import { inTrace, span, traceCarrier } from '../../core/util/tracing.js';
import type { RedisLink } from './redis-link.js';
import {
  encodeJobData,
  encodeJobId,
  encodeJobOptions,
  encodeQueue,
  isEncodeJobId,
  vectorFromBase64,
  type EncodeJobData,
  type JobResult,
} from './queues.js';

export type JobState =
  | { state: 'waiting' | 'active' }
  | { state: 'done'; imageId: number }
  | { state: 'failed'; error: string };

/** Where results are stored: the one write path (the Ingest use case), so that jobs/ knows no gallery. */
export interface ResultSink {
  store(image: Omit<PreparedImage, 'decoded'>, vector: Float32Array, meta: JobMeta): Promise<{ id: number }>;
  /** The image id of content embedded for the gallery's model: a job's result once stored. */
  embeddedId(sha256: string): number | undefined;
}
export interface JobMeta {
  source: string | null;
  label: string | null;
  photo?: PhotoMeta;
}

export interface StoredResult {
  jobId: string;
  imageId: number;
  source: string | null;
  worker: string;
}

export class JobWriter {
  // job id -> why its result was not stored (refused, or it threw)
  private readonly notStored = new Map<string, string>();
  readonly workersSeen = new Set<string>();
  private timer: NodeJS.Timeout | null = null;
  private collecting: Promise<StoredResult[]> | null = null;

  private constructor(
    private readonly queue: Queue<EncodeJobData, JobResult>,
    private readonly cfg: Config,
    private readonly modelId: string,
    private readonly log: (msg: string) => void,
    readonly redis: RedisLink,
    private readonly bounded: boolean,
  ) {}

  /** Does not wait for Redis: a server starts and serves without it (its adds answer 503 until Redis is back). */
  static open(
    cfg: Config,
    modelId: string,
    log: (msg: string) => void,
    redis: RedisLink,
    { bounded = true } = {},
  ): JobWriter {
    const queue = encodeQueue(cfg, modelId);
    queue.on('error', redis.onError);
    return new JobWriter(queue, cfg, modelId, log, redis, bounded);
  }

  private redisCall<T>(what: string, fn: () => Promise<T>, whenLate?: string): Promise<T> {
    return this.bounded ? this.redis.call(what, fn, { whenLate }) : fn();
  }

  /** Adds a gallery image as a job and returns its id; a job that failed before is tried again. An add that Redis did
   * not confirm in time is not withdrawn (the job may be running by then): its 503 names the job, which may still
   * store the image; adding the same content again is the same job. */
  enqueue(prepared: PreparedImage, meta: JobMeta): Promise<string> {
    const jobId = encodeJobId(this.modelId, prepared.sha256);
    const whenLate =
      `the image may still be stored, as job ${jobId} (GET /api/jobs/${jobId} tells); ` +
      'sending it again is safe: the same content is the same job';
    return span(
      'jobs.enqueue',
      () =>
        this.redisCall(
          'adding an image',
          async () => {
            const existing = await this.queue.getJob(jobId);
            if (existing && (await existing.isFailed())) await existing.remove();
            this.notStored.delete(jobId);
            const data = encodeJobData(this.modelId, prepared, meta, traceCarrier());
            await this.queue.add('encode', data, { ...encodeJobOptions(this.cfg), jobId });
            return jobId;
          },
          whenLate,
        ),
      { 'lookalike.job_id': jobId },
    );
  }

  /** Hands the results of the jobs completed so far to `sink` and removes them from Redis; one pass at a time. */
  collect(sink: ResultSink): Promise<StoredResult[]> {
    this.collecting ??= this.collectOnce(sink).finally(() => {
      this.collecting = null;
    });
    return this.collecting;
  }

  private async collectOnce(sink: ResultSink): Promise<StoredResult[]> {
    const stored: StoredResult[] = [];
    for (;;) {
      const jobs = (await this.queue.getJobs(['completed'], 0, 99)).filter(Boolean);
      if (!jobs.length) return stored;
      for (const job of jobs) {
        const result = job.returnvalue;
        const data = job.data;
        this.workersSeen.add(result.worker);
        if (result.modelId !== this.modelId || data.modelId !== this.modelId) {
          const why =
            `worker ${result.worker} runs model ${result.modelId}, this gallery's is ${this.modelId}: ` +
            `its result was refused`;
          this.notStored.set(job.id!, why);
          this.log(`jobs: ${data.meta.source ?? job.id}: ${why}`);
        } else {
          try {
            // in the request's trace, after the worker's encode
            const { sha256, meta } = data;
            const thumbnail = Buffer.from(meta.thumbnail, 'base64');
            const image = { sha256, bytes: meta.bytes, width: meta.width, height: meta.height, thumbnail };
            const { source, label, photo } = meta;
            const { id } = await inTrace(result.trace ?? data.trace, () =>
              span('jobs.store', () => sink.store(image, vectorFromBase64(result.vector), { source, label, photo }), {
                'lookalike.job_id': job.id!,
                'lookalike.worker': result.worker,
              }),
            );
            stored.push({ jobId: job.id!, imageId: id, source: data.meta.source, worker: result.worker });
          } catch (err) {
            // this result only: the next ones are stored, and this one is not tried again at every pass
            if (err instanceof DiskFullError) throw err; // not this result's fault: all of them wait for room, in Redis
            const why = `its result could not be stored: ${err instanceof Error ? err.message : String(err)}`;
            this.notStored.set(job.id!, why);
            this.log(`jobs: ${data.meta.source ?? job.id}: ${why}`);
          }
        }
        await job.remove();
      }
    }
  }

  /** Collects into `sink` every `intervalMs` until close(), while Redis is reachable. */
  start(sink: ResultSink, intervalMs = 250): void {
    const tick = () => {
      (this.redis.reachable ? this.collect(sink) : Promise.resolve())
        .catch((err: Error) => this.log(`jobs: collecting results failed (${err.message}); trying again`))
        .finally(() => {
          if (this.timer) this.timer = setTimeout(tick, intervalMs);
        });
    };
    this.timer = setTimeout(tick, 0);
  }

  /** Jobs that failed after their attempts, and results not stored (another model's, or storing threw), with why. */
  async failures(): Promise<{ jobId: string; source: string | null; reason: string }[]> {
    const failed = (await this.queue.getFailed(0, 9999))
      .filter(Boolean)
      .map((j) => ({ jobId: j.id!, source: j.data.meta.source, reason: j.failedReason }));
    return [...failed, ...[...this.notStored].map(([jobId, reason]) => ({ jobId, source: null, reason }))];
  }

  /** Jobs by state, for metrics and progress. */
  counts(): Promise<Record<string, number>> {
    return this.redisCall(
      'counting jobs',
      () =>
        this.queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized', 'completed', 'failed') as Promise<
          Record<string, number>
        >,
    );
  }

  /** The state of an add: in Redis while waiting, running or failed; once stored, its image id (from `sink`). */
  async state(jobId: string, sink: ResultSink): Promise<JobState | null> {
    if (!isEncodeJobId(jobId)) return null;
    const notStored = this.notStored.get(jobId);
    if (notStored) return { state: 'failed', error: notStored };
    const inRedis = await this.redisCall("a job's state", async (): Promise<JobState | null> => {
      const job = await this.queue.getJob(jobId);
      if (!job) return null;
      const s = await job.getState();
      if (s === 'failed') return { state: 'failed', error: job.failedReason };
      return { state: s === 'active' || s === 'completed' ? 'active' : 'waiting' }; // completed: being stored
    });
    if (inRedis) return inRedis;
    const sha256 = jobId.slice(jobId.indexOf('.') + 1);
    if (encodeJobId(this.modelId, sha256) !== jobId) return null; // another model's, or no job id of ours
    const imageId = sink.embeddedId(sha256);
    return imageId === undefined ? null : { state: 'done', imageId };
  }

  async close(): Promise<void> {
    const timer = this.timer;
    this.timer = null;
    if (timer) clearTimeout(timer);
    // a pass waiting on a Redis that is down would hold the close up for the whole outage: the next start collects
    // what it did not store (results stay in Redis until stored)
    if (this.redis.reachable) await this.collecting?.catch(() => undefined);
    await this.queue.close();
  }
}
