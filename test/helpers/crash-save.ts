// A process that dies (SIGKILL) in the middle of an index save, between the new index file and its manifest, for
// test/gallery.test.ts and test/million.test.ts: node --import tsx test/helpers/crash-save.ts <data dir>.
// LOOKALIKE_TEST_DIM: vector width; LOOKALIKE_TEST_KIND: index kind (flat); LOOKALIKE_TEST_N: images saved first (20).
import type { IndexKind } from '../../src/engine/index/kinds.js';
import { Gallery } from '../../src/engine/gallery/gallery.js';
import { clusteredVectors, fakeImage, identity } from './vectors.js';

const dim = Number(process.env.LOOKALIKE_TEST_DIM);
const n = Number(process.env.LOOKALIKE_TEST_N ?? 20);
const kind = (process.env.LOOKALIKE_TEST_KIND ?? 'flat') as IndexKind;
const vectors = clusteredVectors(n + 1, dim, n > 100 ? 30 : 3, 17);
const g = await Gallery.open({
  dataDir: process.argv[2]!,
  identity: identity(dim),
  indexKind: kind,
  indexParams: { hnswM: 16, efSearch: 64, nprobe: 8 },
});
const ids: number[] = [];
for (let i = 0; i < n; i++)
  ids.push((await g.add(fakeImage(i), vectors[i]!, { source: `img${i}.png`, label: null })).id);
await g.save();
await g.add(fakeImage(n), vectors[n]!, { source: `img${n}.png`, label: null });
await g.remove(ids[3]!);
process.env.LOOKALIKE_CRASH_AT = 'index-commit'; // read by the index worker at its next save
await g.save();
process.stderr.write('not reached: the save should have killed the process\n');
