// bench/store: the SQLite store's hot reads, on synthetic unit vectors: the full vector scan (filteredVectors with no
// filter: what an exact search of a narrow filter reads), the batched scan (vectorBatches: what an index rebuild
// reads), and row look-ups by id and by content (get, labelBySha, vector). Prints the best of 7 rounds.
//   npx tsx bench/store.ts   (LOOKALIKE_BENCH_N=4096, LOOKALIKE_BENCH_DIM=1024)
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Store } from '../src/engine/store/store.js';
import { clusteredVectors, fakeImage, identity } from '../test/helpers/vectors.js';

const N = Number(process.env.LOOKALIKE_BENCH_N ?? 4096);
const DIM = Number(process.env.LOOKALIKE_BENCH_DIM ?? 1024);
const ROUNDS = 7;
const dir = mkdtempSync(join(tmpdir(), 'lookalike-bench-store-'));
const store = new Store(join(dir, 'lookalike.db'));

/** The best time of `ROUNDS` runs of `fn`, in ms. */
function best(fn: () => void): number {
  fn(); // warm up
  let ms = Infinity;
  for (let round = 0; round < ROUNDS; round++) {
    const started = performance.now();
    fn();
    ms = Math.min(ms, performance.now() - started);
  }
  return ms;
}

try {
  store.useModel(identity(DIM));
  const vectors = clusteredVectors(N, DIM, 50);
  store.transaction(() => vectors.forEach((v, i) => store.addImage({ ...fakeImage(i), source: null, label: 'a' }, v)));
  const ids = store.embeddedIds();
  const shas = ids.map((_, i) => fakeImage(i).sha256);
  const rows: [string, number][] = [
    [
      `scan of ${N} vectors (filteredVectors)`,
      best(() => {
        for (const row of store.filteredVectors({})) void row;
      }),
    ],
    [
      `batched scan of ${N} vectors (vectorBatches)`,
      best(() => {
        for (const b of store.vectorBatches()) void b;
      }),
    ],
    [
      `${N} get(id)`,
      best(() => {
        for (const id of ids) store.get(id);
      }),
    ],
    [
      `${N} labelBySha(sha256)`,
      best(() => {
        for (const sha of shas) store.labelBySha(sha);
      }),
    ],
    [
      `${N} vector(id)`,
      best(() => {
        for (const id of ids) store.vector(id);
      }),
    ],
  ];
  process.stdout.write(`store: ${N} rows, ${DIM} dims, best of ${ROUNDS}\n`);
  for (const [name, ms] of rows) process.stdout.write(`${name.padEnd(44)} ${ms.toFixed(1)} ms\n`);
} finally {
  store.close();
  rmSync(dir, { recursive: true, force: true });
}
