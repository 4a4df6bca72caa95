// What bench:search and bench:million (and a peer bench beside them) measure the same way: a full warm-up pass,
// then latency one query at a time, then queries per second with 1, 8 and 32 in flight over distinct queries (each
// query is asked once per pass: no cycling of a few, and lookalike keeps no result cache); alternated comparisons;
// and the rows written to --json so runs can be compared and plotted.
import { writeFileSync } from 'node:fs';
import { percentile } from './common.js';

/** One row of a bench's --json file. `index` names what was measured (faiss factory string: lists and codes). */
export interface BenchRow {
  system: string;
  kind: string;
  index: string;
  vectors: string;
  n: number;
  recall10: number | null;
  p50ms: number;
  p99ms: number;
  qps1: number | null;
  qps8: number | null;
  qps32: number | null;
  [extra: string]: unknown;
}

export const IN_FLIGHT = [1, 8, 32] as const;

/** Queries per second with `inFlight` searches outstanding, each query asked exactly once. */
export async function queriesPerSecond(
  search: (q: number) => Promise<unknown>,
  nq: number,
  inFlight: number,
): Promise<number> {
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: Math.min(inFlight, nq) }, async () => {
      while (next < nq) await search(next++);
    }),
  );
  return nq / ((performance.now() - started) / 1000);
}

export interface Measured {
  p50ms: number;
  p99ms: number;
  qps1: number | null;
  qps8: number | null;
  qps32: number | null;
  hits: number[][];
}

/** Warm-up pass over every query, a timed pass one at a time (latency and the ids found), then, unless `latencyOnly`,
 *  a pass at each of 8 and 32 in flight. */
export async function measure(
  search: (q: number) => Promise<number[]>,
  nq: number,
  latencyOnly = false,
): Promise<Measured> {
  for (let q = 0; q < nq; q++) await search(q);
  const times: number[] = [],
    hits: number[][] = [];
  const started = performance.now();
  for (let q = 0; q < nq; q++) {
    const t = performance.now();
    hits.push(await search(q));
    times.push(performance.now() - t);
  }
  const qps1 = nq / ((performance.now() - started) / 1000);
  const qps8 = latencyOnly ? null : await queriesPerSecond(search, nq, 8);
  const qps32 = latencyOnly ? null : await queriesPerSecond(search, nq, 32);
  return { p50ms: percentile(times, 50), p99ms: percentile(times, 99), qps1, qps8, qps32, hits };
}

export const recallAt = (k: number, hits: number[][], truth: number[][]) =>
  hits.reduce((s, got, q) => s + got.slice(0, k).filter((id) => truth[q]!.slice(0, k).includes(id)).length / k, 0) /
  hits.length;

/** a and b alternated `rounds` times (a, b, a, b, ...): the ratios b/a of each round, their median and range. */
export async function alternate(a: () => Promise<number>, b: () => Promise<number>, rounds: number) {
  const ratios: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const x = await a();
    ratios.push((await b()) / x);
  }
  return { ratios, median: percentile(ratios, 50), min: Math.min(...ratios), max: Math.max(...ratios) };
}

export function writeRows(file: string | undefined, rows: BenchRow[]): void {
  if (file) writeFileSync(file, `${JSON.stringify(rows, null, 1)}\n`);
}
