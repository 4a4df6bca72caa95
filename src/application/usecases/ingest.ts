// Adding images to the gallery: the one write path for uploads (POST /api/images), the index builder and the workers'
// results. The duplicate rule: content already embedded for the model is never encoded again; the label it comes
// with replaces the stored one (none leaves it alone), and a row from before metadata takes its file's metadata. An
// upload of content in the trash restores it; the builder skips it (someone deleted it). The embedding is made here
// (through the admission queue), by the builder, or by a worker when Redis is configured (a job).
import type { PhotoMeta } from '../../core/domain/records.js';
import { LookalikeError, NotFoundError } from '../../core/errors.js';
import type { Gallery, StoredContent } from '../../engine/gallery/gallery.js';
import { sha256 } from '../../core/util/hash.js';
import { prepareImage, type PreparedImage } from '../../engine/image/prepare.js';
import type { JobState, JobWriter, ResultSink } from '../jobs/writer.js';
import { readPhotoMeta } from './photo-meta.js';
import { span } from '../../core/util/tracing.js';
import type { QueryEncoder } from './query-encoder.js';

export interface Meta {
  source: string | null;
  label: string | null;
  photo?: PhotoMeta;
}
export interface Stored {
  kind: 'stored';
  id: number;
  label: string | null;
  duplicate: boolean;
  relabelled: boolean;
  restored: boolean;
}
export type Added = Stored | { kind: 'queued'; jobId: string };
/** Content embedded already, after its label (and metadata) were brought up to date. */
export interface Kept {
  id: number;
  label: string | null;
  relabelled: boolean;
  backfilled: boolean;
}

export interface Uploads {
  encoder: QueryEncoder;
  /** The job writer when workers encode (LOOKALIKE_REDIS_URL), else null: this process encodes. */
  writer: JobWriter | null;
}

export class Ingest implements ResultSink {
  /** `uploads`: what add() encodes with; the builder, which encodes itself, stores without it. */
  constructor(
    private readonly gallery: Gallery,
    private readonly uploads: Uploads | null = null,
  ) {}

  get writer(): JobWriter | null {
    return this.uploads?.writer ?? null;
  }

  /** An upload: the same content again is answered at once (relabelled when its label differs), content in the
   *  trash is restored; else it is decoded and encoded (or queued) inside the admission queue. */
  async add(data: Buffer, upload: Meta): Promise<Added> {
    if (!this.uploads) throw new Error('Ingest.add needs an encoder (uploads)');
    const { encoder, writer } = this.uploads;
    const hash = sha256(data);
    let known = span('db.lookup', () => this.gallery.content(hash));
    const fromTrash = known?.trashed === true;
    if (known?.trashed) known = await this.restore(hash, known.id);
    if (known?.embedded) {
      const { id, label, relabelled } = this.keep(known, upload.label);
      return { kind: 'stored', id, label, duplicate: true, relabelled, restored: fromTrash };
    }
    const meta = { ...upload, photo: await readPhotoMeta(data, { at: new Date(), from: 'upload' }) };
    if (writer) {
      // the workers encode: this process only decodes (bounded like an encode)
      return encoder.admission.run(async () => {
        const prepared = await prepareImage(encoder.embedder, data, hash);
        return { kind: 'queued', jobId: await writer.enqueue(prepared, meta) };
      });
    }
    const { vector, prepared } = await encoder.image(data, hash);
    return this.store(prepared, vector, meta);
  }

  /** What the gallery holds of this content (the builder skips what is in the trash, and what is embedded). */
  content(sha256: string): StoredContent | undefined {
    return this.gallery.content(sha256);
  }

  /** Whether this content's row predates metadata (the builder then reads its file: a backfill, no encode). */
  lacksMetadata(sha256: string): boolean {
    return this.gallery.lacksMetadata(sha256);
  }

  /** Content embedded already (undefined when it is not): see keep(). */
  keepEmbedded(sha256: string, label: string | null, photo?: PhotoMeta): Kept | undefined {
    const known = this.gallery.content(sha256);
    return known?.embedded && !known.trashed ? this.keep(known, label, photo) : undefined;
  }

  /** Stores an image and its vector: the one place an image row is written. Its label is the one given; a row that
   *  was there already (another model's, or one stored meanwhile) without a label given keeps its own, read here. */
  async store(prepared: Omit<PreparedImage, 'decoded'>, vector: Float32Array, meta: Meta): Promise<Stored> {
    const { id, duplicate, relabelled, restored } = await this.gallery.add(prepared, vector, meta);
    const label = meta.label ?? (duplicate ? this.gallery.get(id).label : null);
    return { kind: 'stored', id, label, duplicate, relabelled, restored };
  }

  /** Sets or clears (null) an image's label (PATCH /api/images/{id}); 404 for an image not in the gallery. */
  relabel(id: number, label: string | null): void {
    this.gallery.relabel(id, label);
  }

  /** The image id of content embedded for the gallery's model (a job's result once stored). */
  embeddedId(sha256: string): number | undefined {
    return this.gallery.embeddedIdBySha(sha256);
  }

  /** An add a worker encodes: waiting, active, done or failed; 409 no_job_queue without workers, 404 unknown. */
  async jobState(jobId: string): Promise<JobState> {
    const writer = this.writer;
    if (!writer) {
      throw new LookalikeError(
        'no_job_queue',
        'this server encodes adds itself (no LOOKALIKE_REDIS_URL): ' + 'there are no jobs',
      );
    }
    const state = await writer.state(jobId, this);
    if (!state) throw new NotFoundError(`no job ${jobId}`);
    return state;
  }

  /** The label rule: a label given (not null) that differs replaces the stored one; the metadata rule: a row from
   *  before metadata takes what the file says. */
  private keep(known: StoredContent, label: string | null, photo?: PhotoMeta): Kept {
    const relabelled = label !== null && label !== known.label;
    if (relabelled) this.gallery.relabel(known.id, label);
    const backfilled = photo !== undefined && this.gallery.fillMetadata(known.id, photo);
    return { id: known.id, label: relabelled ? label : known.label, relabelled, backfilled };
  }

  /** Content in the trash uploaded again comes back with its id. It is read again after: a delete, an empty or another
   *  restore may have come meanwhile, and content trashed under another model is not embedded for this one (either
   *  way it is then added, and encoded, as usual). */
  private async restore(sha256: string, id: number): Promise<StoredContent | undefined> {
    await this.gallery.restore([id]).catch((err: unknown) => {
      if (!(err instanceof NotFoundError)) throw err;
    });
    return this.gallery.content(sha256);
  }
}
