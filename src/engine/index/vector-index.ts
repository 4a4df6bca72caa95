// VectorIndex: the main thread's handle on the index worker. Every call is a message; searches never block the
// HTTP event loop. Searches sent while the worker is busy queue on its port, and it answers them as one batch
// (index-worker.ts); an ivf-pq index also gets re-scoring workers, which finish a batch's searches side by side.
import { MessageChannel, type MessagePort, SHARE_ENV, Worker } from 'node:worker_threads';
import { IndexOutOfMemoryError } from '../../core/errors.js';
import { KINDS } from './kinds.js';
import type { IndexConfig, IndexOps, Request, Response } from './protocol.js';
import { WarmUp } from './warm-up.js';

/** A failure the index worker sent back, as an error here: faiss's failed allocation is the coded one callers catch. */
function failure(msg: { error: string; code?: string }): Error {
  const message = `index: ${msg.error}`;
  if (msg.code === 'out_of_memory') return new IndexOutOfMemoryError(message);
  return Object.assign(new Error(message), msg.code ? { code: msg.code } : {});
}

type Async<T> = { [K in keyof T]: T[K] extends (...a: infer A) => infer R ? (...a: A) => Promise<R> : never };

const workerUrl = new URL('../../core/util/thread-entry.mjs', import.meta.url);

export class VectorIndex {
  private readonly worker: Worker;
  private rescorers: Worker[] = [];
  /** An index that re-scores, until its first search starts the re-scoring workers (a rebuild's index never does). */
  private rescoring: IndexConfig | null = null;
  private seq = 0;
  private readonly waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private failure: Error | null = null;
  /** Told when no call is in flight (the warm-up waits for it). */
  private idleWaiters: (() => void)[] = [];
  /** The database's warm-up after a start (ivf-pq), while it runs or after. */
  warmUp: WarmUp | null = null;
  /** Searches answered in a batch with others, so far (tests check that batches form). */
  batched = 0;
  readonly call: Async<IndexOps>;

  constructor() {
    this.worker = new Worker(workerUrl, {
      workerData: { entry: new URL('./index-thread.ts', import.meta.url).href },
      env: SHARE_ENV, // the process's environment as it is now, not a copy taken at start (a test hook reads it)
    });
    this.worker.on('message', (msg: Response) => this.answered(msg));
    this.worker.on('error', (err) => this.fail(err));
    this.worker.on('exit', (code) => this.fail(new Error(`the index worker exited (code ${code})`)));
    this.call = new Proxy({} as Async<IndexOps>, {
      get:
        (_t, op: keyof IndexOps) =>
        (...args: unknown[]) =>
          this.send(op, args),
    });
  }

  private answered(msg: Response): void {
    const w = this.waiting.get(msg.seq);
    this.waiting.delete(msg.seq);
    if (msg.batched) this.batched++;
    if (msg.ok) w?.resolve(msg.result);
    else w?.reject(failure(msg));
    if (!this.waiting.size) this.wakeIdle();
  }

  private wakeIdle(): void {
    for (const wake of this.idleWaiters.splice(0)) wake();
  }

  /** Resolves once no call to the index is in flight. */
  private idle(): Promise<void> {
    if (!this.waiting.size || this.failure) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /**
   * Reads the database into the page cache in the background (see warm-up.ts), when this index re-scores from it and
   * the setting allows (LOOKALIKE_WARM_UP).
   */
  startWarmUp(config: IndexConfig, log: (line: string) => void): void {
    if (!KINDS[config.kind].exact || !config.database || config.params.warmUp === false || this.warmUp) return;
    this.warmUp = new WarmUp(config.database, () => this.idle(), log);
  }

  static async start(config: IndexConfig): Promise<VectorIndex> {
    const index = new VectorIndex();
    await index.call.configure(config);
    if (KINDS[config.kind].exact && config.threads > 1) index.rescoring = config;
    return index;
  }

  /** One re-scoring worker per FAISS thread, each with a port from the index worker and its own SQLite connection. */
  private startRescorers(config: IndexConfig): void {
    const ports: MessagePort[] = [];
    for (let i = 0; i < config.threads; i++) {
      const { port1, port2 } = new MessageChannel();
      const rescorer = new Worker(workerUrl, {
        workerData: {
          entry: new URL('./rescore-worker.ts', import.meta.url).href,
          database: config.database,
          modelId: config.modelId,
          kind: config.kind,
          fromIndex: port2,
        },
        transferList: [port2],
      });
      rescorer.on('message', (msg: Response) => this.answered(msg));
      rescorer.on('error', (err) => this.fail(err));
      rescorer.on('exit', (code) => this.fail(new Error(`a re-scoring worker exited (code ${code})`)));
      rescorer.unref();
      this.rescorers.push(rescorer);
      ports.push(port1);
    }
    // posted before the search that started them: the worker has the ports when that search's batch is answered
    this.send('connectRescorers', [ports], ports).catch(() => {}); // a failure here fails every call anyway
  }

  private fail(err: Error): void {
    this.failure ??= err;
    for (const w of this.waiting.values()) w.reject(err);
    this.waiting.clear();
    this.wakeIdle();
  }

  private send(op: keyof IndexOps, args: unknown[], ports: MessagePort[] = []): Promise<unknown> {
    if (this.failure) return Promise.reject(this.failure);
    if (op === 'search' && this.rescoring) {
      const config = this.rescoring;
      this.rescoring = null;
      this.startRescorers(config);
    }
    const seq = ++this.seq;
    // Structured clone copies a typed array's whole backing buffer, even for a small view of a large one:
    // send a compact copy instead, and move it rather than copy it again.
    const transfer: (ArrayBuffer | MessagePort)[] = [...ports];
    const sent = args.map((a) => {
      if (!(a instanceof Float32Array)) return a;
      const copy = a.slice();
      transfer.push(copy.buffer);
      return copy;
    });
    const concurrent = this.waiting.size > 0;
    return new Promise((resolve, reject) => {
      this.waiting.set(seq, { resolve, reject });
      this.worker.postMessage({ seq, op, args: sent, concurrent } as Request, transfer);
    });
  }

  async close(): Promise<void> {
    await this.warmUp?.stop();
    this.failure ??= new Error('the index was closed');
    await Promise.all([this.worker, ...this.rescorers].map((w) => w.terminate()));
  }
}
