// bench/million: a gallery of N x 4096 vectors on this machine, through the real write path (Gallery.add: SQLite, then
// the index worker, one image at a time, with the background rebuilds that keep an IVF index sized), then per index
// kind, each in a fresh process as a restarted server would be. Each kind is first rebuilt from SQLite (time and peak
// RSS), so that every row measures the index it names (built one by one, an IVF index was last trained at a quarter of
// the gallery or more: fewer lists than sqrt(n)). Then: time to open and answer the first query; after a full warm-up
// pass, recall@10 against exact search, p50/p99 per query alone, and queries per second with 1, 8 and 32 in flight
// (distinct queries); the process's RSS, index and SQLite file sizes; the settings swept; the 4-bit scan against faiss'
// own, alternated; a restart with the data folder out of the page cache; and last, adds per second one by one (their
// tombstones stay in that kind's index, which the next run rebuilds first).
//   npm run bench:million                       (n = 1,000,000; kinds ivf-pq, ivf-sq8)
//   npm run bench:million -- --n 20000 --kinds flat,hnsw,ivf-sq8,ivf-pq
//   options: --queries 256, --dir <data folder> (kept; default a temporary one, removed), --threads <n> (faiss threads
//            for a batch of searches, and ivf-pq's re-scoring workers; default every core),
//            --candidates 25,50,100,200 (ivf-pq), --nprobes 4,8,32 (IVF kinds): the settings swept, beside the defaults,
//            --rounds 3 (the scan comparison, alternated), --json <file> (every row, for comparing runs)
//
// The vectors stand in for real encodes (a million pictures cannot be encoded on this machine in a session): as in
// bench/search, cluster centres (5 vectors each: bench/synthetic.ts) live in a 256-d subspace of the 4096-d space, here
// with weights that decay as 1/sqrt(rank) (real embeddings' PCA spectrum decays like that: most variance in a few
// hundred directions), and each vector is its centre plus isotropic noise. An IVF or PQ index finds such data about as
// hard as real embeddings; uniform random vectors would be far harder (no structure) and exact duplicates far easier.
// The ground truth is exact inner product on the F32 vectors, computed chunk by chunk as they are written (faiss Flat
// per chunk).
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type * as FaissNode from 'faiss-node';
import { Gallery } from '../src/engine/gallery/gallery.js';
import { KINDS, type IndexKind } from '../src/engine/index/kinds.js';
import { fakeImage } from '../test/helpers/vectors.js';
import { evictFromPageCache, table } from './common.js';
import { alternate, measure, recallAt, writeRows, type BenchRow } from './load.js';
import { DIM, describeSynthetic, makeSource, syntheticGallery, syntheticIndexParams } from './synthetic.js';

const K = 10,
  CHUNK = 8192;
const { values } = parseArgs({
  options: {
    n: { type: 'string', default: '1000000' },
    kinds: { type: 'string', default: 'ivf-pq,ivf-sq8' },
    queries: { type: 'string', default: '256' },
    json: { type: 'string' },
    rounds: { type: 'string', default: '3' },
    adds: { type: 'boolean' },
    dir: { type: 'string' },
    threads: { type: 'string', default: String(availableParallelism()) },
    candidates: { type: 'string', default: '25,50,100,200' },
    nprobes: { type: 'string', default: '4,8,32' },
    serve: { type: 'string' },
    kind: { type: 'string' },
    rebuild: { type: 'boolean' },
    quick: { type: 'boolean' },
    'faiss-scan': { type: 'boolean' },
  },
});
// every row measures the index as it is; bench:cold-start measures the warm-up
const params = syntheticIndexParams(false);
const galleryOptions = (dataDir: string, kind: IndexKind, log: (m: string) => void) =>
  syntheticGallery(dataDir, kind, { threads: Number(values.threads), warmUp: false, log });
const rssMiB = () => process.memoryUsage().rss / 2 ** 20;
const peakMiB = () => Number(/VmHWM:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))![1]) / 1024;

/** Image i's label: ten labels of equal size, so that the filter label = part-0 keeps 10% of the gallery. */
const partLabel = (i: number) => `part-${i % 10}`;
const PART0 = { label: 'part-0' };

/** Folds a chunk's exact search into each query's running top K (`idOf`: a row of the chunk to its image id). */
function mergeTop(
  top: { id: number; score: number }[][],
  found: { distances: ArrayLike<number>; labels: ArrayLike<number> },
  idOf: (pos: number) => number,
): void {
  const k = found.labels.length / top.length;
  for (let q = 0; q < top.length; q++) {
    for (let j = 0; j < k; j++)
      top[q]!.push({ id: idOf(found.labels[q * k + j]!), score: found.distances[q * k + j]! });
    top[q] = top[q]!.sort((a, b) => b.score - a.score).slice(0, K);
  }
}

/** Builds the data folder through Gallery.add, and the exact top 10 of each query chunk by chunk (and among
 *  the tenth of the images the filter label = part-0 keeps). */
async function build(
  dir: string,
  n: number,
  nq: number,
  kind: IndexKind,
): Promise<{ seconds: number; addsPerS: number; peak: number }> {
  const faiss = createRequire(import.meta.url)('faiss-node') as typeof FaissNode;
  faiss.Index.setThreads(1); // the cores are for the gallery's index worker
  const made = performance.now();
  const src = makeSource(n, 42); // minutes at 1M: clusters x 256 x 4096 multiply-adds, one core
  console.log(`  ${src.clusters} cluster centres made in ${((performance.now() - made) / 1000).toFixed(0)} s`);
  const queries = src.queries(nq);
  writeFileSync(join(dir, 'queries.f32'), Buffer.from(queries.buffer));
  const truth: { id: number; score: number }[][] = Array.from({ length: nq }, () => []);
  const truthPart0: { id: number; score: number }[][] = Array.from({ length: nq }, () => []);
  const log = (m: string) => {
    if (!/^index (background rebuild|rebuild|sync) \d/.test(m) || /100\.0%/.test(m)) console.log(`  ${m}`);
  };
  const gallery = await Gallery.open(galleryOptions(join(dir, 'data'), kind, log));
  const started = performance.now();
  const chunk = new Float32Array(CHUNK * DIM);
  let lastReport = started;
  for (let start = 0; start < n; start += CHUNK) {
    const size = Math.min(CHUNK, n - start);
    for (let j = 0; j < size; j++) {
      const v = chunk.subarray(j * DIM, (j + 1) * DIM);
      src.point(v, (start + j) % src.clusters);
      const { id } = await gallery.add(fakeImage(start + j), v, { source: null, label: partLabel(start + j) });
      if (id !== start + j + 1) throw new Error(`expected id ${start + j + 1}, got ${id}`);
    }
    const exact = faiss.Index.fromFactory(DIM, 'Flat', 0);
    exact.add(chunk.subarray(0, size * DIM));
    mergeTop(truth, exact.search(queries, K), (pos) => start + pos + 1);
    // the rows the filter label = part-0 keeps: every tenth
    const kept: number[] = [];
    for (let j = 0; j < size; j++) if (partLabel(start + j) === PART0.label) kept.push(j);
    const exactPart0 = faiss.Index.fromFactory(DIM, 'Flat', 0);
    const keptRows = new Float32Array(kept.length * DIM);
    kept.forEach((j, i) => keptRows.set(chunk.subarray(j * DIM, (j + 1) * DIM), i * DIM));
    if (kept.length) {
      exactPart0.add(keptRows);
      mergeTop(truthPart0, exactPart0.search(queries, Math.min(K, kept.length)), (pos) => start + kept[pos]! + 1);
    }
    if (performance.now() - lastReport > 30_000 || start + size === n) {
      lastReport = performance.now();
      const s = (lastReport - started) / 1000;
      console.log(
        `  built ${start + size}/${n} in ${s.toFixed(0)} s (${((start + size) / s).toFixed(0)}/s), ` +
          `RSS ${rssMiB().toFixed(0)} MiB`,
      );
    }
  }
  await gallery.idle();
  const seconds = (performance.now() - started) / 1000;
  await gallery.close();
  writeFileSync(join(dir, 'truth.json'), JSON.stringify(truth.map((t) => t.map((h) => h.id))));
  writeFileSync(join(dir, 'truth-part0.json'), JSON.stringify(truthPart0.map((t) => t.map((h) => h.id))));
  return { seconds, addsPerS: n / seconds, peak: peakMiB() };
}

/** What one pass of the queries measured. */
interface Measures {
  recall: number;
  p50: number;
  p99: number;
  qps1: number | null;
  qps8: number | null;
  qps32: number | null;
}

interface Served extends Measures {
  kind: string;
  index: string;
  n: number;
  openS: number;
  firstQueryMs: number;
  action: string;
  rss: number;
  peak: number;
  indexBytes: number;
  dbBytes: number;
  addsPerS: number | null; // null: refused for memory
  /** The same queries with a filter that keeps a tenth of the gallery (label = part-0); null in a quick child. */
  filtered: Measures | null;
}

/**
 * In a fresh process: open (a restart, or a rebuild when asked), answer, measure; `adds`: add 300 images one by one.
 */
async function serve(dir: string, kind: IndexKind, rebuild: boolean, quick: boolean, adds: boolean): Promise<Served> {
  const dataDir = join(dir, 'data');
  if (rebuild) rmSync(join(dataDir, 'index'), { recursive: true, force: true });
  const queries = new Float32Array(readFileSync(join(dir, 'queries.f32')).buffer.slice(0));
  const truth = JSON.parse(readFileSync(join(dir, 'truth.json'), 'utf8')) as number[][];
  const nq = truth.length;
  const query = (q: number) => queries.slice(q * DIM, (q + 1) * DIM);
  const started = performance.now();
  const gallery = await Gallery.open(
    galleryOptions(dataDir, kind, (m) => {
      if (!/ \d+\/\d+ \(\d/.test(m) || /100\.0%/.test(m)) console.error(`  ${m}`);
    }),
  );
  const openS = (performance.now() - started) / 1000;
  await gallery.search(query(0), { k: K });
  const firstQueryMs = performance.now() - started;
  const stats = await gallery.indexStats();
  const m = await measure(async (q) => (await gallery.search(query(q), { k: K })).map((h) => h.id), nq, quick);
  const recall = recallAt(K, m.hits, truth);
  const part0Truth = join(dir, 'truth-part0.json');
  let filtered: Measures | null = null;
  if (!quick && existsSync(part0Truth)) {
    const search = async (q: number) => (await gallery.search(query(q), { k: K, filter: PART0 })).map((h) => h.id);
    const f = await measure(search, nq);
    const truth0 = JSON.parse(readFileSync(part0Truth, 'utf8')) as number[][];
    filtered = {
      recall: recallAt(K, f.hits, truth0),
      p50: f.p50ms,
      p99: f.p99ms,
      qps1: f.qps1,
      qps8: f.qps8,
      qps32: f.qps32,
    };
  }
  const rss = rssMiB();
  // adds one by one (new images, removed again afterwards so the next kind sees the same gallery)
  const src = makeSource(1000, 7);
  const v = new Float32Array(DIM);
  const added: number[] = [];
  const addStart = performance.now();
  let addsPerS: number | null = null;
  try {
    for (let i = 0; i < (adds ? 300 : 0); i++) {
      src.point(v, i % src.clusters);
      added.push((await gallery.add(fakeImage(10_000_000 + i), v, { source: null, label: null })).id);
    }
    if (adds) addsPerS = 300 / ((performance.now() - addStart) / 1000);
  } catch (err) {
    // a flat index at 1M: its array would double to 32 GB
    if ((err as { code?: string }).code !== 'index_out_of_memory') throw err;
    console.error(`  ${kind}: an add was refused after ${added.length}: ${(err as Error).message}`);
  }
  for (const id of added) await gallery.remove(id);
  const manifest = JSON.parse(readFileSync(join(dataDir, 'index', `${kind}.json`), 'utf8')) as { file: string | null };
  const indexBytes = manifest.file ? statSync(join(dataDir, 'index', manifest.file)).size : 0;
  await gallery.close();
  return {
    kind,
    index: KINDS[kind].factory(stats.builtFor, params, DIM),
    n: stats.live,
    openS,
    firstQueryMs,
    action: gallery.syncReport?.action ?? '?',
    recall,
    p50: m.p50ms,
    p99: m.p99ms,
    qps1: m.qps1,
    qps8: m.qps8,
    qps32: m.qps32,
    rss,
    peak: peakMiB(),
    indexBytes,
    dbBytes: statSync(join(dataDir, 'lookalike.db')).size,
    addsPerS,
    filtered,
  };
}

interface Variant {
  candidates?: number;
  nprobe?: number;
  faissScan?: boolean;
  cold?: boolean;
  adds?: boolean;
}

/** A fresh process serving `kind`; `quick`: queries alone, with these exact candidates, lists probed, faiss' own
 *  4-bit PQ scan, or the data folder out of the page cache first. */
function child(dir: string, kind: IndexKind, rebuild: boolean, quick?: Variant): Promise<Served> {
  if (quick?.cold) evictFromPageCache(join(dir, 'data'));
  const args = [
    '--import',
    'tsx',
    fileURLToPath(import.meta.url),
    '--serve',
    dir,
    '--kind',
    kind,
    '--threads',
    String(values.threads),
    ...(rebuild ? ['--rebuild'] : []),
    ...(quick ? ['--quick'] : []),
    ...(quick?.faissScan ? ['--faiss-scan'] : []),
    ...(quick?.adds ? ['--adds'] : []),
  ];
  const env = {
    ...process.env,
    ...(quick?.candidates ? { LOOKALIKE_EXACT_CANDIDATES: String(quick.candidates) } : {}),
    ...(quick?.nprobe ? { LOOKALIKE_NPROBE: String(quick.nprobe) } : {}),
  };
  const proc = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'], env });
  let out = '';
  proc.stdout.on('data', (d) => {
    out += d;
  });
  return new Promise((resolve, reject) =>
    proc.on('close', (code) =>
      code === 0 ? resolve(JSON.parse(out) as Served) : reject(new Error(`${kind}: the child exited with ${code}`)),
    ),
  );
}

if (values.serve) {
  // process-wide in the faiss-node library, so the index worker's searches take faiss' own scan too
  if (values['faiss-scan']) (createRequire(import.meta.url)('faiss-node') as typeof FaissNode).Index.setPq4Scan(false);
  process.stdout.write(
    JSON.stringify(
      await serve(
        values.serve,
        values.kind as IndexKind,
        values.rebuild ?? false,
        values.quick ?? false,
        values.adds ?? false,
      ),
    ),
  );
} else {
  const n = Number(values.n),
    nq = Number(values.queries);
  const kinds = values.kinds!.split(',') as IndexKind[];
  for (const k of kinds) if (!(k in KINDS)) throw new Error(`unknown kind ${k}`);
  const dir = values.dir ?? mkdtempSync(join(tmpdir(), 'lookalike-million-'));
  const rows: (string | number)[][] = [],
    sweep: (string | number)[][] = [];
  let scan = '';
  const restarts: (string | number)[][] = [],
    filteredRows: (string | number)[][] = [];
  const f = (x: number, d = 1) => x.toFixed(d);
  try {
    if (!existsSync(join(dir, 'truth.json'))) {
      // a --dir kept from an earlier run is measured again, not rebuilt
      console.log(`building ${n} x ${DIM} through Gallery.add into ${dir} (${kinds[0]} index)`);
      mkdirSync(dir, { recursive: true });
      const b = await build(dir, n, nq, kinds[0]!);
      console.log(`  built in ${f(b.seconds)} s: ${f(b.addsPerS, 0)} adds/s one by one, peak RSS ${f(b.peak, 0)} MiB`);
    }
    const q = (x: number | null) => (x === null ? '-' : f(x, 0));
    const row = (r: Served, rebuilt: Served, adds: Served) => [
      r.kind,
      r.index,
      r.n,
      f(r.recall, 3),
      f(r.p50, 2),
      f(r.p99, 2),
      q(r.qps1),
      q(r.qps8),
      q(r.qps32),
      r.qps1 && r.qps8 ? f(r.qps8 / r.qps1, 2) : '-',
      f(r.rss / 1024, 2),
      f(r.indexBytes / 2 ** 30, 2),
      f(r.dbBytes / 2 ** 30, 2),
      `${f(r.openS)} / ${f(r.firstQueryMs / 1000)}`,
      adds.addsPerS === null ? 'refused: no memory' : f(adds.addsPerS, 0),
      f(rebuilt.openS, 0),
      f(rebuilt.peak / 1024, 2),
    ];
    const vectors = describeSynthetic(42);
    const json: BenchRow[] = [];
    const jsonRow = (r: Served, extra: Record<string, unknown>): BenchRow => ({
      system: 'lookalike',
      kind: r.kind,
      index: r.index,
      vectors,
      n: r.n,
      recall10: r.recall,
      p50ms: r.p50,
      p99ms: r.p99,
      qps1: r.qps1,
      qps8: r.qps8,
      qps32: r.qps32,
      nprobe: KINDS[r.kind as IndexKind].trained ? params.nprobe : null,
      exactCandidates: KINDS[r.kind as IndexKind].exact ? params.exactCandidates : null,
      ...extra,
    });
    for (const kind of kinds) {
      // rebuilt from SQLite first, with sqrt(n) lists: every child after it measures the index its row names
      const rebuilt = await child(dir, kind, true, {});
      console.log(
        `  ${kind} rebuilt from SQLite as ${rebuilt.index}: ${f(rebuilt.openS)} s, peak RSS ${f(rebuilt.peak, 0)} MiB`,
      );
      const r = await child(dir, kind, false);
      console.log(`  ${kind}: ${JSON.stringify(r)}`);
      if (r.filtered) {
        const x = r.filtered;
        filteredRows.push([kind, r.index, f(x.recall, 3), f(x.p50, 2), f(x.p99, 2), q(x.qps1), q(x.qps8), q(x.qps32)]);
        filteredRows[filteredRows.length - 1]!.push(x.qps1 && x.qps8 ? f(x.qps8 / x.qps1, 2) : '-');
        json.push({
          ...jsonRow(r, { part: 'filter', filter: 'label = part-0 (10%)' }),
          recall10: x.recall,
          p50ms: x.p50,
          p99ms: x.p99,
          qps1: x.qps1,
          qps8: x.qps8,
          qps32: x.qps32,
        });
      }
      // LOOKALIKE_EXACT_CANDIDATES and LOOKALIKE_NPROBE: recall against time
      const variants: Variant[] = [
        ...(KINDS[kind].exact ? values.candidates!.split(',').map((c) => ({ candidates: Number(c) })) : []),
        ...(KINDS[kind].trained ? values.nprobes!.split(',').map((p) => ({ nprobe: Number(p) })) : []),
      ];
      for (const v of variants) {
        const c = await child(dir, kind, false, v);
        const setting: (string | number)[] = [
          v.nprobe ?? params.nprobe,
          KINDS[kind].exact ? (v.candidates ?? params.exactCandidates!) : '-',
        ];
        sweep.push([kind, c.index, ...setting, f(c.recall, 3), f(c.p50, 2), f(c.p99, 2)]);
        json.push(
          jsonRow(c, { part: 'sweep', nprobe: setting[0], exactCandidates: setting[1] === '-' ? null : setting[1] }),
        );
        console.log(
          `  ${kind} with nprobe ${setting[0]}, ${setting[1]} exact candidates: recall@10 ${f(c.recall, 3)}, ` +
            `p50 ${f(c.p50, 2)} ms, p99 ${f(c.p99, 2)} ms`,
        );
      }
      if (kind === 'ivf-pq') {
        // lookalike's 4-bit PQ scan against faiss' own, alternated (patches/faiss-node/ivfpq4_search.cc)
        const p50s: Record<string, number[]> = { ours: [], faiss: [] };
        const run = (faissScan: boolean) => async () => {
          const c = await child(dir, kind, false, { faissScan, candidates: params.exactCandidates });
          p50s[faissScan ? 'faiss' : 'ours']!.push(c.p50);
          json.push(jsonRow(c, { part: 'scan', scan: faissScan ? 'faiss' : 'lookalike' }));
          return c.p50;
        };
        const cmp = await alternate(run(false), run(true), Number(values.rounds));
        scan =
          `${r.index}, p50 with lookalike's 4-bit PQ scan ${p50s.ours!.map((x) => f(x, 2)).join(', ')} ms, with ` +
          `faiss' own ` +
          `${p50s.faiss!.map((x) => f(x, 2)).join(', ')} ms, alternated: faiss/lookalike ${f(cmp.median, 2)}x ` +
          `(${f(cmp.min, 2)}-${f(cmp.max, 2)})`;
        console.log(`  ${scan}`);
      }
      const cold = await child(dir, kind, false, { cold: true });
      restarts.push([
        kind,
        cold.index,
        `${f(cold.openS)} / ${f(cold.firstQueryMs / 1000)}`,
        f(cold.recall, 3),
        f(cold.p50, 2),
        f(cold.p99, 2),
      ]);
      json.push(jsonRow(cold, { part: 'cold', openS: cold.openS, firstQueryMs: cold.firstQueryMs }));
      console.log(
        `  ${kind} restarted with the data folder out of the page cache: open ${f(cold.openS)} s, first query at ` +
          `${f(cold.firstQueryMs / 1000)} s, p50 ${f(cold.p50, 2)} ms, p99 ${f(cold.p99, 2)} ms`,
      );
      const adds = await child(dir, kind, false, { adds: true }); // last: its tombstones are for the next rebuild
      rows.push(row(r, rebuilt, adds));
      json.push(
        jsonRow(r, {
          part: 'main',
          rssGiB: r.rss / 1024,
          indexBytes: r.indexBytes,
          dbBytes: r.dbBytes,
          openS: r.openS,
          firstQueryMs: r.firstQueryMs,
          addsPerS: adds.addsPerS,
          rebuildS: rebuilt.openS,
          rebuildPeakMiB: rebuilt.peak,
        }),
      );
    }
    console.log(
      `\n${n} x ${DIM} (${vectors}), ${nq} queries, k=${K}; nprobe ${params.nprobe}, exact ` +
        `candidates ${params.exactCandidates}, HNSW M ${params.hnswM} ef ${params.efSearch}; ${values.threads} ` +
        `faiss thread(s); ${new Date().toISOString().slice(0, 10)}\n`,
    );
    if (sweep.length)
      console.log(
        `${table(['kind', 'index', 'nprobe', 'exact candidates', 'recall@10', 'p50 ms', 'p99 ms'], sweep)}\n`,
      );
    if (scan) console.log(`${scan}\n`);
    if (filteredRows.length) {
      const head = ['kind', 'index', 'recall@10', 'p50 ms', 'p99 ms', 'qps x1', 'qps x8', 'qps x32', 'x8 / x1'];
      console.log(`With a filter that keeps 10% (label = part-0):\n${table(head, filteredRows)}\n`);
    }
    console.log(
      `A restart with the data folder out of the page cache (as after a ` +
        `reboot):\n${table(['kind', 'index', 'open / first query s', 'recall@10', 'p50 ms', 'p99 ms'], restarts)}\n`,
    );
    console.log(
      table(
        [
          'kind',
          'index',
          'vectors',
          'recall@10',
          'p50 ms',
          'p99 ms',
          'qps x1',
          'qps x8',
          'qps x32',
          'x8 / x1',
          'RSS GiB',
          'index GiB',
          'SQLite GiB',
          'open / first query s',
          'adds/s',
          'rebuild s',
          'rebuild peak GiB',
        ],
        rows,
      ),
    );
    writeRows(values.json, json);
  } finally {
    if (!values.dir) rmSync(dir, { recursive: true, force: true });
  }
}
