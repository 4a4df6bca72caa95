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
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { parentPort } from 'node:worker_threads';
import Database from 'better-sqlite3';
import type * as FaissNode from 'faiss-node';
import { storedDot } from '../util/vector-format.js';
import { cosineScore, dot } from '../util/vectors.js';
import { settingDefault } from '../config.js';
import { KINDS, MIN_TRAIN, trainingSize } from './kinds.js';
import type { IndexConfig, IndexOps, IndexStats, LoadStatus, Request, Response, SearchHit } from './protocol.js';

const faiss = createRequire(import.meta.url)('faiss-node') as typeof FaissNode;
const INNER_PRODUCT = 0;
const FORMAT = 2;

// `staged` is set when nothing is in FAISS yet because a compressed kind still waits for training vectors: then
// there is no index file, and the manifest only says why.
interface Manifest {
  format: number; kind: string; dim: number; modelId: string; generation: number; file: string | null; fileBytes: number;
  ids: number[]; dead: number[]; trainedOn: number; builtFor: number; ntotal: number; staged?: number; hnswM?: number;
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
let vectorsDb: { db: Database.Database; read: Database.Statement } | null = null;

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
    index = faiss.Index.fromFactory(config.dim, spec().factory(newIds.length, config.params, config.dim), INNER_PRODUCT);
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
  for (const id of newIds) { live.set(id, ids.length); ids.push(id); }
}

function trainFromStaged(): void {
  const stagedIds = [...staged.keys()];
  const x = new Float32Array(stagedIds.length * config.dim);
  stagedIds.forEach((id, row) => x.set(staged.get(id)!, row * config.dim));
  staged = new Map();
  addToFaiss(stagedIds, x);
}

/** The stored vectors of these ids (those still in the database, as stored), for re-scoring. */
function storedVectors(idList: number[]): Map<number, Uint8Array> {
  if (!config.database) throw new Error(`${config.kind} re-scores its candidates with the stored vectors: the index needs its database`);
  vectorsDb ??= (() => {
    const db = new Database(config.database, { readonly: true, fileMustExist: true });
    db.pragma('busy_timeout = 5000');
    const read = db.prepare(`SELECT e.image_id AS id, e.vector FROM embeddings e JOIN models m ON m.id = e.model_id
      WHERE m.model_id = ? AND e.image_id IN (SELECT value FROM json_each(?))`);
    return { db, read };
  })();
  const rows = vectorsDb.read.all(config.modelId, JSON.stringify(idList)) as { id: number; vector: Buffer }[];
  return new Map(rows.map((r) => [r.id, r.vector]));
}

/** Exact cosines of the candidates; one deleted from the database meanwhile drops out. */
function rescore(query: Float32Array, hits: SearchHit[]): SearchHit[] {
  const vectors = storedVectors(hits.map((h) => h.id));
  return hits.flatMap((h) => {
    const v = vectors.get(h.id);
    return v ? [{ id: h.id, score: storedDot(v, query) }] : [];
  });
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
  try { fsyncSync(fd); } finally { closeSync(fd); }
}

/** Writes the manifest atomically (the commit point of a save). */
function writeManifest(contents: Pick<Manifest, 'file' | 'fileBytes' | 'ids' | 'dead' | 'ntotal' | 'staged'>): void {
  const m: Manifest = {
    format: FORMAT, kind: config.kind, dim: config.dim, modelId: config.modelId, generation, trainedOn, builtFor, ...contents, ...buildParams(),
    ...(syncedSeq === null ? {} : { syncedSeq }),
  };
  const tmp = `${manifestPath()}.tmp-${process.pid}`;
  withTemporary(tmp, () => {
    writeFileSync(tmp, JSON.stringify(m));
    fsyncPath(tmp);
    if (process.env.LOOKALIKE_CRASH_AT === 'index-commit') process.kill(process.pid, 'SIGKILL'); // test hook: a crash at the worst moment
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
    if (f.startsWith(prefix) && (f.endsWith('.faiss') || f.includes('.faiss.tmp-')) && f !== keep) rmSync(join(config.dir, f), { force: true });
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

/** Loads the index a manifest describes into memory, replacing the current one; a LoadStatus other than 'loaded' if unusable. */
function loadFrom(dir: string): LoadStatus {
  clear();
  const missing: LoadStatus = { status: 'missing', reason: `no index in ${dir}` };
  const m = readManifest(dir);
  if (!m) return missing;
  if ('error' in m) return { status: 'corrupt', reason: m.error };
  if (m.format !== FORMAT) return { status: 'mismatch', reason: `the index files are of an older format (${m.format ?? 1}): rebuilding once` };
  if (m.modelId !== config.modelId || m.dim !== config.dim || m.kind !== config.kind) {
    return { status: 'mismatch', reason: `the index file was made for model ${m.modelId} (${m.dim} dims, ${m.kind}), not ${config.modelId} (${config.dim} dims, ${config.kind})` };
  }
  if (m.hnswM !== buildParams().hnswM) {
    return { status: 'mismatch', reason: `the index file was built with LOOKALIKE_HNSW_M=${m.hnswM}, the setting is now ${config.params.hnswM}` };
  }
  generation = m.generation;
  syncedSeq = m.syncedSeq ?? null;
  if (m.staged) return { status: 'untrained', reason: `${m.staged} vectors, fewer than the ${MIN_TRAIN} that ${config.kind} trains on: searched exactly until then` };
  if (!m.file) return missing;
  const file = join(dir, m.file);
  if (!existsSync(file)) return { status: 'corrupt', reason: `the manifest names ${file}, which is missing` };
  if (statSync(file).size !== m.fileBytes) return { status: 'corrupt', reason: `${file} is ${statSync(file).size} bytes, its manifest says ${m.fileBytes}` };
  let idx: FaissNode.Index;
  try {
    idx = faiss.Index.read(file);
  } catch (err) {
    return { status: 'corrupt', reason: `unreadable ${file}: ${(err as Error).message}` };
  }
  if (idx.getDimension() !== config.dim || idx.ntotal() !== m.ids.length || m.ntotal !== m.ids.length) {
    return { status: 'corrupt', reason: `${file} holds ${idx.ntotal()} vectors of ${idx.getDimension()} dims, its manifest lists ${m.ids.length}` };
  }
  applyParams(idx);
  index = idx;
  ids = m.ids;
  dead = new Set(m.dead);
  ids.forEach((id, pos) => { if (!dead.has(pos)) live.set(id, pos); });
  trainedOn = m.trainedOn;
  builtFor = m.builtFor;
  fileBytes = m.fileBytes;
  // with a syncedSeq the caller reads the database's changes since; without, it compares every id
  return { status: 'loaded', ids: syncedSeq === null ? [...live.keys()] : null, live: live.size, syncedSeq };
}

/** Drops these ids from the index: flat removes them (renumbering later positions), other kinds mark their position dead. */
function dropFromFaiss(drop: Set<number>): void {
  if (!index || !drop.size) return;
  if (spec().removable) {
    index.removeIds([...drop].map((id) => live.get(id)!));
    ids = ids.filter((id) => !drop.has(id)); // flat removal keeps the order of the rest
    live = new Map(ids.map((id, pos) => [id, pos]));
  } else {
    for (const id of drop) { dead.add(live.get(id)!); live.delete(id); }
  }
}

const ops: IndexOps = {
  configure(c) {
    config = c;
    faiss.Index.setThreads(c.threads);
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
    const d = config.dim;
    const nq = queries.length / d;
    const allow = allowIds ? new Set(allowIds) : null;
    const keep = (pos: number) => !dead.has(pos) && (!allow || allow.has(ids[pos]!));
    const wanted = Math.min(k, allow ? allow.size : live.size + staged.size);
    const candidates = spec().exact ? Math.max(k, config.params.exactCandidates ?? settingDefault('LOOKALIKE_EXACT_CANDIDATES')) : k;
    const exact = Array.from({ length: nq }, (_, q) => exactScores(queries.subarray(q * d, (q + 1) * d)).filter((h) => !allow || allow.has(h.id)));
    let fromFaiss: SearchHit[][] = exact.map(() => []);
    if (index && ids.length) {
      // dead positions and a label filter can starve the top k: widen the search until it is full or covers everything
      for (let fetch = Math.min(ids.length, candidates + dead.size); ; fetch = Math.min(ids.length, fetch * 4)) {
        const { distances, labels } = index.search(queries, fetch);
        fromFaiss = exact.map((_, q) => {
          const hits: SearchHit[] = [];
          for (let j = q * fetch; j < (q + 1) * fetch; j++) {
            const pos = labels[j]!;
            if (pos >= 0 && keep(pos)) hits.push({ id: ids[pos]!, score: distances[j]! });
          }
          return hits;
        });
        const short = fromFaiss.some((hits, q) => hits.length + exact[q]!.length < wanted);
        if (!short || fetch >= ids.length) break;
      }
      if (spec().exact) fromFaiss = fromFaiss.map((hits, q) => rescore(queries.subarray(q * d, (q + 1) * d), hits.slice(0, candidates)));
    }
    // every score the index answers is made here: kept to [-1, 1] before it is ordered
    return exact.map((hits, q) => [...hits, ...fromFaiss[q]!].map((h) => ({ id: h.id, score: cosineScore(h.score) }))
      .sort((a, b) => b.score - a.score || a.id - b.id).slice(0, k));
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
      kind: config.kind, dim: config.dim, live: live.size + staged.size, ntotal: index?.ntotal() ?? 0,
      tombstones: dead.size, staged: staged.size, bytesPerVector: spec().bytesPerVector(config.dim, config.params), trainedOn, builtFor,
      fileBytesPerVector: fileBytes && index?.ntotal() ? Math.round(fileBytes / index.ntotal()) : null,
    };
  },
};

function readManifestGeneration(): number {
  const m = readManifest(config.dir);
  return m && !('error' in m) ? m.generation ?? 0 : 0;
}

parentPort!.on('message', (msg: Request) => {
  let response: Response;
  try {
    const result = (ops[msg.op] as (...a: unknown[]) => unknown)(...msg.args);
    response = { seq: msg.seq, ok: true, result };
  } catch (err) {
    const code = (err as { code?: unknown }).code; // faiss-node's out_of_memory
    response = { seq: msg.seq, ok: false, error: err instanceof Error ? err.message : String(err), ...(typeof code === 'string' ? { code } : {}) };
  }
  parentPort!.postMessage(response);
});
