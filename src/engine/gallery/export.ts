// A portable export of a gallery: ids, vectors, labels and metadata (and thumbnails when asked), for another tool or
// a notebook, and for `importExport` to build a gallery from again.
//
// Each image carries its caption and the words read in it (with the captioning model's name) when it has them, so
// an import needs no captioning again.
//
// Layouts (the folder `out`, new or empty; `export.json` is its manifest, written last):
//  - jsonl: images.jsonl, one object per image: its metadata and a `vector` array.
//  - npy:   vectors.npy (n x dim, float32 or float16), ids.npy (n, int64) and metadata.jsonl (row i is ids[i]'s).
// With thumbnails, each is the file thumbnails/<id>.webp (the server's WebP), named by the image's `thumbnail` field
// with its sha256 in `thumbnailSha256`: files a user can open, and a manifest that stays small at 100k images.
//
// Like a backup, it reads beside a running server: a read-only connection, no writer lock, one read transaction from
// the counts to the last row (the export is the gallery of one moment). Rows are read and written in batches, so
// memory does not grow with the gallery.
import { createHash } from 'node:crypto';
import { createWriteStream, existsSync, mkdirSync, readdirSync, type WriteStream } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { once } from 'node:events';
import { finished } from 'node:stream/promises';
import { join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { MIGRATIONS } from '../store/migrations.js';
import { blobToVector, encodeHalf } from '../../core/util/vector-format.js';
import { npyHeader } from '../../core/util/npy.js';
import { isInside, readManifest, sealManifest, writeManifest, type FileEntry } from '../../core/util/manifest.js';
import { Progress, type ProgressSink } from '../../core/util/progress.js';

export const EXPORT_MANIFEST = 'export.json';
const FORMAT = 1;
const DATABASE = 'lookalike.db';
/** Rows read per query: a page of the id order, so no query result grows with the gallery. */
const BATCH = 1024;
export const THUMBNAILS = 'thumbnails';

export type ExportLayout = 'jsonl' | 'npy';
export type ExportDtype = 'float32' | 'float16';

/** The model the vectors are of, as the gallery's models table records it: an import checks it. */
export interface ExportModel {
  modelId: string;
  fingerprint: string;
  fileName: string;
  projectorType: string;
  dim: number;
  pooling: string;
  minTokens: number;
  maxTokens: number;
}

/** One image as the export writes it (jsonl: with `vector`). */
export interface ExportedImage {
  id: number;
  sha256: string;
  label: string | null;
  source: string | null;
  width: number;
  height: number;
  bytes: number;
  addedAt: string;
  takenAt: string;
  takenMs: number;
  takenFrom: string;
  cameraMake: string | null;
  cameraModel: string | null;
  lens: string | null;
  latitude: number | null;
  longitude: number | null;
  /** When it went to the trash (ISO 8601); null for an image in the gallery. */
  trashedAt: string | null;
  /** What the Instruct model said of it (LOOKALIKE_CAPTIONS), null when not captioned: an import needs no captioning
   * again, and its keyword search works at once. Exports made before captions lack these four fields. */
  caption?: string | null;
  /** The words it read in the picture ('' when it read none). */
  words?: string | null;
  /** The Instruct model that captioned it, as LOOKALIKE_TEXT_MODEL named it. */
  captionModel?: string | null;
  captionedAt?: string | null;
  /** thumbnails/<id>.webp, when exported with thumbnails. */
  thumbnail?: string;
  thumbnailSha256?: string;
}

export interface ExportManifest {
  format: number;
  kind: 'lookalike-export';
  createdAt: string;
  source: string;
  layout: ExportLayout;
  dtype: ExportDtype;
  thumbnails: boolean;
  includesTrash: boolean;
  model: ExportModel;
  /** images: rows exported (trashed among them); leftOut: images with no vector of the model (not exported). */
  /** captioned: images exported with a caption (absent in exports made before captions). */
  counts: { images: number; trashed: number; labelled: number; leftOut: number; captioned?: number };
  /** The database as read: its schema, last vector change, and the highest id it ever gave (new ids go above it). */
  snapshot: { schemaVersion: number; changeSeq: number; lastId: number };
  files: FileEntry[];
  digest: string;
}

/** An export or import refused before it wrote anything (bad target, a damaged export, another model's vectors). */
export class ExportError extends Error {}

export interface ExportOptions {
  dataDir: string;
  out: string;
  layout: ExportLayout;
  dtype?: ExportDtype;
  thumbnails?: boolean;
  includeTrash?: boolean;
  progress?: ProgressSink;
}

/** A file written in order and hashed on the way, waiting when the disk is behind (the export streams). */
class HashedWriter {
  private readonly hash = createHash('sha256');
  private readonly stream: WriteStream;
  bytes = 0;

  constructor(readonly path: string) {
    this.stream = createWriteStream(path, { flags: 'wx', highWaterMark: 1 << 20 });
  }

  async write(data: Buffer | string): Promise<void> {
    const b = typeof data === 'string' ? Buffer.from(data) : data;
    this.hash.update(b);
    this.bytes += b.length;
    if (!this.stream.write(b)) await once(this.stream, 'drain');
  }

  async close(): Promise<Omit<FileEntry, 'path'>> {
    this.stream.end();
    await finished(this.stream);
    return { bytes: this.bytes, sha256: this.hash.digest('hex') };
  }
}

const COLUMNS = `i.id, i.sha256, i.label, i.source, i.width, i.height, i.bytes, i.added_at AS addedAt,
  i.taken_at AS takenAt, i.taken_ms AS takenMs, i.taken_from AS takenFrom, i.camera_make AS cameraMake,
  i.camera_model AS cameraModel, i.lens, i.latitude, i.longitude, i.trashed_ms AS trashedMs, c.caption, c.words,
  c.model AS captionModel, c.captioned_at AS captionedAt, e.vector`;
/** A caption is optional: every image is exported, with or without one. */
const CAPTION = 'LEFT JOIN captions c ON c.image_id = i.id';

type Row = Omit<ExportedImage, 'trashedAt'> & { trashedMs: number | null; vector: Buffer; thumbnailBlob?: Buffer };

/** Writes an export of the gallery in `dataDir` into the folder `out`; returns its manifest. */
export async function exportGallery(opts: ExportOptions): Promise<ExportManifest> {
  const dataDir = resolve(opts.dataDir),
    out = resolve(opts.out);
  const dtype = opts.dtype ?? 'float32';
  const thumbnails = opts.thumbnails ?? false,
    includeTrash = opts.includeTrash ?? false;
  const sink = opts.progress ?? process.stderr;
  const say = (m: string) => (typeof sink === 'function' ? sink(m) : sink.write(`${m}\n`));
  if (!existsSync(join(dataDir, DATABASE))) throw new ExportError(`there is no gallery in ${dataDir} (no ${DATABASE})`);
  if (isInside(dataDir, out)) throw new ExportError(`the export folder ${out} is inside the data folder ${dataDir}`);
  if (existsSync(out) && readdirSync(out).length) {
    throw new ExportError(`${out} is not empty: give a new or empty folder`);
  }
  const started = performance.now();

  const db = new Database(join(dataDir, DATABASE), { readonly: true, fileMustExist: true });
  try {
    db.pragma('busy_timeout = 5000');
    const schemaVersion = db.pragma('user_version', { simple: true }) as number;
    if (schemaVersion !== MIGRATIONS.length) {
      throw new ExportError(
        `${dataDir} has schema version ${schemaVersion}, this lookalike reads ` +
          `${MIGRATIONS.length}: open it once with the server of this version`,
      );
    }
    // one read transaction: the counts, the npy headers and every row are of one moment while the server writes on
    db.exec('BEGIN');
    const model = db
      .prepare(`SELECT id AS rowId, model_id AS modelId, fingerprint, file_name AS fileName,
      projector_type AS projectorType, dim, pooling, min_tokens AS minTokens, max_tokens AS maxTokens
      FROM models WHERE active = 1`)
      .get() as (ExportModel & { rowId: number }) | undefined;
    if (!model) throw new ExportError(`the gallery in ${dataDir} has no vectors yet: nothing to export`);
    const { rowId, ...identity } = model;
    const one = (sql: string) => db.prepare(sql).pluck().get({ model: rowId }) as number;
    const live = one(
      'SELECT COUNT(*) FROM images i JOIN embeddings e ON e.image_id = i.id AND e.model_id = @model ' +
        'WHERE i.trashed_ms IS NULL',
    );
    const trashed = includeTrash
      ? one(
          'SELECT COUNT(*) FROM images i JOIN trashed_embeddings e ' +
            'ON e.image_id = i.id AND e.model_id = @model WHERE i.trashed_ms IS NOT NULL',
        )
      : 0;
    const allImages = db
      .prepare(`SELECT COUNT(*) FROM images WHERE ${includeTrash ? '1' : 'trashed_ms IS NULL'}`)
      .pluck()
      .get() as number;
    const n = live + trashed;
    const counts = {
      images: n,
      trashed,
      leftOut: allImages - n,
      labelled: one(`SELECT COUNT(*) FROM images i WHERE i.label IS NOT NULL AND (EXISTS (SELECT 1 FROM embeddings e
        WHERE e.image_id = i.id AND e.model_id = @model AND i.trashed_ms IS NULL) ${
          includeTrash
            ? `OR EXISTS
        (SELECT 1 FROM trashed_embeddings e WHERE e.image_id = i.id AND e.model_id = @model
        AND i.trashed_ms IS NOT NULL)`
            : ''
        })`),
    };
    const snapshot = {
      schemaVersion,
      changeSeq: db.prepare('SELECT COALESCE(MAX(seq), 0) FROM embedding_changes').pluck().get() as number,
      lastId: db
        .prepare("SELECT COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'images'), 0)")
        .pluck()
        .get() as number,
    };
    say(
      `export: ${n} images of model ${identity.fileName} (${identity.dim} dims) as ${opts.layout} ${dtype}` +
        `${trashed ? `, ${trashed} of them in the trash` : ''}${
          counts.leftOut ? `; ${counts.leftOut} images have no ` + 'vector of this model and are left out' : ''
        }`,
    );

    const thumb = thumbnails ? ', i.thumbnail AS thumbnailBlob' : '';
    const fromTrash = includeTrash
      ? `UNION ALL SELECT ${COLUMNS}${thumb} FROM images i JOIN trashed_embeddings e
      ON e.image_id = i.id AND e.model_id = @model ${CAPTION} WHERE i.trashed_ms IS NOT NULL AND i.id > @after`
      : '';
    const page = db.prepare(`SELECT ${COLUMNS}${thumb} FROM images i JOIN embeddings e ON e.image_id = i.id
      AND e.model_id = @model ${CAPTION} WHERE i.trashed_ms IS NULL AND i.id > @after ${fromTrash}
      ORDER BY id LIMIT @limit`);

    mkdirSync(out, { recursive: true });
    if (thumbnails) mkdirSync(join(out, THUMBNAILS));
    const jsonl = opts.layout === 'jsonl' ? new HashedWriter(join(out, 'images.jsonl')) : null;
    const npy =
      opts.layout === 'npy'
        ? {
            vectors: new HashedWriter(join(out, 'vectors.npy')),
            ids: new HashedWriter(join(out, 'ids.npy')),
            metadata: new HashedWriter(join(out, 'metadata.jsonl')),
          }
        : null;
    if (npy) {
      await npy.vectors.write(npyHeader(dtype === 'float32' ? '<f4' : '<f2', [n, identity.dim]));
      await npy.ids.write(npyHeader('<i8', [n]));
    }
    const progress = new Progress('export: images', n, sink);
    let after = 0,
      written = 0,
      captioned = 0;
    for (;;) {
      const rows = page.all({ model: rowId, after, limit: BATCH }) as Row[];
      if (!rows.length) break;
      for (const row of rows) {
        const { vector, trashedMs, thumbnailBlob, ...meta } = row;
        const trashedAt = trashedMs === null ? null : new Date(trashedMs).toISOString();
        const image: ExportedImage = { ...meta, trashedAt };
        if (meta.caption !== null) captioned++;
        if (thumbnailBlob) {
          image.thumbnail = `${THUMBNAILS}/${row.id}.webp`;
          image.thumbnailSha256 = createHash('sha256').update(thumbnailBlob).digest('hex');
          await writeFile(join(out, image.thumbnail), thumbnailBlob, { flag: 'wx' });
        }
        if (jsonl) {
          const values = Array.from(vectorValues(vector, identity.dim, dtype));
          await jsonl.write(`${JSON.stringify({ ...image, vector: values })}\n`);
        } else if (npy) {
          await npy.vectors.write(vectorBytes(vector, identity.dim, dtype));
          const id = Buffer.alloc(8);
          id.writeBigInt64LE(BigInt(row.id));
          await npy.ids.write(id);
          await npy.metadata.write(`${JSON.stringify(image)}\n`);
        }
      }
      written += rows.length;
      after = rows[rows.length - 1]!.id;
      progress.advance(rows.length);
    }
    progress.draw(true);
    db.exec('COMMIT');
    // the counts and the rows come from one transaction: they agree unless the database is damaged
    if (written !== n) throw new Error(`the export read ${written} images, the counts said ${n}`);

    const files: FileEntry[] = [];
    for (const w of jsonl ? [jsonl] : Object.values(npy!)) {
      files.push({ path: w.path.slice(out.length + 1), ...(await w.close()) });
    }
    const manifest = sealManifest({
      format: FORMAT,
      kind: 'lookalike-export' as const,
      createdAt: new Date().toISOString(),
      source: dataDir,
      layout: opts.layout,
      dtype,
      thumbnails,
      includesTrash: includeTrash,
      model: identity,
      counts: { ...counts, captioned },
      snapshot,
      files,
    });
    writeManifest(out, EXPORT_MANIFEST, manifest);
    const bytes = files.reduce((s, f) => s + f.bytes, 0);
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    say(
      `export: done in ${seconds} s: ${n} images (${captioned} with captions), ${(bytes / 2 ** 20).toFixed(1)} MiB` +
        `${thumbnails ? ' and their thumbnails' : ''} in ${out}`,
    );
    return manifest;
  } finally {
    db.close();
  }
}

/** A stored vector (F16, or F32 in older folders) as the export's values. */
function vectorValues(blob: Buffer, dim: number, dtype: ExportDtype): Float32Array {
  const v = blobToVector(blob, dim);
  return dtype === 'float32' ? v : blobToVector(encodeHalf(v), dim);
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** A stored vector as little-endian bytes of the export's dtype (an F16 blob is copied as it is for float16). */
function vectorBytes(blob: Buffer, dim: number, dtype: ExportDtype): Buffer {
  if (dtype === 'float16') return blob.byteLength === 2 * dim ? blob : encodeHalf(blobToVector(blob, dim));
  const v = blobToVector(blob, dim);
  if (LITTLE_ENDIAN) return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
  const b = Buffer.alloc(4 * dim);
  v.forEach((x, i) => b.writeFloatLE(x, 4 * i));
  return b;
}

/** Reads an export's manifest and checks it is whole: its digest, and every file's size and sha256. */
export function checkExport(dir: string): Promise<ExportManifest> {
  const expected = { kind: 'lookalike-export', format: FORMAT, what: 'export' } as const;
  return readManifest<ExportManifest>(dir, EXPORT_MANIFEST, expected, (m) => new ExportError(m));
}
