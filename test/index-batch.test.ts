// Searches that arrive together are answered in one batch (index-worker.ts), re-scored side by side (rescore.ts):
// each must get exactly what it gets alone, ids and scores, with filters, tombstones, the trash and paging cursors;
// and a search that fails must not fail the others of its batch.
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Gallery } from '../src/engine/gallery/gallery.js';
import type { IndexKind } from '../src/engine/index/kinds.js';
import type { SearchHit } from '../src/engine/index/protocol.js';
import { VectorIndex } from '../src/engine/index/vector-index.js';
import { TestGalleries } from './helpers/galleries.js';
import { clusteredVectors, fakeImage, identity } from './helpers/vectors.js';

const DIM = 32,
  N = 5400,
  NQ = 16;
const params = { hnswM: 16, efSearch: 64, nprobe: 8, exactCandidates: 50 };
const galleries = new TestGalleries('index-batch', { indexParams: params, faissThreads: 2 });
afterEach(() => galleries.cleanUp());
const all = clusteredVectors(N + NQ, DIM, 60, 3, 0.6);
const queries = all.slice(N);
// 'wide' keeps 4,320 of the 5,400: more than an exact scan takes, so the index searches with the allow-list, and
// widens when the kept ones fall short
const label = (i: number) => (i % 5 === 0 ? 'narrow' : 'wide');

async function filledGallery(kind: IndexKind): Promise<{ gallery: Gallery; dataDir: string }> {
  const dataDir = galleries.tempDir();
  const gallery = await galleries.open(dataDir, { indexKind: kind, identity: identity(DIM) });
  for (let i = 0; i < N; i++) await gallery.add(fakeImage(i), all[i]!, { source: null, label: label(i) });
  // tombstones (ivf-pq cannot remove: its search fetches deeper past them), and images in the trash
  for (let id = 3; id <= 600; id += 7) await gallery.remove(id);
  await gallery.idle(); // a background rebuild, which would swap the index between two runs
  return { gallery, dataDir };
}

const oneByOne = async <T>(runs: (() => Promise<T>)[]) => {
  const out: T[] = [];
  for (const r of runs) out.push(await r());
  return out;
};
const together = <T>(runs: (() => Promise<T>)[]) => Promise.all(runs.map((r) => r()));

const startIndex = (dataDir: string, kind: IndexKind) =>
  VectorIndex.start({
    dir: join(dataDir, 'index'),
    kind,
    dim: DIM,
    modelId: identity(DIM).modelId,
    params,
    threads: 2,
    database: join(dataDir, 'lookalike.db'),
  });

describe.each(['flat', 'ivf-pq'] as IndexKind[])('%s: a batch answers each search as alone', (kind) => {
  it('ids and scores, with filters, tombstones, the trash and paging cursors; a failing search fails alone', async () => {
    const { gallery, dataDir } = await filledGallery(kind);
    // through the gallery
    const page1 = (q: Float32Array, filter?: { label: string }) => () => gallery.searchPage(q, { k: 7, filter });
    const firstPages = queries.flatMap((q) => [page1(q), page1(q, { label: 'wide' }), page1(q, { label: 'narrow' })]);
    const alone = await oneByOne(firstPages);
    expect(await together(firstPages)).toEqual(alone);
    const nextPages = alone.map(
      (p, i) => () =>
        gallery.searchPage(queries[Math.floor(i / 3)]!, {
          k: 7,
          after: p.next!,
          filter: [undefined, { label: 'wide' }, { label: 'narrow' }][i % 3],
        }),
    );
    const nextAlone = await oneByOne(nextPages);
    expect(await together(nextPages)).toEqual(nextAlone);
    for (const p of [...alone, ...nextAlone])
      expect(p.results.every((r) => r.id > 600 || (r.id - 3) % 7 !== 0)).toBe(true);
    await gallery.save();
    await galleries.close(gallery);

    // in the index layer, where the batches can be seen
    const index = await startIndex(dataDir, kind);
    try {
      expect((await index.call.load()).status).toBe('loaded');
      const allow = Array.from({ length: N }, (_, i) => i + 1).filter((id) => id % 13 === 0); // 415 ids
      const runs = queries.flatMap((q, i) => [
        () => index.call.search(q, 10 + (i % 3)),
        () => index.call.search(q, 10, allow),
      ]);
      const indexAlone = await oneByOne(runs);
      expect(index.batched).toBe(0);
      const batched = await together(runs);
      expect(index.batched).toBeGreaterThan(0);
      expect(batched).toEqual(indexAlone);
      for (const [hits] of indexAlone.filter((_, i) => i % 2))
        expect(hits!.every((h: SearchHit) => h.id % 13 === 0)).toBe(true);

      // a search that fails (a vector one value short: faiss refuses it alone) fails alone in its batch
      const bad = () => index.call.search(queries[0]!.subarray(1), 10);
      await expect(bad()).rejects.toThrow(/array length/);
      const before = index.batched;
      const settled = await Promise.allSettled([...runs.slice(0, 4), bad, ...runs.slice(4, 8)].map((r) => r()));
      expect(index.batched).toBeGreaterThan(before);
      expect(settled.map((s) => s.status)).toEqual([
        ...Array(4).fill('fulfilled'),
        'rejected',
        ...Array(4).fill('fulfilled'),
      ]);
      expect(settled.filter((_, i) => i !== 4).map((s) => (s as PromiseFulfilledResult<SearchHit[][]>).value)).toEqual(
        indexAlone.slice(0, 8),
      );
    } finally {
      await index.close();
    }
  });
});
