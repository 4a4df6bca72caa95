// bench/threads: where a search's CPU goes with 1, 8 or 32 in flight, per thread of the process (/proc/self/task:
// the main thread, the index worker, FAISS's OpenMP threads, the re-scoring workers), on a data folder bench:million
// kept. The queries per second of each pass beside the share of each thread that was busy show whether the cores are
// used, and by what.
//   npx tsx bench/threads.ts --dir <folder bench:million kept> [--kind ivf-pq] [--label part-0] [--passes 1,8,1,8]
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Gallery } from '../src/engine/gallery/gallery.js';
import type { IndexKind } from '../src/engine/index/kinds.js';
import { queriesPerSecond } from './load.js';
import { DIM, syntheticGallery } from './synthetic.js';

const { values } = parseArgs({
  options: {
    dir: { type: 'string' },
    kind: { type: 'string', default: 'ivf-pq' },
    label: { type: 'string' },
    passes: { type: 'string', default: '1,8,1,8' },
  },
});
if (!values.dir) throw new Error('usage: npx tsx bench/threads.ts --dir <folder bench:million kept>');
const queries = new Float32Array(readFileSync(join(values.dir, 'queries.f32')).buffer.slice(0));
const nq = queries.length / DIM;
const filter = values.label ? { label: values.label } : undefined;
const gallery = await Gallery.open(
  syntheticGallery(join(values.dir, 'data'), values.kind as IndexKind, { warmUp: false, log: () => {} }),
);
const search = (q: number) => gallery.search(queries.slice((q % nq) * DIM, ((q % nq) + 1) * DIM), { k: 10, filter });

/** CPU seconds each thread of this process has used (user + system), by "tid:name". */
function cpuByThread(): Map<string, number> {
  const out = new Map<string, number>();
  for (const tid of readdirSync('/proc/self/task')) {
    const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
    const name = readFileSync(`/proc/self/task/${tid}/comm`, 'utf8').trim();
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    out.set(`${tid}:${name}`, (Number(fields[11]) + Number(fields[12])) / 100); // utime, stime in clock ticks
  }
  return out;
}

for (let q = 0; q < nq; q++) await search(q); // warm-up pass
for (const inFlight of values.passes!.split(',').map(Number)) {
  const before = cpuByThread();
  const started = performance.now();
  const qps = await queriesPerSecond(search, nq * 2, inFlight);
  const wall = (performance.now() - started) / 1000;
  const busy = [...cpuByThread()]
    .map(([thread, s]) => [thread, (s - (before.get(thread) ?? 0)) / wall] as const)
    .filter(([, share]) => share > 0.02)
    .map(([thread, share]) => `${thread} ${(100 * share).toFixed(0)}%`);
  console.log(`${inFlight} in flight: ${qps.toFixed(0)} queries/s over ${wall.toFixed(1)} s; busy: ${busy.join(', ')}`);
}
await gallery.close();
