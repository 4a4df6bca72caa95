// bench/search: each index kind on bench/synthetic's clustered unit vectors of the real width (4096), or with
// --vectors fashion on the demo embedding model's encodes of Fashion-MNIST (bench/fashion-vectors.ts), two ways:
//  - bulk: all vectors at once through the project's index layer (VectorIndex: worker thread, id mapping), and the
//    same saved file queried through faiss-node directly, in the same run;
//  - incremental: what users actually do, one image at a time through the gallery (SQLite, then the index), with
//    the background rebuilds that keep an IVF index sized for the gallery (trained anew each time it grows 4x).
// Prints the index measured (faiss factory: lists, codes), build time, memory per vector, p50/p99 of one query after a
// full warm-up pass, queries per second at 1, 8 and 32 in flight (distinct queries), the layer/direct ratio and
// recall@10 against exact search.   npm run bench:search [-- --json rows.json] [-- --vectors fashion]
// (LOOKALIKE_BENCH_N=100000, LOOKALIKE_BENCH_HNSW_N=n, LOOKALIKE_BENCH_QUERIES=256, LOOKALIKE_BENCH_INCREMENTAL=0 to
// skip the incremental path)
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Gallery } from '../src/engine/gallery/gallery.js';
import { KINDS, type IndexKind, type IndexParams } from '../src/engine/index/kinds.js';
import { cosineScore } from '../src/core/util/vectors.js';
import { VectorIndex } from '../src/engine/index/vector-index.js';
import { parseArgs } from 'node:util';
import { fakeImage, identity } from '../test/helpers/vectors.js';
import { table, timed } from './common.js';
import { loadFashionVectors } from './fashion-vectors.js';
import { measure, writeRows } from './load.js';
import { DIM as SYNTHETIC_DIM, describeSynthetic, makeSource } from './synthetic.js';

const K = 10;
const { values } = parseArgs({
  options: { json: { type: 'string' }, vectors: { type: 'string', default: 'synthetic' } },
});
const N = Number(process.env.LOOKALIKE_BENCH_N ?? 100_000);
const HNSW_ENV = Number(process.env.LOOKALIKE_BENCH_HNSW_N ?? N);
const NQ = Number(process.env.LOOKALIKE_BENCH_QUERIES ?? 256);
const INCREMENTAL = process.env.LOOKALIKE_BENCH_INCREMENTAL !== '0';
const params: IndexParams = { hnswM: 32, efSearch: 128, nprobe: 16 };
/** FAISS threads for a batch of searches (the server's default: every core). */
const THREADS = availableParallelism();

/** bench/synthetic's vectors (4096 dims), or the demo model's encodes of Fashion-MNIST (64 dims): the last NQ
 *  pictures of the test set are the queries, the first n of the rest the gallery. */
async function makeData(): Promise<{
  base: Float32Array;
  queries: Float32Array;
  dim: number;
  n: number;
  vectors: string;
}> {
  if (values.vectors === 'fashion') {
    const f = await loadFashionVectors();
    const n = Math.min(N, f.count - NQ);
    return {
      base: f.vectors.subarray(0, n * f.dim),
      queries: f.vectors.slice((f.count - NQ) * f.dim),
      dim: f.dim,
      n,
      vectors: 'fashion-mnist-demo-embedding',
    };
  }
  if (values.vectors !== 'synthetic') throw new Error(`--vectors ${values.vectors}: synthetic or fashion`);
  const src = makeSource(N, 42),
    DIM = SYNTHETIC_DIM;
  const base = new Float32Array(N * DIM);
  for (let i = 0; i < N; i++) src.point(base.subarray(i * DIM, (i + 1) * DIM), i % src.clusters);
  return { base, queries: src.queries(NQ), dim: DIM, n: N, vectors: describeSynthetic(42) };
}

interface Row {
  kind: string;
  index: string;
  path: 'bulk' | 'incremental';
  n: number;
  buildS: number;
  bytes: number;
  p50: number;
  p99: number;
  qps1: number | null;
  qps8: number | null;
  qps32: number | null;
  dp50: number | null;
  dp99: number | null;
  recall: number;
  same: boolean | null;
  note: string;
}
let DIM = 4096;

const recallOf = (ids: number[][], truth: number[][]) =>
  ids.reduce((s, got, q) => s + got.filter((id) => truth[q]!.includes(id)).length / K, 0) / NQ;

async function runKind(
  kind: IndexKind,
  base: Float32Array,
  n: number,
  queries: Float32Array,
  truth: number[][] | null,
  dir: string,
): Promise<{ row: Row; ids: number[][] }> {
  const index = await VectorIndex.start({
    dir: join(dir, kind),
    kind,
    dim: DIM,
    modelId: 'bench',
    params,
    threads: THREADS,
  });
  const [, buildMs] = await timed(async () => {
    await index.call.beginBuild();
    for (let start = 0; start < n; start += 4096) {
      const end = Math.min(n, start + 4096);
      await index.call.add(
        Array.from({ length: end - start }, (_, i) => start + i + 1),
        base.subarray(start * DIM, end * DIM),
      );
    }
    await index.call.finishBuild();
  });
  await index.call.save(0);
  const stats = await index.call.stats();
  const m = await measure(
    async (q) => (await index.call.search(queries.slice(q * DIM, (q + 1) * DIM), K))[0]!.map((h) => h.id),
    NQ,
  );
  const ids = m.hits;
  await index.close();
  const sidecar = JSON.parse(readFileSync(join(dir, kind, `${kind}.json`), 'utf8')) as { ids: number[]; file: string };
  const file = join(dir, kind, sidecar.file);
  const param =
    kind === 'hnsw'
      ? ['efSearch', String(params.efSearch)]
      : kind === 'ivf-sq8'
        ? ['nprobe', String(params.nprobe)]
        : [];
  const direct = JSON.parse(
    execFileSync(
      process.execPath,
      [
        '--import',
        'tsx',
        fileURLToPath(new URL('./faiss-direct.ts', import.meta.url)),
        file,
        join(dir, 'queries.f32'),
        String(DIM),
        String(K),
        ...param,
      ],
      { maxBuffer: 1 << 26 },
    ).toString(),
  ) as { p50: number; p99: number; labels: number[][]; distances: number[][] };
  // faiss orders equal scores as its heap left them; the layer orders them by id, after keeping every score to
  // [-1, 1] (ivf-sq8's approximate ones can pass 1: they all become 1, a tie). Compared in the layer's order, both
  // return the same hits; `tieOrder` counts the queries whose raw orders differ only there.
  const directIds = direct.labels.map((l, q) =>
    l
      .map((pos, j) => ({ id: sidecar.ids[pos]!, score: cosineScore(direct.distances[q]![j]!) }))
      .sort((a, b) => b.score - a.score || a.id - b.id)
      .map((h) => h.id),
  );
  const same = directIds.every((l, q) => l.join() === ids[q]!.join());
  const tieOrder = direct.labels.filter((l, q) => l.map((pos) => sidecar.ids[pos]).join() !== ids[q]!.join()).length;
  return {
    row: {
      kind,
      index: KINDS[kind].factory(stats.builtFor, params, DIM),
      path: 'bulk',
      n,
      buildS: buildMs / 1000,
      bytes: statSync(file).size / n,
      p50: m.p50ms,
      p99: m.p99ms,
      qps1: m.qps1,
      qps8: m.qps8,
      qps32: m.qps32,
      dp50: direct.p50,
      dp99: direct.p99,
      recall: recallOf(ids, truth ?? ids),
      same,
      note: same && tieOrder ? `${tieOrder} queries' raw faiss order differs in tied scores only` : '',
    },
    ids,
  };
}

/** One image at a time through the gallery, as the builder and the API add them; background rebuilds included. */
async function runIncremental(
  kind: IndexKind,
  base: Float32Array,
  n: number,
  queries: Float32Array,
  truth: number[][],
  dir: string,
): Promise<Row> {
  const log: string[] = [];
  const gallery = await Gallery.open({
    dataDir: join(dir, `incremental-${kind}`),
    identity: identity(DIM, 'bench'),
    indexKind: kind,
    indexParams: params,
    faissThreads: THREADS,
    log: (m) => log.push(m),
  });
  try {
    const [, buildMs] = await timed(async () => {
      for (let i = 0; i < n; i++)
        await gallery.add(fakeImage(i), base.subarray(i * DIM, (i + 1) * DIM), { source: null, label: null });
      await gallery.idle(); // the last background rebuild, if one runs
    });
    const m = await measure(
      async (q) => (await gallery.search(queries.slice(q * DIM, (q + 1) * DIM), { k: K })).map((h) => h.id),
      NQ,
    );
    const ids = m.hits;
    const stats = await gallery.indexStats();
    const rebuilds = log.filter((l) => /background rebuild done/.test(l)).length;
    return {
      kind,
      index: KINDS[kind].factory(stats.builtFor, params, DIM),
      path: 'incremental',
      n,
      buildS: buildMs / 1000,
      bytes: NaN,
      p50: m.p50ms,
      p99: m.p99ms,
      qps1: m.qps1,
      qps8: m.qps8,
      qps32: m.qps32,
      dp50: null,
      dp99: null,
      recall: recallOf(ids, truth),
      same: null,
      note: rebuilds ? `${rebuilds} background rebuild(s), trained for ${stats.builtFor}` : '',
    };
  } finally {
    await gallery.close();
  }
}

const dir = mkdtempSync(join(tmpdir(), 'lookalike-bench-search-'));
try {
  const [data, genMs] = await timed(makeData);
  const { base, queries, n: N } = data;
  DIM = data.dim;
  const HNSW_N = Math.min(HNSW_ENV, N);
  writeFileSync(join(dir, 'queries.f32'), Buffer.from(queries.buffer, queries.byteOffset, queries.byteLength));
  console.log(`${N} vectors x ${DIM} dims (${data.vectors}), ${NQ} queries, made in ${(genMs / 1000).toFixed(1)} s`);
  const rows: Row[] = [];
  const exact = await runKind('flat', base, N, queries, null, dir);
  rows.push(exact.row);
  console.log(exact.row);
  const ivf = await runKind('ivf-sq8', base, N, queries, exact.ids, dir);
  rows.push(ivf.row);
  console.log(ivf.row);
  if (INCREMENTAL) {
    for (const kind of ['flat', 'ivf-sq8'] as IndexKind[]) {
      const r = await runIncremental(kind, base, N, queries, exact.ids, dir);
      rows.push(r);
      console.log(r);
    }
  }
  // HNSW builds slowly (about 500 vectors/s at 4096 dims): measured at LOOKALIKE_BENCH_HNSW_N, with exact truth at that
  // n
  const small = base.subarray(0, HNSW_N * DIM);
  const exactSmall = HNSW_N === N ? exact : await runKind('flat', small, HNSW_N, queries, null, dir);
  if (HNSW_N !== N) rows.push(exactSmall.row);
  const h = await runKind('hnsw', small, HNSW_N, queries, exactSmall.ids, dir);
  rows.push(h.row);
  console.log(h.row);
  if (INCREMENTAL) {
    const r = await runIncremental('hnsw', small, HNSW_N, queries, exactSmall.ids, dir);
    rows.push(r);
    console.log(r);
  }
  console.log(
    `\nparams: HNSW M=${params.hnswM} efSearch=${params.efSearch}; IVF nprobe=${params.nprobe}; ${THREADS} faiss ` +
      `thread(s); k=${K}\n`,
  );
  const f = (x: number | null, digits = 2) => (x === null || Number.isNaN(x) ? '-' : x.toFixed(digits));
  console.log(
    table(
      [
        'kind',
        'index',
        'path',
        'n',
        'build (s)',
        'build rate (vec/s)',
        'bytes/vector (file)',
        'bytes/vector (model)',
        'p50 (ms)',
        'p99 (ms)',
        'qps x1',
        'qps x8',
        'qps x32',
        'p50 direct (ms)',
        'p99 direct (ms)',
        'p50 ratio',
        'recall@10',
        'same ids',
        'note',
      ],
      rows.map((r) => [
        r.kind,
        r.index,
        r.path,
        r.n,
        r.buildS.toFixed(1),
        (r.n / r.buildS).toFixed(0),
        f(r.bytes, 0),
        KINDS[r.kind as IndexKind].bytesPerVector(DIM, params),
        f(r.p50),
        f(r.p99),
        f(r.qps1, 0),
        f(r.qps8, 0),
        f(r.qps32, 0),
        f(r.dp50),
        f(r.dp99),
        r.dp50 === null ? '-' : (r.p50 / r.dp50).toFixed(3),
        r.recall.toFixed(3),
        r.same === null ? '-' : r.same ? 'yes' : 'NO',
        r.note,
      ]),
    ),
  );
  writeRows(
    values.json,
    rows.map((r) => ({
      system: 'lookalike',
      kind: r.kind,
      index: r.index,
      vectors: data.vectors,
      n: r.n,
      recall10: r.recall,
      p50ms: r.p50,
      p99ms: r.p99,
      qps1: r.qps1,
      qps8: r.qps8,
      qps32: r.qps32,
      path: r.path,
      buildS: r.buildS,
      bytesPerVector: Number.isNaN(r.bytes) ? null : r.bytes,
      directP50ms: r.dp50,
      sameIds: r.same,
    })),
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
