// bench/cold-start: the first minute after a restart with the data folder out of the page cache (as after a reboot:
// GNU dd's advice to the kernel, file by file), with and without the warm-up (LOOKALIKE_WARM_UP), alternated. Queries
// come at a steady rate whatever the answers' pace (from bench:million's queries.f32), one gallery open per run; per
// run: p50 and p99 over the whole window and over its first 10 s, and when the warm-up logged its end.
//   npm run bench:cold-start -- --dir /work/bench/m1m [--kind ivf-pq] [--seconds 60] [--rate 10] [--rounds 1]
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Gallery } from '../src/engine/gallery/gallery.js';
import type { IndexKind } from '../src/engine/index/kinds.js';
import { evictFromPageCache, percentile, table } from './common.js';
import { DIM, syntheticGallery } from './synthetic.js';

const { values } = parseArgs({
  options: {
    dir: { type: 'string' },
    kind: { type: 'string', default: 'ivf-pq' },
    seconds: { type: 'string', default: '60' },
    rate: { type: 'string', default: '10' },
    rounds: { type: 'string', default: '1' },
  },
});
if (!values.dir) throw new Error('usage: npm run bench:cold-start -- --dir <folder bench:million kept> (see the top)');
const dataDir = join(values.dir, 'data');
const seconds = Number(values.seconds),
  rate = Number(values.rate);
const queries = new Float32Array(readFileSync(join(values.dir, 'queries.f32')).buffer.slice(0));
const nq = queries.length / DIM;

interface Run {
  warmUp: boolean;
  openS: number;
  latencies: number[];
  first10s: number[];
  warmedS: number | null;
}

async function run(warmUp: boolean): Promise<Run> {
  evictFromPageCache(dataDir);
  const started = performance.now();
  let warmedS: number | null = null;
  const gallery = await Gallery.open(
    syntheticGallery(dataDir, values.kind as IndexKind, {
      warmUp,
      log: (m) => {
        if (/^index warm-up.*\(100\.0%\)/.test(m)) warmedS ??= (performance.now() - started) / 1000;
        if (/warm-up/.test(m) || !/ \d+\/\d+ \(\d/.test(m)) console.error(`  ${m}`);
      },
    }),
  );
  const openS = (performance.now() - started) / 1000;
  const latencies: number[] = [],
    first10s: number[] = [];
  const pending: Promise<void>[] = [];
  const t0 = performance.now();
  for (let q = 0; performance.now() - t0 < seconds * 1000; q++) {
    const due = t0 + (q * 1000) / rate;
    if (due > performance.now()) await new Promise((r) => setTimeout(r, due - performance.now()));
    const sent = performance.now();
    pending.push(
      gallery.search(queries.subarray((q % nq) * DIM, ((q % nq) + 1) * DIM), { k: 10 }).then(() => {
        const ms = performance.now() - sent;
        latencies.push(ms);
        if (sent - t0 < 10_000) first10s.push(ms);
      }),
    );
  }
  await Promise.all(pending);
  await gallery.close();
  return { warmUp, openS, latencies, first10s, warmedS };
}

const runs: Run[] = [];
for (let r = 0; r < Number(values.rounds); r++) for (const warmUp of [false, true]) runs.push(await run(warmUp));
const f = (x: number, d = 1) => x.toFixed(d);
console.log(
  `${values.kind}, ${seconds} s at ${rate} queries/s after dropping ${dataDir} from the page cache ` +
    `(${availableParallelism()} cores)`,
);
console.log(
  table(
    ['warm-up', 'open s', 'p50 ms', 'p99 ms', 'first 10 s p50 / p99 ms', 'warm-up done at s', 'answers'],
    runs.map((r) => [
      r.warmUp ? 'on' : 'off',
      f(r.openS),
      f(percentile(r.latencies, 50)),
      f(percentile(r.latencies, 99)),
      `${f(percentile(r.first10s, 50))} / ${f(percentile(r.first10s, 99))}`,
      r.warmedS === null ? (r.warmUp ? 'not within the window' : '-') : f(r.warmedS),
      r.latencies.length,
    ]),
  ),
);
