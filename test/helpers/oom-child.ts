// Child of test/million.test.ts: opens a flat gallery of 4096-d vectors, says its virtual size, waits until the
// test has capped its address space (prlimit), then adds until an add is refused and prints what the gallery holds.
import { readFileSync } from 'node:fs';
import { Gallery } from '../../src/engine/gallery/gallery.js';
import { clusteredVectors, fakeImage, identity } from './vectors.js';

const dataDir = process.argv[2]!;
const vsz = () => Number(/VmSize:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))![1]) * 1024;
const gallery = await Gallery.open({
  dataDir,
  identity: identity(4096),
  indexKind: 'flat',
  indexParams: { hnswM: 16, efSearch: 64, nprobe: 8 },
});
const vectors = clusteredVectors(64, 4096, 8, 5);
await gallery.add(fakeImage(0), vectors[0]!, { source: null, label: null }); // the index worker's first allocations
process.stdout.write(`ready ${vsz()}\n`);
await new Promise((resolve) => process.stdin.once('data', resolve));
let added = 1,
  error: { code?: string; statusCode?: number; message: string; kind: string } | null = null;
for (let i = 1; i < 1_000_000 && !error; i++) {
  try {
    await gallery.add(fakeImage(i), vectors[i % 64]!, { source: null, label: null });
    added++;
  } catch (err) {
    const e = err as { code?: string; statusCode?: number; message: string };
    error = { code: e.code, statusCode: e.statusCode, message: e.message, kind: (err as Error).constructor.name };
  }
}
const hits = await gallery.search(vectors[0]!, { k: 3 });
const stats = await gallery.indexStats();
process.stdout.write(
  JSON.stringify({ added, error, live: stats.live, inDatabase: gallery.counts().embedded, hits: hits.length }),
);
process.exit(0); // no index save: the cap leaves no room for one, and the test reads the database itself
