// Builds a gallery from an export (src/engine/gallery/export.ts): the same ids, vectors, labels, metadata, thumbnails,
// captions and trash, so the same queries (keyword ones too, with no captioning again) answer the same ids in the same
// order. The export must be of the configured model (an export of another model is refused, as an index of another
// model is: its vectors mean nothing to this encoder), carry thumbnails (the gallery serves one per image), and go into
// a folder that no process uses and that holds none.
import { createHash } from 'node:crypto';
import { closeSync, createReadStream, existsSync, mkdirSync, openSync, readFileSync, readSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { Gallery } from './gallery.js';
import { lockDataDir } from './lock.js';
import type { EncoderIdentity } from '../../core/identity.js';
import type { IndexKind, IndexParams } from '../index/kinds.js';
import { PROBE_FILE } from '../knn/probe.js';
import { Store } from '../store/store.js';
import { isInside } from '../../core/util/manifest.js';
import { readNpyHeader } from '../../core/util/npy.js';
import { Progress, type ProgressSink } from '../../core/util/progress.js';
import { decodeHalf, vectorToBlob } from '../../core/util/vector-format.js';
import { checkExport, ExportError, type ExportedImage, type ExportManifest } from './export.js';

const DATABASE = 'lookalike.db';
/** Rows written per transaction. */
const BATCH = 1024;

export interface ImportOptions {
  exportDir: string;
  dataDir: string;
  /** The configured encoder: the export must be of this model. */
  identity: EncoderIdentity;
  indexKind: IndexKind | 'auto';
  indexParams: IndexParams;
  progress?: ProgressSink;
}

const describeModel = (m: { modelId: string; fileName: string; dim: number; pooling: string }) =>
  `${m.modelId} (${m.fileName}, ${m.dim} dims, ${m.pooling} pooling)`;

/** The export's images in its order, each with its vector, read as a stream. */
async function* exportedRows(
  dir: string,
  m: ExportManifest,
): AsyncGenerator<{ image: ExportedImage; vector: Float32Array }> {
  const lines = (file: string) => createInterface({ input: createReadStream(join(dir, file)), crlfDelay: Infinity });
  const dim = m.model.dim;
  if (m.layout === 'jsonl') {
    for await (const line of lines('images.jsonl')) {
      if (!line) continue;
      const { vector, ...image } = JSON.parse(line) as ExportedImage & { vector: number[] };
      if (!Array.isArray(vector) || vector.length !== dim) {
        throw new ExportError(`image ${image.id} in images.jsonl has a vector of ${vector?.length} values, not ${dim}`);
      }
      yield { image, vector: Float32Array.from(vector) };
    }
    return;
  }
  const vectors = readNpyHeader(join(dir, 'vectors.npy')),
    ids = readNpyHeader(join(dir, 'ids.npy'));
  const dtype = m.dtype === 'float32' ? '<f4' : '<f2';
  const n = m.counts.images;
  const shapes = `${vectors.dtype} ${vectors.shape.join()} ${ids.dtype} ${ids.shape.join()}`;
  if (shapes !== `${dtype} ${n},${dim} <i8 ${n}`) {
    throw new ExportError(
      `vectors.npy (${vectors.dtype} ${vectors.shape}) and ids.npy (${ids.dtype} ${ids.shape}) ` +
        `are not the ${dtype} (${n}, ${dim}) and <i8 (${n}) the manifest says`,
    );
  }
  const rowBytes = (m.dtype === 'float32' ? 4 : 2) * dim;
  const vfd = openSync(join(dir, 'vectors.npy'), 'r'),
    ifd = openSync(join(dir, 'ids.npy'), 'r');
  try {
    const id = Buffer.alloc(8),
      row = Buffer.alloc(rowBytes);
    let i = 0;
    for await (const line of lines('metadata.jsonl')) {
      if (!line) continue;
      const image = JSON.parse(line) as ExportedImage;
      if (i >= n) throw new ExportError(`metadata.jsonl has more rows than the ${n} of ids.npy`);
      readSync(ifd, id, 0, 8, ids.dataOffset + 8 * i);
      if (Number(id.readBigInt64LE()) !== image.id) {
        throw new ExportError(`row ${i} of metadata.jsonl is image ${image.id}, ids.npy says ${id.readBigInt64LE()}`);
      }
      readSync(vfd, row, 0, rowBytes, vectors.dataOffset + rowBytes * i);
      const vector =
        m.dtype === 'float16'
          ? decodeHalf(row)
          : new Float32Array(row.buffer.slice(row.byteOffset, row.byteOffset + rowBytes));
      i++;
      yield { image, vector };
    }
    if (i !== n) throw new ExportError(`metadata.jsonl has ${i} rows, ids.npy ${n}`);
  } finally {
    closeSync(vfd);
    closeSync(ifd);
  }
}

/** Builds a gallery in `dataDir` from the export in `exportDir`, its index too; returns the export's manifest. */
export async function importExport(opts: ImportOptions): Promise<ExportManifest> {
  const exportDir = resolve(opts.exportDir),
    dataDir = resolve(opts.dataDir);
  const sink = opts.progress ?? process.stderr;
  const say = (m: string) => (typeof sink === 'function' ? sink(m) : sink.write(`${m}\n`));
  const started = performance.now();
  const manifest = await checkExport(exportDir);
  if (manifest.model.modelId !== opts.identity.modelId) {
    throw new ExportError(
      `this export holds vectors of model ${describeModel(manifest.model)}, but the configured ` +
        `encoder is ${describeModel(opts.identity)}. Vectors of two models are never mixed: point LOOKALIKE_MMPROJ ` +
        "(and the token and pooling settings) at the export's model, or index the images again with this one",
    );
  }
  if (!manifest.thumbnails) {
    throw new ExportError(
      `${exportDir} was exported without thumbnails, and a gallery serves one for every image: ` +
        'export again with --thumbnails',
    );
  }
  say(
    `import: ${exportDir} is whole: ${manifest.counts.images} images of model ${manifest.model.fileName}, ` +
      `${manifest.layout} ${manifest.dtype}, exported ${manifest.createdAt}`,
  );
  mkdirSync(dataDir, { recursive: true });
  const unlock = lockDataDir(dataDir); // refuses a folder a server or an index run has open
  const created = [DATABASE, `${DATABASE}-wal`, `${DATABASE}-shm`];
  try {
    const held = [...created, 'index', PROBE_FILE].filter((f) => existsSync(join(dataDir, f)));
    if (held.length) {
      throw new ExportError(`${dataDir} already holds a gallery (${held.join(', ')}): import into a new folder`);
    }
    const store = new Store(join(dataDir, DATABASE));
    try {
      store.useModel(opts.identity);
      await insertRows(store, exportDir, manifest, sink);
      store.close();
    } catch (err) {
      // the folder held no gallery: it is left as it was, not with half of one
      store.close();
      for (const f of created) rmSync(join(dataDir, f), { force: true });
      throw err;
    }
  } finally {
    unlock();
  }
  // the index, built from the database and saved, as the server would at its first open
  const gallery = await Gallery.open({
    dataDir,
    identity: opts.identity,
    indexKind: opts.indexKind,
    indexParams: opts.indexParams,
    log: say,
  });
  await gallery.close();
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  say(
    `import: done in ${seconds} s: ${dataDir} holds ${manifest.counts.images - manifest.counts.trashed} images ` +
      `and ${manifest.counts.trashed} in the trash`,
  );
  return manifest;
}

async function insertRows(
  store: Store,
  exportDir: string,
  manifest: ExportManifest,
  sink: ProgressSink,
): Promise<void> {
  const db = store.db;
  const modelRow = db.prepare('SELECT id FROM models WHERE model_id = ?').pluck().get(manifest.model.modelId) as number;
  const insertImage = db.prepare(`INSERT INTO images (id, sha256, source, label, width, height, bytes, added_at,
    thumbnail, taken_at, taken_ms, taken_from, camera_make, camera_model, lens, latitude, longitude, trashed_ms)
    VALUES (@id, @sha256, @source, @label, @width, @height, @bytes, @addedAt, @thumbnail, @takenAt, @takenMs,
    @takenFrom, @cameraMake, @cameraModel, @lens, @latitude, @longitude, @trashedMs)`);
  const insertVector = db.prepare('INSERT INTO embeddings (image_id, model_id, vector) VALUES (?, ?, ?)');
  const insertTrashed = db.prepare('INSERT INTO trashed_embeddings (image_id, model_id, vector) VALUES (?, ?, ?)');
  // its trigger puts the caption and words into the search text beside the path and label
  const insertCaption = db.prepare(`INSERT INTO captions (image_id, model, caption, words, captioned_at)
    VALUES (?, ?, ?, ?, ?)`);
  type Ready = Omit<
    ExportedImage,
    'thumbnail' | 'thumbnailSha256' | 'trashedAt' | 'caption' | 'words' | 'captionModel' | 'captionedAt'
  > & {
    thumbnail: Buffer;
    trashedMs: number | null;
    vector: Buffer;
    said: { caption: string; words: string; model: string; at: string } | null;
  };
  const write = db.transaction((rows: Ready[]) => {
    for (const { vector, said, ...row } of rows) {
      insertImage.run(row);
      (row.trashedMs === null ? insertVector : insertTrashed).run(row.id, modelRow, vector);
      if (said) insertCaption.run(row.id, said.model, said.caption, said.words, said.at);
    }
  });
  const progress = new Progress('import: images', manifest.counts.images, sink);
  let batch: Ready[] = [];
  for await (const { image, vector } of exportedRows(exportDir, manifest)) {
    const { thumbnail: name, thumbnailSha256, trashedAt, caption, words, captionModel, captionedAt, ...meta } = image;
    const file = join(exportDir, name ?? '');
    if (!name || !isInside(exportDir, file) || !existsSync(file)) {
      throw new ExportError(`the export lacks the thumbnail of image ${image.id} (${name ?? 'none named'})`);
    }
    const thumbnail = readFileSync(file);
    if (createHash('sha256').update(thumbnail).digest('hex') !== thumbnailSha256) {
      throw new ExportError(`${name} in the export is damaged: its sha256 differs from the one its image lists`);
    }
    if (trashedAt !== null && !manifest.includesTrash) {
      throw new ExportError(`image ${image.id} is in the trash, and the manifest says the export holds none`);
    }
    const trashedMs = trashedAt === null ? null : Date.parse(trashedAt);
    const said = exportedCaption(image.id, { caption, words, captionModel, captionedAt });
    batch.push({ ...meta, thumbnail, trashedMs, vector: vectorToBlob(vector), said });
    if (batch.length === BATCH) {
      write(batch);
      progress.advance(batch.length);
      batch = [];
    }
  }
  write(batch);
  progress.advance(batch.length);
  progress.draw(true);
  if (progress.done !== manifest.counts.images) {
    throw new ExportError(`the export holds ${progress.done} images, its manifest says ${manifest.counts.images}`);
  }
  const captioned = db.prepare('SELECT COUNT(*) FROM captions').pluck().get() as number;
  if (manifest.counts.captioned !== undefined && captioned !== manifest.counts.captioned) {
    throw new ExportError(`the export holds ${captioned} captions, its manifest says ${manifest.counts.captioned}`);
  }
  // ids the source gave and then deleted are not given again here either
  db.prepare("UPDATE sqlite_sequence SET seq = MAX(seq, ?) WHERE name = 'images'").run(manifest.snapshot.lastId);
}

/** An image's caption as the export carries it: none (or an export made before captions), or all four fields. */
function exportedCaption(
  id: number,
  c: Pick<ExportedImage, 'caption' | 'words' | 'captionModel' | 'captionedAt'>,
): { caption: string; words: string; model: string; at: string } | null {
  if (c.caption === undefined || c.caption === null) return null;
  const { caption, words, captionModel, captionedAt } = c;
  if (typeof caption !== 'string' || typeof words !== 'string' || typeof captionModel !== 'string') {
    throw new ExportError(`image ${id} has a caption without its words or its model's name`);
  }
  return {
    caption,
    words,
    model: captionModel,
    at: typeof captionedAt === 'string' ? captionedAt : new Date().toISOString(),
  };
}
