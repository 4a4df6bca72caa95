// bench/million: a gallery of N x 4096 vectors on this machine, through the real write path (Gallery.add: SQLite,
// then the index worker, one image at a time, with the background rebuilds that keep an IVF index sized), then per
// index kind, each in a fresh process as a restarted server would be: time to open and answer the first query,
// recall@10 against exact search, p50/p99 per query at 1 and 8 concurrent, the process's RSS, index and SQLite
// file sizes, adds per second one by one, a rebuild from SQLite (time and peak RSS), and a restart with the data
// folder out of the page cache (open, first query, p50).
//   npm run bench:million                       (n = 1,000,000; kinds ivf-pq, ivf-sq8)
//   npm run bench:million -- --n 20000 --kinds flat,hnsw,ivf-sq8,ivf-pq
//   options: --queries 50, --dir <data folder> (kept; default a temporary one, removed), --threads 1 (faiss threads),
//            --candidates 25,50,100,200 (ivf-pq), --nprobes 4,8,32 (IVF kinds): the settings swept, beside the defaults
//
// The vectors stand in for real encodes (a million pictures cannot be encoded on this machine in a session): as in
// bench/search, cluster centres live in a 256-d subspace of the 4096-d space, here with weights that decay as
// 1/sqrt(rank) (real embeddings' PCA spectrum decays like that: most variance in a few hundred directions), and each
// vector is its centre plus isotropic noise. An IVF or PQ index finds such data about as hard as real embeddings;
// uniform random vectors would be far harder (no structure) and exact duplicates far easier. The ground truth is
// exact inner product on the F32 vectors, computed chunk by chunk as they are written (faiss Flat per chunk).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type * as FaissNode from 'faiss-node';
import { Gallery } from '../src/gallery/gallery.js';
import { KINDS, type IndexKind, type IndexParams } from '../src/index/kinds.js';
import { fakeImage, identity } from '../test/helpers/vectors.js';
import { percentile, table } from './common.js';
import { DIM, makeSource } from './synthetic.js';

const K = 10, CHUNK = 8192;
const { values } = parseArgs({
  options: {
    n: { type: 'string', default: '1000000' }, kinds: { type: 'string', default: 'ivf-pq,ivf-sq8' }, queries: { type: 'string', default: '50' },
    dir: { type: 'string' }, threads: { type: 'string', default: '1' }, candidates: { type: 'string', default: '25,50,100,200' },
    nprobes: { type: 'string', default: '4,8,32' },
    serve: { type: 'string' }, kind: { type: 'string' }, rebuild: { type: 'boolean' }, quick: { type: 'boolean' }, 'faiss-scan': { type: 'boolean' },
  },
});
const params: IndexParams = {
  hnswM: 32, efSearch: 128, nprobe: Number(process.env.LOOKALIKE_NPROBE ?? 16), exactCandidates: Number(process.env.LOOKALIKE_EXACT_CANDIDATES ?? 100),
};
const galleryOptions = (dataDir: string, kind: IndexKind, log: (m: string) => void) =>
  ({ dataDir, identity: identity(DIM, 'bench'), indexKind: kind, indexParams: params, faissThreads: Number(values.threads), log });
const rssMiB = () => process.memoryUsage().rss / 2 ** 20;
const peakMiB = () => Number(/VmHWM:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))![1]) / 1024;

/** Builds the data folder through Gallery.add, and the exact top 10 of each query chunk by chunk. */
async function build(dir: string, n: number, nq: number, kind: IndexKind): Promise<{ seconds: number; addsPerS: number; peak: number }> {
  const faiss = createRequire(import.meta.url)('faiss-node') as typeof FaissNode;
  faiss.Index.setThreads(1); // the cores are for the gallery's index worker
  const src = makeSource(n, 42);
  const queries = new Float32Array(nq * DIM);
  for (let q = 0; q < nq; q++) src.point(queries.subarray(q * DIM, (q + 1) * DIM), Math.floor(src.random() * src.clusters));
  writeFileSync(join(dir, 'queries.f32'), Buffer.from(queries.buffer));
  const truth: { id: number; score: number }[][] = Array.from({ length: nq }, () => []);
  const log = (m: string) => { if (!/^index (background rebuild|rebuild|sync) \d/.test(m) || /100\.0%/.test(m)) console.log(`  ${m}`); };
  const gallery = await Gallery.open(galleryOptions(join(dir, 'data'), kind, log));
  const started = performance.now();
  const chunk = new Float32Array(CHUNK * DIM);
  let lastReport = started;
  for (let start = 0; start < n; start += CHUNK) {
    const size = Math.min(CHUNK, n - start);
    for (let j = 0; j < size; j++) {
      const v = chunk.subarray(j * DIM, (j + 1) * DIM);
      src.point(v, (start + j) % src.clusters);
      const { id } = await gallery.add(fakeImage(start + j), v, { source: null, label: null });
      if (id !== start + j + 1) throw new Error(`expected id ${start + j + 1}, got ${id}`);
    }
    const exact = faiss.Index.fromFactory(DIM, 'Flat', 0);
    exact.add(chunk.subarray(0, size * DIM));
    const { distances, labels } = exact.search(queries, K);
    for (let q = 0; q < nq; q++) {
      for (let j = 0; j < K; j++) truth[q]!.push({ id: start + labels[q * K + j]! + 1, score: distances[q * K + j]! });
      truth[q] = truth[q]!.sort((a, b) => b.score - a.score).slice(0, K);
    }
    if (performance.now() - lastReport > 30_000 || start + size === n) {
      lastReport = performance.now();
      const s = (lastReport - started) / 1000;
      console.log(`  built ${start + size}/${n} in ${s.toFixed(0)} s (${((start + size) / s).toFixed(0)}/s), RSS ${rssMiB().toFixed(0)} MiB`);
    }
  }
  await gallery.idle();
  const seconds = (performance.now() - started) / 1000;
  await gallery.close();
  writeFileSync(join(dir, 'truth.json'), JSON.stringify(truth.map((t) => t.map((h) => h.id))));
  return { seconds, addsPerS: n / seconds, peak: peakMiB() };
}

interface Served {
  kind: string; n: number; openS: number; firstQueryMs: number; action: string; recall: number; p50: number; p99: number; p50x8: number; p99x8: number;
  rss: number; peak: number; indexBytes: number; dbBytes: number; addsPerS: number | null; // null: refused for memory
}

/** In a fresh process: open (a restart, or a rebuild when asked), answer, measure. */
async function serve(dir: string, kind: IndexKind, rebuild: boolean, quick: boolean): Promise<Served> {
  const dataDir = join(dir, 'data');
  if (rebuild) rmSync(join(dataDir, 'index'), { recursive: true, force: true });
  const queries = new Float32Array(readFileSync(join(dir, 'queries.f32')).buffer.slice(0));
  const truth = JSON.parse(readFileSync(join(dir, 'truth.json'), 'utf8')) as number[][];
  const nq = truth.length;
  const query = (q: number) => queries.slice(q * DIM, (q + 1) * DIM);
  const started = performance.now();
  const gallery = await Gallery.open(galleryOptions(dataDir, kind, (m) => { if (!/ \d+\/\d+ \(\d/.test(m) || /100\.0%/.test(m)) console.error(`  ${m}`); }));
  const openS = (performance.now() - started) / 1000;
  await gallery.search(query(0), { k: K });
  const firstQueryMs = performance.now() - started;
  const stats = await gallery.indexStats();
  let recall = 0;
  const times: number[] = [];
  for (let q = 0; q < nq; q++) {
    const t = performance.now();
    const hits = await gallery.search(query(q), { k: K });
    times.push(performance.now() - t);
    recall += hits.filter((h) => truth[q]!.includes(h.id)).length / K / nq;
  }
  const timesX8: number[] = [];
  let next = quick ? Infinity : 0;
  await Promise.all(Array.from({ length: 8 }, async () => {
    while (next < 4 * nq) {
      const q = next++ % nq;
      const t = performance.now();
      await gallery.search(query(q), { k: K });
      timesX8.push(performance.now() - t);
    }
  }));
  const rss = rssMiB();
  // adds one by one (new images, removed again afterwards so the next kind sees the same gallery)
  const src = makeSource(1000, 7);
  const v = new Float32Array(DIM);
  const added: number[] = [];
  const addStart = performance.now();
  let addsPerS: number | null = null;
  try {
    for (let i = 0; i < (quick ? 0 : 300); i++) {
      src.point(v, i % src.clusters);
      added.push((await gallery.add(fakeImage(10_000_000 + i), v, { source: null, label: null })).id);
    }
    addsPerS = 300 / ((performance.now() - addStart) / 1000);
  } catch (err) { // a flat index at 1M: its array would double to 32 GB
    if ((err as { code?: string }).code !== 'index_out_of_memory') throw err;
    console.error(`  ${kind}: an add was refused after ${added.length}: ${(err as Error).message}`);
  }
  for (const id of added) await gallery.remove(id);
  const manifest = JSON.parse(readFileSync(join(dataDir, 'index', `${kind}.json`), 'utf8')) as { file: string | null };
  const indexBytes = manifest.file ? statSync(join(dataDir, 'index', manifest.file)).size : 0;
  await gallery.close();
  return {
    kind, n: stats.live, openS, firstQueryMs, action: gallery.syncReport?.action ?? '?', recall, p50: percentile(times, 50), p99: percentile(times, 99),
    p50x8: percentile(timesX8, 50), p99x8: percentile(timesX8, 99), rss, peak: peakMiB(), indexBytes, dbBytes: statSync(join(dataDir, 'lookalike.db')).size, addsPerS,
  };
}

/** Drops the data folder's files from the page cache (GNU dd's advice to the kernel), as after a reboot. */
function evictFromPageCache(dataDir: string): void {
  spawnSync('sync');
  for (const folder of [dataDir, join(dataDir, 'index')]) {
    for (const f of readdirSync(folder).map((name) => join(folder, name)).filter((p) => statSync(p).isFile())) {
      spawnSync('dd', [`if=${f}`, 'iflag=nocache', 'count=0', 'status=none']);
    }
  }
}

interface Variant { candidates?: number; nprobe?: number; faissScan?: boolean; cold?: boolean }

/** A fresh process serving `kind`; `quick`: queries alone, with these exact candidates, lists probed, faiss' own
 *  4-bit PQ scan, or the data folder out of the page cache first. */
function child(dir: string, kind: IndexKind, rebuild: boolean, quick?: Variant): Promise<Served> {
  if (quick?.cold) evictFromPageCache(join(dir, 'data'));
  const args = ['--import', 'tsx', fileURLToPath(import.meta.url), '--serve', dir, '--kind', kind, '--threads', String(values.threads),
    ...(rebuild ? ['--rebuild'] : []), ...(quick ? ['--quick'] : []), ...(quick?.faissScan ? ['--faiss-scan'] : [])];
  const env = { ...process.env, ...(quick?.candidates ? { LOOKALIKE_EXACT_CANDIDATES: String(quick.candidates) } : {}), ...(quick?.nprobe ? { LOOKALIKE_NPROBE: String(quick.nprobe) } : {}) };
  const proc = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'], env });
  let out = '';
  proc.stdout.on('data', (d) => { out += d; });
  return new Promise((resolve, reject) => proc.on('close', (code) => (code === 0 ? resolve(JSON.parse(out) as Served) : reject(new Error(`${kind}: the child exited with ${code}`)))));
}

if (values.serve) {
  // process-wide in the faiss-node library, so the index worker's searches take faiss' own scan too
  if (values['faiss-scan']) (createRequire(import.meta.url)('faiss-node') as typeof FaissNode).Index.setPq4Scan(false);
  process.stdout.write(JSON.stringify(await serve(values.serve, values.kind as IndexKind, values.rebuild ?? false, values.quick ?? false)));
} else {
  const n = Number(values.n), nq = Number(values.queries);
  const kinds = values.kinds!.split(',') as IndexKind[];
  for (const k of kinds) if (!(k in KINDS)) throw new Error(`unknown kind ${k}`);
  const dir = values.dir ?? mkdtempSync(join(tmpdir(), 'lookalike-million-'));
  const rows: (string | number)[][] = [], sweep: (string | number)[][] = [];
  let scan = '';
  const restarts: (string | number)[][] = [];
  const f = (x: number, d = 1) => x.toFixed(d);
  try {
    if (!existsSync(join(dir, 'truth.json'))) { // a --dir kept from an earlier run is measured again, not rebuilt
      console.log(`building ${n} x ${DIM} through Gallery.add into ${dir} (${kinds[0]} index)`);
      const b = await build(dir, n, nq, kinds[0]!);
      console.log(`  built in ${f(b.seconds)} s: ${f(b.addsPerS, 0)} adds/s one by one, peak RSS ${f(b.peak, 0)} MiB`);
    }
    const row = (kind: string, r: Served, rebuilt?: Served) => [kind, r.n, f(r.recall, 3), f(r.p50, 2), f(r.p99, 2), f(r.p50x8, 2), f(r.p99x8, 2),
      f(r.rss / 1024, 2), f(r.indexBytes / 2 ** 30, 2), f(r.dbBytes / 2 ** 30, 2), `${f(r.openS)} / ${f(r.firstQueryMs / 1000)}`, r.addsPerS === null ? 'refused: no memory' : f(r.addsPerS, 0),
      rebuilt ? f(rebuilt.openS, 0) : '-', rebuilt ? f(rebuilt.peak / 1024, 2) : '-'];
    // the first kind was built with the gallery: measured as it is first, and rebuilt from SQLite last (the longest
    // step at 1M); another kind is built from SQLite on its first open
    const first: Served[] = [];
    for (const kind of kinds) {
      const rebuilt = kind === kinds[0] ? undefined : await child(dir, kind, true);
      if (rebuilt) console.log(`  ${kind} rebuilt from SQLite: ${f(rebuilt.openS)} s, peak RSS ${f(rebuilt.peak, 0)} MiB`);
      const r = await child(dir, kind, false);
      console.log(`  ${kind}: ${JSON.stringify(r)}`);
      if (kind === kinds[0]) first.push(r);
      rows.push(row(kind, r, rebuilt));
      // LOOKALIKE_EXACT_CANDIDATES and LOOKALIKE_NPROBE: recall against time
      const variants: Variant[] = [
        ...(KINDS[kind].exact ? values.candidates!.split(',').map((c) => ({ candidates: Number(c) })) : []),
        ...(KINDS[kind].trained ? values.nprobes!.split(',').map((p) => ({ nprobe: Number(p) })) : []),
      ];
      for (const v of variants) {
        const c = await child(dir, kind, false, v);
        const setting: (string | number)[] = [v.nprobe ?? params.nprobe, KINDS[kind].exact ? v.candidates ?? params.exactCandidates! : '-'];
        sweep.push([kind, ...setting, f(c.recall, 3), f(c.p50, 2), f(c.p99, 2)]);
        console.log(`  ${kind} with nprobe ${setting[0]}, ${setting[1]} exact candidates: recall@10 ${f(c.recall, 3)}, p50 ${f(c.p50, 2)} ms, p99 ${f(c.p99, 2)} ms`);
      }
      if (kind === 'ivf-pq') { // lookalike's 4-bit PQ scan against faiss' own, in the same run (patches/faiss-node/ivfpq4_search.cc)
        const c = await child(dir, kind, false, { faissScan: true });
        scan = `ivf-pq with faiss' own 4-bit PQ scan: recall@10 ${f(c.recall, 3)}, p50 ${f(c.p50, 2)} ms, p99 ${f(c.p99, 2)} ms; ` +
          `lookalike's scan: p50 ${f(r.p50, 2)} ms (${f(c.p50 / r.p50, 2)}x faster)`;
        console.log(`  ${scan}`);
      }
      const cold = await child(dir, kind, false, { cold: true });
      restarts.push([kind, `${f(cold.openS)} / ${f(cold.firstQueryMs / 1000)}`, f(cold.recall, 3), f(cold.p50, 2), f(cold.p99, 2)]);
      console.log(`  ${kind} restarted with the data folder out of the page cache: open ${f(cold.openS)} s, first query at ` +
        `${f(cold.firstQueryMs / 1000)} s, p50 ${f(cold.p50, 2)} ms, p99 ${f(cold.p99, 2)} ms`);
    }
    console.log(`  ${kinds[0]}: rebuilding from SQLite (the table so far is above, in the lines of each kind)`);
    const rebuilt = await child(dir, kinds[0]!, true);
    rows[0] = row(kinds[0]!, first[0]!, rebuilt);
    console.log(`\n${n} x ${DIM}, ${nq} queries, k=${K}; nprobe ${params.nprobe}, exact candidates ${params.exactCandidates}, HNSW M ${params.hnswM} ef ${params.efSearch}; ${values.threads} faiss thread(s); ${new Date().toISOString().slice(0, 10)}\n`);
    if (sweep.length) console.log(`${table(['kind', 'nprobe', 'exact candidates', 'recall@10', 'p50 ms', 'p99 ms'], sweep)}\n`);
    if (scan) console.log(`${scan}\n`);
    console.log(`A restart with the data folder out of the page cache (as after a reboot):\n${table(['kind', 'open / first query s', 'recall@10', 'p50 ms', 'p99 ms'], restarts)}\n`);
    console.log(table(['kind', 'vectors', 'recall@10', 'p50 ms', 'p99 ms', 'p50 ms x8', 'p99 ms x8', 'RSS GiB', 'index GiB', 'SQLite GiB', 'open / first query s', 'adds/s', 'rebuild s', 'rebuild peak GiB'], rows));
  } finally {
    if (!values.dir) rmSync(dir, { recursive: true, force: true });
  }
}
