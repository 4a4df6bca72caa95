// Queries encoded by the workers: a server with LOOKALIKE_QUERY_ENCODER=queue loads no model. Its RemoteEmbedder
// (src/engine/encoder/remote-embedder.ts) decodes the upload itself; this transport sends the decoded image (or the
// words) as a query job, waiting for the answer with a timeout.
import { QueueEvents, type Queue } from 'bullmq';
import { RETRY_SECONDS, type Config } from '../../core/config.js';
import type { QueryTransport } from '../../engine/encoder/remote-embedder.js';
import type { DecodedImage } from '../../engine/image/decode.js';
import { LookalikeError, UnavailableError } from '../../core/errors.js';
import { span, traceCarrier } from '../../core/util/tracing.js';
import { RedisLink } from './redis-link.js';
import {
  connection,
  imagePayload,
  queryQueue,
  queueNames,
  vectorFromBase64,
  type JobResult,
  type QueryJobData,
} from './queues.js';

/** The job queue as a RemoteEmbedder's transport: each query is a job for the workers of one model. */
export class QueryClient implements QueryTransport {
  private constructor(
    private readonly modelId: string,
    private readonly queue: Queue<QueryJobData, JobResult>,
    private readonly events: QueueEvents,
    private readonly timeoutMs: number,
    private readonly redis: RedisLink,
    private readonly ownsRedis: boolean,
  ) {}

  /** Does not wait for Redis: while it is down, queries answer 503 queue_unavailable. Queries go to the workers of
   * `modelId`. `redis`: the process's link, or a link of its own (closed with it). */
  static open(cfg: Config, modelId: string, shared?: RedisLink, log: (msg: string) => void = () => {}): QueryClient {
    const redis = shared ?? new RedisLink(cfg.LOOKALIKE_REDIS_URL, log);
    const query = queryQueue(cfg, modelId);
    const events = new QueueEvents(queueNames(cfg, modelId).query, { connection: connection(cfg) });
    events.setMaxListeners(1000); // one listener per query waiting
    query.on('error', redis.onError);
    events.on('error', redis.onError);
    return new QueryClient(modelId, query, events, cfg.LOOKALIKE_QUERY_TIMEOUT_MS, redis, !shared);
  }

  /** Sends a query and waits for a worker's vector; refuses one from another model. */
  embed(data: QueryJobData): Promise<Float32Array> {
    const input = data.image ? 'image' : 'text';
    return span('jobs.query', () => this.sendAndWait({ ...data, trace: traceCarrier() }), { 'lookalike.input': input });
  }

  private async sendAndWait(data: QueryJobData): Promise<Float32Array> {
    // kept a minute once finished: removed at once, a job a fast worker finished before waitUntilFinished() looked was
    // gone, its completion event already passed, and the query waited for the timeout (seen with the tiny model)
    const job = await this.redis.call('a query', () =>
      this.queue.add('query', data, { attempts: 1, removeOnComplete: { age: 60 }, removeOnFail: { age: 60 } }),
    );
    let result: JobResult;
    const started = performance.now();
    try {
      result = (await job.waitUntilFinished(this.events, this.timeoutMs)) as JobResult;
    } catch (err) {
      // nobody took it in time: do not leave it for later
      await this.redis.call('removing a query', () => job.remove()).catch(() => undefined);
      // BullMQ says "timed out" only in its message: our own clock tells that it was the wait that ended it
      if (performance.now() - started >= this.timeoutMs) {
        throw new UnavailableError(
          'workers_busy',
          `no worker answered the query within ${this.timeoutMs} ms (LOOKALIKE_QUERY_TIMEOUT_MS); are workers running?`,
          RETRY_SECONDS.workersBusy,
        );
      }
      throw err;
    }
    if (result.modelId !== data.modelId) {
      throw new LookalikeError(
        'worker_model_mismatch',
        `worker ${result.worker} runs model ${result.modelId}, not ${data.modelId}: its answer was refused`,
      );
    }
    return vectorFromBase64(result.vector);
  }

  embedImage(image: DecodedImage): Promise<Float32Array> {
    return this.embed({ modelId: this.modelId, image: imagePayload(image) });
  }

  embedText(text: string): Promise<Float32Array> {
    return this.embed({ modelId: this.modelId, text });
  }

  async close(): Promise<void> {
    // QueueEvents.close() waits for Redis (BullMQ 6.7): while it is down, its connection is closed at once instead
    await (this.redis.reachable ? this.events.close() : this.events.getBackend().close(true));
    await this.queue.close();
    if (this.ownsRedis) await this.redis.close();
  }
}
