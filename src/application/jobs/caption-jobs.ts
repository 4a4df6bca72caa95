// Captions on the workers (LOOKALIKE_CAPTIONS=on with LOOKALIKE_REDIS_URL): the server, which holds the thumbnails,
// queues each image's thumbnail; a worker that has the Instruct model captions it and answers with the caption, the
// words and its model id; the server stores what completed (the Captions use case) and removes the job. One queue per
// Instruct model id, as for encodes: a worker sees only the jobs of the model it runs, and a result of another model is
// refused. A job is keyed by the model and the image (ids are never given twice), so queuing an image again while its
// job waits, runs or waits to be collected is the same job; a worker that dies gives its job back after the lock
// (LOOKALIKE_JOB_LOCK_SECONDS), and another worker takes it.
import { createHash } from 'node:crypto';
import { Queue } from 'bullmq';
import type { Config } from '../../core/config.js';
import type { CaptionLanguage } from '../../engine/vlm/caption.js';
import type { RedisLink } from './redis-link.js';
import { connection } from './queues.js';

export interface CaptionJobData {
  modelId: string; // the server's Instruct model: the answer must come from the same model
  imageId: number;
  thumbnail: string; // base64 of the stored thumbnail (WebP)
  languages: CaptionLanguage[];
}

export interface CaptionJobResult {
  modelId: string; // the worker's Instruct model
  caption: string;
  words: string;
  worker: string; // host:pid
  captionMs: number;
}

/** What became of a queued image: its caption, or why it has none (failed after its attempts, or refused). */
export type CaptionOutcome =
  | { imageId: number; caption: string; words: string; worker: string }
  | { imageId: number; error: string };

export const captionQueueName = (cfg: Config, instructId: string) => `${cfg.LOOKALIKE_JOB_QUEUE}-${instructId}-caption`;

const captionJobId = (modelId: string, imageId: number) =>
  `${createHash('sha256').update(modelId).digest('hex').slice(0, 12)}.caption.${imageId}`;

export class CaptionJobs {
  private constructor(
    private readonly queue: Queue<CaptionJobData, CaptionJobResult>,
    private readonly cfg: Config,
    readonly modelId: string,
    private readonly redis: RedisLink,
  ) {}

  /** Does not wait for Redis: while it is down, enqueue and collect throw, and the Captions loop tries again. */
  static open(cfg: Config, modelId: string, redis: RedisLink): CaptionJobs {
    const queue = new Queue<CaptionJobData, CaptionJobResult>(captionQueueName(cfg, modelId), {
      connection: connection(cfg),
    });
    queue.on('error', redis.onError);
    return new CaptionJobs(queue, cfg, modelId, redis);
  }

  /** Queues an image's thumbnail; the same image again is the same job, and one that failed before is tried again. */
  enqueue(imageId: number, thumbnail: Buffer, languages: CaptionLanguage[]): Promise<void> {
    const jobId = captionJobId(this.modelId, imageId);
    return this.redis.call('queuing a caption', async () => {
      const existing = await this.queue.getJob(jobId);
      if (existing && (await existing.isFailed())) await existing.remove();
      const data = { modelId: this.modelId, imageId, thumbnail: thumbnail.toString('base64'), languages };
      await this.queue.add('caption', data, {
        jobId,
        attempts: this.cfg.LOOKALIKE_JOB_ATTEMPTS,
        backoff: { type: 'exponential', delay: 1000 },
        removeOnComplete: false, // collected, then removed: a server that restarts still finds what completed
        removeOnFail: false,
      });
    });
  }

  /** Hands the outcome of each job completed or failed so far to `store`, then removes the job from Redis (a crash in
   * between leaves it to be collected again); the number handed. Nothing while Redis is down. */
  async collect(store: (outcome: CaptionOutcome) => void): Promise<number> {
    let n = 0;
    while (this.redis.reachable) {
      const jobs = (await this.queue.getJobs(['completed', 'failed'], 0, 99)).filter(Boolean);
      if (!jobs.length) break;
      for (const job of jobs) {
        const { imageId, modelId } = job.data;
        const result = job.returnvalue;
        if (!result) {
          store({ imageId, error: job.failedReason || 'failed' });
        } else if (result.modelId !== this.modelId || modelId !== this.modelId) {
          const why = `worker ${result.worker} runs model ${result.modelId}, this server's is ${this.modelId}`;
          store({ imageId, error: `${why}: its caption was refused` });
        } else {
          store({ imageId, caption: result.caption, words: result.words, worker: result.worker });
        }
        await job.remove();
        n++;
      }
    }
    return n;
  }

  close(): Promise<void> {
    return this.queue.close();
  }
}
