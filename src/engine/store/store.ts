// The gallery's source of truth: SQLite (better-sqlite3, WAL). Images, their thumbnails, and one vector per image
// per model. The FAISS index is derived from this and can always be rebuilt from it.
import Database from 'better-sqlite3';
import { accessSync, constants, mkdirSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import type { Caption, ImageFilter, ImageRecord, ListAfter, ListSort, PhotoMeta } from '../../core/domain/records.js';
import { DiskFullError, ModelMismatchError } from '../../core/errors.js';
import type { EncoderIdentity } from '../../core/identity.js';
import { blobToVector, vectorToBlob } from '../../core/util/vector-format.js';
import { MIGRATIONS } from './migrations.js';
import { indexedText } from './search-text.js';

export type NewImage = Pick<ImageRecord, 'sha256' | 'source' | 'label' | 'width' | 'height' | 'bytes'> & {
  thumbnail: Buffer;
  photo?: PhotoMeta;
};

/** Where an image is: in the gallery, or in the trash (its row, vectors and thumbnail kept until it expires). */
export type Whereabouts = 'live' | 'trashed';
/** A trashed image as the trash lists it: its record and when it was trashed (ms since 1970). */
export type TrashedRecord = ImageRecord & { trashedMs: number };

/** An image nothing dates (no EXIF, no file): the time it is added, marked so a later index run may date it. */
const undatedPhoto = (now: Date): PhotoMeta => ({
  takenAt: now.toISOString(),
  takenMs: now.getTime(),
  takenFrom: 'added',
  cameraMake: null,
  cameraModel: null,
  lens: null,
  latitude: null,
  longitude: null,
});

const COLUMNS = `id, sha256, source, label, width, height, bytes, added_at AS addedAt,
  taken_at AS takenAt, taken_from AS takenFrom,
  camera_make AS cameraMake, camera_model AS cameraModel, lens, latitude, longitude`;

/**
 * SQLite's own words for a folder it cannot write ("unable to open database file", "attempt to write a readonly
 * database") name no file: say which, and why. In WAL mode even a reader creates lookalike.db-shm beside the file.
 */
function readOnlyFolderError(path: string, err: unknown): Error | null {
  const code = (err as { code?: string }).code ?? '';
  if (!/^SQLITE_(CANTOPEN|READONLY)/.test(code)) return null;
  for (const target of [dirname(path), path]) {
    try {
      accessSync(target, constants.W_OK);
    } catch (denied) {
      if (!['EROFS', 'EACCES', 'EPERM'].includes((denied as NodeJS.ErrnoException).code ?? '')) continue;
      const what = target === path ? `the database ${path} is read-only` : `the data folder ${target} is read-only`;
      return new Error(
        `cannot open ${path}: ${what} (${(denied as NodeJS.ErrnoException).code}). SQLite writes beside the database ` +
          `(${basename(path)}-wal, ${basename(path)}-shm) even to read it: give write access, or copy the data ` +
          `folder somewhere writable`,
      );
    }
  }
  return null;
}

export class Store {
  db!: Database.Database;
  private modelRowId = 0;
  /** The active model's vector width, kept with its row id: every vector read needs it. */
  private modelDim = 0;
  /** Prepared statements by their SQL (`p` before a plucked one's): better-sqlite3 compiles each once, kept. */
  private readonly statements = new Map<string, Database.Statement>();

  /**
   * `readonly`: for readers beside the writer (npm run evaluate while the server runs): nothing is created or changed.
   */
  constructor(
    readonly path: string,
    readonly readonly = false,
  ) {
    try {
      this.db = this.open();
    } catch (err) {
      if (this.db?.open) this.db.close();
      throw readOnlyFolderError(path, err) ?? err;
    }
  }

  private open(): Database.Database {
    const path = this.path;
    if (this.readonly) {
      const db = new Database(path, { readonly: true, fileMustExist: true });
      this.db = db;
      this.addFunctions();
      this.db.pragma('busy_timeout = 5000');
      const version = this.db.pragma('user_version', { simple: true }) as number;
      if (version !== MIGRATIONS.length)
        throw new Error(
          `${path} has schema version ${version}, this lookalike reads ${MIGRATIONS.length}; open it once with the ` +
            `server or an index run`,
        );
      return db;
    }
    mkdirSync(dirname(path), { recursive: true });
    const db = new Database(path);
    this.db = db;
    this.addFunctions();
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL'); // WAL + NORMAL: durable across process crashes, fast commits
    this.db.pragma('foreign_keys = ON');
    this.db.pragma('busy_timeout = 5000');
    this.migrate();
    return db;
  }

  /** The search text's triggers call indexed_text(): every connection that writes images must have it. */
  private addFunctions(): void {
    this.db.function('indexed_text', { deterministic: true }, (text: unknown) =>
      indexedText(typeof text === 'string' ? text : null),
    );
  }

  private migrate(): void {
    const current = this.db.pragma('user_version', { simple: true }) as number;
    if (current > MIGRATIONS.length) {
      throw new Error(
        `${this.path} has schema version ${current}, newer than this lookalike (${MIGRATIONS.length}); upgrade ` +
          `lookalike`,
      );
    }
    for (let v = current; v < MIGRATIONS.length; v++) {
      this.db.transaction(() => {
        this.db.exec(MIGRATIONS[v]!);
        this.db.pragma(`user_version = ${v + 1}`);
      })();
    }
  }

  /**
   * Binds this data folder to the encoder: the first model is recorded; another one is refused, so vectors of two
   * models are never mixed. `switchModel` makes the new model the active one (re-indexing starts from zero for it).
   */
  useModel(identity: EncoderIdentity, { switchModel = false } = {}): void {
    const active = this.sql('SELECT * FROM models WHERE active = 1').get() as
      | { id: number; model_id: string; file_name: string; dim: number }
      | undefined;
    if (active && active.model_id !== identity.modelId && !switchModel) {
      throw new ModelMismatchError(
        `this data folder (${dirname(this.path)}) holds vectors of model ${active.model_id} ` +
          `(${active.file_name}, ${active.dim} dims), ` +
          `but the configured encoder is ${identity.modelId} (${identity.fileName}, ${identity.dim} dims). ` +
          'Vectors of two models are never mixed. Point LOOKALIKE_MMPROJ (and the token/pooling settings) back at ' +
          'the old model, ' +
          'use another LOOKALIKE_DATA_DIR, or re-index this folder for the new model: npm run index -- <image ' +
          'folder> --switch-model',
      );
    }
    if (this.readonly) {
      if (!active)
        throw new ModelMismatchError(
          `this data folder (${dirname(this.path)}) has no vectors yet: index some images first`,
        );
      this.modelRowId = active.id;
      this.modelDim = active.dim;
      return;
    }
    this.db.transaction(() => {
      this.sql(`INSERT INTO models (model_id, fingerprint, file_name, projector_type, dim, pooling,
        min_tokens, max_tokens, created_at, active)
        VALUES (@modelId, @fingerprint, @fileName, @projectorType, @dim, @pooling, @minTokens, @maxTokens, @now, 0)
        ON CONFLICT(model_id) DO NOTHING`).run({ ...identity, now: new Date().toISOString() });
      this.sql('UPDATE models SET active = (model_id = ?)').run(identity.modelId);
    })();
    const row = this.sql('SELECT id, dim FROM models WHERE model_id = ?').get(identity.modelId) as {
      id: number;
      dim: number;
    };
    this.modelRowId = row.id;
    this.modelDim = row.dim;
  }

  /** The statement of `text`, prepared on its first use; a `pluck` one returns each row's first column. */
  private sql(text: string, pluck = false): Database.Statement {
    const key = `${pluck ? 'p' : 'r'}${text}`;
    let stmt = this.statements.get(key);
    if (!stmt) {
      stmt = this.db.prepare(text);
      if (pluck) stmt.pluck();
      this.statements.set(key, stmt);
    }
    return stmt;
  }

  activeModel():
    | { modelId: string; fileName: string; dim: number; projectorType: string; pooling: string }
    | undefined {
    return this.sql(
      'SELECT model_id AS modelId, file_name AS fileName, dim, projector_type AS projectorType, pooling FROM ' +
        'models WHERE active = 1',
    ).get() as never;
  }

  private get model(): number {
    if (!this.modelRowId) throw new Error('Store.useModel() must be called first');
    return this.modelRowId;
  }

  /**
   * Inserts the image and its vector in one transaction. An existing sha256 keeps its row and gains the vector; a
   * label given with it replaces the stored one (`relabelled`), and no label leaves the stored one alone.
   */
  addImage(
    image: NewImage,
    vector: Float32Array,
  ): { id: number; duplicate: boolean; relabelled: boolean; vectorChanged: boolean; restored: boolean } {
    const now = new Date();
    return this.write(
      this.db.transaction(() => {
        const existing = this.labelBySha(image.sha256);
        // content in the trash, added again: it comes back (its vectors first, so the one given is compared with them)
        const restored = existing?.trashed === true;
        if (restored) this.restore([existing.id]);
        const id =
          existing?.id ??
          Number(
            this.sql(`INSERT INTO images (sha256, source, label, width, height, bytes, added_at, thumbnail,
          taken_at, taken_ms, taken_from, camera_make, camera_model, lens, latitude, longitude)
        VALUES (@sha256, @source, @label, @width, @height, @bytes, @addedAt, @thumbnail,
          @takenAt, @takenMs, @takenFrom, @cameraMake, @cameraModel, @lens, @latitude, @longitude)`).run({
              ...image,
              ...(image.photo ?? undatedPhoto(now)),
              addedAt: now.toISOString(),
            }).lastInsertRowid,
          );
        if (existing && image.photo) this.fillMetadata(id, image.photo);
        const blob = vectorToBlob(vector);
        const before = this.sql('SELECT vector FROM embeddings WHERE image_id = ? AND model_id = ?', true).get(
          id,
          this.model,
        ) as Buffer | undefined;
        const vectorChanged = !before || !before.equals(blob);
        if (vectorChanged)
          this.sql('INSERT OR REPLACE INTO embeddings (image_id, model_id, vector) VALUES (?, ?, ?)').run(
            id,
            this.model,
            blob,
          );
        const relabelled = existing !== undefined && this.relabelIfGiven(existing, image.label);
        return { id, duplicate: existing !== undefined, relabelled, vectorChanged, restored };
      }),
    );
  }

  /**
   * Sets or clears (null) an image's label; false when there is no such image in the gallery (trashed ones are gone).
   */
  setLabel(id: number, label: string | null): boolean {
    const stmt = this.sql('UPDATE images SET label = ? WHERE id = ? AND trashed_ms IS NULL');
    return this.write(() => stmt.run(label, id).changes > 0);
  }

  /** Gives stored content the label it came with again, when one came (not null) and differs: whether it changed. */
  relabelIfGiven(stored: { id: number; label: string | null }, label: string | null): boolean {
    const relabelled = label !== null && label !== stored.label;
    if (relabelled) this.setLabel(stored.id, label);
    return relabelled;
  }

  /** Gives a row from before metadata (taken_from 'added') what its file says; a row that has metadata keeps it. */
  fillMetadata(id: number, photo: PhotoMeta): boolean {
    if (photo.takenFrom === 'added') return false;
    return this.write(
      () =>
        this.sql(`UPDATE images SET taken_at = @takenAt, taken_ms = @takenMs, taken_from = @takenFrom,
      camera_make = @cameraMake, camera_model = @cameraModel, lens = @lens, latitude = @latitude, longitude = @longitude
      WHERE id = @id AND taken_from = 'added'`).run({ ...photo, id }).changes > 0,
    );
  }

  /** Whether this content's row still waits for its metadata (it predates it). */
  lacksMetadata(sha256: string): boolean {
    return this.sql("SELECT 1 FROM images WHERE sha256 = ? AND taken_from = 'added'").get(sha256) !== undefined;
  }

  /** The stored label of this content, when it is in the gallery or in the trash (`trashed`). */
  labelBySha(sha256: string): { id: number; label: string | null; trashed: boolean } | undefined {
    const row = this.sql('SELECT id, label, trashed_ms IS NOT NULL AS trashed FROM images WHERE sha256 = ?').get(
      sha256,
    ) as { id: number; label: string | null; trashed: number } | undefined;
    return row && { ...row, trashed: row.trashed === 1 };
  }

  /** The id of this content when it is in the trash. */
  trashedIdBySha(sha256: string): number | undefined {
    return this.sql('SELECT id FROM images WHERE sha256 = ? AND trashed_ms IS NOT NULL', true).get(sha256) as
      | number
      | undefined;
  }

  /** The image id when this content is already embedded for the active model. */
  embeddedIdBySha(sha256: string): number | undefined {
    const row = this.sql(
      'SELECT i.id FROM images i JOIN embeddings e ON e.image_id = i.id AND e.model_id = ? WHERE i.sha256 = ?',
    ).get(this.model, sha256) as { id: number } | undefined;
    return row?.id;
  }

  /** An image in the gallery (one in the trash is gone for everything but the trash). */
  get(id: number): ImageRecord | undefined {
    return this.sql(`SELECT ${COLUMNS} FROM images WHERE id = ? AND trashed_ms IS NULL`).get(id) as
      | ImageRecord
      | undefined;
  }

  getMany(ids: number[]): Map<number, ImageRecord> {
    const out = new Map<number, ImageRecord>();
    const stmt = this.sql(`SELECT ${COLUMNS} FROM images WHERE id = ? AND trashed_ms IS NULL`);
    for (const id of ids) {
      const row = stmt.get(id) as ImageRecord | undefined;
      if (row) out.set(id, row);
    }
    return out;
  }

  /** The thumbnail of an image in the gallery, or (`inTrash`) of one in the trash. */
  thumbnail(id: number, inTrash = false): Buffer | undefined {
    const where = `id = ? AND trashed_ms IS ${inTrash ? 'NOT NULL' : 'NULL'}`;
    return this.sql(`SELECT thumbnail FROM images WHERE ${where}`, true).get(id) as Buffer | undefined;
  }

  vector(id: number): Float32Array | undefined {
    const row = this.sql('SELECT vector FROM embeddings WHERE image_id = ? AND model_id = ?').get(id, this.model) as
      | { vector: Buffer }
      | undefined;
    return row && blobToVector(row.vector, this.dim);
  }

  /** Deletes an image for good (its vectors go with it: a live one's removal is logged for the index). */
  delete(id: number): boolean {
    return this.write(() => this.sql('DELETE FROM images WHERE id = ?').run(id).changes > 0);
  }

  /** Runs `change` as one transaction: all of it or, when it throws, nothing. */
  transaction<T>(change: () => T): T {
    return this.write(this.db.transaction(change));
  }

  /** Where each of `ids` is; an id in neither the gallery nor the trash is left out. */
  whereabouts(ids: number[]): Map<number, Whereabouts> {
    const stmt = this.sql('SELECT trashed_ms IS NOT NULL FROM images WHERE id = ?', true);
    const out = new Map<number, Whereabouts>();
    for (const id of ids) {
      const trashed = stmt.get(id) as number | undefined;
      if (trashed !== undefined) out.set(id, trashed ? 'trashed' : 'live');
    }
    return out;
  }

  /**
   * Moves images of the gallery to the trash at `nowMs`: their vectors leave `embeddings` (the index follows the log).
   */
  trash(ids: number[], nowMs: number): void {
    const mark = this.sql('UPDATE images SET trashed_ms = ? WHERE id = ? AND trashed_ms IS NULL');
    const keep = this.sql(`INSERT OR REPLACE INTO trashed_embeddings
      SELECT image_id, model_id, vector FROM embeddings WHERE image_id = ?`);
    const drop = this.sql('DELETE FROM embeddings WHERE image_id = ?');
    this.transaction(() => {
      for (const id of ids)
        if (mark.run(nowMs, id).changes) {
          keep.run(id);
          drop.run(id);
        }
    });
  }

  /** Brings images back from the trash: the same row, label, metadata, thumbnail and vectors (logged as adds). */
  restore(ids: number[]): void {
    const unmark = this.sql('UPDATE images SET trashed_ms = NULL WHERE id = ? AND trashed_ms IS NOT NULL');
    const back = this.sql(`INSERT OR REPLACE INTO embeddings
      SELECT image_id, model_id, vector FROM trashed_embeddings WHERE image_id = ?`);
    const drop = this.sql('DELETE FROM trashed_embeddings WHERE image_id = ?');
    this.transaction(() => {
      for (const id of ids)
        if (unmark.run(id).changes) {
          back.run(id);
          drop.run(id);
        }
    });
  }

  /** Deletes images in the trash for good; one in the gallery is left alone. How many went. */
  purge(ids: number[]): number {
    const stmt = this.sql('DELETE FROM images WHERE id = ? AND trashed_ms IS NOT NULL');
    return this.transaction(() => ids.reduce((n, id) => n + stmt.run(id).changes, 0));
  }

  /** The ids in the trash, trashed at or before `beforeMs` when given. */
  trashedIds(beforeMs = Infinity): number[] {
    return this.sql('SELECT id FROM images WHERE trashed_ms IS NOT NULL AND trashed_ms <= ? ORDER BY id', true).all(
      Number.isFinite(beforeMs) ? beforeMs : Number.MAX_SAFE_INTEGER,
    ) as number[];
  }

  /** A page of the trash, the last trashed first, after the key (trashed ms, id) given. */
  listTrash(limit: number, after?: ListAfter): TrashedRecord[] {
    const page = after ? ' AND (trashed_ms < ? OR (trashed_ms = ? AND id < ?))' : '';
    return this.sql(`SELECT ${COLUMNS}, trashed_ms AS trashedMs FROM images WHERE trashed_ms IS NOT NULL${page}
      ORDER BY trashed_ms DESC, id DESC LIMIT ?`).all(
      ...(after ? [after.value, after.value, after.id] : []),
      limit,
    ) as TrashedRecord[];
  }

  /** Runs a change; a full disk (SQLITE_FULL, the change rolled back) becomes a DiskFullError that says so. */
  private write<T>(change: () => T): T {
    try {
      return change();
    } catch (err) {
      if ((err as { code?: string }).code !== 'SQLITE_FULL') throw err;
      throw new DiskFullError(
        `the disk holding ${dirname(this.path)} is full: the change was not made (searches and reads go on); free ` +
          `some space and try again`,
      );
    }
  }

  private get dim(): number {
    if (!this.modelDim) throw new Error('Store.useModel() must be called first');
    return this.modelDim;
  }

  /** The last change to any stored vector (the embedding_changes log, written by triggers): the index saves it. */
  changeSeq(): number {
    return this.sql('SELECT COALESCE(MAX(seq), 0) FROM embedding_changes', true).get() as number;
  }

  /** Ids whose vector for the active model was added, replaced or removed after change `seq`: O(changes). */
  changedSince(seq: number): number[] {
    return this.sql(
      'SELECT DISTINCT image_id FROM embedding_changes WHERE seq > ? AND model_id = ? ORDER BY image_id',
      true,
    ).all(seq, this.model) as number[];
  }

  /** Those of `ids` that have a vector for the active model. */
  embeddedAmong(ids: number[]): Set<number> {
    const stmt = this.sql('SELECT 1 FROM embeddings WHERE image_id = ? AND model_id = ?', true);
    return new Set(ids.filter((id) => stmt.get(id, this.model) !== undefined));
  }

  /** The database file's size in bytes (pages in use and free). */
  fileBytes(): number {
    return (
      (this.db.pragma('page_count', { simple: true }) as number) *
      (this.db.pragma('page_size', { simple: true }) as number)
    );
  }

  /** Ids with a vector for the active model, ascending. */
  embeddedIds(): number[] {
    return this.sql('SELECT image_id FROM embeddings WHERE model_id = ? ORDER BY image_id', true).all(
      this.model,
    ) as number[];
  }

  /**
   * Vectors for the active model in id order, in batches, so a large gallery never sits in memory twice. Each batch is
   * read whole before it is yielded: a caller may await between batches while writes go on (an open better-sqlite3
   * iterator would hold the connection, and every write meanwhile would fail with "connection is busy").
   */
  *vectorBatches(batchSize = 2048, ids?: number[]): Generator<{ ids: number[]; vectors: Float32Array }> {
    const dim = this.dim;
    const toBatch = (rows: { image_id: number; vector: Buffer }[]) => {
      const vectors = new Float32Array(rows.length * dim);
      rows.forEach((r, i) => vectors.set(blobToVector(r.vector, dim), i * dim));
      return { ids: rows.map((r) => r.image_id), vectors };
    };
    if (ids) {
      const stmt = this.sql('SELECT image_id, vector FROM embeddings WHERE model_id = ? AND image_id = ?');
      for (let i = 0; i < ids.length; i += batchSize) {
        const rows = ids.slice(i, i + batchSize).flatMap((id) => stmt.get(this.model, id) ?? []);
        if (rows.length) yield toBatch(rows as { image_id: number; vector: Buffer }[]);
      }
      return;
    }
    const page = this.sql(
      'SELECT image_id, vector FROM embeddings WHERE model_id = ? AND image_id > ? ORDER BY image_id LIMIT ?',
    );
    for (let after = 0; ; ) {
      const rows = page.all(this.model, after, batchSize) as { image_id: number; vector: Buffer }[];
      if (rows.length) yield toBatch(rows);
      if (rows.length < batchSize) return;
      after = rows.at(-1)!.image_id;
    }
  }

  /** The SQL condition of a filter (an empty one keeps every image in the gallery). */
  private where(f: ImageFilter): { sql: string; params: unknown[] } {
    const terms: string[] = ['trashed_ms IS NULL']; // the trash is out of every listing and search
    const params: unknown[] = [];
    const term = (sql: string, ...values: unknown[]) => {
      terms.push(sql);
      params.push(...values);
    };
    if (f.label !== undefined) term('label = ?', f.label);
    if (f.folder !== undefined) {
      // a range on the source index, byte-exact (LIKE would ignore case and read % and _): "a/b/" <= source < "a/b0"
      const prefix = `${f.folder.replace(/\/+$/, '')}/`;
      term('source >= ? AND source < ?', prefix, `${prefix.slice(0, -1)}0`);
    }
    if (f.takenAfter !== undefined) term('taken_ms >= ?', f.takenAfter);
    if (f.takenBefore !== undefined) term('taken_ms < ?', f.takenBefore);
    if (f.camera !== undefined)
      term("instr(lower(coalesce(camera_make, '') || ' ' || coalesce(camera_model, '')), lower(?)) > 0", f.camera);
    return { sql: terms.join(' AND '), params };
  }

  /** The ids the filter keeps, ascending. */
  filteredIds(f: ImageFilter): number[] {
    const { sql, params } = this.where(f);
    return this.sql(`SELECT id FROM images WHERE ${sql} ORDER BY id`, true).all(...params) as number[];
  }

  /** How many images the filter keeps. */
  countFiltered(f: ImageFilter): number {
    const { sql, params } = this.where(f);
    return this.sql(`SELECT COUNT(*) FROM images WHERE ${sql}`, true).get(...params) as number;
  }

  /** The active model's vectors of the images the filter keeps, in one statement (an exact scan of a narrow filter). */
  *filteredVectors(f: ImageFilter): Generator<{ id: number; vector: Float32Array }> {
    const { sql, params } = this.where(f);
    const rows = this.sql(
      `SELECT e.image_id AS id, e.vector FROM images JOIN embeddings e ON e.image_id = images.id AND e.model_id = ` +
        `? WHERE ${sql}`,
    ).iterate(this.model, ...params) as Iterable<{ id: number; vector: Buffer }>;
    for (const row of rows) yield { id: row.id, vector: blobToVector(row.vector, this.dim) };
  }

  /** A page of the images the filter keeps, newest first by date taken or by when added, after the key given. */
  list(f: ImageFilter, sort: ListSort, limit: number, after?: ListAfter): (ImageRecord & { sortValue: number })[] {
    const { sql, params } = this.where(f);
    const key = sort === 'date' ? 'taken_ms' : 'id'; // ids grow as images are added
    const page = after ? ` AND (${key} < ? OR (${key} = ? AND id < ?))` : '';
    return this.sql(
      `SELECT ${COLUMNS}, ${key} AS sortValue FROM images WHERE ${sql}${page} ORDER BY ${key} DESC, id DESC LIMIT ?`,
    ).all(...params, ...(after ? [after.value, after.value, after.id] : []), limit) as never;
  }

  /** Each image's date taken (ms since 1970). */
  takenMsOf(ids: number[]): Map<number, number> {
    const stmt = this.sql('SELECT taken_ms FROM images WHERE id = ? AND trashed_ms IS NULL', true);
    return new Map(ids.map((id) => [id, (stmt.get(id) as number | undefined) ?? 0]));
  }

  labels(): { label: string; count: number }[] {
    return this.sql(
      'SELECT label, COUNT(*) AS count FROM images WHERE label IS NOT NULL AND trashed_ms IS NULL GROUP BY label ' +
        'ORDER BY label',
    ).all() as never;
  }

  labelledImages(): { id: number; label: string }[] {
    return this.sql(
      'SELECT id, label FROM images WHERE label IS NOT NULL AND trashed_ms IS NULL ORDER BY id',
    ).all() as { id: number; label: string }[];
  }

  labelsOf(ids: number[]): Map<number, string | null> {
    const stmt = this.sql('SELECT label FROM images WHERE id = ? AND trashed_ms IS NULL', true);
    return new Map(ids.map((id) => [id, (stmt.get(id) as string | null | undefined) ?? null]));
  }

  /** Images of the gallery with no caption yet, ascending, after `afterId`: what the captioner does next. */
  uncaptioned(limit: number, afterId = 0): number[] {
    return this.sql(
      `SELECT id FROM images LEFT JOIN captions c ON c.image_id = images.id
      WHERE c.image_id IS NULL AND trashed_ms IS NULL AND id > ? ORDER BY id LIMIT ?`,
      true,
    ).all(afterId, limit) as number[];
  }

  /** Stores an image's caption (replacing one there was); false when the image is gone meanwhile. */
  setCaption(id: number, caption: Caption): boolean {
    const stmt = this.sql(`INSERT INTO captions (image_id, model, caption, words, captioned_at)
      SELECT @id, @model, @caption, @words, @now WHERE EXISTS (SELECT 1 FROM images WHERE id = @id)
      ON CONFLICT(image_id) DO UPDATE SET model = excluded.model, caption = excluded.caption, words = excluded.words,
        captioned_at = excluded.captioned_at`);
    return this.write(() => stmt.run({ ...caption, id, now: new Date().toISOString() }).changes > 0);
  }

  /** The caption of an image in the gallery or in the trash. */
  caption(id: number): Caption | undefined {
    return this.sql('SELECT caption, words, model FROM captions WHERE image_id = ?').get(id) as Caption | undefined;
  }

  /** The gallery's images with a caption and without one (the trash apart), and whether any caption was ever made. */
  captionCounts(): { captioned: number; pending: number; ever: boolean } {
    const captioned = this.sql(
      `SELECT COUNT(*) FROM captions c JOIN images ON images.id = c.image_id
      WHERE trashed_ms IS NULL`,
      true,
    ).get() as number;
    const live = this.sql('SELECT COUNT(*) FROM images WHERE trashed_ms IS NULL', true).get() as number;
    const ever = this.sql('SELECT EXISTS (SELECT 1 FROM captions)', true).get() === 1;
    return { captioned, pending: live - captioned, ever };
  }

  /**
   * The images the filter keeps whose search text (path, label, caption, words) matches an FTS5 query, best first by
   * bm25 (its score negated: higher is better), then by id; at most `limit`.
   */
  keywordHits(match: string, f: ImageFilter, limit: number): { id: number; score: number }[] {
    const { sql, params } = this.where(f);
    return this.sql(`SELECT images.id AS id, -bm25(search_text) AS score FROM search_text
      JOIN images ON images.id = search_text.rowid WHERE search_text MATCH ? AND ${sql}
      ORDER BY score DESC, images.id LIMIT ?`).all(match, ...params, limit) as { id: number; score: number }[];
  }

  /** The gallery's images, embedded and labelled ones among them, and the images in the trash apart. */
  counts(): { images: number; embedded: number; labelled: number; trashed: number } {
    return {
      images: this.sql('SELECT COUNT(*) FROM images WHERE trashed_ms IS NULL', true).get() as number,
      embedded: this.modelRowId
        ? (this.sql('SELECT COUNT(*) FROM embeddings WHERE model_id = ?', true).get(this.modelRowId) as number)
        : 0,
      labelled: this.sql(
        'SELECT COUNT(*) FROM images WHERE label IS NOT NULL AND trashed_ms IS NULL',
        true,
      ).get() as number,
      trashed: this.sql('SELECT COUNT(*) FROM images WHERE trashed_ms IS NOT NULL', true).get() as number,
    };
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}
