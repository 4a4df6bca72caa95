// The index worker: owns the FAISS index (faiss-node's constructors are per thread, so several of these may run in
// one process), the map from FAISS positions to image ids, and the index files. One message at a time, so no locking.
//
// Files: `<kind>.<generation>.faiss` and the manifest `<kind>.json`, which names the one index file it vouches for.
// A save writes a new generation's index file, then renames the manifest into place (the commit), then deletes older
// generations: a crash at any moment leaves a manifest and the very file it describes, never a new index with an old
// id map. Both are fsynced, and so is the folder, before the save returns. The manifest also keeps the database's
// last vector change the index holds (`syncedSeq`), so the sync at open reads only what changed since.
//
// ivf-pq keeps 256-byte codes and re-scores its top candidates with the full vectors, read from SQLite (a read-only
// connection of this thread): one source of truth, nothing a crash could leave out of step with the index.
import {
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { type MessagePort, parentPort, receiveMessageOnPort } from 'node:worker_threads';
import type * as FaissNode from 'faiss-node';
import { dot } from '../../core/util/vectors.js';
import { settingDefault } from '../../core/config.js';
import { KINDS, MIN_TRAIN, trainingSize } from './kinds.js';
import { type Rescoring, StoredVectors } from './rescore.js';
import type { IndexConfig, IndexOps, IndexStats, LoadStatus, Request, Response, SearchHit } from './protocol.js';

// FAISS's OpenMP threads spin between parallel regions by default, taking a core from the re-scoring workers: with 8
// ivf-pq searches in flight at 200k, a spinning thread was 40-59% busy and 8 in flight gave 1.1x the throughput of 1;
// sleeping (PASSIVE), 1.42-1.45x. Read by libgomp when faiss-node loads it, so set before; a user's setting wins.
process.env.OMP_WAIT_POLICY ??= 'PASSIVE';
const faiss = createRequire(import.meta.url)('faiss-node') as typeof FaissNode;
const INNER_PRODUCT = 0;
const FORMAT = 2;

// `staged` is set when nothing is in FAISS yet because a compressed kind still waits for training vectors: then
// there is no index file, and the manifest only says why.
interface Manifest {
  format: number;
  kind: string;
  dim: number;
  modelId: string;
  generation: number;
  file: string | null;
  fileBytes: number;
  ids: number[];
  dead: number[];
  trainedOn: number;
  builtFor: number;
  ntotal: number;
  staged?: number;
  hnswM?: number;
  syncedSeq?: number;
}

let config: IndexConfig;
let index: FaissNode.Index | null = null;
let ids: number[] = []; // FAISS position -> image id
let live = new Map<number, number>(); // image id -> its live position
let dead = new Set<number>(); // positions removed from a kind that cannot remove: filtered out until a rebuild
// A trained kind (IVF) is not trained on a handful of vectors: until it has MIN_TRAIN they wait here and are
// searched exactly. They are not saved; the sync on open adds them again from SQLite.
let staged = new Map<number, Float32Array>();
let building = false;
let trainedOn = 0; // vectors the quantizer was trained on
let builtFor = 0; // vectors in the gallery when the index was built or trained: its lists were sized for them
let generation = 0;
let syncedSeq: number | null = null; // the database's last change this index holds (null: unknown, an older manifest)
let fileBytes = 0; // the index file's size at the last save or load
let stored: StoredVectors;
/** The re-scoring workers' ports: a batch's searches are finished there (rescore.ts). */
let rescorers: MessagePort[] = [];
let nextRescorer = 0;

const manifestPath = () => join(config.dir, `${config.kind}.json`);
const spec = () => KINDS[config.kind];

function clear(): void {
  index = null;
  ids = [];
  live = new Map();
  dead = new Set();
  staged = new Map();
  building = false;
  trainedOn = 0;
  builtFor = 0;
  syncedSeq = null;
  fileBytes = 0;
}

function applyParams(idx: FaissNode.Index): void {
  if (config.kind === 'hnsw') idx.setParameter('efSearch', config.params.efSearch);
  if (config.kind === 'ivf-sq8' || config.kind === 'ivf-pq') idx.setParameter('nprobe', config.params.nprobe);
}

function addToFaiss(newIds: number[], vectors: Float32Array): void {
  if (!index) {
    index = faiss.Index.fromFactory(
      config.dim,
      spec().factory(newIds.length, config.params, config.dim),
      INNER_PRODUCT,
    );
    applyParams(index);
    builtFor = newIds.length;
  }
  if (!index.isTrained()) {
    // an evenly strided sample: the vectors arrive in id order, which may follow folders or time
    const n = trainingSize(config.kind, newIds.length);
    const step = newIds.length / n;
    const sample = new Float32Array(n * config.dim);
    for (let i = 0; i < n; i++) {
      const row = Math.floor(i * step);
      sample.set(vectors.subarray(row * config.dim, (row + 1) * config.dim), i * config.dim);
    }
    index.train(sample);
    trainedOn = n;
  }
  index.add(vectors);
  for (const id of newIds) {
    live.set(id, ids.length);
    ids.push(id);
  }
}

function trainFromStaged(): void {
  const stagedIds = [...staged.keys()];
  const x = new Float32Array(stagedIds.length * config.dim);
  stagedIds.forEach((id, row) => x.set(staged.get(id)!, row * config.dim));
  staged = new Map();
  addToFaiss(stagedIds, x);
}

function exactScores(query: Float32Array): SearchHit[] {
  const hits: SearchHit[] = [];
  for (const [id, v] of staged) hits.push({ id, score: dot(v, query) });
  return hits;
}

/** The parameters an index file was built with and cannot change afterwards: another value means a rebuild. */
function buildParams(): Pick<Manifest, 'hnswM'> {
  return config.kind === 'hnsw' ? { hnswM: config.params.hnswM } : {};
}

function fsyncPath(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Writes the manifest atomically (the commit point of a save). */
function writeManifest(contents: Pick<Manifest, 'file' | 'fileBytes' | 'ids' | 'dead' | 'ntotal' | 'staged'>): void {
  const m: Manifest = {
    format: FORMAT,
    kind: config.kind,
    dim: config.dim,
    modelId: config.modelId,
    generation,
    trainedOn,
    builtFor,
    ...contents,
    ...buildParams(),
    ...(syncedSeq === null ? {} : { syncedSeq }),
  };
  const tmp = `${manifestPath()}.tmp-${process.pid}`;
  withTemporary(tmp, () => {
    writeFileSync(tmp, JSON.stringify(m));
    fsyncPath(tmp);
    // test hook: a crash at the worst moment
    if (process.env.LOOKALIKE_CRASH_AT === 'index-commit') process.kill(process.pid, 'SIGKILL');
    renameSync(tmp, manifestPath());
  });
  fsyncPath(config.dir);
}

/** Writes through a temporary file; one that fails (a full disk) takes its temporary file with it. */
function withTemporary(tmp: string, write: () => void): void {
  try {
    write();
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}

/** Index files of this kind other than `keep`: earlier generations, and files a crash left behind. */
function removeOtherGenerations(keep: string | null): void {
  const prefix = `${config.kind}.`;
  for (const f of readdirSync(config.dir)) {
    if (f.startsWith(prefix) && (f.endsWith('.faiss') || f.includes('.faiss.tmp-')) && f !== keep)
      rmSync(join(config.dir, f), { force: true });
  }
}

function readManifest(dir: string): Manifest | { error: string } | null {
  const path = join(dir, `${config.kind}.json`);
  if (!existsSync(path)) return null;
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as Manifest;
  } catch (err) {
    return { error: `unreadable ${path}: ${(err as Error).message}` };
  }
}

/**
 * Loads the index a manifest describes into memory, replacing the current one; a LoadStatus other than 'loaded' if
 * unusable.
 */
function loadFrom(dir: string): LoadStatus {
  clear();
  const missing: LoadStatus = { status: 'missing', reason: `no index in ${dir}` };
  const m = readManifest(dir);
  if (!m) return missing;
  if ('error' in m) return { status: 'corrupt', reason: m.error };
  if (m.format !== FORMAT)
    return { status: 'mismatch', reason: `the index files are of an older format (${m.format ?? 1}): rebuilding once` };
  if (m.modelId !== config.modelId || m.dim !== config.dim || m.kind !== config.kind) {
    return {
      status: 'mismatch',
      reason:
        `the index file was made for model ${m.modelId} (${m.dim} dims, ${m.kind}), not ${config.modelId} ` +
        `(${config.dim} dims, ${config.kind})`,
    };
  }
  if (m.hnswM !== buildParams().hnswM) {
    return {
      status: 'mismatch',
      reason: `the index file was built with LOOKALIKE_HNSW_M=${m.hnswM}, the setting is now ${config.params.hnswM}`,
    };
  }
  generation = m.generation;
  syncedSeq = m.syncedSeq ?? null;
  if (m.staged)
    return {
      status: 'untrained',
      reason:
        `${m.staged} vectors, fewer than the ${MIN_TRAIN} that ${config.kind} trains on: searched exactly ` +
        `until then`,
    };
  if (!m.file) return missing;
  const file = join(dir, m.file);
  if (!existsSync(file)) return { status: 'corrupt', reason: `the manifest names ${file}, which is missing` };
  if (statSync(file).size !== m.fileBytes)
    return { status: 'corrupt', reason: `${file} is ${statSync(file).size} bytes, its manifest says ${m.fileBytes}` };
  let idx: FaissNode.Index;
  try {
    idx = faiss.Index.read(file);
  } catch (err) {
    return { status: 'corrupt', reason: `unreadable ${file}: ${(err as Error).message}` };
  }
  if (idx.getDimension() !== config.dim || idx.ntotal() !== m.ids.length || m.ntotal !== m.ids.length) {
    return {
      status: 'corrupt',
      reason: `${file} holds ${idx.ntotal()} vectors of ${idx.getDimension()} dims, its manifest lists ${m.ids.length}`,
    };
  }
  applyParams(idx);
  index = idx;
  ids = m.ids;
  dead = new Set(m.dead);
  ids.forEach((id, pos) => {
    if (!dead.has(pos)) live.set(id, pos);
  });
  trainedOn = m.trainedOn;
  builtFor = m.builtFor;
  fileBytes = m.fileBytes;
  // with a syncedSeq the caller reads the database's changes since; without, it compares every id
  return { status: 'loaded', ids: syncedSeq === null ? [...live.keys()] : null, live: live.size, syncedSeq };
}

/**
 * Drops these ids from the index: flat removes them (renumbering later positions), other kinds mark their position
 * dead.
 */
function dropFromFaiss(drop: Set<number>): void {
  if (!index || !drop.size) return;
  if (spec().removable) {
    index.removeIds([...drop].map((id) => live.get(id)!));
    ids = ids.filter((id) => !drop.has(id)); // flat removal keeps the order of the rest
    live = new Map(ids.map((id, pos) => [id, pos]));
  } else {
    for (const id of drop) {
      dead.add(live.get(id)!);
      live.delete(id);
    }
  }
}

/**
 * One search: `queries` back to back, the k best of each, among `allowIds` (ascending, as SQLite gives them) when
 * given.
 */
interface SearchRequest {
  queries: Float32Array;
  k: number;
  allowIds?: number[];
}

/** A search on its way through searchBatch(): how deep FAISS is asked, and what it found so far. */
interface Searching {
  queries: Float32Array;
  nq: number;
  k: number;
  keep: (pos: number) => boolean;
  wanted: number;
  candidates: number;
  fetch: number;
  /** IVF lists probed: more under a filter, in proportion to what it drops (null: not an IVF kind) */
  nprobe: number | null;
  exact: SearchHit[][];
  fromFaiss: SearchHit[][];
  /** FAISS returned fewer than asked for every query (an IVF index's probed lists hold no more): deeper is the same */
  exhausted: boolean;
  error?: Error;
}

/** Queries in one FAISS call at most. faiss 1.7.3 computes flat distances (an IVF's coarse quantizer's too) through
 *  BLAS from 20 queries on, which sums in another order: below that, a query scores the same alone or batched. */
export const MAX_BATCH = 16;

/** Whether `id` is in the ascending `sorted` (a binary search: no Set of a wide filter's ids for every query). */
function includesSorted(sorted: ArrayLike<number>, id: number): boolean {
  let lo = 0,
    hi = sorted.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const v = sorted[mid]!;
    if (v === id) return true;
    if (v < id) lo = mid + 1;
    else hi = mid - 1;
  }
  return false;
}

function ascending(list: number[]): number[] {
  for (let i = 1; i < list.length; i++) if (list[i - 1]! > list[i]!) return [...list].sort((a, b) => a - b);
  return list;
}

/**
 * An IVF search's lists probed: the setting, times what a filter keeps of the index. A query's true neighbours among
 * a tenth of the gallery are about as near as its hundredth nearest overall, in lists beyond the nearest `nprobe`:
 * probing those alone found 0.62 of the true top 10 under a 10% filter where the same search unfiltered found 0.997.
 */
function probed(allow: number[] | null): number | null {
  return spec().trained ? Math.ceil(config.params.nprobe / kept(allow)) : null;
}

/** The share of the index a filter's allow-list keeps (1 without one). */
function kept(allow: number[] | null): number {
  const live = ids.length - dead.size;
  return allow && allow.length < live ? Math.max(1, allow.length) / live : 1;
}

function startSearch({ queries, k, allowIds }: SearchRequest): Searching {
  const d = config.dim;
  const nq = queries.length / d;
  const allow = allowIds ? ascending(allowIds) : null;
  const allowed = allow ? (id: number) => includesSorted(allow, id) : () => true;
  const candidates = spec().exact
    ? Math.max(k, config.params.exactCandidates ?? settingDefault('LOOKALIKE_EXACT_CANDIDATES'))
    : k;
  const exact = Array.from({ length: nq }, (_, q) =>
    exactScores(queries.subarray(q * d, (q + 1) * d)).filter((h) => allowed(h.id)),
  );
  return {
    queries,
    nq,
    k,
    keep: (pos) => !dead.has(pos) && allowed(ids[pos]!),
    // a filter drops most of what FAISS finds: an exact kind must still get its `candidates` to re-score, not just k
    wanted: allow ? Math.min(candidates, allow.length) : Math.min(k, live.size + staged.size),
    candidates,
    // a filter keeps about its share of what FAISS finds: ask for that many more at once, not x4 at a time
    fetch: Math.min(ids.length, Math.ceil((candidates + dead.size) / kept(allow))),
    nprobe: probed(allow),
    exact,
    fromFaiss: exact.map(() => []),
    exhausted: false,
  };
}

/** Queries FAISS for these searches, all at their common `fetch` and `nprobe`, in one call; one whose call fails is
 *  asked alone, so only the search that caused the failure gets it. */
function searchFaiss(group: Searching[]): void {
  const { fetch, nprobe } = group[0]!;
  const widened = nprobe !== null && nprobe !== config.params.nprobe;
  try {
    const x = group.length === 1 ? group[0]!.queries : concatenate(group.map((s) => s.queries));
    if (widened) index!.setParameter('nprobe', nprobe); // faiss clamps it to the lists there are
    const { distances, labels } = index!.search(x, fetch);
    let row = 0;
    for (const s of group) {
      let short = 0;
      s.fromFaiss = s.exact.map(() => {
        const hits: SearchHit[] = [];
        for (let j = row * fetch; j < (row + 1) * fetch; j++) {
          const pos = labels[j]!;
          if (pos >= 0 && s.keep(pos)) hits.push({ id: ids[pos]!, score: distances[j]! });
        }
        if (labels[(row + 1) * fetch - 1]! < 0) short++; // FAISS pads with -1 what it did not find
        row++;
        return hits;
      });
      s.exhausted = short === s.nq;
    }
  } catch (err) {
    if (group.length === 1) group[0]!.error = err as Error;
    else for (const s of group) searchFaiss([s]);
  } finally {
    if (widened) applyParams(index!);
  }
}

function concatenate(parts: Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** The searches that can share a FAISS call: the same depth and lists probed, at most MAX_BATCH queries together,
 *  and whole vectors only (one of another length is asked alone, and fails alone). */
function faissCalls(searching: Searching[]): Searching[][] {
  const calls: Searching[][] = [];
  const open = new Map<string, { group: Searching[]; queries: number }>();
  for (const s of searching) {
    const whole = s.nq >= 1 && Number.isInteger(s.nq);
    const key = `${s.fetch} ${s.nprobe}`;
    const current = whole ? open.get(key) : undefined;
    if (current && current.queries + s.nq <= MAX_BATCH) {
      current.group.push(s);
      current.queries += s.nq;
      continue;
    }
    const group = [s];
    calls.push(group);
    if (whole) open.set(key, { group, queries: s.nq });
  }
  return calls;
}

/**
 * Several searches at once (those that queued while the worker was busy): FAISS answers all their queries in shared
 * calls, which it spreads over its threads, one query per thread. Each search gets exactly what it would alone: the
 * same depths asked, the same widening, the same re-scoring. A search that fails gets its error, the others their hits.
 */
function searchBatch(requests: SearchRequest[]): (Rescoring | Error)[] {
  const searches = requests.map(startSearch);
  // dead positions and a label filter can starve the top k: widen the search until it is full or covers everything
  for (let open = index && ids.length ? searches : []; open.length; ) {
    const next: Searching[] = [];
    for (const group of faissCalls(open)) {
      searchFaiss(group);
      for (const s of group) {
        const short = s.fromFaiss.some((hits, q) => hits.length + s.exact[q]!.length < s.wanted);
        if (!s.error && short && !s.exhausted && s.fetch < ids.length) {
          s.fetch = Math.min(ids.length, s.fetch * 4);
          next.push(s);
        }
      }
    }
    open = next;
  }
  const rescore = Boolean(spec().exact && index && ids.length);
  return searches.map(
    (s) =>
      s.error ?? {
        queries: s.queries,
        k: s.k,
        exact: s.exact,
        rescore,
        fromFaiss: rescore ? s.fromFaiss.map((hits) => hits.slice(0, s.candidates)) : s.fromFaiss,
      },
  );
}

const ops: IndexOps = {
  configure(c) {
    config = c;
    faiss.Index.setThreads(c.threads);
    stored = new StoredVectors(c.database, c.modelId, c.kind);
    clear();
    generation = 0;
  },

  load(): LoadStatus {
    return loadFrom(config.dir);
  },

  // Empties the index for a rebuild; a trained kind trains once, in finishBuild(), on everything it was given.
  beginBuild() {
    clear();
    building = true;
  },

  train(total, sample) {
    index = faiss.Index.fromFactory(config.dim, spec().factory(total, config.params, config.dim), INNER_PRODUCT);
    applyParams(index);
    index.train(sample);
    trainedOn = sample.length / config.dim;
    builtFor = total;
  },

  finishBuild() {
    building = false;
    if (staged.size >= MIN_TRAIN) trainFromStaged();
    builtFor = Math.max(builtFor, ids.length + staged.size);
  },

  // An id already in the index gets the new vector (its old one is dropped first): --force re-embeds for real.
  add(newIds, vectors) {
    const d = config.dim;
    const replaced = new Set(newIds.filter((id) => live.has(id)));
    dropFromFaiss(replaced);
    if (spec().trained && !index?.isTrained()) {
      newIds.forEach((id, i) => staged.set(id, vectors.slice(i * d, (i + 1) * d)));
      if (!building && staged.size >= MIN_TRAIN) trainFromStaged();
    } else {
      for (const id of newIds) staged.delete(id);
      addToFaiss(newIds, vectors);
    }
    return newIds.length;
  },

  remove(removeIds) {
    let removed = 0;
    const drop = new Set<number>();
    for (const id of removeIds) {
      if (staged.delete(id)) removed++;
      else if (live.has(id)) drop.add(id);
    }
    dropFromFaiss(drop);
    return removed + drop.size;
  },

  search(queries, k, allowIds) {
    const [found] = searchBatch([{ queries, k, allowIds }]);
    if (found instanceof Error) throw found;
    return stored.finish(found!);
  },

  save(seq) {
    mkdirSync(config.dir, { recursive: true });
    generation++;
    syncedSeq = seq;
    if (!index || ids.length === 0) {
      writeManifest({ file: null, fileBytes: 0, ids: [], dead: [], ntotal: 0, staged: staged.size || undefined });
      removeOtherGenerations(null);
      return;
    }
    const file = `${config.kind}.${generation}.faiss`;
    const tmp = join(config.dir, `${file}.tmp-${process.pid}`);
    withTemporary(tmp, () => {
      index!.write(tmp);
      fsyncPath(tmp);
      renameSync(tmp, join(config.dir, file));
    });
    fileBytes = statSync(join(config.dir, file)).size;
    writeManifest({ file, fileBytes, ids, dead: [...dead], ntotal: index.ntotal() });
    removeOtherGenerations(file);
  },

  connectRescorers(ports) {
    rescorers = ports;
  },

  liveIds() {
    return [...live.keys(), ...staged.keys()];
  },

  removeLeftovers() {
    if (!existsSync(config.dir)) return 0;
    const leftovers = readdirSync(config.dir).filter((f) => /\.tmp-\d+$/.test(f));
    for (const f of leftovers) rmSync(join(config.dir, f), { force: true });
    return leftovers.length;
  },

  // Takes over an index another worker built and saved in `dir` (a background rebuild): its files become this
  // index's next generation, atomically, and it replaces the one in memory.
  adopt(dir) {
    const status = loadFrom(dir);
    if (status.status !== 'loaded') throw new Error(`the rebuilt index cannot be used: ${status.reason}`);
    const m = readManifest(dir) as Manifest;
    mkdirSync(config.dir, { recursive: true });
    generation = Math.max(generation, readManifestGeneration()) + 1;
    const file = `${config.kind}.${generation}.faiss`;
    renameSync(join(dir, m.file!), join(config.dir, file));
    writeManifest({ file, fileBytes: m.fileBytes, ids, dead: [...dead], ntotal: index!.ntotal() });
    removeOtherGenerations(file);
    rmSync(dir, { recursive: true, force: true });
    return status.live;
  },

  stats(): IndexStats {
    return {
      kind: config.kind,
      dim: config.dim,
      live: live.size + staged.size,
      ntotal: index?.ntotal() ?? 0,
      tombstones: dead.size,
      staged: staged.size,
      bytesPerVector: spec().bytesPerVector(config.dim, config.params),
      trainedOn,
      builtFor,
      fileBytesPerVector: fileBytes && index?.ntotal() ? Math.round(fileBytes / index.ntotal()) : null,
    };
  },
};

function readManifestGeneration(): number {
  const m = readManifest(config.dir);
  return m && !('error' in m) ? (m.generation ?? 0) : 0;
}

function failed(seq: number, err: unknown): Response {
  const code = (err as { code?: unknown }).code; // faiss-node's out_of_memory
  return {
    seq,
    ok: false,
    error: err instanceof Error ? err.message : String(err),
    ...(typeof code === 'string' ? { code } : {}),
  };
}

function answer(seq: number, run: () => unknown): Response {
  try {
    return { seq, ok: true, result: run() };
  } catch (err) {
    return failed(seq, err);
  }
}

type SearchMessage = Extract<Request, { op: 'search' }>;

/** Answers searches that queued together in one batch (see searchBatch). */
function answerSearches(batch: SearchMessage[]): void {
  let found: (Rescoring | Error)[];
  try {
    found = searchBatch(batch.map((m) => ({ queries: m.args[0], k: m.args[1], allowIds: m.args[2] })));
  } catch {
    // a search that throws before FAISS is asked: each alone, so that it fails alone
    if (batch.length === 1) parentPort!.postMessage(answer(batch[0]!.seq, () => ops.search(...batch[0]!.args)));
    else for (const m of batch) answerSearches([m]);
    return;
  }
  const batched = batch.length > 1 ? ({ batched: true } as const) : {};
  batch.forEach((m, i) => {
    const f = found[i]!;
    if (f instanceof Error) return parentPort!.postMessage({ ...failed(m.seq, f), ...batched });
    // the re-scoring workers answer the main thread themselves, while this one searches the next batch: for a batch,
    // and for a search sent while others were outstanding (the next may already be on its way); one alone is
    // re-scored here, with no extra hop
    if (f.rescore && (batch.length > 1 || m.concurrent) && rescorers.length) {
      return rescorers[nextRescorer++ % rescorers.length]!.postMessage({
        seq: m.seq,
        ...f,
        batched: batch.length > 1,
      } satisfies Rescoring & { seq: number; batched: boolean });
    }
    parentPort!.postMessage({ ...answer(m.seq, () => stored.finish(f)), ...batched });
  });
}

// Messages are answered in the order they came. The searches that queued while the worker was busy, up to a change
// (an add, a remove, ...), are taken off the port together and answered as one batch.
parentPort!.on('message', (first: Request) => {
  const next = () => receiveMessageOnPort(parentPort!)?.message as Request | undefined;
  let msg: Request | undefined = first;
  while (msg) {
    if (msg.op !== 'search') {
      const m = msg;
      parentPort!.postMessage(answer(m.seq, () => (ops[m.op] as (...a: unknown[]) => unknown)(...m.args)));
      msg = next();
      continue;
    }
    const batch: SearchMessage[] = [msg];
    let queries = msg.args[0].length;
    for (msg = next(); msg?.op === 'search' && queries + msg.args[0].length <= MAX_BATCH * config.dim; msg = next()) {
      batch.push(msg);
      queries += msg.args[0].length;
    }
    answerSearches(batch);
  }
});
