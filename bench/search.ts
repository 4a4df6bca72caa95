// bench/search: each index kind on synthetic clustered unit vectors of the real width (4096), two ways:
//  - bulk: all vectors at once through the project's index layer (VectorIndex: worker thread, id mapping), and the
//    same saved file queried through faiss-node directly, in the same run;
//  - incremental: what users actually do, one image at a time through the gallery (SQLite, then the index), with
//    the background rebuilds that keep an IVF index sized for the gallery (trained anew each time it grows 4x).
// Prints build time, memory per vector, p50/p99 of one query, the layer/direct ratio and recall@10 against exact
// search.   npm run bench:search   (LOOKALIKE_BENCH_N=100000, LOOKALIKE_BENCH_HNSW_N=n, LOOKALIKE_BENCH_QUERIES=60,
// LOOKALIKE_BENCH_INCREMENTAL=0 to skip the incremental path)
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Gallery } from '../src/gallery/gallery.js';
import { KINDS, type IndexKind, type IndexParams } from '../src/index/kinds.js';
import { VectorIndex } from '../src/index/vector-index.js';
import { seededRandom } from '../src/models/random-models.js';
import { fakeImage, identity } from '../test/helpers/vectors.js';
import { percentile, table, timed } from './common.js';

const DIM = 4096, K = 10;
const N = Number(process.env.LOOKALIKE_BENCH_N ?? 100_000);
const HNSW_N = Number(process.env.LOOKALIKE_BENCH_HNSW_N ?? N);
const NQ = Number(process.env.LOOKALIKE_BENCH_QUERIES ?? 60);
const INCREMENTAL = process.env.LOOKALIKE_BENCH_INCREMENTAL !== '0';
const CLUSTERS = Math.max(10, Math.round(N / 50)), SUBSPACE = 256, NOISE = 0.75;
const params: IndexParams = { hnswM: 32, efSearch: 128, nprobe: 16 };

// Real embeddings are clustered and low-rank: cluster centres live in a 256-d subspace of the 4096-d space, and
// each vector is its centre plus isotropic noise (cosine to its centre about 0.8, to a cluster mate about 0.64).
function makeData(n: number, seed: number): { base: Float32Array; queries: Float32Array } {
  const rand = seededRandom(seed);
  const basis = new Float32Array(SUBSPACE * DIM).map(() => rand() * 2 - 1);
  const centres = new Float32Array(CLUSTERS * DIM);
  for (let c = 0; c < CLUSTERS; c++) {
    const row = centres.subarray(c * DIM, (c + 1) * DIM);
    for (let b = 0; b < SUBSPACE; b++) {
      const w = rand() * 2 - 1;
      const v = basis.subarray(b * DIM, (b + 1) * DIM);
      for (let i = 0; i < DIM; i++) row[i]! += w * v[i]!;
    }
    normalize(row, 1);
  }
  const noiseScale = NOISE * Math.sqrt(3 / DIM); // uniform noise with norm ~NOISE
  const point = (out: Float32Array, c: number) => {
    const centre = centres.subarray(c * DIM, (c + 1) * DIM);
    for (let i = 0; i < DIM; i++) out[i] = centre[i]! + (rand() * 2 - 1) * noiseScale;
    normalize(out, 1);
  };
  const base = new Float32Array(n * DIM);
  for (let i = 0; i < n; i++) point(base.subarray(i * DIM, (i + 1) * DIM), i % CLUSTERS);
  const queries = new Float32Array(NQ * DIM);
  for (let q = 0; q < NQ; q++) point(queries.subarray(q * DIM, (q + 1) * DIM), Math.floor(rand() * CLUSTERS));
  return { base, queries };
}
function normalize(v: Float32Array, to: number) {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i]! * v[i]!;
  const f = to / Math.sqrt(s);
  for (let i = 0; i < v.length; i++) v[i]! *= f;
}

interface Row {
  kind: string; path: 'bulk' | 'incremental'; n: number; buildS: number; bytes: number; p50: number; p99: number;
  dp50: number | null; dp99: number | null; recall: number; same: boolean | null; note: string;
}

const recallOf = (ids: number[][], truth: number[][]) => ids.reduce((s, got, q) => s + got.filter((id) => truth[q]!.includes(id)).length / K, 0) / NQ;

async function runKind(kind: IndexKind, base: Float32Array, n: number, queries: Float32Array, truth: number[][] | null, dir: string): Promise<{ row: Row; ids: number[][] }> {
  const index = await VectorIndex.start({ dir: join(dir, kind), kind, dim: DIM, modelId: 'bench', params, threads: 1 });
  const [, buildMs] = await timed(async () => {
    await index.call.beginBuild();
    for (let start = 0; start < n; start += 4096) {
      const end = Math.min(n, start + 4096);
      await index.call.add(Array.from({ length: end - start }, (_, i) => start + i + 1), base.subarray(start * DIM, end * DIM));
    }
    await index.call.finishBuild();
  });
  await index.call.save(0);
  const times: number[] = [];
  const ids: number[][] = [];
  for (let q = 0; q < NQ; q++) {
    const x = queries.slice(q * DIM, (q + 1) * DIM);
    const [hits, ms] = await timed(() => index.call.search(x, K));
    times.push(ms);
    ids.push(hits[0]!.map((h) => h.id));
  }
  await index.close();
  const sidecar = JSON.parse(readFileSync(join(dir, kind, `${kind}.json`), 'utf8')) as { ids: number[]; file: string };
  const file = join(dir, kind, sidecar.file);
  const param = kind === 'hnsw' ? ['efSearch', String(params.efSearch)] : kind === 'ivf-sq8' ? ['nprobe', String(params.nprobe)] : [];
  const direct = JSON.parse(execFileSync(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./faiss-direct.ts', import.meta.url)), file, join(dir, 'queries.f32'), String(DIM), String(K), ...param], { maxBuffer: 1 << 26 }).toString()) as { p50: number; p99: number; labels: number[][] };
  const same = direct.labels.every((l, q) => l.map((pos) => sidecar.ids[pos]).join() === ids[q]!.join());
  return {
    row: {
      kind, path: 'bulk', n, buildS: buildMs / 1000, bytes: statSync(file).size / n, p50: percentile(times, 50), p99: percentile(times, 99),
      dp50: direct.p50, dp99: direct.p99, recall: recallOf(ids, truth ?? ids), same, note: '',
    },
    ids,
  };
}

/** One image at a time through the gallery, as the builder and the API add them; background rebuilds included. */
async function runIncremental(kind: IndexKind, base: Float32Array, n: number, queries: Float32Array, truth: number[][], dir: string): Promise<Row> {
  const log: string[] = [];
  const gallery = await Gallery.open({ dataDir: join(dir, `incremental-${kind}`), identity: identity(DIM, 'bench'), indexKind: kind, indexParams: params, log: (m) => log.push(m) });
  try {
    const [, buildMs] = await timed(async () => {
      for (let i = 0; i < n; i++) await gallery.add(fakeImage(i), base.subarray(i * DIM, (i + 1) * DIM), { source: null, label: null });
      await gallery.idle(); // the last background rebuild, if one runs
    });
    const times: number[] = [];
    const ids: number[][] = [];
    for (let q = 0; q < NQ; q++) {
      const [hits, ms] = await timed(() => gallery.search(queries.slice(q * DIM, (q + 1) * DIM), { k: K }));
      times.push(ms);
      ids.push(hits.map((h) => h.id));
    }
    const stats = await gallery.indexStats();
    const rebuilds = log.filter((l) => /background rebuild done/.test(l)).length;
    return {
      kind, path: 'incremental', n, buildS: buildMs / 1000, bytes: NaN, p50: percentile(times, 50), p99: percentile(times, 99), dp50: null, dp99: null,
      recall: recallOf(ids, truth), same: null, note: rebuilds ? `${rebuilds} background rebuild(s), trained for ${stats.builtFor}` : '',
    };
  } finally {
    await gallery.close();
  }
}

const dir = mkdtempSync(join(tmpdir(), 'lookalike-bench-search-'));
try {
  const [{ base, queries }, genMs] = await timed(async () => makeData(N, 42));
  writeFileSync(join(dir, 'queries.f32'), Buffer.from(queries.buffer));
  console.log(`${N} vectors x ${DIM} dims in ${CLUSTERS} clusters, ${NQ} queries, made in ${(genMs / 1000).toFixed(1)} s`);
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
  // HNSW builds slowly (about 500 vectors/s at 4096 dims): measured at LOOKALIKE_BENCH_HNSW_N, with exact truth at that n
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
  console.log(`\nparams: HNSW M=${params.hnswM} efSearch=${params.efSearch}; IVF nprobe=${params.nprobe}; 1 faiss thread; k=${K}\n`);
  const f = (x: number | null, digits = 2) => (x === null || Number.isNaN(x) ? '-' : x.toFixed(digits));
  console.log(table(
    ['kind', 'path', 'n', 'build (s)', 'build rate (vec/s)', 'bytes/vector (file)', 'bytes/vector (model)', 'p50 (ms)', 'p99 (ms)', 'p50 direct (ms)', 'p99 direct (ms)', 'p50 ratio', 'recall@10', 'same ids', 'note'],
    rows.map((r) => [r.kind, r.path, r.n, r.buildS.toFixed(1), (r.n / r.buildS).toFixed(0), f(r.bytes, 0), KINDS[r.kind as IndexKind].bytesPerVector(DIM, params), f(r.p50), f(r.p99),
      f(r.dp50), f(r.dp99), r.dp50 === null ? '-' : (r.p50 / r.dp50).toFixed(3), r.recall.toFixed(3), r.same === null ? '-' : r.same ? 'yes' : 'NO', r.note])));
} finally {
  rmSync(dir, { recursive: true, force: true });
}
