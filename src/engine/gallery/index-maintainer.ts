// The vector index's keeper: the FAISS index (derived from SQLite, in a worker thread) made to agree with the
// database at open, rebuilt in the background when it needs it (with a journal of what changed meanwhile), and saved
// when it changed (by the owner's timer and at close). The gallery tells it every add and remove.
import { existsSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { IndexOutOfMemoryError } from '../../core/errors.js';
import { KINDS, MIN_TRAIN, rebuildReason, trainingSize, type IndexKind } from '../index/kinds.js';
import type { IndexConfig, IndexStats, SearchHit } from '../index/protocol.js';
import { VectorIndex } from '../index/vector-index.js';
import type { Store } from '../store/store.js';
import { Progress } from '../../core/util/progress.js';

/** An open slower than this says how long loading the index took. */
const SLOW_OPEN_S = 3;
/** Stored vectors read and sent to the index at a time: 8 MB at 1024 dimensions, few messages to the worker. */
const INDEX_BATCH = 2048;

export interface SyncReport {
  action: 'loaded' | 'synced' | 'rebuilt';
  reason: string | null;
  added: number;
  removed: number;
}

/** The index kind a data folder holds: the one whose manifest (`<kind>.json`) was written last; null for none. */
export function folderIndexKind(dataDir: string): IndexKind | null {
  const dir = join(dataDir, 'index');
  if (!existsSync(dir)) return null;
  const manifests = (Object.keys(KINDS) as IndexKind[]).filter((k) => existsSync(join(dir, `${k}.json`)));
  return (
    manifests.sort((a, b) => statSync(join(dir, `${b}.json`)).mtimeMs - statSync(join(dir, `${a}.json`)).mtimeMs)[0] ??
    null
  );
}

/** Every file of one index kind: its manifest and its generations. */
function removeIndexFiles(dir: string, kind: IndexKind): void {
  for (const f of readdirSync(dir))
    if (f === `${kind}.json` || (f.startsWith(`${kind}.`) && f.includes('.faiss')))
      rmSync(join(dir, f), { force: true });
}

export class IndexMaintainer {
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
    private readonly log: (msg: string) => void,
  ) {}

  /**
   * Starts the index of `config` and brings it up to date with the store; `previousKind`: the folder's other kind,
   * removed once this one is saved.
   */
  static async open(
    store: Store,
    config: IndexConfig,
    previousKind: IndexKind | null,
    log: (msg: string) => void,
  ): Promise<IndexMaintainer> {
    const index = await VectorIndex.start(config);
    try {
      const maintainer = new IndexMaintainer(store, index, config, log);
      if (!store.readonly) {
        const removed = await index.call.removeLeftovers();
        if (removed) log(`index: removed ${removed} temporary file(s) that failed saves left behind`);
      }
      maintainer.syncReport = await maintainer.syncIndex();
      index.startWarmUp(config, log);
      if (previousKind && previousKind !== config.kind && !store.readonly) removeIndexFiles(config.dir, previousKind);
      maintainer.maintain();
      return maintainer;
    } catch (err) {
      await index.close();
      throw err;
    }
  }

  /**
   * Makes the index agree with SQLite: load it, then apply what changed since its save (the database's change log
   * from the manifest's syncedSeq on: O(changes)), or compare every id when the manifest has no seq (an older one) or
   * the counts disagree after all; rebuild if unusable. A load of more than a few seconds is logged.
   */
  async syncIndex(): Promise<SyncReport> {
    const started = performance.now();
    const loaded = await this.index.call.load();
    const seconds = (performance.now() - started) / 1000;
    if (loaded.status !== 'loaded') {
      // an untrained compressed kind is rebuilt on every open by design: say so, not that something is wrong
      this.log(
        loaded.status === 'untrained'
          ? `index: ${loaded.reason}; loading them from SQLite`
          : `index: rebuilding from SQLite (${loaded.reason})`,
      );
      const added = await this.rebuildIndex();
      return { action: 'rebuilt', reason: loaded.reason, added, removed: 0 };
    }
    if (seconds > SLOW_OPEN_S)
      this.log(`index: loaded ${loaded.live} vectors (${this.indexConfig.kind}) in ${seconds.toFixed(1)} s`);
    const seq = this.store.changeSeq();
    let missing: number[], extra: number[];
    if (loaded.syncedSeq !== null && loaded.syncedSeq <= seq) {
      const changed = this.store.changedSince(loaded.syncedSeq);
      const present = this.store.embeddedAmong(changed);
      missing = changed.filter((id) => present.has(id)); // added or replaced: add() puts the stored vector in its place
      extra = changed.filter((id) => !present.has(id));
    } else {
      ({ missing, extra } = this.compareAllIds(loaded.ids ?? (await this.index.call.liveIds())));
    }
    // an id the log shows added and deleted since the save was never in the index: count what the index let go
    let removed = extra.length ? await this.index.call.remove(extra) : 0;
    if (missing.length || removed) {
      this.log(`index: the index file is behind the database: ${missing.length} to add, ${removed} removed; syncing`);
      await this.addToIndex('index sync', missing.length, this.store.vectorBatches(INDEX_BATCH, missing));
    }
    // the log is the fast path, the counts its check: a database restored beside a newer index, say
    const live = (await this.index.call.stats()).live;
    if (live !== this.store.counts().embedded) {
      const full = this.compareAllIds(await this.index.call.liveIds());
      this.log(
        `index: ${live} vectors after the sync, the database has ${this.store.counts().embedded}: comparing every id`,
      );
      if (full.extra.length) removed += await this.index.call.remove(full.extra);
      await this.addToIndex('index sync', full.missing.length, this.store.vectorBatches(INDEX_BATCH, full.missing));
      missing = [...missing, ...full.missing];
    }
    const changed = missing.length + removed > 0;
    // a save writes the whole index file (GBs at 1M): only for a change, or once to record the seq of an older manifest
    if ((changed || loaded.syncedSeq === null) && !this.store.readonly) await this.index.call.save(seq);
    const reason = changed
      ? `the index file was behind the database: ${missing.length} added, ${removed} removed`
      : null;
    return { action: reason ? 'synced' : 'loaded', reason, added: missing.length, removed };
  }

  /** Ids in the database and not in the index, and the other way round: O(rows), for manifests without a seq. */
  private compareAllIds(indexIds: number[]): { missing: number[]; extra: number[] } {
    const inDb = new Set(this.store.embeddedIds());
    const inIndex = new Set(indexIds);
    return { missing: [...inDb].filter((id) => !inIndex.has(id)), extra: [...inIndex].filter((id) => !inDb.has(id)) };
  }

  async rebuildIndex(): Promise<number> {
    const seq = this.store.changeSeq(); // read with the rows, in one tick: a change after it is applied next open
    await this.index.call.beginBuild();
    if (KINDS[this.indexConfig.kind].trained) await this.train(this.index, this.store.embeddedIds());
    const n = await this.addToIndex('index rebuild', this.store.counts().embedded, this.store.vectorBatches());
    await this.index.call.finishBuild();
    if (!this.store.readonly) await this.index.call.save(seq);
    this.dirty = false;
    return n;
  }

  /** Trains a trained kind for a rebuild of `ids` on an evenly strided sample of them (ids follow folders or time). */
  private async train(index: VectorIndex, ids: number[]): Promise<void> {
    if (!KINDS[this.indexConfig.kind].trained || ids.length < MIN_TRAIN) return; // fewer: searched exactly meanwhile
    const n = trainingSize(this.indexConfig.kind, ids.length);
    const sampleIds = Array.from({ length: n }, (_, i) => ids[Math.floor((i * ids.length) / n)]!);
    const dim = this.indexConfig.dim;
    const sample = new Float32Array(n * dim);
    let row = 0;
    for (const batch of this.store.vectorBatches(INDEX_BATCH, sampleIds)) {
      sample.set(batch.vectors, row * dim);
      row += batch.ids.length;
    }
    const started = performance.now();
    await index.call.train(ids.length, sample.subarray(0, row * dim));
    this.log(
      `index: ${this.indexConfig.kind} trained on ${row} of ${ids.length} vectors ` +
        `in ${((performance.now() - started) / 1000).toFixed(1)} s`,
    );
  }

  /**
   * Adds stored vectors to the index batch by batch, logging count, rate and ETA: at 100k vectors this takes minutes.
   */
  private async addToIndex(
    what: string,
    total: number,
    batches: Iterable<{ ids: number[]; vectors: Float32Array }>,
  ): Promise<number> {
    const progress = new Progress(what, total, this.log);
    let added = 0;
    try {
      for (const batch of batches) {
        added += await this.index.call.add(batch.ids, batch.vectors);
        progress.advance(batch.ids.length);
      }
    } catch (err) {
      if (!(err instanceof IndexOutOfMemoryError)) throw err;
      throw new IndexOutOfMemoryError(
        `${what}: the ${this.indexConfig.kind} index cannot take ${total} more vectors in ` +
          `this machine's memory (refused after ${added}: its array doubles as it grows); an ivf-pq index holds ` +
          `264 bytes a vector ` +
          '(LOOKALIKE_INDEX_KIND=ivf-pq, README "Which kind at which size")',
      );
    }
    if (total) progress.draw(true);
    return added;
  }

  /**
   * Vectors stored in SQLite (back to back in `vectors`): the index gets them too. Sent before the first await, so
   * the index takes changes in the order SQLite committed them. An id removed and back again (a restore) counts as
   * added: the last change of an id is the one a background rebuild applies.
   */
  async added(ids: number[], vectors: Float32Array): Promise<void> {
    for (const id of ids) {
      this.changedSinceSnapshot?.removed.delete(id);
      this.changedSinceSnapshot?.added.add(id);
    }
    await this.index.call.add(ids, vectors);
    this.dirty = true;
    this.maintain();
  }

  /** Images removed from SQLite (deleted, or moved to the trash): their vectors leave the index. */
  async removed(ids: number[]): Promise<void> {
    for (const id of ids) {
      this.changedSinceSnapshot?.added.delete(id);
      this.changedSinceSnapshot?.removed.add(id);
    }
    await this.index.call.remove(ids);
    this.dirty = true;
    this.maintain();
  }

  /** The k nearest of each query vector (several back to back in `vectors`), among `allow` when given. */
  search(vectors: Float32Array, k: number, allow?: number[]): Promise<SearchHit[][]> {
    return this.index.call.search(vectors, k, allow);
  }

  stats(): Promise<IndexStats> {
    return this.index.call.stats();
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
      .catch((err: Error) =>
        this.log(`index: the background rebuild failed (${err.message}); the current index stays in use`),
      )
      .finally(() => {
        this.rebuilding = null;
      });
  }

  private async rebuildInBackground(reason: string): Promise<void> {
    const started = performance.now();
    this.log(`index: rebuilding in the background: ${reason}; searches go on meanwhile`);
    const dir = join(this.indexConfig.dir, 'rebuild');
    rmSync(dir, { recursive: true, force: true });
    this.changedSinceSnapshot = { added: new Set(), removed: new Set() };
    const snapshot = this.store.embeddedIds();
    const snapshotSeq = this.store.changeSeq();
    const builder = await VectorIndex.start({ ...this.indexConfig, dir });
    try {
      await builder.call.beginBuild();
      await this.train(builder, snapshot);
      const progress = new Progress('index background rebuild', snapshot.length, this.log);
      for (const batch of this.store.vectorBatches(INDEX_BATCH, snapshot)) {
        if (this.closing) return;
        await builder.call.add(batch.ids, batch.vectors);
        progress.advance(batch.ids.length);
      }
      await builder.call.finishBuild();
      await builder.call.save(snapshotSeq);
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
    const fresh = [...changed.added];
    for (const batch of this.store.vectorBatches(INDEX_BATCH, fresh)) {
      await this.index.call.add(batch.ids, batch.vectors);
    }
    await this.index.call.save(this.store.changeSeq());
    this.dirty = false;
    const s = await this.index.call.stats();
    this.log(
      `index: background rebuild done in ${((performance.now() - started) / 1000).toFixed(1)} s: ${s.live} ` +
        `vectors, trained for ${s.builtFor}, ` +
        `${changed.added.size} added and ${changed.removed.size} removed meanwhile`,
    );
  }

  /** Resolves once no background rebuild is running (tests, benchmarks, shutdown). */
  async idle(): Promise<void> {
    while (this.rebuilding) await this.rebuilding;
  }

  /**
   * Writes the index file if anything changed since the last save; a save that fails (a full disk) is tried again next
   * time.
   */
  async save(): Promise<void> {
    if (!this.dirty || this.store.readonly) return;
    this.dirty = false; // a change made while this save runs sets it again
    try {
      await this.index.call.save(this.store.changeSeq());
    } catch (err) {
      this.dirty = true;
      throw err;
    }
  }

  /** Stops a background rebuild at its next batch, saves the current index as it is, and stops the worker. */
  async close(): Promise<void> {
    this.closing = true;
    await this.idle();
    try {
      await this.save();
    } finally {
      await this.index.close();
    }
  }
}
