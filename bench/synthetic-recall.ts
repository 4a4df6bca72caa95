// bench/synthetic-recall: how hard bench/synthetic's vectors are for IVF, per noise spread and cluster size: recall@10
// of an IVF(sqrt n),Flat index (the lists the ivf kinds build, no code error) against exact search, at a few nprobe. It
// is how SPREAD was chosen: real embeddings are far less clustered than the old stand-in, which IVF searched perfectly
// at nprobe 1. The answer depends on n (n/5 clusters over sqrt(n) lists): measure at the n you bench.
//   npx tsx bench/synthetic-recall.ts [--n 20000] [--spreads 0.75,1,1.5] [--per-cluster 5] [--nprobes 1,4,16] [--queries 200]
import { createRequire } from 'node:module';
import { parseArgs } from 'node:util';
import type * as FaissNode from 'faiss-node';
import { ivfLists, trainingSize } from '../src/engine/index/kinds.js';
import { table } from './common.js';
import { DIM, makeSource, PER_CLUSTER } from './synthetic.js';

const { values } = parseArgs({
  options: {
    n: { type: 'string', default: '20000' },
    spreads: { type: 'string', default: '0.75,1,1.5' },
    nprobes: { type: 'string', default: '1,4,16' },
    queries: { type: 'string', default: '200' },
    'per-cluster': { type: 'string', default: String(PER_CLUSTER) },
  },
});
const n = Number(values.n),
  nq = Number(values.queries),
  K = 10;
const nprobes = values.nprobes!.split(',').map(Number);
const faiss = createRequire(import.meta.url)('faiss-node') as typeof FaissNode;
faiss.Index.setThreads(1);
const rows: (string | number)[][] = [];
for (const spread of values.spreads!.split(',').map(Number)) {
  const src = makeSource(n, 42, spread, Number(values['per-cluster']));
  const base = new Float32Array(n * DIM);
  for (let i = 0; i < n; i++) src.point(base.subarray(i * DIM, (i + 1) * DIM), i % src.clusters);
  const queries = src.queries(nq);
  const exact = faiss.Index.fromFactory(DIM, 'Flat', 0);
  exact.add(base);
  const truth = exact.search(queries, K).labels;
  const lists = ivfLists(n);
  const ivf = faiss.Index.fromFactory(DIM, `IVF${lists},Flat`, 0);
  const step = n / trainingSize('ivf-sq8', n); // a strided sample, as the index worker trains
  const sample = new Float32Array(trainingSize('ivf-sq8', n) * DIM);
  for (let j = 0; j < sample.length / DIM; j++)
    sample.set(base.subarray(Math.floor(j * step) * DIM, (Math.floor(j * step) + 1) * DIM), j * DIM);
  ivf.train(sample);
  ivf.add(base);
  const cosine = (q: number) => {
    let s = 0;
    for (let i = 0; i < DIM; i++) s += queries[q * DIM + i]! * base[truth[q * K]! * DIM + i]!;
    return s;
  };
  const recalls = nprobes.map((p) => {
    ivf.setParameter('nprobe', p);
    const got = ivf.search(queries, K).labels;
    let hits = 0;
    for (let q = 0; q < nq; q++) {
      const t = new Set(truth.slice(q * K, (q + 1) * K));
      hits += got.slice(q * K, (q + 1) * K).filter((l) => t.has(l)).length;
    }
    return (hits / nq / K).toFixed(3);
  });
  const top1 = Array.from({ length: nq }, (_, q) => cosine(q)).reduce((a, b) => a + b, 0) / nq;
  rows.push([spread, lists, top1.toFixed(3), ...recalls]);
  console.error(`spread ${spread}: ${recalls.join(', ')}`);
}
console.log(
  `\n${n} x ${DIM}, ${Math.max(10, Math.round(n / Number(values['per-cluster'])))} clusters, ${nq} queries, k ` +
    `= ${K}, IVF lists sqrt(n), Flat codes\n`,
);
console.log(
  table(['spread', 'lists', 'mean cosine to the nearest', ...nprobes.map((p) => `recall@10 nprobe ${p}`)], rows),
);
