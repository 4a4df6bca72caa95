// bench/duplicates-scale: the duplicates scan (Gallery.duplicates) on a large synthetic gallery, such as the data folder
// bench:million keeps (--dir). The synthetic vectors have no duplicates of their own, so the first run plants some:
// for each of --planted gallery images, an exact copy (the same vector) and a near copy (the vector plus noise, cosine
// about 0.985 to it), added through Gallery.add and listed in planted.json beside the data folder (later runs reuse
// them). Measured: the scan's time; the similar-search p50 one query at a time while it runs, against idle; the groups'
// precision and recall over pairs against exact all-pairs on a sample (the planted images and --sample random ones,
// each against every gallery vector, faiss Flat on the stored vectors): a pair at the threshold or above is found when
// both are in one group; a keeper-member pair is right when it is at the threshold or above; and against the plant
// (a copy grouped with its original).
//   npm run bench:duplicates-scale -- --dir /work/bench/m200k [--kind ivf-pq] [--threshold 0.97]
//                                     [--planted 200] [--sample 400] [--json <file>]
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type * as FaissNode from 'faiss-node';
import { l2Normalize } from '../src/engine/encoder/vision-encoder.js';
import { Gallery } from '../src/engine/gallery/gallery.js';
import type { IndexKind } from '../src/engine/index/kinds.js';
import { fakeImage } from '../test/helpers/vectors.js';
import { seededRandom } from '../test/helpers/random-text-model.js';
import { percentile, table } from './common.js';
import { DIM, syntheticGallery } from './synthetic.js';

const { values } = parseArgs({
  options: {
    dir: { type: 'string' },
    kind: { type: 'string', default: 'ivf-pq' },
    threshold: { type: 'string', default: '0.97' },
    planted: { type: 'string', default: '200' },
    sample: { type: 'string', default: '400' },
    json: { type: 'string' },
  },
});
if (!values.dir) throw new Error('usage: npm run bench:duplicates-scale -- --dir <folder with data/> (see the top)');
const dir = values.dir;
const threshold = Number(values.threshold);
const kind = values.kind as IndexKind;
const rand = seededRandom(29);
const gallery = await Gallery.open(
  syntheticGallery(join(dir, 'data'), kind, {
    warmUp: true,
    log: (m) => {
      if (!/ \d+\/\d+ \(\d/.test(m) || /100\.0%/.test(m)) console.error(`  ${m}`);
    },
  }),
);
await gallery.idle();
const n = gallery.counts().embedded;

// the plant: [original, exact copy, near copy]
const plantFile = join(dir, 'planted.json');
let planted: [number, number, number][];
if (existsSync(plantFile)) planted = JSON.parse(readFileSync(plantFile, 'utf8'));
else {
  planted = [];
  const originals = new Set<number>();
  while (originals.size < Number(values.planted)) originals.add(1 + Math.floor(rand() * n));
  for (const [i, id] of [...originals].entries()) {
    const v = gallery.storedVector(id)!;
    // noise of norm 0.17 against a unit vector: cosine about 0.985
    const near = l2Normalize(v.map((x) => x + (rand() * 2 - 1) * 0.17 * Math.sqrt(3 / DIM)));
    const exact = (await gallery.add(fakeImage(20_000_000 + 2 * i), v, { source: null, label: null })).id;
    const close = (await gallery.add(fakeImage(20_000_001 + 2 * i), near, { source: null, label: null })).id;
    planted.push([id, exact, close]);
  }
  await gallery.idle();
  writeFileSync(plantFile, JSON.stringify(planted));
}
const total = gallery.counts().embedded;
console.log(`${total} images (${kind}), ${planted.length} planted originals with an exact and a near copy each`);

const queries = new Float32Array(readFileSync(join(dir, 'queries.f32')).buffer.slice(0));
const nq = queries.length / DIM;
const query = (q: number) => queries.subarray((q % nq) * DIM, ((q % nq) + 1) * DIM);
const timeSearch = async (q: number) => {
  const t = performance.now();
  await gallery.search(query(q), { k: 10 });
  return performance.now() - t;
};
for (let q = 0; q < nq; q++) await timeSearch(q); // warm-up
const idle: number[] = [];
for (let q = 0; q < nq; q++) idle.push(await timeSearch(q));

// the scan, with searches one at a time beside it
let scanning = true;
const during: number[] = [];
const searching = (async () => {
  for (let q = 0; scanning; q++) during.push(await timeSearch(q));
})();
const started = performance.now();
const groups = await gallery.duplicates(threshold);
const scanS = (performance.now() - started) / 1000;
scanning = false;
await searching;
const groupOf = new Map<number, number>();
groups.forEach((g, i) => {
  for (const m of g.members) groupOf.set(m.id, i);
});

// exact all-pairs on the sample: every gallery vector against the sample's
const sample = new Set(planted.flat());
while (sample.size < planted.length * 3 + Number(values.sample)) sample.add(1 + Math.floor(rand() * n));
const sampleIds = [...sample];
const faiss = createRequire(import.meta.url)('faiss-node') as typeof FaissNode;
const flat = faiss.Index.fromFactory(DIM, 'Flat', 0);
for (const id of sampleIds) flat.add(gallery.storedVector(id)!);
const truePairs = new Set<string>();
const pairKey = (a: number, b: number) => (a < b ? `${a}-${b}` : `${b}-${a}`);
const batch = 4096;
const maxId = Math.max(...planted.flat(), n);
const gtStarted = performance.now();
for (let from = 1; from <= maxId; from += batch) {
  const ids: number[] = [];
  const block = new Float32Array(batch * DIM);
  for (let id = from; id < from + batch && id <= maxId; id++) {
    const v = gallery.storedVector(id);
    if (!v) continue;
    block.set(v, ids.length * DIM);
    ids.push(id);
  }
  if (!ids.length) continue;
  const k = 8;
  const { distances, labels } = flat.search(block.subarray(0, ids.length * DIM), k);
  ids.forEach((id, i) => {
    for (let j = 0; j < k; j++) {
      const s = sampleIds[labels[i * k + j]!]!;
      if (s !== id && distances[i * k + j]! >= threshold) truePairs.add(pairKey(s, id));
    }
  });
}
const gtS = (performance.now() - gtStarted) / 1000;
const found = [...truePairs].filter((p) => {
  const [a, b] = p.split('-').map(Number) as [number, number];
  return groupOf.has(a) && groupOf.get(a) === groupOf.get(b);
}).length;
const keeperPairs = groups.flatMap((g) =>
  g.members
    .slice(1)
    .filter((m) => sample.has(m.id) || sample.has(g.keep))
    .map((m) => pairKey(g.keep, m.id)),
);
const rightKeeperPairs = keeperPairs.filter((p) => truePairs.has(p)).length;
const plantedFound = planted.flatMap(([o, ...copies]) =>
  copies.map((c) => groupOf.has(o) && groupOf.get(o) === groupOf.get(c)),
);
const plantedIds = new Set(planted.flat());
const members = groups.flatMap((g) => g.members.map((m) => m.id));
const f = (x: number, d = 3) => x.toFixed(d);
const row = {
  kind,
  images: total,
  threshold,
  scanS,
  groups: groups.length,
  pairRecall: truePairs.size ? found / truePairs.size : 1,
  truePairs: truePairs.size,
  pairPrecision: keeperPairs.length ? rightKeeperPairs / keeperPairs.length : 1,
  plantedRecall: plantedFound.filter(Boolean).length / plantedFound.length,
  plantedPrecision: members.filter((id) => plantedIds.has(id)).length / Math.max(1, members.length),
  idleP50: percentile(idle, 50),
  idleP99: percentile(idle, 99),
  scanP50: percentile(during, 50),
  scanP99: percentile(during, 99),
  searchesDuringScan: during.length,
  groundTruthS: gtS,
  sample: sampleIds.length,
};
console.log(
  table(
    [
      'index',
      'images',
      'threshold',
      'scan s',
      'groups',
      'pair recall',
      'pair precision',
      'planted recall',
      'planted precision',
      'search p50/p99 idle ms',
      'during scan ms',
    ],
    [
      [
        kind,
        total,
        threshold,
        f(scanS, 1),
        groups.length,
        `${f(row.pairRecall)} (${found}/${truePairs.size})`,
        f(row.pairPrecision),
        f(row.plantedRecall),
        f(row.plantedPrecision),
        `${f(row.idleP50, 1)} / ${f(row.idleP99, 1)}`,
        `${f(row.scanP50, 1)} / ${f(row.scanP99, 1)} (${during.length})`,
      ],
    ],
  ),
);
console.log(`ground truth: ${sampleIds.length} sampled images against all ${total} in ${f(gtS, 1)} s`);
if (values.json) writeFileSync(values.json, JSON.stringify(row, null, 2));
await gallery.close();
