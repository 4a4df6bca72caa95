// The warm-up after a start (ivf-pq reads its database into the page cache in the background): it reads only while the
// index is idle, logs its progress, stops when told, and the gallery answers exact scores meanwhile.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { cosineScore, dot } from '../src/core/util/vectors.js';
import { WarmUp } from '../src/engine/index/warm-up.js';
import { TestGalleries } from './helpers/galleries.js';
import { clusteredVectors, fakeImage, identity } from './helpers/vectors.js';

const MIB = 2 ** 20;
const galleries = new TestGalleries('warm-up', { indexParams: { hnswM: 16, efSearch: 64, nprobe: 8 } });
const scratch: string[] = [];
afterEach(async () => {
  await galleries.cleanUp();
  for (const d of scratch.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** Waits until `ready` holds, turn by turn of the event loop (on progress, not on a fixed time). */
async function until(ready: () => boolean): Promise<void> {
  while (!ready()) await new Promise((r) => setTimeout(r, 5));
}

describe('warm-up', () => {
  it('reads a chunk each time the index is idle, logs count and ETA, and stops when told', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lookalike-warm-'));
    scratch.push(dir);
    const file = join(dir, 'lookalike.db');
    writeFileSync(file, Buffer.alloc(8 * MIB, 1));
    // the index is busy until the test lets one chunk through
    let waits = 0;
    let release: () => void = () => {};
    const idle = () => {
      waits++;
      return new Promise<void>((resolve) => {
        release = resolve;
      });
    };
    const lines: string[] = [];
    const warm = new WarmUp(file, idle, (l) => lines.push(l));
    await until(() => waits === 1);
    expect(warm.read).toBe(0); // nothing read while the index is busy
    for (let i = 1; i <= 3; i++) {
      release();
      await until(() => waits === i + 1);
      expect(warm.read).toBe(i * MIB);
    }
    await warm.stop(); // while waiting on a busy index
    expect(warm.read).toBe(3 * MIB);
    expect(warm.total).toBe(8 * MIB);
    expect(lines.some((l) => /^index warm-up, MiB \d\/8 \(.*ETA/.test(l))).toBe(true);
    expect(lines.some((l) => l.includes('(100.0%)'))).toBe(false);
  });

  it('an ivf-pq gallery warms after a restart and answers exact scores meanwhile; off by the setting', async () => {
    const DIM = 128;
    const vectors = clusteredVectors(1200, DIM, 30, 3, 0.6);
    const dataDir = galleries.tempDir();
    const opts = (warmUp: boolean, log: (l: string) => void) => ({
      indexKind: 'ivf-pq' as const,
      identity: identity(DIM),
      indexParams: { hnswM: 16, efSearch: 64, nprobe: 8, exactCandidates: 100, warmUp },
      log,
    });
    const first = await galleries.open(
      dataDir,
      opts(false, () => {}),
    );
    for (const [i, v] of vectors.entries()) await first.add(fakeImage(i), v, { source: null, label: null });
    await galleries.close(first);

    const lines: string[] = [];
    const g = await galleries.open(
      dataDir,
      opts(true, (l) => lines.push(l)),
    );
    // searches right away, while the warm-up runs: each hit's score is its stored vector's cosine
    for (const q of vectors.slice(0, 20)) {
      const hits = await g.search(q, { k: 5 });
      expect(hits).toHaveLength(5);
      for (const h of hits) expect(h.score).toBeCloseTo(cosineScore(dot(q, g.storedVector(h.id)!)), 4);
    }
    await until(() => lines.some((l) => /^index warm-up, MiB (\d+)\/\1 \(100\.0%\)/.test(l)));
    await galleries.close(g);

    const quiet: string[] = [];
    const off = await galleries.open(
      dataDir,
      opts(false, (l) => quiet.push(l)),
    );
    expect((await off.search(vectors[0]!, { k: 1 }))[0]!.score).toBeCloseTo(1, 2);
    await galleries.close(off);
    expect(quiet.filter((l) => l.includes('warm-up'))).toEqual([]);
  });
});
