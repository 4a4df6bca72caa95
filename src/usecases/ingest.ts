// Adding an image to the gallery, one way for every caller: an upload (POST /api/images) and the index builder.
// One duplicate rule: content already embedded for the model is never encoded again (its label may change). The
// embedding is made here (through the admission queue), or by a worker when Redis is configured (a job).
import { LookalikeError, NotFoundError } from '../errors.js';
import type { Gallery } from '../gallery/gallery.js';
import { prepareImage, sha256, type PreparedImage } from '../image/prepare.js';
import type { JobState, JobWriter } from '../jobs/writer.js';
import type { PhotoMeta } from '../store/store.js';
import { readPhotoMeta } from './photo-meta.js';
import { span } from '../util/tracing.js';
import type { QueryEncoder } from './query-encoder.js';

export interface Meta { source: string | null; label: string | null; photo?: PhotoMeta }
export type Added =
  | { kind: 'stored'; id: number; label: string | null; duplicate: boolean; relabelled: boolean; restored: boolean }
  | { kind: 'queued'; jobId: string };

export class Ingest {
  /** `writer`: the job writer when workers encode (LOOKALIKE_REDIS_URL), else null: this process encodes. */
  constructor(private readonly gallery: Gallery, private readonly encoder: QueryEncoder, readonly writer: JobWriter | null) {}

  /** An upload: the same content again is answered at once (relabelled when its label differs), content in the
   *  trash is restored; else it is decoded and encoded (or queued) inside the admission queue. */
  async add(data: Buffer, upload: Meta): Promise<Added> {
    const hash = sha256(data);
    const kept = span('db.lookup', () => this.gallery.keepEmbedded(hash, upload.label));
    if (kept) return this.stored(kept.id, true, kept.relabelled, false);
    const restored = await this.gallery.restoreBySha(hash, upload.label);
    if (restored) return this.stored(restored.id, true, restored.relabelled, true);
    const meta = { ...upload, photo: await readPhotoMeta(data, { at: new Date(), from: 'upload' }) };
    if (this.writer) {
      const writer = this.writer; // the workers encode: this process only decodes (bounded like an encode)
      return this.encoder.admission.run(async () => ({ kind: 'queued', jobId: await writer.enqueue(await prepareImage(this.encoder.embedder, data), meta) }));
    }
    return this.encoder.image(data).then(({ vector, prepared }) => this.store(prepared, vector, meta));
  }

  /** Stores a prepared image and its vector (the builder encodes ahead itself). */
  async store(prepared: Omit<PreparedImage, 'decoded'>, vector: Float32Array, meta: Meta): Promise<Added> {
    const { id, duplicate, relabelled, restored } = await this.gallery.add(prepared, vector, meta);
    return this.stored(id, duplicate, relabelled, restored);
  }

  /** An add a worker encodes: waiting, active, done or failed; 409 no_job_queue without workers, 404 unknown. */
  async jobState(jobId: string): Promise<JobState> {
    if (!this.writer) throw new LookalikeError('no_job_queue', 'this server encodes adds itself (no LOOKALIKE_REDIS_URL): there are no jobs');
    const state = await this.writer.state(jobId);
    if (!state) throw new NotFoundError(`no job ${jobId}`);
    return state;
  }

  private stored(id: number, duplicate: boolean, relabelled: boolean, restored: boolean): Added {
    return { kind: 'stored', id, label: this.gallery.get(id).label, duplicate, relabelled, restored };
  }
}

