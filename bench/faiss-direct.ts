// Child of bench/search: the same queries through faiss-node called directly (no worker, no id mapping), on the
// index file the project's layer saved. A separate process, because this measures faiss-node without the worker.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type * as FaissNode from 'faiss-node';
import { percentile } from './common.js';

const [indexPath, queriesPath, dimArg, kArg, param, value] = process.argv.slice(2);
const faiss = createRequire(import.meta.url)('faiss-node') as typeof FaissNode;
faiss.Index.setThreads(1);
const index = faiss.Index.read(indexPath!);
if (param) index.setParameter(param, Number(value));
const dim = Number(dimArg),
  k = Number(kArg);
const raw = readFileSync(queriesPath!);
const queries = new Float32Array(raw.buffer, raw.byteOffset, raw.byteLength / 4);
const nq = queries.length / dim;
const times: number[] = [];
const labels: number[][] = [],
  distances: number[][] = [];
for (let q = 0; q < nq; q++) {
  const x = queries.subarray(q * dim, (q + 1) * dim);
  const t = performance.now();
  const out = index.search(x, k);
  times.push(performance.now() - t);
  labels.push([...out.labels]);
  distances.push([...out.distances]);
}
process.stdout.write(JSON.stringify({ p50: percentile(times, 50), p99: percentile(times, 99), labels, distances }));
