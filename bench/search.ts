// bench/search: each index kind on synthetic clustered unit vectors of the real width (4096), through the project's
// index layer (VectorIndex: worker thread, id mapping) and through faiss-node directly, in the same run.
// Prints build time, memory per vector, p50/p99 of one query, the layer/direct ratio and recall@10 against exact
// search.   npm run bench:search   (LOOKALIKE_BENCH_N=100000, LOOKALIKE_BENCH_HNSW_N=n, LOOKALIKE_BENCH_QUERIES=60)
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { KINDS, type IndexKind, type IndexParams } from '../src/index/kinds.js';
import { VectorIndex } from '../src/index/vector-index.js';
import { seededRandom } from '../src/models/random-models.js';
import { percentile, table, timed } from './common.js';

const DIM = 4096, K = 10;
const N = Number(process.env.LOOKALIKE_BENCH_N ?? 100_000);
const HNSW_N = Number(process.env.LOOKALIKE_BENCH_HNSW_N ?? N);
const NQ = Number(process.env.LOOKALIKE_BENCH_QUERIES ?? 60);
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

interface Row { kind: string; n: number; buildS: number; bytes: number; p50: number; p99: number; dp50: number; dp99: number; recall: number; same: boolean }

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
  await index.call.save();
  const times: number[] = [];
  const ids: number[][] = [];
  for (let q = 0; q < NQ; q++) {
    const x = queries.slice(q * DIM, (q + 1) * DIM);
    const [hits, ms] = await timed(() => index.call.search(x, K));
    times.push(ms);
    ids.push(hits[0]!.map((h) => h.id));
  }
  await index.close();
  const file = join(dir, kind, `${kind}.faiss`);
  const sidecar = JSON.parse(readFileSync(join(dir, kind, `${kind}.json`), 'utf8')) as { ids: number[] };
  const param = kind === 'hnsw' ? ['efSearch', String(params.efSearch)] : kind === 'ivf-sq8' ? ['nprobe', String(params.nprobe)] : [];
  const direct = JSON.parse(execFileSync(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./faiss-direct.ts', import.meta.url)), file, join(dir, 'queries.f32'), String(DIM), String(K), ...param], { maxBuffer: 1 << 26 }).toString()) as { p50: number; p99: number; labels: number[][] };
  const same = direct.labels.every((l, q) => l.map((pos) => sidecar.ids[pos]).join() === ids[q]!.join());
  const ref = truth ?? ids;
  const recall = ids.reduce((s, got, q) => s + got.filter((id) => ref[q]!.includes(id)).length / K, 0) / NQ;
  return {
    row: { kind, n, buildS: buildMs / 1000, bytes: statSync(file).size / n, p50: percentile(times, 50), p99: percentile(times, 99), dp50: direct.p50, dp99: direct.p99, recall, same },
    ids,
  };
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
  for (const kind of ['sq8', 'ivf-sq8'] as IndexKind[]) {
    const r = await runKind(kind, base, N, queries, exact.ids, dir);
    rows.push(r.row);
    console.log(r.row);
  }
  // HNSW builds slowly with Debian's scalar faiss: measured at a smaller n, with exact truth at that n
  const small = base.subarray(0, HNSW_N * DIM);
  const exactSmall = HNSW_N === N ? exact : await runKind('flat', small, HNSW_N, queries, null, dir);
  if (HNSW_N !== N) rows.push(exactSmall.row);
  const h = await runKind('hnsw', small, HNSW_N, queries, exactSmall.ids, dir);
  rows.push(h.row);
  console.log(h.row);
  console.log(`\nparams: HNSW M=${params.hnswM} efSearch=${params.efSearch}; IVF nprobe=${params.nprobe}; 1 faiss thread; k=${K}\n`);
  console.log(table(
    ['kind', 'n', 'build (s)', 'build rate (vec/s)', 'bytes/vector (file)', 'bytes/vector (model)', 'p50 layer (ms)', 'p99 layer (ms)', 'p50 direct (ms)', 'p99 direct (ms)', 'p50 ratio', 'recall@10', 'same ids'],
    rows.map((r) => [r.kind, r.n, r.buildS.toFixed(1), (r.n / r.buildS).toFixed(0), r.bytes.toFixed(0), KINDS[r.kind as IndexKind].bytesPerVector(DIM, params), r.p50.toFixed(2), r.p99.toFixed(2), r.dp50.toFixed(2), r.dp99.toFixed(2), (r.p50 / r.dp50).toFixed(3), r.recall.toFixed(3), r.same ? 'yes' : 'NO'])));
} finally {
  rmSync(dir, { recursive: true, force: true });
}
