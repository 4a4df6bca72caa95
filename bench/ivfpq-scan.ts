// bench/ivfpq-scan: the IVF-PQ index search alone (faiss-node called directly: no worker, no re-scoring), lookalike's
// 4-bit scan (patches/faiss-node/ivfpq4_search.cc) against faiss' own on the same queries, one after the other, with
// the share of labels they agree on. The index is built from bench/synthetic's vectors and kept in the temporary
// folder for the next run (a 1M build takes a few minutes), keyed by the vectors, n, the factory and the training
// size. Another factory string compares other layouts: faiss'
// fast-scan codes (`IVF1000,PQ512x4fs`, which lookalike's scan does not cover: both columns are faiss') or an HNSW
// coarse quantizer (`IVF1000_HNSW32,PQ512x4np`).
//   npx tsx bench/ivfpq-scan.ts [--n 1000000] [--factory IVF1000,PQ512x4np] [--nprobes 4,8,16,32] [--queries 100]
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type * as FaissNode from 'faiss-node';
import { ivfLists, pqSubvectors } from '../src/engine/index/kinds.js';
import { percentile, table } from './common.js';
import { DIM, describeSynthetic, makeSource } from './synthetic.js';

const { values } = parseArgs({
  options: {
    n: { type: 'string', default: '1000000' },
    factory: { type: 'string' },
    nprobes: { type: 'string', default: '4,8,16,32' },
    queries: { type: 'string', default: '100' },
  },
});
const n = Number(values.n),
  nq = Number(values.queries);
const factory = values.factory ?? `IVF${ivfLists(n)},PQ${pqSubvectors(DIM)}x4np`; // what the ivf-pq kind builds
const faiss = createRequire(import.meta.url)('faiss-node') as typeof FaissNode;
faiss.Index.setThreads(1);
const src = makeSource(n, 42);
const trainN = Math.min(n, 64_000);
// keyed by everything that changes the index: the vectors (generator, spread, seed), n, the layout and the training
const key = `${describeSynthetic(42)}-${factory}-${n}-train${trainN}`;
const file = join(tmpdir(), `lookalike-ivfpq-scan-${key.replace(/[^A-Za-z0-9.]+/g, '_')}.faiss`);
let index: FaissNode.Index;
if (existsSync(file)) {
  index = faiss.Index.read(file);
} else {
  const started = performance.now();
  index = faiss.Index.fromFactory(DIM, factory, 0);
  const sample = new Float32Array(trainN * DIM);
  for (let i = 0; i < trainN; i++)
    src.point(sample.subarray(i * DIM, (i + 1) * DIM), Math.floor((i * n) / trainN) % src.clusters);
  index.train(sample);
  const CHUNK = 8192,
    chunk = new Float32Array(CHUNK * DIM);
  for (let start = 0; start < n; start += CHUNK) {
    const size = Math.min(CHUNK, n - start);
    for (let j = 0; j < size; j++) src.point(chunk.subarray(j * DIM, (j + 1) * DIM), (start + j) % src.clusters);
    index.add(chunk.subarray(0, size * DIM));
    console.error(`built ${start + size}/${n} in ${((performance.now() - started) / 1000).toFixed(0)} s`);
  }
  index.write(file);
}
const all = src.queries(nq); // their own stream: the same queries whether the index was just built or loaded
const queries = Array.from({ length: nq }, (_, q) => all.slice(q * DIM, (q + 1) * DIM));
const rows: (string | number)[][] = [];
for (const nprobe of values.nprobes!.split(',').map(Number)) {
  index.setParameter('nprobe', nprobe);
  const ours: number[] = [],
    theirs: number[] = [];
  let same = 0;
  for (const q of queries) {
    faiss.Index.setPq4Scan(true);
    let t = performance.now();
    const a = index.search(q, 100);
    ours.push(performance.now() - t);
    faiss.Index.setPq4Scan(false);
    t = performance.now();
    const b = index.search(q, 100);
    theirs.push(performance.now() - t);
    const labels = new Set(a.labels);
    same += b.labels.filter((l) => labels.has(l)).length / b.labels.length / nq;
  }
  const [p50, f50] = [percentile(ours, 50), percentile(theirs, 50)];
  rows.push([nprobe, p50.toFixed(2), f50.toFixed(2), (f50 / p50).toFixed(2), same.toFixed(4)]);
}
faiss.Index.setPq4Scan(true);
console.log(
  `\n${factory}, ${n} x ${DIM}, ${nq} queries, k = 100, 1 thread; ${new Date().toISOString().slice(0, 10)}\n`,
);
console.log(table(['nprobe', "lookalike's scan p50 ms", "faiss' scan p50 ms", 'ratio', 'same labels'], rows));
