// VectorIndex: the main thread's handle on the index worker. Every call is a message; searches never block the
// HTTP event loop.
import { SHARE_ENV, Worker } from 'node:worker_threads';
import { IndexOutOfMemoryError } from '../errors.js';
import type { IndexConfig, IndexOps, Request, Response } from './protocol.js';

/** A failure the index worker sent back, as an error here: faiss's failed allocation is the coded one callers catch. */
function failure(msg: { error: string; code?: string }): Error {
  const message = `index: ${msg.error}`;
  if (msg.code === 'out_of_memory') return new IndexOutOfMemoryError(message);
  return Object.assign(new Error(message), msg.code ? { code: msg.code } : {});
}

type Async<T> = { [K in keyof T]: T[K] extends (...a: infer A) => infer R ? (...a: A) => Promise<R> : never };

export class VectorIndex {
  private readonly worker: Worker;
  private seq = 0;
  private readonly waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private failure: Error | null = null;
  readonly call: Async<IndexOps>;

  constructor() {
    this.worker = new Worker(new URL('../util/ts-worker.mjs', import.meta.url), {
      workerData: { entry: new URL('./index-worker.ts', import.meta.url).href },
      env: SHARE_ENV, // the process's environment as it is now, not a copy taken at start (a test hook reads it)
    });
    this.worker.on('message', (msg: Response) => {
      const w = this.waiting.get(msg.seq);
      this.waiting.delete(msg.seq);
      if (msg.ok) w?.resolve(msg.result);
      else w?.reject(failure(msg));
    });
    const fail = (err: Error) => {
      this.failure = err;
      for (const w of this.waiting.values()) w.reject(err);
      this.waiting.clear();
    };
    this.worker.on('error', fail);
    this.worker.on('exit', (code) => fail(new Error(`the index worker exited (code ${code})`)));
    this.call = new Proxy({} as Async<IndexOps>, {
      get: (_t, op: keyof IndexOps) => (...args: unknown[]) => this.send(op, args),
    });
  }

  static async start(config: IndexConfig): Promise<VectorIndex> {
    const index = new VectorIndex();
    await index.call.configure(config);
    return index;
  }

  private send(op: keyof IndexOps, args: unknown[]): Promise<unknown> {
    if (this.failure) return Promise.reject(this.failure);
    const seq = ++this.seq;
    // Structured clone copies a typed array's whole backing buffer, even for a small view of a large one:
    // send a compact copy instead, and move it rather than copy it again.
    const transfer: ArrayBuffer[] = [];
    const sent = args.map((a) => {
      if (!(a instanceof Float32Array)) return a;
      const copy = a.slice();
      transfer.push(copy.buffer);
      return copy;
    });
    return new Promise((resolve, reject) => {
      this.waiting.set(seq, { resolve, reject });
      this.worker.postMessage({ seq, op, args: sent } as Request, transfer);
    });
  }

  async close(): Promise<void> {
    this.failure ??= new Error('the index was closed');
    await this.worker.terminate();
  }
}
