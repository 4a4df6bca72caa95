// The index worker: owns the FAISS index (faiss-node is loaded in this thread only), the map from FAISS positions
// to image ids, and the index files. One message at a time, so no locking.
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { parentPort } from 'node:worker_threads';
import type * as FaissNode from 'faiss-node';
import { KINDS, MIN_TRAIN, trainingSize } from './kinds.js';
import type { IndexConfig, IndexOps, IndexStats, LoadStatus, Request, Response, SearchHit } from './protocol.js';

const faiss = createRequire(import.meta.url)('faiss-node') as typeof FaissNode;
const INNER_PRODUCT = 0;

// `staged` is set when nothing is in FAISS yet because a compressed kind still waits for training vectors: then
// there is no index file, and the sidecar only says why.
interface Sidecar { format: 1; kind: string; dim: number; modelId: string; ids: number[]; tombstones: number[]; trainedOn: number; ntotal: number; staged?: number; hnswM?: number }

let config: IndexConfig;
let index: FaissNode.Index | null = null;
let ids: number[] = []; // FAISS position -> image id
let present = new Set<number>(); // ids in FAISS, tombstoned or not
let tombstones = new Set<number>(); // removed from a kind that cannot remove: filtered out until a rebuild
// A trained kind (SQ8, IVF) is not trained on a handful of vectors: until it has MIN_TRAIN they wait here and are
// searched exactly. They are not saved; the sync on open adds them again from SQLite.
let staged = new Map<number, Float32Array>();
let building = false;
let trainedOn = 0;

const files = () => ({ index: join(config.dir, `${config.kind}.faiss`), sidecar: join(config.dir, `${config.kind}.json`) });
const spec = () => KINDS[config.kind];

function clear(): void {
  index = null;
  ids = [];
  present = new Set();
  tombstones = new Set();
  staged = new Map();
  building = false;
  trainedOn = 0;
}

function applyParams(idx: FaissNode.Index): void {
  if (config.kind === 'hnsw') idx.setParameter('efSearch', config.params.efSearch);
  if (config.kind === 'ivf-sq8') idx.setParameter('nprobe', config.params.nprobe);
}

function addToFaiss(newIds: number[], vectors: Float32Array): void {
  if (!index) {
    index = faiss.Index.fromFactory(config.dim, spec().factory(newIds.length, config.params), INNER_PRODUCT);
    applyParams(index);
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
  for (const id of newIds) { ids.push(id); present.add(id); }
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
  for (const [id, v] of staged) {
    let s = 0;
    for (let i = 0; i < v.length; i++) s += v[i]! * query[i]!;
    hits.push({ id, score: s });
  }
  return hits;
}

/** The parameters an index file was built with and cannot change afterwards: another value means a rebuild. */
function buildParams(): Pick<Sidecar, 'hnswM'> {
  return config.kind === 'hnsw' ? { hnswM: config.params.hnswM } : {};
}

function writeSidecar(contents: Pick<Sidecar, 'ids' | 'tombstones' | 'trainedOn' | 'ntotal' | 'staged'>): void {
  const { sidecar } = files();
  const side: Sidecar = { format: 1, kind: config.kind, dim: config.dim, modelId: config.modelId, ...contents, ...buildParams() };
  writeFileSync(`${sidecar}.tmp-${process.pid}`, JSON.stringify(side));
  renameSync(`${sidecar}.tmp-${process.pid}`, sidecar);
}

const ops: IndexOps = {
  configure(c) {
    config = c;
    faiss.Index.setThreads(c.threads);
    clear();
  },

  load(): LoadStatus {
    clear();
    const f = files();
    const missing: LoadStatus = { status: 'missing', reason: `no index file at ${f.index}` };
    if (!existsSync(f.sidecar)) return missing;
    let side: Sidecar;
    try {
      side = JSON.parse(readFileSync(f.sidecar, 'utf8')) as Sidecar;
    } catch (err) {
      return { status: 'corrupt', reason: `unreadable ${f.sidecar}: ${(err as Error).message}` };
    }
    if (side.modelId !== config.modelId || side.dim !== config.dim || side.kind !== config.kind) {
      return { status: 'mismatch', reason: `the index file was made for model ${side.modelId} (${side.dim} dims, ${side.kind}), not ${config.modelId} (${config.dim} dims, ${config.kind})` };
    }
    if (side.hnswM !== buildParams().hnswM) {
      return { status: 'mismatch', reason: `the index file was built with LOOKALIKE_HNSW_M=${side.hnswM}, the setting is now ${config.params.hnswM}` };
    }
    if (side.staged) return { status: 'untrained', reason: `${side.staged} vectors, fewer than the ${MIN_TRAIN} that ${config.kind} trains on: searched exactly until then` };
    if (!existsSync(f.index)) return missing;
    let idx: FaissNode.Index;
    try {
      idx = faiss.Index.read(f.index);
    } catch (err) {
      return { status: 'corrupt', reason: `unreadable ${f.index}: ${(err as Error).message}` };
    }
    if (idx.getDimension() !== config.dim || idx.ntotal() !== side.ids.length || side.ntotal !== side.ids.length) {
      return { status: 'corrupt', reason: `${f.index} holds ${idx.ntotal()} vectors of ${idx.getDimension()} dims, its sidecar lists ${side.ids.length}` };
    }
    applyParams(idx);
    index = idx;
    ids = side.ids;
    present = new Set(ids);
    tombstones = new Set(side.tombstones);
    trainedOn = side.trainedOn;
    return { status: 'loaded', ids: ids.filter((id) => !tombstones.has(id)) };
  },

  // Empties the index for a rebuild; a trained kind trains once, in finishBuild(), on everything it was given.
  beginBuild() {
    clear();
    building = true;
  },

  finishBuild() {
    building = false;
    if (staged.size >= MIN_TRAIN) trainFromStaged();
  },

  add(newIds, vectors) {
    const d = config.dim;
    const fresh: number[] = [];
    const rows: number[] = [];
    let added = 0;
    newIds.forEach((id, i) => {
      if (tombstones.delete(id)) added++; // its vector is still in FAISS: a model's vector for an image never changes
      else if (!present.has(id) && !staged.has(id)) { fresh.push(id); rows.push(i); }
    });
    if (!fresh.length) return added;
    if (spec().trained && !index?.isTrained()) {
      fresh.forEach((id, j) => staged.set(id, vectors.slice(rows[j]! * d, (rows[j]! + 1) * d)));
      if (!building && staged.size >= MIN_TRAIN) trainFromStaged();
    } else {
      const x = new Float32Array(fresh.length * d);
      rows.forEach((i, row) => x.set(vectors.subarray(i * d, (i + 1) * d), row * d));
      addToFaiss(fresh, x);
    }
    return added + fresh.length;
  },

  remove(removeIds) {
    let removed = 0;
    const drop = new Set<number>();
    for (const id of removeIds) {
      if (staged.delete(id)) removed++;
      else if (present.has(id) && !tombstones.has(id)) drop.add(id);
    }
    if (!drop.size || !index) return removed;
    if (spec().removable) {
      index.removeIds(ids.flatMap((id, pos) => (drop.has(id) ? [pos] : [])));
      ids = ids.filter((id) => !drop.has(id)); // flat removal keeps the order of the rest
      for (const id of drop) present.delete(id);
    } else {
      for (const id of drop) tombstones.add(id);
    }
    return removed + drop.size;
  },

  search(queries, k, allowIds) {
    const d = config.dim;
    const nq = queries.length / d;
    const allow = allowIds ? new Set(allowIds) : null;
    const keep = (id: number) => !tombstones.has(id) && (!allow || allow.has(id));
    const live = ids.length - tombstones.size + staged.size;
    const wanted = Math.min(k, allow ? allow.size : live);
    const exact = Array.from({ length: nq }, (_, q) => exactScores(queries.subarray(q * d, (q + 1) * d)).filter((h) => keep(h.id)));
    let fromFaiss: SearchHit[][] = exact.map(() => []);
    if (index && ids.length) {
      // tombstones and a label filter can starve the top k: widen the search until it is full or covers everything
      for (let fetch = Math.min(ids.length, k + tombstones.size); ; fetch = Math.min(ids.length, fetch * 4)) {
        const { distances, labels } = index.search(queries, fetch);
        fromFaiss = exact.map((_, q) => {
          const hits: SearchHit[] = [];
          for (let j = q * fetch; j < (q + 1) * fetch; j++) {
            const pos = labels[j]!;
            if (pos >= 0 && keep(ids[pos]!)) hits.push({ id: ids[pos]!, score: distances[j]! });
          }
          return hits;
        });
        const short = fromFaiss.some((hits, q) => hits.length + exact[q]!.length < wanted);
        if (!short || fetch >= ids.length) break;
      }
    }
    return exact.map((hits, q) => [...hits, ...fromFaiss[q]!].sort((a, b) => b.score - a.score || a.id - b.id).slice(0, k));
  },

  save() {
    const f = files();
    mkdirSync(config.dir, { recursive: true });
    if (!index || ids.length === 0) {
      rmSync(f.index, { force: true });
      if (staged.size) writeSidecar({ ids: [], tombstones: [], trainedOn: 0, ntotal: 0, staged: staged.size });
      else rmSync(f.sidecar, { force: true });
      return;
    }
    // index first, then the sidecar that vouches for it; a crash in between leaves a mismatch that load() detects
    const tmp = `${f.index}.tmp-${process.pid}`;
    index.write(tmp);
    renameSync(tmp, f.index);
    writeSidecar({ ids, tombstones: [...tombstones], trainedOn, ntotal: index.ntotal() });
  },

  stats(): IndexStats {
    return {
      kind: config.kind, dim: config.dim, live: ids.length - tombstones.size + staged.size, ntotal: index?.ntotal() ?? 0,
      tombstones: tombstones.size, staged: staged.size, bytesPerVector: spec().bytesPerVector(config.dim, config.params), trainedOn,
    };
  },
};

parentPort!.on('message', (msg: Request) => {
  let response: Response;
  try {
    const result = (ops[msg.op] as (...a: unknown[]) => unknown)(...msg.args);
    response = { seq: msg.seq, ok: true, result };
  } catch (err) {
    response = { seq: msg.seq, ok: false, error: err instanceof Error ? err.message : String(err) };
  }
  parentPort!.postMessage(response);
});
