// A process that dies (SIGKILL) in the middle of an index save, between the new index file and its manifest, for
// test/gallery.test.ts: node --import tsx test/helpers/crash-save.ts <data dir>.
import { Gallery } from '../../src/gallery/gallery.js';
import { clusteredVectors, fakeImage, identity } from './vectors.js';

const dim = Number(process.env.LOOKALIKE_TEST_DIM);
const vectors = clusteredVectors(21, dim, 3, 17);
const g = await Gallery.open({ dataDir: process.argv[2]!, identity: identity(dim), indexKind: 'flat', indexParams: { hnswM: 16, efSearch: 64, nprobe: 8 } });
const ids: number[] = [];
for (let i = 0; i < 20; i++) ids.push((await g.add(fakeImage(i), vectors[i]!, { source: `img${i}.png`, label: null })).id);
await g.save();
await g.add(fakeImage(20), vectors[20]!, { source: 'img20.png', label: null });
await g.remove(ids[3]!);
process.env.LOOKALIKE_CRASH_AT = 'index-commit'; // read by the index worker at its next save
await g.save();
process.stderr.write('not reached: the save should have killed the process\n');
