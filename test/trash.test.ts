// The trash: deletes (API, resolve, page) are undoable for LOOKALIKE_TRASH_DAYS, and a resolve is one transaction.
// Real SQLite and FAISS (fake vectors for the gallery's own rules), the demo's encoder through the API, the builder as
// a user runs it, and a race of every changing route with a restart after it.
import Database from 'better-sqlite3';
import type { InjectOptions } from 'fastify';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../src/web/app.js';
import { loadConfig } from '../src/core/config.js';
import { type Gallery, PROBE_WORKER, type GalleryOptions } from '../src/engine/gallery/gallery.js';
import { leaveOneOut } from '../src/engine/knn/evaluate.js';
import { ProbeKeeper } from '../src/engine/knn/probe-keeper.js';
import { DEMO_MMPROJ } from '../src/application/models/resolve.js';
import { Store } from '../src/engine/store/store.js';
import { multipart, startTestApp, type TestApp } from './helpers/app.js';
import { runScript } from './helpers/cli.js';
import { scenePng } from './helpers/images.js';
import { MODELS_DIR, TINY_MMPROJ } from './helpers/models.js';
import { clusteredVectors, fakeImage, identity } from './helpers/vectors.js';
import { TestGalleries } from './helpers/galleries.js';

const DIM = 32;
const params = { hnswM: 16, efSearch: 64, nprobe: 8 };
const galleries = new TestGalleries('trash', { identity: identity(DIM), indexParams: params });
const tempDir = () => galleries.tempDir();
const openGallery = (dataDir: string, more: Partial<GalleryOptions> = {}) => galleries.open(dataDir, more);
const closeGallery = (g: Gallery) => galleries.close(g);
afterEach(() => galleries.cleanUp());

async function fill(g: Gallery, vectors: Float32Array[]): Promise<number[]> {
  const ids: number[] = [];
  for (let i = 0; i < vectors.length; i++)
    ids.push((await g.add(fakeImage(i), vectors[i]!, { source: `img${i}.png`, label: `c${i % 2}` })).id);
  return ids;
}
const topId = async (g: Gallery, v: Float32Array) => (await g.search(v, { k: 1 }))[0]?.id;
const allIds = (g: Gallery) => g.list({ filter: {}, sort: 'added', limit: 100 }).images.map((r) => r.id);

describe("the gallery's trash", () => {
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
    expect(g.labels()).toEqual([
      { label: 'c0', count: 5 },
      { label: 'c1', count: 6 },
    ]);
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

  it(
    'expires what is older than the trash keeps it (an injected clock), and content added again comes back from ' +
      'the trash',
    async () => {
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
    },
  );

  it('content trashed under another model and added again is encoded by the current one, and found', async () => {
    const dir = tempDir();
    const g = await openGallery(dir);
    const ids = await fill(g, clusteredVectors(4, DIM, 2, 9));
    await g.remove(ids[1]!);
    await closeGallery(g);
    // the gallery moves to another model: the trashed image has no vector of it
    const h = await openGallery(dir, { identity: identity(DIM * 2, 'b'), switchModel: true });
    const v = clusteredVectors(4, DIM * 2, 2, 10)[1]!;
    // an upload asks first whether the gallery holds this content embedded (then nothing is encoded): not this one
    expect(h.content(fakeImage(1).sha256)).toMatchObject({ id: ids[1], trashed: true, embedded: false });
    const again = await h.add(fakeImage(1), v, { source: 'again.png', label: null });
    expect(again.id).toBe(ids[1]);
    expect(h.counts()).toMatchObject({ trashed: 0 });
    expect(await topId(h, v)).toBe(ids[1]);
    const stored = h.storedVector(ids[1]!)!; // kept as F16
    expect(stored.reduce((sum, x, i) => sum + x * v[i]!, 0)).toBeCloseTo(1, 3);
  });

  it('keeps an image trashed and restored while a background rebuild runs in the index it adopts', async () => {
    const lines: string[] = [];
    const g = await openGallery(tempDir(), { indexKind: 'hnsw', log: (m) => lines.push(m) });
    const vectors = clusteredVectors(100, DIM, 5, 41);
    const ids = await fill(g, vectors);
    for (let i = 0; i < 11; i++) await g.remove(ids[i]!); // the 11th deleted of 100 starts a compaction
    while (!lines.some((l) => /rebuilding in the background/.test(l))) await new Promise((r) => setTimeout(r, 2));
    await g.remove(ids[50]!); // after the rebuild read its snapshot, which holds it
    await g.restore([ids[50]!]);
    await g.idle();
    expect(lines.find((l) => /background rebuild done/.test(l))).toMatch(/1 added and 0 removed meanwhile/);
    expect((await g.search(vectors[50]!, { k: 1 }))[0]!.id).toBe(ids[50]);
    expect((await g.indexStats()).live).toBe(89);
  });

  it('retrains the linear probe without trashed images', async () => {
    const dir = tempDir();
    const g = await openGallery(dir);
    const ids = await fill(g, clusteredVectors(10, DIM, 2, 4));
    const probe = ProbeKeeper.open({
      worker: PROBE_WORKER,
      dataDir: dir,
      identity: identity(DIM),
      currentLabels: () => g.labels().map((l) => l.label),
      debounceMs: 10,
    });
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

describe('the trash through the API', () => {
  let t: TestApp;
  let seed = 7000;
  beforeAll(async () => {
    t = await startTestApp({ LOOKALIKE_MMPROJ: DEMO_MMPROJ });
  });
  afterAll(async () => {
    await t?.close();
  });

  const upload = (data: Buffer, url = '/api/images') =>
    t.app.inject({ method: 'POST', url, ...multipart({ image: { filename: 'x.png', data } }) });
  async function add(): Promise<{ id: number; png: Buffer }> {
    const png = await scenePng(seed++, 160, 120);
    const res = await upload(png);
    expect(res.statusCode, res.body).toBe(201);
    return { id: res.json().id, png };
  }
  const resolve = (body: object) =>
    t.app.inject({ method: 'POST', url: '/api/duplicates/resolve', payload: { action: 'delete', ...body } });
  const status = async (id: number) => (await t.app.inject(`/api/images/${id}`)).statusCode;
  const trashIds = async () =>
    (await t.app.inject('/api/trash?limit=1000')).json().images.map((r: { id: number }) => r.id) as number[];

  /** Two resolves sent at once: one wins whole, the other is refused whole. */
  async function race(first: { keep: number; others: number[] }, second: { keep: number; others: number[] }) {
    const answers = await Promise.all([resolve(first), resolve(second)]);
    expect(answers.map((a) => a.statusCode).sort(), answers.map((a) => a.body).join('\n')).toEqual([200, 409]);
    const [won, lost] = answers[0]!.statusCode === 200 ? [first, second] : [second, first];
    const refusal = answers.find((a) => a.statusCode === 409)!.json().error;
    expect(refusal.code).toBe('resolve_conflict');
    const named = [lost.keep, ...lost.others].filter((id) => won.others.includes(id));
    expect(refusal.message).toContain(`image ${named[0]} `);
    expect(await status(won.keep)).toBe(200);
    for (const id of won.others) expect(await status(id), `image ${id}`).toBe(404);
    for (const id of [lost.keep, ...lost.others].filter((i) => !won.others.includes(i)))
      expect(await status(id), `image ${id}`).toBe(200);
    expect(
      (await trashIds())
        .filter((id) => [...first.others, ...second.others, first.keep, second.keep].includes(id))
        .sort(),
    ).toEqual([...won.others].sort());
  }

  it('of two overlapping resolves sent at once, the second is refused (409 resolve_conflict) and changes nothing', async () => {
    const [a, b, c, d] = await Promise.all([add(), add(), add(), add()]).then((r) => r.map((x) => x.id));
    await race({ keep: a!, others: [b!, c!] }, { keep: c!, others: [d!, a!] });
  });

  it('a resolve refused for an image another one took deletes nothing of its own', async () => {
    const [e, f, g, h] = await Promise.all([add(), add(), add(), add()]).then((r) => r.map((x) => x.id));
    await race({ keep: g!, others: [h!, f!] }, { keep: e!, others: [f!] });
  });

  it('an unknown id is a 404 and one in the trash a 409, each changing nothing', async () => {
    const [a, b, c] = await Promise.all([add(), add(), add()]).then((r) => r.map((x) => x.id));
    const unknown = await resolve({ keep: a!, others: [b!, 999_999] });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json().error.message).toContain('999999');
    expect(await status(b!)).toBe(200);
    expect((await t.app.inject({ method: 'DELETE', url: `/api/images/${c}` })).statusCode).toBe(204);
    const gone = await resolve({ keep: a!, others: [b!, c!] });
    expect(gone.statusCode).toBe(409);
    expect(gone.json().error).toMatchObject({ code: 'resolve_conflict' });
    expect(gone.json().error.message).toContain(`image ${c} `);
    expect(await status(b!)).toBe(200);
    const relabel = await resolve({ keep: a!, others: [c!], action: 'relabel', label: 'x' });
    expect(relabel.statusCode).toBe(409);
  });

  it(
    'a deleted image is gone for the API but the trash, which lists, restores (the same image, found at once) and ' +
      'empties',
    async () => {
      const { id, png } = await add();
      const record = (await t.app.inject(`/api/images/${id}`)).json();
      const thumb = (await t.app.inject(`/api/images/${id}/thumbnail`)).rawPayload;
      const before = (await t.app.inject('/api/stats')).json();
      expect((await t.app.inject({ method: 'DELETE', url: `/api/images/${id}` })).statusCode).toBe(204);
      expect(await status(id)).toBe(404);
      expect((await t.app.inject(`/api/images/${id}/thumbnail`)).statusCode).toBe(404);
      expect((await t.app.inject(`/api/images/${id}/similar`)).statusCode).toBe(404);
      expect(
        (await t.app.inject({ method: 'PATCH', url: `/api/images/${id}`, payload: { label: 'x' } })).statusCode,
      ).toBe(404);
      expect((await t.app.inject({ method: 'DELETE', url: `/api/images/${id}` })).statusCode).toBe(404);
      const found = (await upload(png, '/api/search?k=50')).json().results.map((r: { id: number }) => r.id);
      expect(found).not.toContain(id);
      expect(
        (await t.app.inject('/api/images?limit=100')).json().images.map((r: { id: number }) => r.id),
      ).not.toContain(id);
      const stats = (await t.app.inject('/api/stats')).json();
      expect(stats).toMatchObject({
        images: before.images - 1,
        embedded: before.embedded - 1,
        trashed: before.trashed + 1,
      });
      expect(stats.index.live).toBe(stats.embedded);

      const listed = (await t.app.inject('/api/trash')).json();
      const entry = listed.images.find((r: { id: number }) => r.id === id);
      expect(entry).toMatchObject({ ...record, thumbnailUrl: `/api/trash/${id}/thumbnail` });
      expect(Date.parse(entry.expiresAt) - Date.parse(entry.trashedAt)).toBe(30 * 86_400_000);
      const trashThumb = await t.app.inject(entry.thumbnailUrl);
      expect(trashThumb.headers['content-type']).toBe('image/webp');
      expect(trashThumb.rawPayload.equals(thumb)).toBe(true);

      const restored = await t.app.inject({ method: 'POST', url: '/api/trash/restore', payload: { ids: [id] } });
      expect(restored.json()).toEqual({ restored: [id] });
      expect((await t.app.inject(`/api/images/${id}`)).json()).toEqual(record);
      const top = (await upload(png, '/api/search?k=1')).json().results[0];
      expect(top.id).toBe(id);
      expect(top.score).toBeGreaterThan(0.999);

      // uploading content that is in the trash brings it back, and says so
      await t.app.inject({ method: 'DELETE', url: `/api/images/${id}` });
      const again = await upload(png);
      expect(again.statusCode).toBe(200);
      expect(again.json()).toMatchObject({ id, duplicate: true, restored: true });
      expect((await upload(png, '/api/search?k=1')).json().results[0].id).toBe(id);

      // restore and empty take all or nothing: one id not in the trash refuses the lot
      await t.app.inject({ method: 'DELETE', url: `/api/images/${id}` });
      const other = (await add()).id;
      for (const url of ['/api/trash/restore', '/api/trash/empty']) {
        const res = await t.app.inject({ method: 'POST', url, payload: { ids: [id, other] } });
        expect(res.statusCode, url).toBe(404);
        expect(res.json().error.message).toContain(`${other}`);
      }
      expect(await trashIds()).toContain(id);
      expect((await t.app.inject({ method: 'POST', url: '/api/trash/empty', payload: { ids: [id] } })).json()).toEqual({
        deleted: 1,
      });
      expect((await t.app.inject(`/api/trash/${id}/thumbnail`)).statusCode).toBe(404);
      expect(
        (await t.app.inject({ method: 'POST', url: '/api/trash/restore', payload: { ids: [id] } })).statusCode,
      ).toBe(404);
      const fresh = await upload(png);
      expect(fresh.statusCode).toBe(201);
      expect(fresh.json().id).toBeGreaterThan(id);
      expect((await t.app.inject('/api/trash?cursor=1e3_2')).statusCode).toBe(400);
      expect((await t.app.inject({ method: 'POST', url: '/api/trash/empty', payload: {} })).statusCode).toBe(200);
      expect((await t.app.inject('/api/trash')).json()).toMatchObject({ images: [], total: 0, next: null });
    },
  );

  it('pages the trash without a repeat or a gap', async () => {
    const ids = (await Promise.all([add(), add(), add(), add(), add()])).map((x) => x.id);
    for (const id of ids) await t.app.inject({ method: 'DELETE', url: `/api/images/${id}` });
    const seen: number[] = [];
    let cursor: string | null = null;
    do {
      const page: { images: { id: number }[]; next: string | null } = (
        await t.app.inject(`/api/trash?limit=2${cursor ? `&cursor=${cursor}` : ''}`)
      ).json();
      seen.push(...page.images.map((r: { id: number }) => r.id));
      cursor = page.next;
    } while (cursor);
    expect(seen.sort()).toEqual([...ids].sort());
    for (const limit of ['0x10', '1e2', '+5', '5.0']) {
      expect((await t.app.inject(`/api/trash?limit=${limit}`)).statusCode, limit).toBe(400); // numbers as everywhere
    }
  });
});

describe('expiry by itself', () => {
  it('deletes for good what outlived a fractional LOOKALIKE_TRASH_DAYS, with no request asking', async () => {
    const t = await startTestApp({ LOOKALIKE_MMPROJ: DEMO_MMPROJ, LOOKALIKE_TRASH_DAYS: '0.00002' }); // 1.7 s
    try {
      const res = await t.app.inject({
        method: 'POST',
        url: '/api/images',
        ...multipart({ image: { filename: 'a.png', data: await scenePng(3, 96, 64) } }),
      });
      const { id } = res.json();
      await t.app.inject({ method: 'DELETE', url: `/api/images/${id}` });
      const deletedAt = Date.now();
      expect((await t.app.inject('/api/trash')).json().total).toBe(1);
      while ((await t.app.inject('/api/trash')).json().total) await new Promise((r) => setTimeout(r, 100));
      expect(Date.now() - deletedAt).toBeGreaterThanOrEqual(1700);
      expect((await t.app.inject(`/api/trash/${id}/thumbnail`)).statusCode).toBe(404);
    } finally {
      await t.close();
    }
  });
});

describe('npm run index with the trash', () => {
  it('skips a file whose image is in the trash, and counts it', async () => {
    const root = tempDir();
    const folder = join(root, 'photos');
    mkdirSync(folder);
    for (let i = 0; i < 3; i++) writeFileSync(join(folder, `${i}.png`), await scenePng(900 + i, 96, 64));
    const data = join(root, 'data');
    const env = { LOOKALIKE_MMPROJ: TINY_MMPROJ, LOOKALIKE_MIN_TOKENS: '16', LOOKALIKE_MAX_TOKENS: '64' };
    expect((await runScript('scripts/index.ts', [folder, '--data', data], env)).stdout).toMatch(
      /3 image files, 3 added/,
    );
    const store = new Store(join(data, 'lookalike.db'));
    const id = store.labelBySha(
      store.db.prepare("SELECT sha256 FROM images WHERE source = '1.png'").pluck().get() as string,
    )!.id;
    store.trash([id], Date.now());
    store.close();
    const again = await runScript('scripts/index.ts', [folder, '--data', data], env);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/3 image files, 0 added, 2 already indexed, 1 in the trash \(skipped\)/);
    const db = new Database(join(data, 'lookalike.db'), { readonly: true });
    expect(db.prepare('SELECT id FROM images WHERE trashed_ms IS NOT NULL').pluck().all()).toEqual([id]);
    expect(db.prepare('SELECT COUNT(*) FROM embeddings').pluck().get()).toBe(2);
    db.close();
  });
});

describe('a race of every changing route, then a restart', () => {
  it(
    'answers no 500, and loses or brings back nothing: the gallery and the trash agree with the index, before and ' +
      'after',
    async () => {
      const dataDir = tempDir();
      const open = async () => {
        const config = loadConfig({
          LOOKALIKE_DATA_DIR: dataDir,
          LOOKALIKE_MODELS_DIR: MODELS_DIR,
          LOOKALIKE_LOG_LEVEL: 'warn',
          LOOKALIKE_THREADS: '1',
          LOOKALIKE_MMPROJ: DEMO_MMPROJ,
        });
        const app = await buildApp(config, { logger: false, startRuntime: false });
        await app.ready();
        await app.runtime.start();
        return app;
      };
      let app = await open();
      const bytes = new Map<number, Buffer>(); // every id ever acknowledged, with its content
      const pngs: Buffer[] = [];
      for (let i = 0; i < 60; i++) pngs.push(await scenePng(20_000 + i, 96, 64));
      const failures: string[] = [];
      let rand = 12345;
      const next = (n: number) => {
        rand = (rand * 1103515245 + 12345) % 2 ** 31;
        return rand % n;
      };
      const pick = () => {
        const ids = [...bytes.keys()];
        return ids[next(ids.length)] ?? 1;
      };
      const send = async (what: string, req: InjectOptions) => {
        const res = await app.inject(req);
        if (res.statusCode >= 500) failures.push(`${what}: ${res.statusCode} ${res.body}`);
        return res;
      };
      const addOne = async () => {
        const png = pngs[next(pngs.length)]!; // often content seen before: a duplicate, or one in the trash (restored)
        const res = await send('add', {
          method: 'POST',
          url: '/api/images',
          ...multipart({ image: { filename: 'r.png', data: png }, label: `l${next(3)}` }),
        });
        if (res.statusCode < 300) bytes.set(res.json().id, png);
      };
      for (let i = 0; i < 12; i++) await addOne();
      const ops: (() => Promise<unknown>)[] = [
        addOne,
        addOne,
        () => send('delete', { method: 'DELETE', url: `/api/images/${pick()}` }),
        () => send('relabel', { method: 'PATCH', url: `/api/images/${pick()}`, payload: { label: `l${next(3)}` } }),
        () =>
          send('resolve', {
            method: 'POST',
            url: '/api/duplicates/resolve',
            payload: {
              keep: pick(),
              others: [pick(), pick()].filter((v, i, a) => a.indexOf(v) === i),
              action: 'delete',
            },
          }),
        () => send('restore', { method: 'POST', url: '/api/trash/restore', payload: { ids: [pick()] } }),
        () => send('empty', { method: 'POST', url: '/api/trash/empty', payload: { ids: [pick()] } }),
        () => send('duplicates', { method: 'GET', url: '/api/duplicates' }),
        () => send('list', { method: 'GET', url: '/api/images?limit=5' }),
        () => send('trash', { method: 'GET', url: '/api/trash?limit=5' }),
      ];
      // 6 lanes of 50 requests each, all in flight together
      await Promise.all(
        Array.from({ length: 6 }, async () => {
          for (let i = 0; i < 50; i++) await ops[next(ops.length)]!();
        }),
      );
      expect(failures).toEqual([]);
      // how the lanes interleave decides what is left: one more delete, so that the trash is checked across the restart
      // whatever they left (a run ended with it empty)
      const anyLive = (await app.inject('/api/images?limit=1')).json().images[0]?.id;
      if (anyLive !== undefined) await send('delete', { method: 'DELETE', url: `/api/images/${anyLive}` });

      /** Where every id is by the API, after checking that the gallery, the trash, the stats and the index agree. */
      const state = async () => {
        const live = new Set<number>();
        for (const id of bytes.keys()) if ((await app.inject(`/api/images/${id}`)).statusCode === 200) live.add(id);
        const trashed: number[] = [];
        let cursor: string | null = null;
        do {
          const page: { images: { id: number }[]; next: string | null } = (
            await app.inject(`/api/trash?limit=4${cursor ? `&cursor=${cursor}` : ''}`)
          ).json();
          trashed.push(...page.images.map((r) => r.id));
          cursor = page.next;
        } while (cursor);
        expect(new Set(trashed).size).toBe(trashed.length); // no page repeats
        for (const id of trashed) expect(live.has(id), `image ${id} is live and in the trash`).toBe(false);
        const stats = (await app.inject('/api/stats')).json();
        expect(stats).toMatchObject({ images: live.size, embedded: live.size, trashed: trashed.length });
        expect(stats.index.live).toBe(live.size);
        for (const [id, png] of bytes) {
          const top = (
            await app.inject({
              method: 'POST',
              url: '/api/search?k=1',
              ...multipart({ image: { filename: 'q.png', data: png } }),
            })
          ).json().results[0];
          if (live.has(id)) expect(top?.id, `image ${id}`).toBe(id);
          else expect(top?.id, `image ${id}`).not.toBe(id);
        }
        return { live: [...live].sort(), trashed: trashed.sort() };
      };
      const before = await state();
      expect(before.live.length).toBeGreaterThan(0);
      expect(before.trashed.length).toBeGreaterThan(0);
      await app.close();
      app = await open();
      try {
        expect(await state()).toEqual(before);
      } finally {
        await app.close();
      }
    },
  );
});

describe("the page's Trash view", () => {
  it('lists the trash with thumbnails, restores one, deletes one for good, and empties the rest', async () => {
    expect(existsSync('/usr/bin/chromium'), 'apt-get install chromium (scripts/setup.sh does)').toBe(true);
    const t = await startTestApp({ LOOKALIKE_MMPROJ: DEMO_MMPROJ });
    const browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: ['--no-sandbox', '--headless', '--disable-gpu', '--no-first-run'],
    });
    try {
      const base = await t.app.listen({ port: 0, host: '127.0.0.1' });
      const ids: number[] = [];
      for (let i = 0; i < 3; i++) {
        const res = await t.app.inject({
          method: 'POST',
          url: '/api/images',
          ...multipart({ image: { filename: `p${i}.png`, data: await scenePng(300 + i, 96, 64) } }),
        });
        ids.push(res.json().id);
        await t.app.inject({ method: 'DELETE', url: `/api/images/${ids[i]}` });
      }
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      page.on('dialog', (d) => void d.accept());
      await page.goto(base);
      await page.waitForSelector('body[data-ready="true"]');
      await page.click('#view-trash');
      await page.waitForFunction(() => document.querySelectorAll('#trash-list .card').length === 3);
      expect(await page.isVisible('#drop')).toBe(false);
      await page.waitForFunction(() =>
        Array.from(document.querySelectorAll<HTMLImageElement>('#trash-list img')).every(
          (img) => img.complete && img.naturalWidth > 0,
        ),
      );
      expect(await page.textContent('#trash-summary')).toMatch(/^3 in the trash, each kept 30 days$/);
      const cardOf = (id: number) => page.locator(`#trash-list .card[data-id="${id}"]`);
      await cardOf(ids[0]!).getByRole('button', { name: 'Restore' }).click();
      await cardOf(ids[0]!).waitFor({ state: 'detached' });
      expect((await t.app.inject(`/api/images/${ids[0]}`)).statusCode).toBe(200);
      await cardOf(ids[1]!).getByRole('button', { name: 'Delete for good' }).click();
      await cardOf(ids[1]!).waitFor({ state: 'detached' });
      await page.click('#trash-empty');
      await page.waitForFunction(() => document.getElementById('trash-summary')?.textContent === 'the trash is empty');
      expect((await t.app.inject('/api/stats')).json()).toMatchObject({ images: 1, trashed: 0 });
      expect(errors).toEqual([]);
    } finally {
      await browser.close();
      await t.close();
    }
  });
});
