// The gallery: the SQLite store (truth), the FAISS index (derived, in a worker) and the KNN classifier, bound to
// one encoder identity. The API and the index builder both work through this class.
import { existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { EncoderIdentity } from '../identity.js';
import { NotFoundError } from '../errors.js';
import { KINDS, rebuildReason, type IndexKind, type IndexParams } from '../index/kinds.js';
import type { IndexConfig, IndexStats, SearchHit } from '../index/protocol.js';
import { VectorIndex } from '../index/vector-index.js';
import { classify, summarize, type Evaluation, type KnnOptions, type KnnResult } from '../knn/knn.js';
import { Store, type ImageRecord } from '../store/store.js';
import { Progress } from '../util/progress.js';
import { lockDataDir } from './lock.js';
import type { PreparedImage } from '../image/prepare.js';

export interface GalleryOptions {
  dataDir: string;
  identity: EncoderIdentity;
  /** auto: the kind the data folder already has (flat for a new one); another kind than the folder's replaces it. */
  indexKind: IndexKind | 'auto';
  indexParams: IndexParams;
  faissThreads?: number;
  switchModel?: boolean;
  /** Read without the lock, beside the writer: the database read-only, the index loaded or rebuilt in memory, never saved. */
  readOnly?: boolean;
  log?: (msg: string) => void;
}

export interface SearchOptions {
  k: number;
  minScore?: number;
  label?: string;
  excludeId?: number;
}

export interface SearchResult extends ImageRecord {
  score: number;
}

export interface SyncReport {
  action: 'loaded' | 'synced' | 'rebuilt';
  reason: string | null;
  added: number;
  removed: number;
}

const databasePath = (dataDir: string) => join(dataDir, 'lookalike.db');

/** The index kind a data folder holds: the one whose manifest (`<kind>.json`) was written last; null for none. */
export function folderIndexKind(dataDir: string): IndexKind | null {
  const dir = join(dataDir, 'index');
  if (!existsSync(dir)) return null;
  const manifests = (Object.keys(KINDS) as IndexKind[]).filter((k) => existsSync(join(dir, `${k}.json`)));
  return manifests.sort((a, b) => statSync(join(dir, `${b}.json`)).mtimeMs - statSync(join(dir, `${a}.json`)).mtimeMs)[0] ?? null;
}

/** Every file of one index kind: its manifest and its generations. */
function removeIndexFiles(dir: string, kind: IndexKind): void {
  for (const f of readdirSync(dir)) if (f === `${kind}.json` || (f.startsWith(`${kind}.`) && f.includes('.faiss'))) rmSync(join(dir, f), { force: true });
}

export class Gallery {
  private dirty = false;
  private closing = false;
  /** A background rebuild in progress, and what changed since it read its snapshot of the database. */
  private rebuilding: Promise<void> | null = null;
  private changedSinceSnapshot: { added: Set<number>; removed: Set<number> } | null = null;
  syncReport: SyncReport | null = null;

  private constructor(
    private readonly store: Store,
    private readonly index: VectorIndex,
    private readonly indexConfig: IndexConfig,
    private readonly unlock: () => void,
    private readonly log: (msg: string) => void,
  ) {}

  /** Whether a gallery was ever made in this data folder (readers open none that is not there). */
  static exists(dataDir: string): boolean {
    return existsSync(databasePath(dataDir));
  }

  static async open(opts: GalleryOptions): Promise<Gallery> {
    if (opts.readOnly && !Gallery.exists(opts.dataDir)) throw new NotFoundError(`there is no gallery in ${opts.dataDir}`);
    if (!opts.readOnly) mkdirSync(opts.dataDir, { recursive: true });
    const unlock = opts.readOnly ? () => {} : lockDataDir(opts.dataDir);
    let store: Store | undefined;
    let index: VectorIndex | undefined;
    try {
      store = new Store(databasePath(opts.dataDir), opts.readOnly);
      store.useModel(opts.identity, { switchModel: opts.switchModel });
      // the folder remembers its kind: an index run or a server without one uses it, never builds a second beside it
      const had = folderIndexKind(opts.dataDir);
      const kind = opts.indexKind === 'auto' ? had ?? 'flat' : opts.indexKind;
      if (had && had !== kind) {
        opts.log?.(`index: this data folder holds a ${had} index; LOOKALIKE_INDEX_KIND=${kind} replaces it` +
          (opts.readOnly ? ' (in memory only: this reader changes nothing)' : ` (the ${had} files are removed once the ${kind} index is saved)`));
      }
      const indexConfig: IndexConfig = {
        dir: join(opts.dataDir, 'index'), kind, dim: opts.identity.dim, modelId: opts.identity.modelId,
        params: opts.indexParams, threads: opts.faissThreads ?? 1,
      };
      index = await VectorIndex.start(indexConfig);
      const gallery = new Gallery(store, index, indexConfig, unlock, opts.log ?? (() => {}));
      if (!opts.readOnly) {
        const removed = await index.call.removeLeftovers();
        if (removed) gallery.log(`index: removed ${removed} temporary file(s) that failed saves left behind`);
      }
      gallery.syncReport = await gallery.syncIndex();
      if (had && had !== kind && !opts.readOnly) removeIndexFiles(indexConfig.dir, had);
      gallery.maintain();
      return gallery;
    } catch (err) {
      await index?.close();
      store?.close();
      unlock();
      throw err;
    }
  }

  /** Makes the index agree with SQLite: load it, then add what is missing and drop what is gone; rebuild if unusable. */
  async syncIndex(): Promise<SyncReport> {
    const loaded = await this.index.call.load();
    if (loaded.status !== 'loaded') {
      // an untrained compressed kind is rebuilt on every open by design: say so, not that something is wrong
      this.log(loaded.status === 'untrained' ? `index: ${loaded.reason}; loading them from SQLite` : `index: rebuilding from SQLite (${loaded.reason})`);
      const added = await this.rebuildIndex();
      return { action: 'rebuilt', reason: loaded.reason, added, removed: 0 };
    }
    const inDb = new Set(this.store.embeddedIds());
    const inIndex = new Set(loaded.ids);
    const missing = [...inDb].filter((id) => !inIndex.has(id));
    const extra = [...inIndex].filter((id) => !inDb.has(id));
    if (!missing.length && !extra.length) return { action: 'loaded', reason: null, added: 0, removed: 0 };
    const reason = `the index file is behind the database: ${missing.length} to add, ${extra.length} to remove`;
    this.log(`index: ${reason}; syncing`);
    if (extra.length) await this.index.call.remove(extra);
    await this.addToIndex('index sync', missing.length, this.store.vectorBatches(2048, missing));
    if (!this.store.readonly) await this.index.call.save();
    return { action: 'synced', reason, added: missing.length, removed: extra.length };
  }

  async rebuildIndex(): Promise<number> {
    await this.index.call.beginBuild();
    const n = await this.addToIndex('index rebuild', this.store.counts().embedded, this.store.vectorBatches());
    await this.index.call.finishBuild();
    if (!this.store.readonly) await this.index.call.save();
    this.dirty = false;
    return n;
  }

  /** Adds stored vectors to the index batch by batch, logging count, rate and ETA: at 100k vectors this takes minutes. */
  private async addToIndex(what: string, total: number, batches: Iterable<{ ids: number[]; vectors: Float32Array }>): Promise<number> {
    const progress = new Progress(what, total, this.log);
    let added = 0;
    for (const batch of batches) {
      added += await this.index.call.add(batch.ids, batch.vectors);
      progress.advance(batch.ids.length);
    }
    if (total) progress.draw(true);
    return added;
  }

  /**
   * Stores an image and its embedding. The same content again keeps its first row (`duplicate`); a label given with
   * it replaces the stored one (`relabelled`).
   */
  async add(image: Omit<PreparedImage, 'decoded'>, vector: Float32Array, meta: { source: string | null; label: string | null }): Promise<{ id: number; duplicate: boolean; relabelled: boolean }> {
    const { vectorChanged, ...result } = this.store.addImage({ sha256: image.sha256, source: meta.source, label: meta.label, width: image.width, height: image.height, bytes: image.bytes, thumbnail: image.thumbnail }, vector);
    if (vectorChanged) { // a new image, or another vector for it (--force): the index gets it; the same vector again changes nothing
      this.changedSinceSnapshot?.added.add(result.id);
      await this.index.call.add([result.id], vector);
      this.dirty = true;
      this.maintain();
    }
    return result;
  }

  /** Sets or clears (null) an image's label; search filters and KNN see it at once (labels are read from SQLite). */
  relabel(id: number, label: string | null): ImageRecord {
    if (!this.store.setLabel(id, label)) throw new NotFoundError(`no image with id ${id}`);
    return this.get(id);
  }

  async remove(id: number): Promise<void> {
    if (!this.store.delete(id)) throw new NotFoundError(`no image with id ${id}`);
    this.changedSinceSnapshot?.removed.add(id);
    await this.index.call.remove([id]);
    this.dirty = true;
    this.maintain();
  }

  /**
   * Starts a background rebuild when the index needs one: a trained kind whose gallery has grown well past what it
   * was trained for (its IVF lists were sized for fewer vectors), or too many tombstones. The new index is built from
   * SQLite in a second worker thread while this one keeps serving searches, then swapped in with what changed since.
   */
  private maintain(): void {
    if (this.rebuilding || this.closing || this.store.readonly) return;
    this.rebuilding = (async () => {
      const reason = rebuildReason(this.indexConfig.kind, await this.index.call.stats());
      if (reason) await this.rebuildInBackground(reason);
    })()
      .catch((err: Error) => this.log(`index: the background rebuild failed (${err.message}); the current index stays in use`))
      .finally(() => { this.rebuilding = null; });
  }

  private async rebuildInBackground(reason: string): Promise<void> {
    const started = performance.now();
    this.log(`index: rebuilding in the background: ${reason}; searches go on meanwhile`);
    const dir = join(this.indexConfig.dir, 'rebuild');
    rmSync(dir, { recursive: true, force: true });
    this.changedSinceSnapshot = { added: new Set(), removed: new Set() };
    const snapshot = this.store.embeddedIds();
    const builder = await VectorIndex.start({ ...this.indexConfig, dir });
    try {
      await builder.call.beginBuild();
      const progress = new Progress('index background rebuild', snapshot.length, this.log);
      for (const batch of this.store.vectorBatches(2048, snapshot)) {
        if (this.closing) return;
        await builder.call.add(batch.ids, batch.vectors);
        progress.advance(batch.ids.length);
      }
      await builder.call.finishBuild();
      await builder.call.save();
      progress.draw(true);
    } finally {
      await builder.close();
      if (this.closing) this.changedSinceSnapshot = null;
    }
    // from here on, changes go to the adopted index directly; those made while it was built are applied to it
    const changed = this.changedSinceSnapshot!;
    this.changedSinceSnapshot = null;
    await this.index.call.adopt(dir);
    if (changed.removed.size) await this.index.call.remove([...changed.removed]);
    const fresh = [...changed.added].filter((id) => !changed.removed.has(id));
    for (const batch of this.store.vectorBatches(2048, fresh)) await this.index.call.add(batch.ids, batch.vectors);
    await this.index.call.save();
    this.dirty = false;
    const s = await this.index.call.stats();
    this.log(`index: background rebuild done in ${((performance.now() - started) / 1000).toFixed(1)} s: ${s.live} vectors, trained for ${s.builtFor}, ` +
      `${changed.added.size} added and ${changed.removed.size} removed meanwhile`);
  }

  /** Resolves once no background rebuild is running (tests, benchmarks, shutdown). */
  async idle(): Promise<void> {
    while (this.rebuilding) await this.rebuilding;
  }

  /** The stored WebP thumbnail (at most 256 px). */
  thumbnail(id: number): Buffer {
    const thumb = this.store.thumbnail(id);
    if (!thumb) throw new NotFoundError(`no image with id ${id}`);
    return thumb;
  }

  /** The id of this content when it is already embedded for the gallery's model. */
  embeddedIdBySha(sha256: string): number | undefined {
    return this.store.embeddedIdBySha(sha256);
  }

  /**
   * Content already embedded for the gallery's model: its id, after it took the label it came with again (when one
   * came and differs: `relabelled`), as add() does for a duplicate. Undefined when the content is not embedded.
   */
  keepEmbedded(sha256: string, label: string | null): { id: number; relabelled: boolean } | undefined {
    const stored = this.store.embeddedIdBySha(sha256) === undefined ? undefined : this.store.labelBySha(sha256);
    return stored && { id: stored.id, relabelled: this.store.relabelIfGiven(stored, label) };
  }

  counts(): { images: number; embedded: number; labelled: number } {
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

  async search(vector: Float32Array, opts: SearchOptions): Promise<SearchResult[]> {
    const allow = opts.label !== undefined ? this.store.idsWithLabel(opts.label) : undefined;
    const k = opts.k + (opts.excludeId !== undefined ? 1 : 0);
    const [hits] = await this.index.call.search(vector, k, allow);
    return this.toResults(hits!.filter((h) => h.id !== opts.excludeId).slice(0, opts.k), opts.minScore);
  }

  /** "Find similar to this one", from the stored vector: no re-encoding. */
  async similar(id: number, opts: Omit<SearchOptions, 'excludeId'>): Promise<SearchResult[]> {
    const vector = this.store.vector(id);
    if (!vector) throw new NotFoundError(`no image with id ${id}`);
    return this.search(vector, { ...opts, excludeId: id });
  }

  async classify(vector: Float32Array, knn: KnnOptions): Promise<KnnResult> {
    const hits = await this.search(vector, { k: knn.k });
    return classify(hits.map((h) => ({ id: h.id, score: h.score, label: h.label })), knn);
  }

  /** The labelled images' stored vectors with their labels, in batches (zero-shot calibration). */
  *labelledVectors(batchSize = 256): Generator<{ labels: string[]; vectors: Float32Array }> {
    const labelled = this.store.labelledImages();
    const labelOf = new Map(labelled.map((r) => [r.id, r.label]));
    for (const batch of this.store.vectorBatches(batchSize, labelled.map((r) => r.id))) yield { labels: batch.ids.map((id) => labelOf.get(id)!), vectors: batch.vectors };
  }

  /** Leave-one-out KNN over the labelled gallery: accuracy, confusion table, calibration error. */
  async evaluate(knn: KnnOptions): Promise<Evaluation> {
    const labelled = this.store.labelledImages();
    const truth = new Map(labelled.map((r) => [r.id, r.label]));
    const pairs: { truth: string; result: KnnResult }[] = [];
    for (const batch of this.store.vectorBatches(256, labelled.map((r) => r.id))) {
      const perQuery = await this.index.call.search(batch.vectors, knn.k + 1);
      perQuery.forEach((hits, q) => {
        const self = batch.ids[q]!;
        const labels = this.store.labelsOf(hits.map((h) => h.id));
        const neighbours = hits.filter((h) => h.id !== self).slice(0, knn.k).map((h) => ({ id: h.id, score: h.score, label: labels.get(h.id) ?? null }));
        pairs.push({ truth: truth.get(self)!, result: classify(neighbours, knn) });
      });
    }
    return summarize(pairs);
  }

  private toResults(hits: SearchHit[], minScore?: number): SearchResult[] {
    const kept = hits.filter((h) => minScore === undefined || h.score >= minScore);
    const records = this.store.getMany(kept.map((h) => h.id));
    return kept.flatMap((h) => {
      const r = records.get(h.id);
      return r ? [{ ...r, score: h.score }] : [];
    });
  }

  indexStats(): Promise<IndexStats> {
    return this.index.call.stats();
  }

  /** Writes the index file if anything changed since the last save; a save that fails (a full disk) is tried again next time. */
  async save(): Promise<void> {
    if (!this.dirty || this.store.readonly) return;
    this.dirty = false; // a change made while this save runs sets it again
    try {
      await this.index.call.save();
    } catch (err) {
      this.dirty = true;
      throw err;
    }
  }

  async close(): Promise<void> {
    this.closing = true; // a background rebuild stops at its next batch; the current index is saved as it is
    await this.idle();
    try {
      await this.save();
    } finally {
      await this.index.close();
      this.store.close();
      this.unlock();
    }
  }
}
