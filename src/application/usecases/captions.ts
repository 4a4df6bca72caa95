// Captions as search text (LOOKALIKE_CAPTIONS=on): in the background, the Instruct model captions every image of the
// gallery that has no caption yet and reads the words it shows, from the stored thumbnail (the server keeps no
// originals), one image at a time through the same bounded queue as encoding. What is captioned is in SQLite at
// once, and what is not is asked of SQLite again, so a restart or a crash goes on where it stopped. `npm run
// captions` runs the same loop to the end from the command line. With a job queue (LOOKALIKE_REDIS_URL), the workers
// that have the Instruct model caption instead (src/application/jobs/caption-jobs.ts): this loop keeps a window of
// images queued, and stores the captions as they come back.
import type { Gallery } from '../../engine/gallery/gallery.js';
import { BusyError, NotFoundError } from '../../core/errors.js';
import type { Admission } from '../../core/util/admission.js';
import { captionImage, type CaptionLanguage } from '../../engine/vlm/caption.js';
import type { VisionLanguageModel } from '../../engine/vlm/vision-language-model.js';
import { CaptionJobs, type CaptionOutcome } from '../jobs/caption-jobs.js';

/** Where captioning stands: counts of the gallery (the trash apart), the recent rate and what is left at that rate. */
export interface CaptionProgress {
  enabled: boolean;
  captioned: number;
  pending: number;
  /** Images captioned a second, over the last RATE_WINDOW; null before two. */
  perSecond: number | null;
  /** Seconds until every pending image is captioned at that rate; null without a rate. */
  etaSeconds: number | null;
}

export interface CaptionOptions {
  languages: CaptionLanguage[];
  /** The model's name, stored with each caption. */
  model: string;
  log?: (msg: string) => void;
  /** How long the loop waits when nothing is left before it looks again. */
  idleMs?: number;
}

/** Completions the rate is measured over. */
const RATE_WINDOW = 50;
/** Ids read from SQLite at once. */
const BATCH = 32;
/** Images queued for the workers at once: enough to keep several busy, few enough that Redis holds little (a
 * thumbnail is at most about 30 KB). */
const QUEUE_WINDOW = 64;
/** How often the queue loop looks for results and for new images. */
const QUEUE_POLL_MS = 250;
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());

export class Captions {
  private running: Promise<void> | null = null;
  private stopped = false;
  private readonly done: number[] = []; // when the last captions completed (ms)
  private readonly failed = new Set<number>(); // not tried again in this process
  private wake: (() => void) | null = null;
  private readonly vlm: VisionLanguageModel | null;
  private readonly jobs: CaptionJobs | null;

  /** `by`: the Instruct model here, the workers' job queue, or null: captions are off (progress says so, and nothing
   * runs). */
  constructor(
    private readonly gallery: Gallery,
    by: VisionLanguageModel | CaptionJobs | null,
    private readonly admission: Admission | null,
    private readonly opts: CaptionOptions,
  ) {
    this.jobs = by instanceof CaptionJobs ? by : null;
    this.vlm = by instanceof CaptionJobs ? null : by;
  }

  get enabled(): boolean {
    return this.vlm !== null || this.jobs !== null;
  }

  /** Whether keyword search has anything beyond paths and labels: a caption was ever made in this gallery. */
  get everRun(): boolean {
    return this.gallery.captionCounts().ever;
  }

  progress(): CaptionProgress {
    const { captioned, pending } = this.gallery.captionCounts();
    const span = this.done.length > 1 ? (this.done.at(-1)! - this.done[0]!) / 1000 : 0;
    const perSecond = span > 0 ? (this.done.length - 1) / span : null;
    const etaSeconds = perSecond ? pending / perSecond : pending === 0 ? 0 : null;
    return { enabled: this.enabled, captioned, pending, perSecond, etaSeconds };
  }

  /** Captions in the background until stop(): what is pending now, then what is added later. */
  start(): void {
    if (!this.enabled || this.running) return;
    this.running = (this.jobs ? this.queueLoop(this.jobs, true) : this.loop(true)).catch((err: unknown) => {
      this.opts.log?.(`captions stopped: ${(err as Error).message}`);
    });
  }

  /** Captions every pending image, then resolves (the command line); `onProgress` after each one. */
  async backfill(onProgress: (p: CaptionProgress) => void = () => {}): Promise<void> {
    await (this.jobs ? this.queueLoop(this.jobs, false, onProgress) : this.loop(false, onProgress));
  }

  /** Lets the caption in hand finish, then stops. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    await this.running;
  }

  private async loop(forever: boolean, onProgress: (p: CaptionProgress) => void = () => {}): Promise<void> {
    let after = 0;
    let progressed = false; // in this pass: a pass that captioned nothing (all failed) waits before the next
    while (!this.stopped) {
      const batch = this.gallery.uncaptioned(BATCH, after);
      if (batch.length) {
        for (const id of batch) {
          if (this.stopped) return;
          if (this.failed.has(id)) continue;
          await this.captionOne(id);
          progressed = true;
          onProgress(this.progress());
        }
        after = batch.at(-1)!;
        continue;
      }
      const again = after > 0 && progressed; // a new pass: images added below where this one was
      after = 0;
      progressed = false;
      if (again) continue;
      if (!forever) return;
      await this.idle(this.opts.idleMs ?? 1000);
    }
  }

  /**
   * The workers caption: each pass stores what came back, then queues pending images up to QUEUE_WINDOW (the same
   * image again is the same job, so a restart re-queues what it had queued without doubling it). An image whose job
   * failed after its attempts is not queued again in this process. While Redis is down, the pass fails and the next
   * one tries again; what completed meanwhile waits in Redis.
   */
  private async queueLoop(
    jobs: CaptionJobs,
    forever: boolean,
    onProgress: (p: CaptionProgress) => void = () => {},
  ): Promise<void> {
    const queued = new Set<number>();
    let lastError = '';
    const stored = (o: CaptionOutcome) => {
      queued.delete(o.imageId);
      if ('error' in o) {
        this.failed.add(o.imageId);
        this.opts.log?.(
          `captions: image ${o.imageId} failed on the workers (${o.error}); tried again at the next start`,
        );
        return;
      }
      // false when the image was deleted for good meanwhile: nothing to caption
      if (this.gallery.setCaption(o.imageId, { caption: o.caption, words: o.words, model: this.opts.model })) {
        this.completed();
      }
      onProgress(this.progress());
    };
    while (!this.stopped) {
      let more = false; // pending images left out of the window
      try {
        await jobs.collect(stored);
        let after = 0;
        while (queued.size < QUEUE_WINDOW && !this.stopped) {
          const batch = this.gallery.uncaptioned(BATCH, after);
          if (!batch.length) break;
          after = batch.at(-1)!;
          for (const id of batch) {
            if (queued.has(id) || this.failed.has(id)) continue;
            if (queued.size >= QUEUE_WINDOW) {
              more = true;
              break;
            }
            const thumbnail = this.thumbnailUnlessGone(id);
            if (!thumbnail) continue;
            await jobs.enqueue(id, thumbnail, this.opts.languages);
            queued.add(id);
          }
        }
        lastError = '';
      } catch (err) {
        const message = (err as Error).message;
        if (message !== lastError) this.opts.log?.(`captions: the job queue: ${message}; trying again`);
        lastError = message;
        more = true;
      }
      if (!forever && !queued.size && !more) return;
      await this.idle(QUEUE_POLL_MS);
    }
  }

  private async captionOne(id: number): Promise<void> {
    const vlm = this.vlm!;
    const thumbnail = this.thumbnailUnlessGone(id);
    if (!thumbnail) return;
    try {
      const image = await vlm.decode(thumbnail);
      const said = await this.admitted(() => captionImage(vlm, image, this.opts.languages));
      this.gallery.setCaption(id, { ...said, model: this.opts.model });
    } catch (err) {
      this.failed.add(id);
      this.opts.log?.(`captions: image ${id} failed (${(err as Error).message}); it is tried again at the next start`);
      return;
    }
    this.completed();
  }

  /** The stored thumbnail, or null when the image was trashed or deleted meanwhile. */
  private thumbnailUnlessGone(id: number): Buffer | null {
    try {
      return this.gallery.thumbnail(id);
    } catch (err) {
      if (err instanceof NotFoundError) return null;
      throw err;
    }
  }

  /** Counts a caption stored now, for the rate over the last RATE_WINDOW. */
  private completed(): void {
    this.done.push(performance.now());
    if (this.done.length > RATE_WINDOW) this.done.shift();
  }

  /** Waits `ms`, or less when stop() wakes it. */
  private async idle(ms: number): Promise<void> {
    await new Promise<void>((resolve) => {
      this.wake = resolve;
      void sleep(ms).then(resolve);
    });
    this.wake = null;
  }

  /** Runs in the admission queue, waiting for room rather than being turned away: requests come first. */
  private async admitted<T>(task: () => Promise<T>): Promise<T> {
    if (!this.admission) return task();
    for (;;) {
      if (this.admission.inUse < this.admission.capacity) {
        try {
          return await this.admission.run(task);
        } catch (err) {
          if (!(err instanceof BusyError)) throw err;
        }
      }
      await sleep(100);
    }
  }
}
