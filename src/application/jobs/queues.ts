// Encoding jobs on Redis with BullMQ: what a job carries, what a worker answers, and the queues' names and options.
// A job holds the image already decoded and resized to the encoder's input (raw RGB), so a worker's vector is
// bit-identical to the local path's, plus what the writer needs to store it (thumbnail, size, label): a writer that
// restarts can still store results that completed while it was down. Workers never open the data folder.
import { createHash } from 'node:crypto';
import { Queue, type ConnectionOptions, type JobsOptions } from 'bullmq';
import type { Config } from '../../core/config.js';
import type { DecodedImage } from '../../engine/image/decode.js';
import type { PreparedImage } from '../../engine/image/prepare.js';
import type { PhotoMeta } from '../../core/domain/records.js';
import type { TraceCarrier } from '../../core/util/tracing.js';

export interface ImagePayload {
  rgb: string; // base64 of width x height x 3 bytes
  width: number;
  height: number;
  sourceWidth: number;
  sourceHeight: number;
  content: DecodedImage['content'];
}

/** A gallery image to embed and store. */
export interface EncodeJobData {
  modelId: string; // the writer's model: its result must come from the same model
  sha256: string;
  image: ImagePayload;
  meta: {
    source: string | null;
    label: string | null;
    photo?: PhotoMeta;
    width: number;
    height: number;
    bytes: number;
    thumbnail: string;
  };
  /** With tracing on: the trace of the request that queued it (the worker's encode is a span of it). */
  trace?: TraceCarrier;
}

/** A query to embed and send back at once (search and classify on a server without a local encoder). */
export interface QueryJobData {
  modelId: string;
  image?: ImagePayload;
  text?: string;
  trace?: TraceCarrier;
}

export interface JobResult {
  modelId: string; // the worker's model
  vector: string; // base64 of float32
  worker: string; // host:pid
  encodeMs: number;
  /** With tracing on: the worker's encode span, which the writer's store of this result follows. */
  trace?: TraceCarrier;
}

/** One pair of queues per model: a worker sees only the jobs of the model it runs, and the writer collects only its
 * own model's results. (Model ids hold only letters, digits, `_`, `.` and `-`: valid in a BullMQ queue name.) */
export function queueNames(cfg: Config, modelId: string): { encode: string; query: string } {
  const prefix = `${cfg.LOOKALIKE_JOB_QUEUE}-${modelId}`;
  return { encode: `${prefix}-encode`, query: `${prefix}-query` };
}

/** BullMQ's connection from LOOKALIKE_REDIS_URL; workers need maxRetriesPerRequest null (they block on Redis). */
export function connection(cfg: Config): ConnectionOptions {
  const url = new URL(cfg.LOOKALIKE_REDIS_URL);
  return {
    host: url.hostname,
    port: Number(url.port || 6379),
    username: url.username || undefined,
    password: url.password || undefined,
    db: url.pathname.length > 1 ? Number(url.pathname.slice(1)) : 0,
    maxRetriesPerRequest: null,
  };
}

/** Idempotent: the same content for the same model is one job, however often it is sent. (The model id is hashed
 * to keep the job id short enough for a URL path parameter.) */
export function encodeJobId(modelId: string, sha256: string): string {
  return `${createHash('sha256').update(modelId).digest('hex').slice(0, 12)}.${sha256}`;
}

/**
 * Whether an id has the form encodeJobId() gives: nothing else is looked up in Redis (BullMQ keeps its own keys, like
 * `meta`, beside the jobs).
 */
export const isEncodeJobId = (id: string) => /^[0-9a-f]{12}\.[0-9a-f]{64}$/.test(id);

export function encodeJobOptions(cfg: Config): JobsOptions {
  // kept when done or failed: the writer stores and then removes a result; failures stay listed with their reason
  return {
    attempts: cfg.LOOKALIKE_JOB_ATTEMPTS,
    backoff: { type: 'exponential', delay: 1000 },
    removeOnComplete: false,
    removeOnFail: false,
  };
}

export function imagePayload(d: DecodedImage): ImagePayload {
  return {
    rgb: Buffer.from(d.rgb.buffer, d.rgb.byteOffset, d.rgb.byteLength).toString('base64'),
    width: d.width,
    height: d.height,
    sourceWidth: d.sourceWidth,
    sourceHeight: d.sourceHeight,
    content: d.content,
  };
}

export function decodedImage(p: ImagePayload): DecodedImage {
  const rgb = Buffer.from(p.rgb, 'base64');
  return {
    rgb: new Uint8Array(rgb.buffer, rgb.byteOffset, rgb.byteLength),
    width: p.width,
    height: p.height,
    sourceWidth: p.sourceWidth,
    sourceHeight: p.sourceHeight,
    content: p.content,
  };
}

export function encodeJobData(
  modelId: string,
  prepared: PreparedImage,
  meta: { source: string | null; label: string | null; photo?: PhotoMeta },
  trace?: TraceCarrier,
): EncodeJobData {
  return {
    modelId,
    sha256: prepared.sha256,
    image: imagePayload(prepared.decoded),
    meta: {
      ...meta,
      width: prepared.width,
      height: prepared.height,
      bytes: prepared.bytes,
      thumbnail: prepared.thumbnail.toString('base64'),
    },
    trace,
  };
}

export const vectorToBase64 = (v: Float32Array) => Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64');
export function vectorFromBase64(s: string): Float32Array {
  const b = Buffer.from(s, 'base64');
  const out = new Float32Array(b.byteLength / 4);
  Buffer.from(out.buffer).set(b);
  return out;
}

export function encodeQueue(cfg: Config, modelId: string): Queue<EncodeJobData, JobResult> {
  return new Queue(queueNames(cfg, modelId).encode, { connection: connection(cfg) });
}

export function queryQueue(cfg: Config, modelId: string): Queue<QueryJobData, JobResult> {
  return new Queue(queueNames(cfg, modelId).query, { connection: connection(cfg) });
}
