// bench/peers: lookalike beside LanceDB (the embedded vector database TypeScript users pick), on the same vectors and
// the same held-out queries. lookalike is measured through its gallery (SQLite and the index layer, as bench/million),
// LanceDB through its own table. Each index kind is tuned, per system, to recall@10 0.95 and 0.99: a sweep over the
// settings (lookalike's nprobe and exact candidates, LanceDB's nprobes and refine factor) keeps, of those that reach
// the target, the one with the fewest milliseconds per query in the sweep. Then every row is measured in a fresh
// process, the systems alternated, `--rounds` times: p50/p99 after a full warm-up pass and queries per second with 1,
// 8 and 32 distinct queries in flight (bench/load.ts), with the spread over rounds. Build time, RSS and disk come
// from the build, each system in its own process. Flat rows are exact search on both (LanceDB: bypassVectorIndex).
//   npm run bench:peers [-- --n 200000] [-- --vectors fashion] [-- --kinds ivf-pq,flat] [-- --json rows.json]
//   options: --queries 200, --rounds 2, --dir <folder> (kept; default a temporary one, removed)
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import {
  appendFileSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import * as lancedb from '@lancedb/lancedb';
import type * as FaissNode from 'faiss-node';
import { Gallery } from '../src/engine/gallery/gallery.js';
import { KINDS, type IndexParams } from '../src/engine/index/kinds.js';
import { Store } from '../src/engine/store/store.js';
import { fakeImage, identity } from '../test/helpers/vectors.js';
import { percentile, table } from './common.js';
import { loadFashionVectors } from './fashion-vectors.js';
import { type BenchRow, measure, recallAt, writeRows } from './load.js';
import { DIM as SYNTHETIC_DIM, describeSynthetic, makeSource } from './synthetic.js';

const K = 10,
  CHUNK = 4096,
  TARGETS = [0.95, 0.99];
const { values } = parseArgs({
  options: {
    n: { type: 'string', default: '200000' },
    vectors: { type: 'string', default: 'synthetic' },
    kinds: { type: 'string', default: 'ivf-pq,flat' },
    queries: { type: 'string', default: '200' },
    rounds: { type: 'string', default: '2' },
    json: { type: 'string' },
    dir: { type: 'string' },
    child: { type: 'string' },
    system: { type: 'string' },
    kind: { type: 'string' },
    setting: { type: 'string' },
  },
});

type System = 'lookalike' | 'lancedb';
type Kind = 'ivf-pq' | 'flat';
/** lookalike: nprobe and exact candidates; LanceDB: nprobes and refine factor (0: none). Flat: none. */
type Setting = { a: number; b: number } | null;
interface Meta {
  n: number;
  dim: number;
  nq: number;
  vectors: string;
}

const rssMiB = () => process.memoryUsage().rss / 2 ** 20;
const peakMiB = () => Number(/VmHWM:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))![1]) / 1024;
const duBytes = (path: string): number =>
  statSync(path).isDirectory()
    ? readdirSync(path).reduce((s, f) => s + duBytes(join(path, f)), 0)
    : statSync(path).size;
const readF32 = (file: string) => new Float32Array(readFileSync(file).buffer.slice(0));

/** The gallery vectors (written to base.f32 chunk by chunk), the queries, and their exact top 10 (faiss Flat). */
async function prepare(dir: string): Promise<Meta> {
  const faiss = createRequire(import.meta.url)('faiss-node') as typeof FaissNode;
  const nq = Number(values.queries);
  let dim: number, n: number, vectors: string, queries: Float32Array;
  let chunkAt: (start: number, size: number, out: Float32Array) => void;
  if (values.vectors === 'fashion') {
    const f = await loadFashionVectors();
    dim = f.dim;
    n = Math.min(Number(values.n), f.count - nq);
    vectors = 'fashion-mnist-demo-embedding';
    queries = f.vectors.slice((f.count - nq) * dim);
    chunkAt = (start, size, out) => out.set(f.vectors.subarray(start * dim, (start + size) * dim));
  } else {
    if (values.vectors !== 'synthetic') throw new Error(`--vectors ${values.vectors}: synthetic or fashion`);
    const src = makeSource(Number(values.n), 42);
    dim = SYNTHETIC_DIM;
    n = Number(values.n);
    vectors = describeSynthetic(42);
    queries = src.queries(nq);
    chunkAt = (start, size, out) => {
      for (let j = 0; j < size; j++) src.point(out.subarray(j * dim, (j + 1) * dim), (start + j) % src.clusters);
    };
  }
  const truth: { id: number; score: number }[][] = Array.from({ length: nq }, () => []);
  const chunk = new Float32Array(CHUNK * dim);
  writeFileSync(join(dir, 'base.f32'), '');
  for (let start = 0; start < n; start += CHUNK) {
    const size = Math.min(CHUNK, n - start);
    chunkAt(start, size, chunk);
    const part = chunk.subarray(0, size * dim);
    appendFileSync(join(dir, 'base.f32'), Buffer.from(part.buffer, part.byteOffset, part.byteLength));
    const exact = faiss.Index.fromFactory(dim, 'Flat', 0);
    exact.add(part);
    const { distances, labels } = exact.search(queries, K);
    for (let q = 0; q < nq; q++) {
      for (let j = 0; j < K; j++) truth[q]!.push({ id: start + labels[q * K + j]! + 1, score: distances[q * K + j]! });
      truth[q] = truth[q]!.sort((x, y) => y.score - x.score).slice(0, K);
    }
  }
  writeFileSync(join(dir, 'queries.f32'), Buffer.from(queries.buffer, queries.byteOffset, queries.byteLength));
  writeFileSync(join(dir, 'truth.json'), JSON.stringify(truth.map((t) => t.map((h) => h.id))));
  const meta = { n, dim, nq, vectors };
  writeFileSync(join(dir, 'meta.json'), JSON.stringify(meta));
  return meta;
}

/** The vectors of base.f32 in chunks, ids from 1, without holding the whole file. */
function* baseChunks(dir: string, meta: Meta): Generator<{ start: number; vectors: Float32Array }> {
  const fd = readFileSync(join(dir, 'base.f32'));
  for (let start = 0; start < meta.n; start += CHUNK) {
    const size = Math.min(CHUNK, meta.n - start);
    const bytes = fd.subarray(start * meta.dim * 4, (start + size) * meta.dim * 4);
    yield { start, vectors: new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length)) };
  }
}

/** A search that answers query q with the ids of its top 10. */
type Searcher = { search: (q: number) => Promise<number[]>; close: () => Promise<void> };

const lookalikeParams = (s: Setting): IndexParams => ({
  hnswM: 32,
  efSearch: 128,
  nprobe: s?.a ?? 16,
  exactCandidates: s?.b ?? 100,
});

async function openLookalike(dir: string, meta: Meta, kind: Kind, s: Setting): Promise<Searcher> {
  const queries = readF32(join(dir, 'queries.f32'));
  const gallery = await Gallery.open({
    dataDir: join(dir, `lookalike-${kind}`),
    identity: identity(meta.dim, 'bench'),
    indexKind: kind,
    indexParams: lookalikeParams(s),
    faissThreads: availableParallelism(),
    log: () => {},
  });
  return {
    search: async (q) =>
      (await gallery.search(queries.slice(q * meta.dim, (q + 1) * meta.dim), { k: K })).map((h) => h.id),
    close: () => gallery.close(),
  };
}

async function openLance(dir: string, meta: Meta, s: Setting): Promise<Searcher> {
  const queries = readF32(join(dir, 'queries.f32'));
  const db = await lancedb.connect(join(dir, 'lancedb'));
  const t = await db.openTable('images');
  return {
    search: async (q) => {
      let query = t
        .vectorSearch(Array.from(queries.subarray(q * meta.dim, (q + 1) * meta.dim)))
        .distanceType('dot')
        .select(['id', '_distance'])
        .limit(K);
      if (!s) query = query.bypassVectorIndex();
      else {
        query = query.nprobes(s.a);
        if (s.b) query = query.refineFactor(s.b);
      }
      return (await query.toArray()).map((r) => Number(r.id));
    },
    close: async () => {
      t.close();
      db.close();
    },
  };
}

/** Builds the system's index in this process: lookalike stores the vectors in SQLite, then rebuilds the index from
 *  there (as a server does); LanceDB writes its table, then indexes it (IVF_PQ, its defaults but dot product). */
async function build(dir: string, meta: Meta, system: System, kind: Kind) {
  const started = performance.now();
  let path: string;
  if (system === 'lookalike') {
    path = join(dir, `lookalike-${kind}`);
    mkdirSync(path, { recursive: true });
    const store = new Store(join(path, 'lookalike.db'));
    store.useModel(identity(meta.dim, 'bench'));
    for (const { start, vectors } of baseChunks(dir, meta)) {
      store.db.transaction(() => {
        for (let j = 0; j * meta.dim < vectors.length; j++) {
          const img = { ...fakeImage(start + j), source: null, label: null };
          store.addImage(img, vectors.subarray(j * meta.dim, (j + 1) * meta.dim));
        }
      })();
    }
    store.close();
    await (await openLookalike(dir, meta, kind, null)).close(); // opening finds no index: it builds one
  } else {
    path = join(dir, 'lancedb');
    const db = await lancedb.connect(path);
    let t: lancedb.Table | null = null;
    for (const { start, vectors } of baseChunks(dir, meta)) {
      const rows = Array.from({ length: vectors.length / meta.dim }, (_, j) => ({
        id: start + j + 1,
        vector: Array.from(vectors.subarray(j * meta.dim, (j + 1) * meta.dim)),
      }));
      if (t) await t.add(rows);
      else t = await db.createTable('images', rows);
    }
    if (kind === 'ivf-pq') await t!.createIndex('vector', { config: lancedb.Index.ivfPq({ distanceType: 'dot' }) });
    t!.close();
    db.close();
  }
  return { buildS: (performance.now() - started) / 1000, peakMiB: peakMiB(), diskBytes: duBytes(path) };
}

const GRID: Record<System, { a: number[]; b: number[] }> = {
  lookalike: { a: [1, 2, 4, 8, 16, 32, 64, 128], b: [25, 50, 100, 200, 400, 800, 1600] },
  lancedb: { a: [1, 2, 4, 8, 16, 32, 64, 128], b: [0, 2, 5, 10, 20, 50, 100] },
};

/** Recall@10 and ms per query of each setting tried, one pass each (lookalike reopens its gallery per setting). */
async function sweep(dir: string, meta: Meta, system: System) {
  const truth = JSON.parse(readFileSync(join(dir, 'truth.json'), 'utf8')) as number[][];
  const out: { setting: Setting; recall: number; ms: number }[] = [];
  // recall grows with the lists probed: each column stops at the first that reaches the highest target
  for (const b of GRID[system].b) {
    for (const a of GRID[system].a) {
      const s = { a, b };
      const searcher =
        system === 'lookalike' ? await openLookalike(dir, meta, 'ivf-pq', s) : await openLance(dir, meta, s);
      const hits: number[][] = [];
      const started = performance.now();
      for (let q = 0; q < meta.nq; q++) hits.push(await searcher.search(q));
      const recall = recallAt(K, hits, truth);
      out.push({ setting: s, recall, ms: (performance.now() - started) / meta.nq });
      await searcher.close();
      if (recall >= Math.max(...TARGETS)) break;
    }
  }
  return out;
}

type Built = Awaited<ReturnType<typeof build>>;
type Swept = Awaited<ReturnType<typeof sweep>>;
type Sample = Awaited<ReturnType<typeof measureChild>>;

async function measureChild(dir: string, meta: Meta, system: System, kind: Kind, s: Setting) {
  const truth = JSON.parse(readFileSync(join(dir, 'truth.json'), 'utf8')) as number[][];
  const searcher =
    system === 'lookalike'
      ? await openLookalike(dir, meta, kind, s)
      : await openLance(dir, meta, kind === 'flat' ? null : s);
  const m = await measure(searcher.search, meta.nq);
  const rss = rssMiB();
  await searcher.close();
  return {
    recall: recallAt(K, m.hits, truth),
    p50: m.p50ms,
    p99: m.p99ms,
    qps1: m.qps1,
    qps8: m.qps8,
    qps32: m.qps32,
    rss,
  };
}

/** Runs this script as a child and returns what it printed last (JSON). */
function child<T>(dir: string, args: string[]): T {
  const r = spawnSync(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--dir', dir, ...args], {
    encoding: 'utf8',
    maxBuffer: 1 << 26,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  if (r.status !== 0) throw new Error(`child ${args.join(' ')} failed (${r.status})`);
  return JSON.parse(r.stdout.trim().split('\n').at(-1)!) as T;
}

if (values.child) {
  const dir = values.dir!;
  const meta = JSON.parse(readFileSync(join(dir, 'meta.json'), 'utf8')) as Meta;
  const system = values.system as System,
    kind = values.kind as Kind;
  const setting = values.setting ? (JSON.parse(values.setting) as Setting) : null;
  const result =
    values.child === 'build'
      ? await build(dir, meta, system, kind)
      : values.child === 'sweep'
        ? await sweep(dir, meta, system)
        : await measureChild(dir, meta, system, kind, setting);
  console.log(JSON.stringify(result));
  process.exit(0);
}

const dir = values.dir ?? mkdtempSync(join(tmpdir(), 'peers-'));
mkdirSync(dir, { recursive: true });
try {
  const meta = await prepare(dir);
  const kinds = values.kinds!.split(',') as Kind[];
  const systems: System[] = ['lookalike', 'lancedb'];
  console.log(`${meta.n} x ${meta.dim} (${meta.vectors}), ${meta.nq} held-out queries, load ${loadavg()}`);
  const built = new Map<string, Built>();
  // LanceDB's table serves both kinds: built once, with its IVF_PQ index (flat rows bypass it)
  for (const kind of kinds) {
    for (const system of systems) {
      if (system === 'lancedb' && built.has('lancedb')) continue;
      const b = child<Built>(dir, [
        '--child',
        'build',
        '--system',
        system,
        '--kind',
        system === 'lancedb' ? 'ivf-pq' : kind,
      ]);
      built.set(system === 'lancedb' ? 'lancedb' : `lookalike ${kind}`, b);
      console.log(`  built ${system} ${kind}: ${b.buildS.toFixed(1)} s, peak RSS ${b.peakMiB.toFixed(0)} MiB`);
    }
  }
  // each row: a system, a kind and a setting; ivf-pq once per target
  const plan: { system: System; kind: Kind; target: number | null; setting: Setting; sweepRecall: number }[] = [];
  for (const kind of kinds) {
    for (const system of systems) {
      if (kind === 'flat') {
        plan.push({ system, kind, target: null, setting: null, sweepRecall: 1 });
        continue;
      }
      const swept = child<Swept>(dir, ['--child', 'sweep', '--system', system, '--kind', kind]);
      for (const target of TARGETS) {
        const best = swept.filter((x) => x.recall >= target).sort((x, y) => x.ms - y.ms)[0];
        if (!best) console.log(`  ${system} reaches recall@10 ${target} with no setting swept`);
        else plan.push({ system, kind, target, setting: best.setting, sweepRecall: best.recall });
      }
    }
  }
  // the systems alternated, round after round
  const samples = new Map<number, Sample[]>();
  const rounds = Number(values.rounds);
  for (let r = 0; r < rounds; r++) {
    for (const [i, p] of plan.entries()) {
      const args = ['--child', 'measure', '--system', p.system, '--kind', p.kind];
      const got = child<Sample>(dir, p.setting ? [...args, '--setting', JSON.stringify(p.setting)] : args);
      samples.set(i, [...(samples.get(i) ?? []), got]);
    }
  }
  const rows: BenchRow[] = plan.map((p, i) => {
    const s = samples.get(i)!;
    const med = (f: (x: (typeof s)[number]) => number) => percentile(s.map(f), 50);
    const spread = (f: (x: (typeof s)[number]) => number) => [Math.min(...s.map(f)), Math.max(...s.map(f))];
    const b = built.get(p.system === 'lancedb' ? 'lancedb' : `lookalike ${p.kind}`)!;
    const setting =
      p.setting === null
        ? 'exact'
        : p.system === 'lookalike'
          ? `nprobe ${p.setting.a}, candidates ${p.setting.b}`
          : `nprobes ${p.setting.a}, refine ${p.setting.b || 'none'}`;
    const index =
      p.system === 'lookalike'
        ? KINDS[p.kind].factory(meta.n, lookalikeParams(p.setting), meta.dim)
        : p.kind === 'flat'
          ? 'flat scan (bypassVectorIndex)'
          : 'IVF_PQ (defaults, dot)';
    return {
      system: p.system,
      kind: p.kind,
      index,
      vectors: meta.vectors,
      n: meta.n,
      target: p.target,
      setting,
      recall10: med((x) => x.recall),
      p50ms: med((x) => x.p50),
      p99ms: med((x) => x.p99),
      qps1: med((x) => x.qps1 ?? 0),
      qps8: med((x) => x.qps8 ?? 0),
      qps32: med((x) => x.qps32 ?? 0),
      p50Spread: spread((x) => x.p50),
      qps8Spread: spread((x) => x.qps8 ?? 0),
      buildS: b.buildS,
      buildPeakMiB: b.peakMiB,
      rssMiB: med((x) => x.rss),
      diskBytes: b.diskBytes,
      rounds,
    };
  });
  writeRows(values.json, rows);
  const f = (x: number | null | unknown, d = 1) => (typeof x === 'number' ? x.toFixed(d) : '-');
  console.log(
    table(
      [
        'system',
        'kind',
        'target',
        'setting',
        'recall@10',
        'p50 ms (spread)',
        'p99 ms',
        'QPS 1/8/32',
        'build s',
        'RSS MiB',
        'disk MiB',
      ],
      rows.map((r) => [
        r.system,
        r.kind,
        f(r.target, 2),
        String(r.setting),
        f(r.recall10, 3),
        `${f(r.p50ms, 2)} (${(r.p50Spread as number[]).map((x) => x.toFixed(2)).join('-')})`,
        f(r.p99ms, 2),
        [r.qps1, r.qps8, r.qps32].map((x) => f(x, 0)).join(' / '),
        f(r.buildS),
        f(r.rssMiB, 0),
        f((r.diskBytes as number) / 2 ** 20, 0),
      ]),
    ),
  );
  // lookalike / LanceDB, per kind and target: latency below 1 and throughput above 1 favour lookalike
  const ratioRows: string[][] = [];
  for (const kind of kinds) {
    for (const target of kind === 'flat' ? [null] : TARGETS) {
      const a = rows.find((r) => r.system === 'lookalike' && r.kind === kind && r.target === target);
      const b = rows.find((r) => r.system === 'lancedb' && r.kind === kind && r.target === target);
      if (!a || !b) continue;
      const q = (x: number | null, y: number | null) => (x && y ? (x / y).toFixed(2) : '-');
      ratioRows.push([
        kind,
        f(target, 2),
        q(a.p50ms, b.p50ms),
        q(a.p99ms, b.p99ms),
        q(a.qps1, b.qps1),
        q(a.qps8, b.qps8),
        q(a.qps32, b.qps32),
        q(a.buildS as number, b.buildS as number),
        q(a.rssMiB as number, b.rssMiB as number),
        q(a.diskBytes as number, b.diskBytes as number),
      ]);
    }
  }
  console.log('\nlookalike / LanceDB');
  console.log(table(['kind', 'target', 'p50', 'p99', 'QPS 1', 'QPS 8', 'QPS 32', 'build', 'RSS', 'disk'], ratioRows));
  console.log(`load after: ${loadavg()}`);
} finally {
  if (!values.dir) rmSync(dir, { recursive: true, force: true });
}

function loadavg(): string {
  return readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
}
