// The gallery: the SQLite store (truth) and the vector index (derived; kept by the IndexMaintainer), bound to one
// encoder identity. Add, remove, relabel, read, search and similar; images are added through the Ingest use case
// alone (the one write path), and read and changed through the use cases.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import type { Caption, ImageFilter, ImageRecord, ListAfter, ListSort, PhotoMeta } from '../../core/domain/records.js';
import type { SearchOptions, SearchPage, SearchResult } from '../../core/domain/search.js';
import type { EncoderIdentity } from '../../core/identity.js';
import { IndexOutOfMemoryError, LookalikeError, NotFoundError } from '../../core/errors.js';
import type { IndexKind, IndexParams } from '../index/kinds.js';
import type { IndexConfig, IndexStats, SearchHit } from '../index/protocol.js';
import type { LabelledVectors } from '../knn/evaluate.js';
import { classify, type KnnOptions, type KnnResult } from '../knn/knn.js';
import {
  describeGroup,
  DUPLICATE_NEIGHBOURS,
  groupAroundKeepers,
  inKeeperOrder,
  sortGroups,
  type DuplicateGroup,
} from './duplicates.js';
import { keywordQuery } from '../store/search-text.js';
import { Store } from '../store/store.js';
import type { PreparedImage } from '../image/prepare.js';
import { FilteredSearch } from './filtered-search.js';
import { folderIndexKind, IndexMaintainer, type SyncReport } from './index-maintainer.js';
import { lockDataDir } from './lock.js';
import { asStored } from '../../core/util/vector-format.js';
import { cleanText } from '../../core/util/text.js';
import { span } from '../../core/util/tracing.js';
import { dot } from '../../core/util/vectors.js';

export interface GalleryOptions {
  dataDir: string;
  identity: EncoderIdentity;
  /** auto: the kind the data folder already has (flat for a new one); another kind than the folder's replaces it. */
  indexKind: IndexKind | 'auto';
  indexParams: IndexParams;
  /** FAISS threads for a batch of searches (and as many re-scoring workers for ivf-pq); every core when not given. */
  faissThreads?: number;
  switchModel?: boolean;
  /**
   * Read without the lock, beside the writer: the database read-only, the index loaded or rebuilt in memory, never
   * saved.
   */
  readOnly?: boolean;
  /** How long a deleted image stays in the trash (LOOKALIKE_TRASH_DAYS; fractions of a day too); 30 when not given. */
  trashDays?: number;
  /** The time in ms since 1970 (tests move it on to expire the trash without waiting days). */
  clock?: () => number;
  log?: (msg: string) => void;
}

/** Content as the gallery holds it (see content()). */
export interface StoredContent {
  id: number;
  label: string | null;
  trashed: boolean;
  embedded: boolean;
}

export interface ListOptions {
  filter: ImageFilter;
  sort: ListSort;
  limit: number;
  after?: ListAfter;
}
export interface ListPage {
  images: ImageRecord[];
  next: ListAfter | null;
}
/** An image in the trash: its record, when it was trashed and when it expires (ISO 8601). */
export type TrashedImage = ImageRecord & { trashedAt: string; expiresAt: string };
export interface TrashPage {
  images: TrashedImage[];
  next: ListAfter | null;
}

const databasePath = (dataDir: string) => join(dataDir, 'lookalike.db');
/** The probe's training thread, which reads this gallery's database (ProbeKeeper's `worker`). */
export const PROBE_WORKER = new URL('./probe-thread.ts', import.meta.url);
/** A stored source path (an upload's file name, a path under the indexed folder) is kept to this many characters. */
export const SOURCE_MAX = 1024;
/** About how long one slice of a duplicates scan holds the index: a search that comes meanwhile waits this at most. */
const SCAN_SLICE_MS = 2;
/**
 * The index's scores differ from the stored vectors' in the last digits (FAISS sums in another order for another number
 * of queries): a neighbour this far under the threshold is kept as a candidate, and the stored vectors decide.
 */
const SCORE_SLACK = 1e-4;
/** A turn of the event loop: requests that came meanwhile are served before a long task goes on. */
const breathe = () => new Promise<void>((resolve) => setImmediate(resolve));

export class Gallery implements LabelledVectors {
  private readonly labelListeners: (() => void)[] = [];

  private readonly filtered: FilteredSearch;

  private constructor(
    private readonly store: Store,
    private readonly index: IndexMaintainer,
    private readonly unlock: () => void,
    /** How long an image stays in the trash, in ms. */
    readonly trashMs: number,
    private readonly clock: () => number,
  ) {
    this.filtered = new FilteredSearch(store, index);
  }

  /** Whether a gallery was ever made in this data folder (readers open none that is not there). */
  static exists(dataDir: string): boolean {
    return existsSync(databasePath(dataDir));
  }

  static async open(opts: GalleryOptions): Promise<Gallery> {
    if (opts.readOnly && !Gallery.exists(opts.dataDir))
      throw new NotFoundError(`there is no gallery in ${opts.dataDir}`);
    if (!opts.readOnly) mkdirSync(opts.dataDir, { recursive: true });
    const unlock = opts.readOnly ? () => {} : lockDataDir(opts.dataDir);
    let store: Store | undefined;
    try {
      store = new Store(databasePath(opts.dataDir), opts.readOnly);
      store.useModel(opts.identity, { switchModel: opts.switchModel });
      // the folder remembers its kind: an index run or a server without one uses it, never builds a second beside it
      const had = folderIndexKind(opts.dataDir);
      const kind = opts.indexKind === 'auto' ? (had ?? 'flat') : opts.indexKind;
      if (had && had !== kind) {
        opts.log?.(
          `index: this data folder holds a ${had} index; LOOKALIKE_INDEX_KIND=${kind} replaces it` +
            (opts.readOnly
              ? ' (in memory only: this reader changes nothing)'
              : ` (the ${had} files are removed once the ${kind} index is saved)`),
        );
      }
      const indexConfig: IndexConfig = {
        dir: join(opts.dataDir, 'index'),
        kind,
        dim: opts.identity.dim,
        modelId: opts.identity.modelId,
        params: opts.indexParams,
        threads: opts.faissThreads ?? availableParallelism(),
        database: databasePath(opts.dataDir),
      };
      const index = await IndexMaintainer.open(store, indexConfig, had, opts.log ?? (() => {}));
      return new Gallery(store, index, unlock, (opts.trashDays ?? 30) * 86_400_000, opts.clock ?? Date.now);
    } catch (err) {
      store?.close();
      unlock();
      throw err;
    }
  }

  /**
   * Stores an image and its embedding. The same content again keeps its first row (`duplicate`); a label given with
   * it replaces the stored one (`relabelled`).
   */
  async add(
    image: Omit<PreparedImage, 'decoded'>,
    vector: Float32Array,
    meta: { source: string | null; label: string | null; photo?: PhotoMeta },
  ): Promise<{ id: number; duplicate: boolean; relabelled: boolean; restored: boolean }> {
    const { vectorChanged, ...result } = span('db.add', () =>
      this.store.addImage(
        {
          sha256: image.sha256,
          source: cleanText(meta.source, SOURCE_MAX),
          label: meta.label,
          width: image.width,
          height: image.height,
          bytes: image.bytes,
          thumbnail: image.thumbnail,
          photo: meta.photo,
        },
        vector,
      ),
    );
    // a new image, another vector for it (--force), or one back from the trash: the index gets it; the same vector
    // again changes nothing
    if (vectorChanged || result.restored) await this.indexAdded(result.id, vector, !result.duplicate);
    if (result.restored || (meta.label !== null && (!result.duplicate || result.relabelled))) this.labelsChanged();
    return result;
  }

  /**
   * Calls `listener` after every change of the labelled set: a labelled add, a relabel, a removal (the probe retrains).
   */
  onLabelsChanged(listener: () => void): void {
    this.labelListeners.push(listener);
  }

  private labelsChanged(): void {
    for (const listener of this.labelListeners) listener();
  }

  /** Sets or clears (null) an image's label; search filters and KNN see it at once (labels are read from SQLite). */
  relabel(id: number, label: string | null): void {
    if (!this.store.setLabel(id, label)) throw new NotFoundError(`no image with id ${id}`);
    this.labelsChanged();
  }

  /** Gives the index a stored vector. One it has no memory for is refused whole: a new image leaves SQLite again, so
   *  the two agree (a replaced vector stays stored, and the index takes it at the next open). */
  private async indexAdded(id: number, vector: Float32Array, isNew: boolean): Promise<void> {
    try {
      await span('index.add', () => this.index.added([id], asStored(vector)));
    } catch (err) {
      if (!(err instanceof IndexOutOfMemoryError)) throw err;
      if (isNew) this.store.delete(id);
      throw new IndexOutOfMemoryError(
        `the vector index cannot grow in this machine's memory: ` +
          (isNew ? 'the image was not stored' : 'its new vector is stored, and the index takes it at the next open') +
          '. ' +
          'An ivf-pq index holds 264 bytes a vector (README "Which kind at which size")',
      );
    }
  }

  /** Moves an image to the trash: out of search, listings and classification at once; restore() brings it back. */
  async remove(id: number): Promise<void> {
    await this.keepOne(null, [id], { trash: true });
  }

  /**
   * Keeps `keep` (null: none) and trashes or relabels `others`, in one transaction that checks every id inside it,
   * so it changes all or nothing: an id that never was (or left the trash) is a 404, one in the trash a 409
   * `resolve_conflict` (a delete, or an overlapping resolve, came first). A bare delete of a trashed image is a 404.
   */
  async keepOne(
    keep: number | null,
    others: number[],
    change: { trash: true } | { label: string | null },
  ): Promise<void> {
    const ids = keep === null ? others : [keep, ...others];
    this.store.transaction(() => {
      const where = this.store.whereabouts(ids);
      const unknown = ids.find((id) => !where.has(id) || (keep === null && where.get(id) === 'trashed'));
      if (unknown !== undefined) throw new NotFoundError(`no image with id ${unknown}`);
      const gone = ids.find((id) => where.get(id) === 'trashed');
      if (gone !== undefined) {
        throw new LookalikeError(
          'resolve_conflict',
          `image ${gone} is in the trash already (deleted, or chosen to go ` +
            'by a resolve that came first): nothing was changed; look at the duplicates again',
        );
      }
      if ('trash' in change) this.store.trash(others, this.clock());
      else for (const id of others) this.store.setLabel(id, change.label);
    });
    // sent right after the commit, before anything else can run: the index takes changes in SQLite's order
    if ('trash' in change) await this.index.removed(others);
    this.labelsChanged();
  }

  /**
   * Brings images back from the trash (all of it without ids) with the same id, label, metadata, vector and
   * thumbnail; search finds them at once. An id not in the trash is a 404, and nothing changes. The restored ids.
   */
  async restore(ids?: number[]): Promise<number[]> {
    const restored = this.store.transaction(() => {
      const chosen = this.inTrash(ids);
      this.store.restore(chosen);
      return [...new Set(chosen)];
    });
    // every batch is sent before the first await: a delete that comes meanwhile reaches the index after them
    const sent = [...this.store.vectorBatches(2048, restored)].map((b) => this.index.added(b.ids, b.vectors));
    if (restored.length) this.labelsChanged();
    await Promise.all(sent).catch((err: unknown) => {
      if (!(err instanceof IndexOutOfMemoryError)) throw err;
      throw new IndexOutOfMemoryError(
        `the vector index cannot grow in this machine's memory: ` +
          `${restored.length} images are back in the gallery, and the index takes them at the next open`,
      );
    });
    return restored;
  }

  /** The ids asked for (all of the trash without ids), every one in the trash, or a 404 naming one that is not. */
  private inTrash(ids?: number[]): number[] {
    const chosen = ids ?? this.store.trashedIds();
    const where = this.store.whereabouts(chosen);
    const absent = chosen.find((id) => where.get(id) !== 'trashed');
    if (absent !== undefined) throw new NotFoundError(`no image with id ${absent} in the trash`);
    return chosen;
  }

  /** Deletes images in the trash for good (all of it without ids); an id not in the trash is a 404, nothing changed. */
  emptyTrash(ids?: number[]): number {
    return this.store.transaction(() => {
      const chosen = this.inTrash(ids);
      return this.store.purge(chosen);
    });
  }

  /** Deletes for good what has been in the trash longer than the trash keeps it; how many. */
  expireTrash(): number {
    return this.store.purge(this.store.trashedIds(this.clock() - this.trashMs));
  }

  /** A page of the trash, the last trashed first, with when each expires. */
  trashPage(limit: number, after?: ListAfter): TrashPage {
    const rows = this.store.listTrash(limit + 1, after);
    const page = rows.slice(0, limit);
    const last = rows.length > limit ? page.at(-1)! : undefined;
    const images = page.map(({ trashedMs, ...r }) => ({
      ...r,
      trashedAt: new Date(trashedMs).toISOString(),
      expiresAt: new Date(trashedMs + this.trashMs).toISOString(),
    }));
    return { images, next: last ? { value: last.trashedMs, id: last.id } : null };
  }

  /** What the gallery holds of this content: its row (in the gallery or in the trash), its label, and whether it is
   *  embedded for the gallery's model; undefined when the content was never added (or was emptied from the trash). */
  content(sha256: string): StoredContent | undefined {
    const row = this.store.labelBySha(sha256);
    return row && { ...row, embedded: this.store.embeddedIdBySha(sha256) !== undefined };
  }

  /** The stored WebP thumbnail (at most 256 px) of an image in the gallery, or (`inTrash`) in the trash. */
  thumbnail(id: number, inTrash = false): Buffer {
    const thumb = this.store.thumbnail(id, inTrash);
    if (!thumb) throw new NotFoundError(`no image with id ${id}${inTrash ? ' in the trash' : ''}`);
    return thumb;
  }

  /** Whether this content's row predates metadata (the builder then reads its file again: a backfill, no encode). */
  lacksMetadata(sha256: string): boolean {
    return this.store.lacksMetadata(sha256);
  }

  /** Gives a row from before metadata what its file says; false when it had metadata already. */
  fillMetadata(id: number, photo: PhotoMeta): boolean {
    return this.store.fillMetadata(id, photo);
  }

  /** A page of the images the filter keeps, newest first (by date taken, or by when added). */
  list(opts: ListOptions): ListPage {
    const rows = this.store.list(opts.filter, opts.sort, opts.limit + 1, opts.after);
    const images = rows.slice(0, opts.limit);
    const last = rows.length > opts.limit ? images.at(-1)! : undefined;
    return {
      images: images.map(({ sortValue: _, ...r }) => r),
      next: last ? { value: last.sortValue, id: last.id } : null,
    };
  }

  /** The id of this content when it is already embedded for the gallery's model. */
  embeddedIdBySha(sha256: string): number | undefined {
    return this.store.embeddedIdBySha(sha256);
  }

  counts(): { images: number; embedded: number; labelled: number; trashed: number } {
    return this.store.counts();
  }

  labels(): { label: string; count: number }[] {
    return this.store.labels();
  }

  get(id: number): ImageRecord {
    const record = this.store.get(id);
    if (!record) throw new NotFoundError(`no image with id ${id}`);
    return record;
  }

  /** The first page of a search (see searchPage). */
  async search(vector: Float32Array, opts: SearchOptions): Promise<SearchResult[]> {
    return (await this.searchPage(vector, opts)).results;
  }

  /**
   * Exactly the k best images the filter keeps (of those the index finds: all of them with flat), after the cursor;
   * sort=date: newest first among all that reach minScore. `next` is the cursor of the page after, or null.
   */
  async searchPage(vector: Float32Array, opts: SearchOptions): Promise<SearchPage> {
    const { hits, next } = await this.filtered.page(vector, opts);
    return { results: this.toResults(hits), next };
  }

  /** The stored vector of an image (undefined: no such image). */
  storedVector(id: number): Float32Array | undefined {
    return this.store.vector(id);
  }

  /** "Find similar to this one", from the stored vector: no re-encoding. */
  async similar(id: number, opts: Omit<SearchOptions, 'excludeId'>): Promise<SearchResult[]> {
    return (await this.similarPage(id, opts)).results;
  }

  similarPage(id: number, opts: Omit<SearchOptions, 'excludeId'>): Promise<SearchPage> {
    const vector = this.store.vector(id);
    if (!vector) throw new NotFoundError(`no image with id ${id}`);
    return this.searchPage(vector, { ...opts, excludeId: id });
  }

  /**
   * Duplicate groups around keepers (see groupAroundKeepers). An image's neighbours: those of its `neighbours` nearest
   * in the index at `threshold` or above, found from either side, and every image with the same vector (whatever the
   * threshold). The index is searched a slice at a time, each sized to take about SCAN_SLICE_MS, so a search that
   * comes meanwhile waits little; no database read stays open across a slice, so writes go on.
   */
  async duplicates(threshold: number, neighbours = DUPLICATE_NEIGHBOURS): Promise<DuplicateGroup[]> {
    const near = new Map<number, Set<number>>();
    const link = (a: number, b: number) => {
      for (const [x, y] of [
        [a, b],
        [b, a],
      ] as const)
        near.set(x, (near.get(x) ?? new Set()).add(y));
    };
    const sameVector = new Map<string, number[]>();
    let slice = 64;
    for (const { ids, vectors } of this.store.vectorBatches(1024)) {
      const dim = vectors.length / ids.length;
      ids.forEach((id, i) => {
        const key = createHash('sha256')
          .update(vectors.subarray(i * dim, (i + 1) * dim))
          .digest('base64');
        const same = sameVector.get(key);
        if (same) same.push(id);
        else sameVector.set(key, [id]);
      });
      for (let from = 0; from < ids.length; ) {
        const part = ids.slice(from, from + slice);
        const started = performance.now();
        const hits = await this.index.search(vectors.subarray(from * dim, (from + part.length) * dim), neighbours + 1);
        const took = Math.max(performance.now() - started, 0.1);
        slice = Math.min(1024, Math.max(8, Math.round((part.length * SCAN_SLICE_MS) / took)));
        hits.forEach((row, i) =>
          row.forEach((h) => {
            if (h.id !== part[i] && h.score >= threshold - SCORE_SLACK) link(part[i]!, h.id);
          }),
        );
        from += part.length;
      }
    }
    const twins = new Map<number, Set<number>>();
    for (const same of sameVector.values()) if (same.length > 1) for (const id of same) twins.set(id, new Set(same));
    // the candidates' vectors and records, a batch at a time with a turn of the event loop between (requests go on);
    // one deleted meanwhile is left out
    const vectors = new Map<number, Float32Array>();
    const records = new Map<number, ImageRecord>();
    for (const batch of this.store.vectorBatches(256, [...new Set([...near.keys(), ...twins.keys()])])) {
      const dim = batch.vectors.length / batch.ids.length;
      batch.ids.forEach((id, i) => vectors.set(id, batch.vectors.subarray(i * dim, (i + 1) * dim)));
      for (const [id, r] of this.store.getMany(batch.ids)) records.set(id, r);
      await breathe();
    }
    const vectorOf = (id: number) => vectors.get(id)!;
    const groups = groupAroundKeepers(
      inKeeperOrder([...records.values()]).map((r) => r.id),
      (id) => [...new Set([...(twins.get(id) ?? []), ...(near.get(id) ?? [])])].filter((m) => records.has(m)),
      (keeper, id) => twins.get(keeper)?.has(id) || dot(vectorOf(keeper), vectorOf(id)) >= threshold,
    );
    const described: DuplicateGroup[] = [];
    for (const [i, g] of groups.entries()) {
      described.push(
        describeGroup(
          g.map((id) => records.get(id)!),
          vectorOf,
        ),
      );
      if (i % 64 === 63) await breathe();
    }
    return sortGroups(described);
  }

  /** Weighted KNN over the labelled gallery. */
  async classify(vector: Float32Array, knn: KnnOptions): Promise<KnnResult> {
    const hits = await this.search(vector, { k: knn.k });
    return classify(
      hits.map((h) => ({ id: h.id, score: h.score, label: h.label })),
      knn,
    );
  }

  /** The labelled images' stored vectors with their labels, in batches (evaluation, zero-shot calibration). */
  *labelledVectors(batchSize = 256): Generator<{ ids: number[]; labels: string[]; vectors: Float32Array }> {
    const labelled = this.store.labelledImages();
    const labelOf = new Map(labelled.map((r) => [r.id, r.label]));
    for (const batch of this.store.vectorBatches(
      batchSize,
      labelled.map((r) => r.id),
    )) {
      yield { ids: batch.ids, labels: batch.ids.map((id) => labelOf.get(id) ?? ''), vectors: batch.vectors };
    }
  }

  /** The k nearest of each query vector (back to back in `vectors`), with their labels: no records read. */
  async nearestLabelled(
    vectors: Float32Array,
    k: number,
  ): Promise<{ id: number; score: number; label: string | null }[][]> {
    const perQuery = await this.index.search(vectors, k);
    const labels = this.store.labelsOf(perQuery.flat().map((h) => h.id));
    return perQuery.map((hits) => hits.map((h) => ({ id: h.id, score: h.score, label: labels.get(h.id) ?? null })));
  }

  private toResults(hits: SearchHit[]): SearchResult[] {
    const records = span('db.read', () => this.store.getMany(hits.map((h) => h.id)), { 'lookalike.ids': hits.length });
    return hits.flatMap((h) => {
      const r = records.get(h.id);
      return r ? [{ ...r, score: h.score }] : [];
    });
  }

  /** Images of the gallery not captioned yet, ascending, after `afterId`. */
  uncaptioned(limit: number, afterId = 0): number[] {
    return this.store.uncaptioned(limit, afterId);
  }

  /** Stores an image's caption; false when it left the gallery for good meanwhile (one in the trash keeps it). */
  setCaption(id: number, caption: Caption): boolean {
    return this.store.setCaption(id, caption);
  }

  /** The caption of an image (in the gallery or the trash), if it has one. */
  caption(id: number): Caption | undefined {
    return this.store.caption(id);
  }

  captionCounts(): { captioned: number; pending: number; ever: boolean } {
    return this.store.captionCounts();
  }

  /** The images the filter keeps whose path, label, caption or words hold the query's words, best first by bm25 (at
   *  most `limit`); none when the words hold no letter or digit. */
  keywordHits(text: string, filter: ImageFilter, limit: number): SearchHit[] {
    const match = keywordQuery(text);
    return match ? span('db.keywords', () => this.store.keywordHits(match, filter, limit)) : [];
  }

  /** The records of hits still in the gallery, in their order, with their scores. */
  results(hits: SearchHit[]): SearchResult[] {
    return this.toResults(hits);
  }

  /** The index's figures, and the database's bytes per stored vector (the whole file: thumbnails and rows too). */
  async indexStats(): Promise<IndexStats & { databaseBytesPerVector: number | null }> {
    const embedded = this.store.counts().embedded;
    return {
      ...(await this.index.stats()),
      databaseBytesPerVector: embedded ? Math.round(this.store.fileBytes() / embedded) : null,
    };
  }

  /** How the index was brought up to date with the database when the gallery opened. */
  get syncReport(): SyncReport | null {
    return this.index.syncReport;
  }

  /** Writes the index file if anything changed since the last save (tried again next time when it fails). */
  save(): Promise<void> {
    return this.index.save();
  }

  /** Resolves once no background rebuild is running (tests, benchmarks, shutdown). */
  idle(): Promise<void> {
    return this.index.idle();
  }

  async close(): Promise<void> {
    try {
      await this.index.close();
    } finally {
      this.store.close();
      this.unlock();
    }
  }
}
