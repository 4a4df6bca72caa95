// bench/filters: the two ways a filtered search runs (src/engine/gallery/gallery.ts), on synthetic clustered unit
// vectors through the gallery (SQLite, then the flat index): an exact scan of the kept images' vectors when a filter
// keeps at most EXACT_SCAN_MAX, the index with an allow-list otherwise. Prints ms per search (k=12, best of 7 rounds of
// 10).
//   npx tsx bench/filters.ts   (LOOKALIKE_BENCH_N=20000, LOOKALIKE_BENCH_DIM=256)
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Gallery } from '../src/engine/gallery/gallery.js';
import type { ImageFilter } from '../src/core/domain/records.js';
import { clusteredVectors, fakeImage, identity } from '../test/helpers/vectors.js';

const N = Number(process.env.LOOKALIKE_BENCH_N ?? 20_000);
const DIM = Number(process.env.LOOKALIKE_BENCH_DIM ?? 256);
const dir = mkdtempSync(join(tmpdir(), 'lookalike-bench-filters-'));
const gallery = await Gallery.open({
  dataDir: dir,
  identity: identity(DIM),
  indexKind: 'flat',
  indexParams: { hnswM: 16, efSearch: 64, nprobe: 8 },
});
try {
  const vectors = clusteredVectors(N, DIM, 50, 3, 0.6);
  for (let i = 0; i < N; i++) {
    // 1% 'c', 9% 'a', 90% 'b'; one folder per thousandth
    await gallery.add(fakeImage(i), vectors[i]!, {
      source: `f${i % 1000}/${i}.jpg`,
      label: i % 100 === 0 ? 'c' : i % 10 === 0 ? 'a' : 'b',
    });
  }
  const cases: [string, ImageFilter][] = [
    ['no filter', {}],
    ['label, 90% kept', { label: 'b' }],
    ['label, 9% kept', { label: 'a' }],
    ['label, 1% kept', { label: 'c' }],
    ['folder, 0.1% kept', { folder: 'f123' }],
  ];
  for (const [name, filter] of cases) {
    for (let i = 0; i < 3; i++) await gallery.search(vectors[i]!, { k: 12, filter }); // warm up
    let best = Infinity;
    for (let round = 0; round < 7; round++) {
      const started = performance.now();
      for (let i = 0; i < 10; i++) await gallery.search(vectors[i * 7 + round]!, { k: 12, filter });
      best = Math.min(best, (performance.now() - started) / 10);
    }
    process.stdout.write(`${name.padEnd(20)} ${best.toFixed(2)} ms/search\n`);
  }
} finally {
  await gallery.close();
  rmSync(dir, { recursive: true, force: true });
}
