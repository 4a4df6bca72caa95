// The gallery: the SQLite store (truth) and the vector index (derived; kept by the IndexMaintainer), bound to one
// encoder identity. Add, remove, relabel, read, search and similar; the API and the index builder both work through it.
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { EncoderIdentity } from '../identity.js';
import { NotFoundError } from '../errors.js';
import type { IndexKind, IndexParams } from '../index/kinds.js';
import type { IndexConfig, IndexStats, SearchHit } from '../index/protocol.js';
import type { LabelledVectors } from '../knn/evaluate.js';
import { classify, type KnnOptions, type KnnResult } from '../knn/knn.js';
import { Store, type ImageRecord } from '../store/store.js';
import type { PreparedImage } from '../image/prepare.js';
import { folderIndexKind, IndexMaintainer, type SyncReport } from './index-maintainer.js';
import { lockDataDir } from './lock.js';

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

const databasePath = (dataDir: string) => join(dataDir, 'lookalike.db');

export class Gallery implements LabelledVectors {
  private constructor(
    private readonly store: Store,
    private readonly index: IndexMaintainer,
    private readonly unlock: () => void,
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
        params: opts.indexParams, threads: opts.faissThreads ?? 1, database: databasePath(opts.dataDir),
      };
      const index = await IndexMaintainer.open(store, indexConfig, had, opts.log ?? (() => {}));
      return new Gallery(store, index, unlock);
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
  async add(image: Omit<PreparedImage, 'decoded'>, vector: Float32Array, meta: { source: string | null; label: string | null }): Promise<{ id: number; duplicate: boolean; relabelled: boolean }> {
    const { vectorChanged, ...result } = this.store.addImage({ sha256: image.sha256, source: meta.source, label: meta.label, width: image.width, height: image.height, bytes: image.bytes, thumbnail: image.thumbnail }, vector);
    // a new image, or another vector for it (--force): the index gets it; the same vector again changes nothing
    if (vectorChanged) await this.index.added(result.id, vector);
    return result;
  }

  /** Sets or clears (null) an image's label; search filters and KNN see it at once (labels are read from SQLite). */
  relabel(id: number, label: string | null): ImageRecord {
    if (!this.store.setLabel(id, label)) throw new NotFoundError(`no image with id ${id}`);
    return this.get(id);
  }

  async remove(id: number): Promise<void> {
    if (!this.store.delete(id)) throw new NotFoundError(`no image with id ${id}`);
    await this.index.removed(id);
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
    const [hits] = await this.index.search(vector, k, allow);
    return this.toResults(hits!.filter((h) => h.id !== opts.excludeId).slice(0, opts.k), opts.minScore);
  }

  /** "Find similar to this one", from the stored vector: no re-encoding. */
  async similar(id: number, opts: Omit<SearchOptions, 'excludeId'>): Promise<SearchResult[]> {
    const vector = this.store.vector(id);
    if (!vector) throw new NotFoundError(`no image with id ${id}`);
    return this.search(vector, { ...opts, excludeId: id });
  }

  /** Weighted KNN over the labelled gallery. */
  async classify(vector: Float32Array, knn: KnnOptions): Promise<KnnResult> {
    const hits = await this.search(vector, { k: knn.k });
    return classify(hits.map((h) => ({ id: h.id, score: h.score, label: h.label })), knn);
  }

  /** The labelled images' stored vectors with their labels, in batches (evaluation, zero-shot calibration). */
  *labelledVectors(batchSize = 256): Generator<{ ids: number[]; labels: string[]; vectors: Float32Array }> {
    const labelled = this.store.labelledImages();
    const labelOf = new Map(labelled.map((r) => [r.id, r.label]));
    for (const batch of this.store.vectorBatches(batchSize, labelled.map((r) => r.id))) {
      yield { ids: batch.ids, labels: batch.ids.map((id) => labelOf.get(id) ?? ''), vectors: batch.vectors };
    }
  }

  /** The k nearest of each query vector (back to back in `vectors`), with their labels: no records read. */
  async nearestLabelled(vectors: Float32Array, k: number): Promise<{ id: number; score: number; label: string | null }[][]> {
    const perQuery = await this.index.search(vectors, k);
    const labels = this.store.labelsOf(perQuery.flat().map((h) => h.id));
    return perQuery.map((hits) => hits.map((h) => ({ id: h.id, score: h.score, label: labels.get(h.id) ?? null })));
  }

  private toResults(hits: SearchHit[], minScore?: number): SearchResult[] {
    const kept = hits.filter((h) => minScore === undefined || h.score >= minScore);
    const records = this.store.getMany(kept.map((h) => h.id));
    return kept.flatMap((h) => {
      const r = records.get(h.id);
      return r ? [{ ...r, score: h.score }] : [];
    });
  }

  /** The index's figures, and the database's bytes per stored vector (the whole file: thumbnails and rows too). */
  async indexStats(): Promise<IndexStats & { databaseBytesPerVector: number | null }> {
    const embedded = this.store.counts().embedded;
    return { ...await this.index.stats(), databaseBytesPerVector: embedded ? Math.round(this.store.fileBytes() / embedded) : null };
  }

  /** How the index was brought up to date with the database when the gallery opened. */
  get syncReport(): SyncReport | null { return this.index.syncReport; }

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
