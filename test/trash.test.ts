// The trash: deletes (API, resolve, page) are undoable for LOOKALIKE_TRASH_DAYS, and a resolve is one transaction.
// Real SQLite and FAISS (fake vectors for the gallery's own rules), the demo's encoder through the API, the builder as
// a user runs it, and a race of every changing route with a restart after it.
import Database from 'better-sqlite3';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { Gallery } from '../src/gallery/gallery.js';
import { leaveOneOut } from '../src/knn/evaluate.js';
import { ProbeKeeper } from '../src/knn/probe-keeper.js';
import { DEMO_MMPROJ } from '../src/models/resolve.js';
import { Store } from '../src/store/store.js';
import { multipart, startTestApp, type TestApp } from './helpers/app.js';
import { runScript } from './helpers/cli.js';
import { scenePng } from './helpers/images.js';
import { MODELS_DIR, TINY_MMPROJ } from './helpers/models.js';
import { clusteredVectors, fakeImage, identity } from './helpers/vectors.js';

const DIM = 32;
const params = { hnswM: 16, efSearch: 64, nprobe: 8 };
const dirs: string[] = [];
const opened: Gallery[] = [];
const tempDir = () => { const d = mkdtempSync(join(tmpdir(), 'lookalike-trash-')); dirs.push(d); return d; };

async function openGallery(dataDir: string, more: Partial<Parameters<typeof Gallery.open>[0]> = {}): Promise<Gallery> {
  const g = await Gallery.open({ dataDir, identity: identity(DIM), indexKind: 'flat', indexParams: params, ...more });
  opened.push(g);
  return g;
}
async function closeGallery(g: Gallery): Promise<void> {
  opened.splice(opened.indexOf(g), 1);
  await g.close();
}
afterEach(async () => {
  for (const g of opened.splice(0)) await g.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function fill(g: Gallery, vectors: Float32Array[]): Promise<number[]> {
  const ids: number[] = [];
  for (let i = 0; i < vectors.length; i++) ids.push((await g.add(fakeImage(i), vectors[i]!, { source: `img${i}.png`, label: `c${i % 2}` })).id);
  return ids;
}
const topId = async (g: Gallery, v: Float32Array) => (await g.search(v, { k: 1 }))[0]?.id;
const allIds = (g: Gallery) => g.list({ filter: {}, sort: 'added', limit: 100 }).images.map((r) => r.id);

describe('the gallery\'s trash', () => {
  it('takes a deleted image out of everything but the trash, and a restore brings back the same image, found at once', async () => {
    const g = await openGallery(tempDir());
    const vectors = clusteredVectors(12, DIM, 3, 5);
    const ids = await fill(g, vectors);
    const id = ids[4]!;
    const before = g.get(id);
    const thumb = g.thumbnail(id);
    const vector = g.storedVector(id);
    await g.remove(id);
    expect(() => g.get(id)).toThrow(/no image with id/);
    expect(() => g.thumbnail(id)).toThrow(/no image with id/);
    expect(() => g.relabel(id, 'x')).toThrow(/no image with id/);
    expect(g.storedVector(id)).toBeUndefined();
    await expect(g.remove(id)).rejects.toThrow(/no image with id/); // a second delete: gone for the API
    expect(await topId(g, vectors[4]!)).not.toBe(id);
    expect((await g.search(vectors[4]!, { k: 100 })).map((h) => h.id)).not.toContain(id);
    expect(allIds(g)).not.toContain(id);
    expect(g.counts()).toEqual({ images: 11, embedded: 11, labelled: 11, trashed: 1 });
    expect(g.labels()).toEqual([{ label: 'c0', count: 5 }, { label: 'c1', count: 6 }]);
    expect([...g.labelledVectors()].flatMap((b) => b.ids)).not.toContain(id); // evaluation and zero-shot calibration
    expect((await leaveOneOut(g, { k: 3, temperature: 0.07, minSimilarity: -1, minConfidence: 0 })).n).toBe(11);
    expect((await g.duplicates(-1)).flatMap((d) => d.members.map((m) => m.id))).not.toContain(id);
    expect(g.thumbnail(id, true)).toEqual(thumb);
    const page = g.trashPage(10);
    expect(page.images.map((r) => r.id)).toEqual([id]);
    expect(Date.parse(page.images[0]!.expiresAt) - Date.parse(page.images[0]!.trashedAt)).toBe(30 * 86_400_000);
    expect((await g.indexStats()).live).toBe(11);

    expect(await g.restore([id])).toEqual([id]);
    expect(g.get(id)).toEqual(before);
    expect(g.thumbnail(id)).toEqual(thumb);
    expect(g.storedVector(id)).toEqual(vector);
    expect(await topId(g, vectors[4]!)).toBe(id);
    expect(g.counts()).toEqual({ images: 12, embedded: 12, labelled: 12, trashed: 0 });
    await expect(g.restore([id])).rejects.toThrow(/not? .*in the trash|no image with id .* in the trash/);
  });

  it('keeps the trash across a restart, and a change the index file never saw is caught up from the change log', async () => {
    const dir = tempDir();
    let g = await openGallery(dir);
    const vectors = clusteredVectors(20, DIM, 4, 9);
    const ids = await fill(g, vectors);
    await g.remove(ids[0]!);
    await g.save();
    // after the save, as if the process died: one more trashed, the first one restored, straight in SQLite
    const store = new Store(join(dir, 'lookalike.db'));
    store.trash([ids[1]!], Date.now());
    store.restore([ids[0]!]);
    store.close();
    await closeGallery(g);
    g = await openGallery(dir);
    expect(g.syncReport).toMatchObject({ action: 'synced', added: 1, removed: 1 });
    expect(await topId(g, vectors[0]!)).toBe(ids[0]);
    expect(await topId(g, vectors[1]!)).not.toBe(ids[1]);
    expect(g.trashPage(10).images.map((r) => r.id)).toEqual([ids[1]]);
    await g.restore();
    await closeGallery(g);
    g = await openGallery(dir);
    expect(g.syncReport?.action).toBe('loaded');
    expect(await topId(g, vectors[1]!)).toBe(ids[1]);
    expect((await g.indexStats()).live).toBe(20);
  });

  it('expires what is older than the trash keeps it (an injected clock), and content added again comes back from the trash', async () => {
    let now = Date.parse('2026-01-01T00:00:00Z');
    const g = await openGallery(tempDir(), { trashDays: 2, clock: () => now });
    const vectors = clusteredVectors(6, DIM, 2, 3);
    const ids = await fill(g, vectors);
    await g.remove(ids[0]!);
    now += 86_400_000;
    await g.remove(ids[1]!);
    await g.remove(ids[2]!);
    now += 86_400_000 - 1;
    expect(g.expireTrash()).toBe(0);
    now += 1;
    expect(g.expireTrash()).toBe(1); // two days after the first delete: that one goes
    expect(() => g.thumbnail(ids[0]!, true)).toThrow(/in the trash/);
    await expect(g.restore([ids[0]!])).rejects.toThrow(/in the trash/);
    expect(g.counts().trashed).toBe(2);
    // content in the trash added again: the same id back (and the index has it); expired content is new
    const again = await g.add(fakeImage(1), vectors[1]!, { source: 'again.png', label: null });
    expect(again).toEqual({ id: ids[1], duplicate: true, relabelled: false, restored: true });
    expect(await topId(g, vectors[1]!)).toBe(ids[1]);
    const fresh = await g.add(fakeImage(0), vectors[0]!, { source: 'fresh.png', label: null });
    expect(fresh.id).toBeGreaterThan(ids.at(-1)!);
    expect(g.emptyTrash([ids[2]!])).toBe(1);
    expect(g.counts()).toMatchObject({ images: 5, trashed: 0 });
    expect(() => g.emptyTrash([ids[2]!])).toThrow(/in the trash/);
  });

  it('retrains the linear probe without trashed images', async () => {
    const dir = tempDir();
    const g = await openGallery(dir);
    const ids = await fill(g, clusteredVectors(10, DIM, 2, 4));
    const probe = ProbeKeeper.open({ dataDir: dir, identity: identity(DIM), currentLabels: () => g.labels().map((l) => l.label), debounceMs: 10 });
    try {
      g.onLabelsChanged(() => probe.labelsChanged());
      await probe.settled();
      const v = g.storedVector(ids[0]!)!;
      expect(probe.predict(v)?.trainedOn).toBe(10);
      await g.remove(ids[0]!);
      await g.keepOne(ids[2]!, [ids[3]!, ids[5]!], { trash: true });
      await probe.settled();
      expect(probe.predict(v)?.trainedOn).toBe(7);
    } finally {
      await probe.close();
    }
  });
});
