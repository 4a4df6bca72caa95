// An encoder worker: with the embedder the worker recipe loaded (src/application/runtime/encoder-process.ts: the
// server's model settings, always encoding here), takes jobs from Redis until stopped: gallery images (the encode
// queue) and queries (the query queue, taken first), both of its own model's (the model id is in the queues' names). It
// answers with its model id too; the writer refuses results of another model. It never opens a data folder. BullMQ
// gives a job whose worker died to another after the lock expires (LOOKALIKE_JOB_LOCK_SECONDS). Its metrics
// (LOOKALIKE_METRICS_PORT) follow the server's rule: on HOST, loopback by default, the key beyond it. A worker that
// also has the Instruct model (LOOKALIKE_TEXT_MODEL) takes the caption jobs of that model's queue
// (src/application/jobs/caption-jobs.ts): it captions the thumbnail the server sent, and answers with the caption, the
// words and its model id.
import { createServer, type Server, type ServerResponse } from 'node:http';
import { hostname } from 'node:os';
import { Worker, type Job } from 'bullmq';
import type { Config } from '../../core/config.js';
import type { LookalikeError } from '../../core/errors.js';
import { checkMetricsAccess } from '../../core/util/access.js';
import { isTextEmbedder, type Embedder } from '../../engine/encoder/embedder.js';
import { Metrics } from '../../core/util/metrics.js';
import { inTrace, span, traceCarrier } from '../../core/util/tracing.js';
import { captionImage } from '../../engine/vlm/caption.js';
import type { VisionLanguageModel } from '../../engine/vlm/vision-language-model.js';
import { captionQueueName, type CaptionJobData, type CaptionJobResult } from './caption-jobs.js';
import { RedisLink } from './redis-link.js';
import {
  connection,
  decodedImage,
  queueNames,
  vectorToBase64,
  type EncodeJobData,
  type JobResult,
  type QueryJobData,
} from './queues.js';

export interface RunningWorker {
  id: string;
  encoder: Embedder;
  close(): Promise<void>;
}

/** The models a worker encodes with: an embedder that encodes here, and how to free it. */
export interface WorkerModels {
  encoder: Embedder;
  acceleration: { gpu: unknown } | null;
  /** The Instruct model and its id (instructModelId), when this worker captions too. */
  instruct?: { vlm: VisionLanguageModel; modelId: string } | null;
  dispose(): Promise<void>;
}

export async function serveJobs(cfg: Config, models: WorkerModels, log: (msg: string) => void): Promise<RunningWorker> {
  const { encoder, acceleration } = models;
  const id = `${hostname()}:${process.pid}`;
  const metrics = new Metrics();
  log(
    `worker ${id}: model ${encoder.identity.modelId} (${encoder.dim} dims) ` +
      `on ${encoder.device}${acceleration?.gpu ? '' : `, ${cfg.threads} threads`}`,
  );
  const redis = new RedisLink(cfg.LOOKALIKE_REDIS_URL, (m) => log(`worker ${id}: ${m}`));

  // in the trace of the request that queued the job, when it carries one
  const embed = (job: Job<EncodeJobData | QueryJobData>): Promise<JobResult> =>
    inTrace(job.data.trace, () =>
      span('encode', () => encode(job), {
        'lookalike.input': job.data.image ? 'image' : 'text',
        'lookalike.worker': id,
        'lookalike.job_id': job.id ?? '',
      }),
    );
  const encode = async (job: Job<EncodeJobData | QueryJobData>): Promise<JobResult> => {
    const started = performance.now();
    const data = job.data;
    let vector: Float32Array;
    if (data.image) {
      vector = (await metrics.time(metrics.encodeDuration, 'image', () => encoder.encode(decodedImage(data.image!))))
        .vector;
    } else {
      if (!isTextEmbedder(encoder))
        throw new Error(`worker ${id} runs ${encoder.identity.modelId}, which cannot embed words`);
      vector = await metrics.time(metrics.encodeDuration, 'text', () =>
        encoder.embedText((data as QueryJobData).text ?? ''),
      );
    }
    return {
      modelId: encoder.identity.modelId,
      vector: vectorToBase64(vector),
      worker: id,
      encodeMs: performance.now() - started,
      trace: traceCarrier(), // the writer's store of this result follows this encode
    };
  };
  const names = queueNames(cfg, encoder.identity.modelId);
  const options = {
    connection: connection(cfg),
    concurrency: 1,
    lockDuration: cfg.LOOKALIKE_JOB_LOCK_SECONDS * 1000,
    stalledInterval: cfg.LOOKALIKE_JOB_LOCK_SECONDS * 1000,
  };
  // one encoder, two queues: the model serialises the calls; queries wait behind at most one gallery image
  const workers: Worker[] = [
    new Worker<QueryJobData, JobResult>(names.query, embed, options),
    new Worker<EncodeJobData, JobResult>(names.encode, embed, options),
  ];
  const instruct = models.instruct;
  const captionQueue = instruct ? captionQueueName(cfg, instruct.modelId) : null;
  if (instruct && captionQueue) {
    // the Instruct model is a model of its own: a caption runs beside an encode, one at a time
    const caption = async (job: Job<CaptionJobData>): Promise<CaptionJobResult> => {
      const started = performance.now();
      const image = await instruct.vlm.decode(Buffer.from(job.data.thumbnail, 'base64'));
      const said = await captionImage(instruct.vlm, image, job.data.languages);
      return { modelId: instruct.modelId, ...said, worker: id, captionMs: performance.now() - started };
    };
    workers.push(new Worker<CaptionJobData, CaptionJobResult>(captionQueue, caption, options));
    log(`worker ${id}: captions with the Instruct model ${instruct.modelId}`);
  }
  for (const w of workers) {
    w.on('completed', () => metrics.jobsProcessed.inc({ outcome: 'done' }));
    w.on('failed', (job, err) => {
      metrics.jobsProcessed.inc({ outcome: 'failed' });
      log(`worker ${id}: job ${job?.id} failed (attempt ${job?.attemptsMade}): ${err.message}`);
    });
    w.on('error', redis.onError); // an outage is logged once by the link, not at every retry
  }
  const server = cfg.LOOKALIKE_METRICS_PORT ? await serveMetrics(cfg, metrics) : null;
  if (server) {
    log(
      `worker ${id}: metrics on http://${cfg.HOST}:${cfg.LOOKALIKE_METRICS_PORT}/metrics` +
        `${cfg.LOOKALIKE_API_KEY ? ' (with Authorization: Bearer <LOOKALIKE_API_KEY>)' : ''}`,
    );
  }
  log(`worker ${id}: waiting for jobs on ${names.query}, ${names.encode}${captionQueue ? ` and ${captionQueue}` : ''}`);
  return {
    id,
    encoder,
    close: async () => {
      // lets the job in hand finish; with Redis down its result could not be saved anyway: do not wait for it
      await Promise.all(workers.map((w) => w.close(!redis.reachable)));
      server?.close();
      await redis.close();
      await models.dispose();
    },
  };
}

/** A worker's metrics on HOST:LOOKALIKE_METRICS_PORT, with the server's key rule. */
async function serveMetrics(cfg: Config, metrics: Metrics): Promise<Server> {
  const error = (res: ServerResponse, status: number, code: string, message: string) =>
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { code, message } }));
  const server = createServer((req, res) => {
    if (req.url !== '/metrics') return error(res, 404, 'not_found', `no route ${req.method} ${req.url}`);
    try {
      checkMetricsAccess(cfg, req.headers.authorization);
    } catch (err) {
      const e = err as LookalikeError;
      return error(res, e.statusCode, e.code, e.message);
    }
    void metrics.text().then((text) => res.writeHead(200, { 'content-type': metrics.contentType }).end(text));
  });
  await new Promise<void>((resolve, reject) =>
    server.once('error', reject).listen(cfg.LOOKALIKE_METRICS_PORT, cfg.HOST, resolve),
  );
  return server;
}
