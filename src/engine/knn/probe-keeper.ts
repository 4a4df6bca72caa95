// Keeps the gallery's linear probe: the persisted one at start (when it is of this model and this label set), a
// retrain in a worker thread when labels change (debounced: a burst of relabels trains once), and predictions from
// the probe in hand meanwhile. The runtime calls labelsChanged() whenever the gallery's labels change; nothing waits on
// a training.
import { SHARE_ENV, Worker } from 'node:worker_threads';
import type { EncoderIdentity } from '../../core/identity.js';
import { loadProbe, predictProbe, type Probe, type ProbeAnswer, type ProbeJob, type ProbeOutcome } from './probe.js';

export const PROBE_DEBOUNCE_MS = 2000;

export interface ProbeKeeperOptions {
  dataDir: string;
  identity: EncoderIdentity;
  /** The module a training thread runs: it reads the labelled vectors from the gallery's database itself
   *  (PROBE_WORKER, beside the gallery that owns that database). */
  worker: URL;
  /** The gallery's label names now: a persisted probe of another set is not used. */
  currentLabels: () => string[];
  debounceMs?: number;
  log?: (message: string) => void;
}

export class ProbeKeeper {
  private probe: Probe | null = null;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private again = false; // labels changed while a training ran: train once more after it
  private worker: Worker | null = null;
  private closed = false;
  private idleWaiters: (() => void)[] = [];
  /** Trainings finished, whatever their outcome (progress that tests wait on). */
  runs = 0;

  private constructor(private readonly opts: ProbeKeeperOptions) {}

  /**
   * Takes the persisted probe when it fits this model and label set, then checks in the background that it is current.
   */
  static open(opts: ProbeKeeperOptions): ProbeKeeper {
    const keeper = new ProbeKeeper(opts);
    const saved = loadProbe(opts.dataDir);
    const labels = [...new Set(opts.currentLabels())].sort();
    if (saved && saved.modelId === opts.identity.modelId && saved.labels.join('\n') === labels.join('\n'))
      keeper.probe = saved;
    else if (saved)
      keeper.log(
        `probe: the saved one was trained ` +
          `for ${saved.modelId === opts.identity.modelId ? 'another label set' : `model ${saved.modelId}`}: not ` +
          `used, retraining`,
      );
    keeper.labelsChanged(0);
    return keeper;
  }

  /** The data folder it keeps its probe in. */
  get dataDir(): string {
    return this.opts.dataDir;
  }

  get current(): Probe | null {
    return this.probe;
  }

  /** The probe's answer, or null while none is trained (fewer than 2 labelled classes, or the first training runs). */
  predict(vector: Float32Array): ProbeAnswer | null {
    return this.probe && vector.length === this.probe.dim ? predictProbe(this.probe, vector) : null;
  }

  /** Labels were added, changed or removed: retrain after `debounceMs` without another change. */
  labelsChanged(delayMs = this.opts.debounceMs ?? PROBE_DEBOUNCE_MS): void {
    if (this.closed) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => this.run(), delayMs);
  }

  /** Resolves once no training is due or running. */
  settled(): Promise<void> {
    if (!this.timer && !this.running) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.worker?.terminate();
    await this.running;
    this.wakeIdle();
  }

  private run(): void {
    this.timer = null;
    if (this.running) {
      this.again = true;
      return;
    }
    const started = performance.now();
    this.running = this.train()
      .then((outcome) => {
        if (outcome.kind === 'trained') {
          this.probe = outcome.probe;
          const cv = outcome.probe.crossValidation;
          this.log(
            `probe: trained on ${outcome.probe.trainedOn} labelled vectors of ${outcome.probe.labels.length} ` +
              `classes in ${((performance.now() - started) / 1000).toFixed(1)} s ` +
              `(lambda ${outcome.probe.lambda}; ${cv.folds}-fold cross-validated ` +
              `accuracy ${(100 * cv.accuracy).toFixed(1)}%, ECE ${cv.ece.toFixed(3)})`,
          );
        } else if (outcome.kind === 'too-few') {
          if (this.probe)
            this.log(`probe: ${outcome.classes} labelled class(es) left, at least 2 are needed: no probe`);
          this.probe = null;
        }
      })
      .catch((err: Error) => {
        if (!this.closed) this.log(`probe: training failed (${err.message}); the previous probe stays in use`);
      })
      .finally(() => {
        this.runs++;
        this.running = null;
        if (this.again && !this.closed) {
          this.again = false;
          this.run();
        } else if (!this.timer) this.wakeIdle();
      });
  }

  private train(): Promise<ProbeOutcome> {
    const job: ProbeJob = {
      dataDir: this.opts.dataDir,
      identity: this.opts.identity,
      knownStamp: this.probe?.stamp ?? null,
    };
    const worker = new Worker(new URL('../../core/util/thread-entry.mjs', import.meta.url), {
      workerData: { entry: this.opts.worker.href, job },
      env: SHARE_ENV,
    });
    this.worker = worker;
    return new Promise<ProbeOutcome>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
      worker.once('exit', (code) => reject(new Error(`the probe worker exited (code ${code})`)));
    }).finally(() => {
      this.worker = null;
    });
  }

  private wakeIdle(): void {
    for (const w of this.idleWaiters.splice(0)) w();
  }

  private log(message: string): void {
    this.opts.log?.(message);
  }
}
