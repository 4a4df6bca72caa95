// The gallery's storage: real SQLite, real FAISS in its worker thread, vectors made by the test.
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ModelMismatchError } from '../src/core/errors.js';
import { Gallery } from '../src/engine/gallery/gallery.js';
import { DataDirLockedError } from '../src/engine/gallery/lock.js';
import { MIN_TRAIN, type IndexKind } from '../src/engine/index/kinds.js';
import { Store } from '../src/engine/store/store.js';
import { ROOT, runScript, startScript, watchOutput } from './helpers/cli.js';
import { clusteredVectors, fakeImage, identity } from './helpers/vectors.js';
import { TestGalleries } from './helpers/galleries.js';
import { asStored } from '../src/core/util/vector-format.js';
import { dot } from '../src/core/util/vectors.js';

const DIM = 32;
const params = { hnswM: 16, efSearch: 64, nprobe: 8 };
const galleries = new TestGalleries('gallery', { identity: identity(DIM), indexParams: params });
const tempDir = () => galleries.tempDir();
const openGallery = (dataDir: string, kind: IndexKind = 'flat', id = identity(DIM), log?: (m: string) => void) =>
  galleries.open(dataDir, { indexKind: kind, identity: id, log });
const closeGallery = (g: Gallery) => galleries.close(g);
afterEach(() => galleries.cleanUp());

async function fill(g: Gallery, vectors: Float32Array[]): Promise<number[]> {
  const ids: number[] = [];
  for (let i = 0; i < vectors.length; i++)
    ids.push((await g.add(fakeImage(i), vectors[i]!, { source: `img${i}.png`, label: `c${i % 4}` })).id);
  return ids;
}

describe.each(['flat', 'hnsw', 'ivf-sq8'] as IndexKind[])('gallery with a %s index', (kind) => {
  it('finds, deletes and never returns a deleted image, with ids right after deletes in the middle', async () => {
    const g = await openGallery(tempDir(), kind);
    const vectors = clusteredVectors(120, DIM, 6, 7);
    const ids = await fill(g, vectors);
    for (const i of [0, 50, 119]) {
      const [top] = await g.search(vectors[i]!, { k: 1 });
      expect(top!.id).toBe(ids[i]);
      expect(top!.score).toBeGreaterThan(0.95);
    }
    const gone = [ids[10]!, ids[11]!, ids[60]!];
    for (const id of gone) await g.remove(id);
    for (const i of [10, 11, 60]) {
      const hits = await g.search(vectors[i]!, { k: 120 });
      expect(hits.map((h) => h.id)).not.toContain(ids[i]);
      if (kind === 'flat') expect(hits).toHaveLength(117); // an ANN graph need not reach every node
    }
    // the images after the deleted ones keep their ids
    for (const i of [12, 61, 100]) expect((await g.search(vectors[i]!, { k: 1 }))[0]!.id).toBe(ids[i]);
    await expect(g.remove(ids[10]!)).rejects.toThrow(/no image/);
  });

  it('takes a new vector for an image already indexed (--force re-embeds), and drops the old one', async () => {
    const g = await openGallery(tempDir(), kind);
    const vectors = clusteredVectors(60, DIM, 4, 21);
    const ids = await fill(g, vectors);
    const fresh = clusteredVectors(1, DIM, 1, 99)[0]!; // far from every other vector
    await g.add(fakeImage(7), fresh, { source: 'img7.png', label: null });
    const [top] = await g.search(fresh, { k: 1 });
    expect(top!.id).toBe(ids[7]);
    expect(top!.score).toBeGreaterThan(0.95);
    const nearOld = await g.search(vectors[7]!, { k: 60 });
    expect(nearOld.filter((h) => h.id === ids[7])).toHaveLength(1); // once, not twice
    expect((await g.indexStats()).live).toBe(60);
  });

  it('rebuilds from SQLite with the same results, and after deletes', async () => {
    const dir = tempDir();
    let g = await openGallery(dir, kind);
    const vectors = clusteredVectors(80, DIM, 4, 3);
    const ids = await fill(g, vectors);
    await g.remove(ids[5]!);
    const before = await g.search(vectors[7]!, { k: 10 });
    await closeGallery(g);
    rmSync(join(dir, 'index'), { recursive: true });
    g = await openGallery(dir, kind);
    expect(g.syncReport!.action).toBe('rebuilt');
    const after = await g.search(vectors[7]!, { k: 10 });
    expect(after.map((h) => h.id)).toEqual(before.map((h) => h.id));
    expect(after.map((h) => h.id)).not.toContain(ids[5]);
  });
});

describe.each(['ivf-sq8', 'ivf-pq'] as IndexKind[])('a %s index around its training threshold', (kind) => {
  it('below it, reopens saying the vectors wait for training, not that the index is broken', async () => {
    const dir = tempDir();
    let g = await openGallery(dir, kind);
    const vectors = clusteredVectors(30, DIM, 3, 5);
    const ids = await fill(g, vectors);
    await closeGallery(g);
    const lines: string[] = [];
    g = await openGallery(dir, kind, identity(DIM), (m) => lines.push(m));
    expect(g.syncReport).toMatchObject({
      action: 'rebuilt',
      reason: `30 vectors, fewer than the ${MIN_TRAIN} that ${kind} trains on: searched exactly until then`,
    });
    expect(lines.join('\n')).not.toMatch(/no index file|behind|corrupt/);
    expect((await g.search(vectors[4]!, { k: 1 }))[0]!.id).toBe(ids[4]);
  });

  it('trains once it has enough vectors, then finds, deletes and survives a reopen', async () => {
    const dir = tempDir();
    let g = await openGallery(dir, kind);
    const vectors = clusteredVectors(MIN_TRAIN + 200, DIM, 20, 11, 0.5);
    const ids = await fill(g, vectors);
    const stats = await g.indexStats();
    expect(stats).toMatchObject({ staged: 0, trainedOn: MIN_TRAIN, live: MIN_TRAIN + 200 });
    let found = 0;
    for (let i = 0; i < vectors.length; i += 37) if ((await g.search(vectors[i]!, { k: 1 }))[0]!.id === ids[i]) found++;
    expect(found).toBeGreaterThanOrEqual(Math.floor((vectors.length / 37) * 0.9));
    await g.remove(ids[3]!);
    expect((await g.search(vectors[3]!, { k: 50 })).map((h) => h.id)).not.toContain(ids[3]);
    await closeGallery(g);
    g = await openGallery(dir, kind);
    expect(g.syncReport!.action).toBe('loaded');
    expect((await g.search(vectors[3]!, { k: 50 })).map((h) => h.id)).not.toContain(ids[3]);
  });
});

describe('gallery index files', () => {
  it('rebuilds a corrupt index file on open', async () => {
    const dir = tempDir();
    let g = await openGallery(dir);
    const vectors = clusteredVectors(20, DIM, 2);
    const ids = await fill(g, vectors);
    await closeGallery(g);
    const file = readdirSync(join(dir, 'index')).find((f) => f.endsWith('.faiss'))!;
    writeFileSync(join(dir, 'index', file), 'garbage');
    const logged: string[] = [];
    g = await openGallery(dir, 'flat', identity(DIM), (m) => logged.push(m));
    expect(g.syncReport).toMatchObject({ action: 'rebuilt' });
    expect(g.syncReport!.reason).toMatch(/is 7 bytes, its manifest says \d+/);
    expect(logged.at(-1)).toMatch(/^index rebuild 20\/20 \(100\.0%\) [\d.]+\/s ETA 0s$/);
    expect((await g.search(vectors[3]!, { k: 1 }))[0]!.id).toBe(ids[3]);
  });

  it('rebuilds an HNSW index whose graph degree setting changed, and reports the new one', async () => {
    const dir = tempDir();
    let g = await openGallery(dir, 'hnsw');
    const vectors = clusteredVectors(40, DIM, 4);
    const ids = await fill(g, vectors);
    await closeGallery(g);
    const logged: string[] = [];
    g = await galleries.open(dir, {
      indexKind: 'hnsw',
      indexParams: { ...params, hnswM: 8 },
      log: (m) => logged.push(m),
    });
    expect(g.syncReport).toMatchObject({ action: 'rebuilt' });
    expect(g.syncReport!.reason).toMatch(/built with LOOKALIKE_HNSW_M=16, the setting is now 8/);
    expect(logged[0]).toMatch(/index: rebuilding from SQLite/);
    expect((await g.indexStats()).bytesPerVector).toBe(4 * DIM + 12 * 8);
    expect((await g.search(vectors[5]!, { k: 1 }))[0]!.id).toBe(ids[5]);
    await closeGallery(g);
    g = await galleries.open(dir, { indexKind: 'hnsw', indexParams: { ...params, hnswM: 8 } });
    expect(g.syncReport!.action).toBe('loaded'); // the rebuilt file remembers its M
  });

  it('survives a crash between writing the index file and its manifest: the pair stays consistent', async () => {
    const dir = tempDir();
    const vectors = clusteredVectors(21, DIM, 3, 17);
    // in a child process: 20 images, a save; then one more and one deleted (the counts still match), and a save
    // killed (SIGKILL) after the new index file is written and before the manifest that vouches for it
    const r = await runScript('test/helpers/crash-save.ts', [dir], { LOOKALIKE_TEST_DIM: String(DIM) });
    expect(r.signal ?? r.code).toBe('SIGKILL');
    expect(readdirSync(join(dir, 'index')).filter((f) => f.endsWith('.faiss'))).toHaveLength(2); // the old and the new
    const g = await openGallery(dir);
    expect(g.syncReport).toMatchObject({ action: 'synced', added: 1, removed: 1 }); // the old pair, caught up
    const ids = new Map((await g.search(vectors[0]!, { k: 100 })).map((h) => [h.sha256, h.id]));
    expect(ids.size).toBe(20);
    expect(ids.has(fakeImage(3).sha256)).toBe(false); // the deleted one
    for (let i = 0; i < 21; i++) {
      if (i === 3) continue;
      const [top] = await g.search(vectors[i]!, { k: 1 });
      expect(top!.sha256, `image ${i}`).toBe(fakeImage(i).sha256);
    }
    await g.save();
    expect(readdirSync(join(dir, 'index')).filter((f) => f.endsWith('.faiss'))).toHaveLength(1); // older generations go
  });

  it('catches up with rows the index file never saw (a crash before save)', async () => {
    const dir = tempDir();
    let g = await openGallery(dir);
    const vectors = clusteredVectors(30, DIM, 3);
    const ids = await fill(g, vectors.slice(0, 20));
    await g.save();
    // rows committed after the last save, and one deleted: as if the process died here
    const store = new Store(join(dir, 'lookalike.db'));
    store.useModel(identity(DIM));
    for (let i = 20; i < 30; i++) store.addImage({ ...fakeImage(i), source: null, label: null }, vectors[i]!);
    store.delete(ids[0]!);
    store.close();
    await closeGallery(g); // its save is a no-op: nothing changed through this gallery since save()
    const logged: string[] = [];
    g = await openGallery(dir, 'flat', identity(DIM), (m) => logged.push(m));
    expect(g.syncReport).toMatchObject({ action: 'synced', added: 10, removed: 1 });
    expect(logged.at(-1)).toMatch(/^index sync 10\/10 \(100\.0%\)/);
    expect((await g.indexStats()).live).toBe(29);
    expect((await g.search(vectors[25]!, { k: 1 }))[0]!.sha256).toBe(fakeImage(25).sha256);
  });

  it('refuses a data folder made with another model, and says how to re-index', async () => {
    const dir = tempDir();
    const g = await openGallery(dir);
    await fill(g, clusteredVectors(3, DIM, 1));
    await closeGallery(g);
    const other = identity(DIM * 2, 'b');
    await expect(openGallery(dir, 'flat', other)).rejects.toThrow(ModelMismatchError);
    await expect(openGallery(dir, 'flat', other)).rejects.toThrow(/--switch-model/);
    // nothing was changed by the refusal
    const again = await openGallery(dir);
    expect(again.counts()).toMatchObject({ images: 3, embedded: 3 });
  });

  it('lets one process at a time write a data folder', async () => {
    const dir = tempDir();
    await openGallery(dir);
    await expect(
      Gallery.open({ dataDir: dir, identity: identity(DIM), indexKind: 'flat', indexParams: params }),
    ).rejects.toThrow(DataDirLockedError);
    // another process is refused too, and told which one holds it
    const other = await runScript('test/helpers/lock-holder.ts', [dir, '--once']);
    expect(other.code).toBe(1);
    expect(other.stdout).toMatch(new RegExp(`refused: the data folder .* is in use by process ${process.pid} `));
  });

  it(
    'lets a restart right after a SIGKILL take the lock, the killed process still a zombie (20 times)',
    async () => {
      const dir = tempDir();
      const state = (pid: number) => {
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        return stat[stat.lastIndexOf(')') + 2];
      };
      for (let i = 0; i < 20; i++) {
        const holder = startScript('test/helpers/lock-holder.ts', [dir]);
        const exited = new Promise((resolve) => holder.on('exit', resolve));
        await watchOutput(holder).waitFor(/locked by/, 60_000);
        holder.kill('SIGKILL');
        // dead, not reaped: this process reaps its children only when its event loop turns, and it spins here instead
        while (state(holder.pid!) !== 'Z') {
          /* the kernel is ending it */
        }
        const restart = spawnSync(process.execPath, ['--import', 'tsx', 'test/helpers/lock-holder.ts', dir, '--once'], {
          cwd: ROOT,
          encoding: 'utf8',
        });
        expect(state(holder.pid!)).toBe('Z'); // the restart ran while the zombie was there
        expect(restart.stdout, `restart ${i}`).toMatch(/^locked by \d+$/m);
        await exited;
      }
    },
    10 * 60_000,
  );

  it('records the same content once', async () => {
    const g = await openGallery(tempDir());
    const v = clusteredVectors(1, DIM, 1)[0]!;
    const a = await g.add(fakeImage(1), v, { source: 'a.png', label: null });
    const b = await g.add(fakeImage(1), v, { source: 'copy-of-a.png', label: null });
    expect(b).toEqual({ id: a.id, duplicate: true, relabelled: false, restored: false });
    expect(g.counts().images).toBe(1);
  });

  it('filters by label and by minimum score', async () => {
    const g = await openGallery(tempDir());
    const vectors = clusteredVectors(40, DIM, 4);
    await fill(g, vectors);
    const hits = await g.search(vectors[0]!, { k: 5, filter: { label: 'c3' } });
    expect(hits).toHaveLength(5);
    expect(hits.every((h) => h.label === 'c3')).toBe(true);
    const strict = await g.search(vectors[0]!, { k: 40, minScore: 0.9 });
    expect(strict.every((h) => h.score >= 0.9)).toBe(true);
    expect(strict.length).toBeLessThan(40);
  });
});

describe('scores', () => {
  it(
    'are at most 1: a picture found by its own vector scores 1, not the 1.00005 of its float16 copy, by every ' +
      'search path',
    async () => {
      // vectors whose stored (float16) copy has an inner product over 1 with them: what a self-match used to answer
      const over = clusteredVectors(400, DIM, 4, 7).filter((v) => dot(v, asStored(v)) > 1 + 1e-5);
      expect(over.length).toBeGreaterThan(3);
      for (const kind of ['flat', 'ivf-pq'] as const) {
        const g = await openGallery(tempDir(), kind);
        // ivf-pq: trained
        const ids = await fill(g, [...over, ...clusteredVectors(kind === 'ivf-pq' ? MIN_TRAIN : 0, DIM, 4, 8)]);
        const hits = await g.search(over[0]!, { k: 3 }); // the index (ivf-pq: its candidates re-scored from SQLite)
        // the exact scan of a narrow filter
        const scanned = await g.search(over[0]!, { k: 3, filter: { label: 'c0' } });
        for (const [path, top] of [
          ['index', hits[0]!],
          ['exact scan', scanned[0]!],
        ] as const) {
          expect(top.id, `${kind}, ${path}`).toBe(ids[0]);
          expect(top.score, `${kind}, ${path}`).toBe(1);
        }
        await closeGallery(g);
      }
    },
  );
});

describe('background rebuilds', () => {
  it('retrains an IVF index once the gallery has grown 4x past its training, serving searches meanwhile', async () => {
    const dir = tempDir();
    const lines: string[] = [];
    const g = await openGallery(dir, 'ivf-sq8', identity(DIM), (m) => lines.push(m));
    const vectors = clusteredVectors(4 * MIN_TRAIN + 60, DIM, 40, 31, 0.5);
    const ids: number[] = [];
    for (let i = 0; i < 4 * MIN_TRAIN; i++)
      ids.push((await g.add(fakeImage(i), vectors[i]!, { source: null, label: null })).id);
    // the 4000th add started the rebuild: these land while it runs, and searches are answered meanwhile
    for (let i = 4 * MIN_TRAIN; i < vectors.length; i++)
      ids.push((await g.add(fakeImage(i), vectors[i]!, { source: null, label: null })).id);
    await g.remove(ids[10]!);
    expect((await g.search(vectors[20]!, { k: 1 }))[0]!.id).toBe(ids[20]);
    await g.idle();
    expect(
      lines.some((l) => /rebuilding in the background: the gallery has grown to 4000 vectors, 4x the 1000/.test(l)),
    ).toBe(true);
    const done = lines.find((l) => /background rebuild done/.test(l))!;
    expect(done).toMatch(/trained for 40\d\d, \d+ added and \d+ removed meanwhile/);
    const stats = await g.indexStats();
    expect(stats.builtFor).toBeGreaterThanOrEqual(4 * MIN_TRAIN);
    expect(stats.live).toBe(vectors.length - 1);
    let found = 0;
    for (let i = 0; i < vectors.length; i += 53) if ((await g.search(vectors[i]!, { k: 1 }))[0]!.id === ids[i]) found++;
    expect(found).toBeGreaterThanOrEqual(Math.floor((vectors.length / 53) * 0.9));
    // added meanwhile
    expect((await g.search(vectors[4 * MIN_TRAIN + 5]!, { k: 1 }))[0]!.id).toBe(ids[4 * MIN_TRAIN + 5]);
    expect((await g.search(vectors[10]!, { k: 20 })).map((h) => h.id)).not.toContain(ids[10]); // removed meanwhile
    // the adopted index is the one on disk
    await closeGallery(g);
    const again = await openGallery(dir, 'ivf-sq8');
    expect(again.syncReport!.action).toBe('loaded');
    expect((await again.indexStats()).builtFor).toBe(stats.builtFor);
  });

  it('compacts an HNSW index once over 10% of it are deleted vectors', async () => {
    const lines: string[] = [];
    const g = await openGallery(tempDir(), 'hnsw', identity(DIM), (m) => lines.push(m));
    const vectors = clusteredVectors(100, DIM, 5, 41);
    const ids = await fill(g, vectors);
    for (let i = 0; i < 11; i++) await g.remove(ids[i]!);
    await g.idle();
    expect(lines.some((l) => /11 of its 100 vectors are deleted ones/.test(l))).toBe(true);
    expect(await g.indexStats()).toMatchObject({ tombstones: 0, ntotal: 89, live: 89 });
    expect((await g.search(vectors[50]!, { k: 1 }))[0]!.id).toBe(ids[50]);
  });
});
