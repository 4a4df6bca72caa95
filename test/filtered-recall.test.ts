// ivf-pq re-scores its best `exactCandidates` codes with the stored vectors. Under a filter, FAISS's hits are kept
// only if the filter allows them, so the index must fetch deeper until it has as many candidates as without a filter
// (else it re-scores a tenth of them), and probe more lists (the true neighbours among a tenth of the gallery lie
// beyond the nearest lists). Measured here: 0.625 of the true top 10 with neither, 0.756 with the candidates alone,
// 0.906 with both; 0.997 unfiltered (the rest: the codes rank a filter's farther neighbours less surely).
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { VectorIndex } from '../src/engine/index/vector-index.js';
import { TestGalleries } from './helpers/galleries.js';
import { clusteredVectors, fakeImage, identity } from './helpers/vectors.js';

const DIM = 32,
  N = 5400,
  NQ = 32,
  K = 10;
const params = { hnswM: 16, efSearch: 64, nprobe: 16, exactCandidates: 100 };
const galleries = new TestGalleries('filtered-recall', { indexParams: params, faissThreads: 2 });
afterAll(() => galleries.cleanUp());
const all = clusteredVectors(N + NQ, DIM, 60, 3, 0.6);
const queries = all.slice(N);
const allowed = (id: number) => id % 10 === 0;

/** The exact top K ids among those `keep` allows (image i + 1 holds all[i]). */
function exactTop(q: Float32Array, keep: (id: number) => boolean): number[] {
  const scored: { id: number; s: number }[] = [];
  for (let i = 0; i < N; i++) {
    if (!keep(i + 1)) continue;
    let s = 0;
    for (let j = 0; j < DIM; j++) s += q[j]! * all[i]![j]!;
    scored.push({ id: i + 1, s });
  }
  return scored
    .sort((a, b) => b.s - a.s)
    .slice(0, K)
    .map((h) => h.id);
}

it('an ivf-pq search under a filter that keeps 10% finds nearly as many of the true top 10 as one without', async () => {
  const dataDir = galleries.tempDir();
  const gallery = await galleries.open(dataDir, { indexKind: 'ivf-pq', identity: identity(DIM) });
  for (let i = 0; i < N; i++) await gallery.add(fakeImage(i), all[i]!, { source: null, label: null });
  await gallery.idle();
  await gallery.save();
  await galleries.close(gallery);

  const index = await VectorIndex.start({
    dir: join(dataDir, 'index'),
    kind: 'ivf-pq',
    dim: DIM,
    modelId: identity(DIM).modelId,
    params,
    threads: 2,
    database: join(dataDir, 'lookalike.db'),
  });
  try {
    expect((await index.call.load()).status).toBe('loaded');
    const allow = Array.from({ length: N }, (_, i) => i + 1).filter(allowed);
    let plain = 0,
      filtered = 0;
    for (const q of queries) {
      const [hits] = await index.call.search(q, K);
      const [kept] = await index.call.search(q, K, allow);
      expect(kept!.every((h) => allowed(h.id))).toBe(true);
      plain += hits!.filter((h) => exactTop(q, () => true).includes(h.id)).length / K / NQ;
      filtered += kept!.filter((h) => exactTop(q, allowed).includes(h.id)).length / K / NQ;
    }
    expect(plain).toBeGreaterThan(0.95);
    expect(filtered).toBeGreaterThan(0.85);
  } finally {
    await index.close();
  }
});
