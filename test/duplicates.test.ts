// Duplicate groups (issue 18 part 4) on a made set whose true groups are known, through the API and the CLI, with the
// demo's trained encoder (no demo gallery: LOOKALIKE_MMPROJ names its file), real SQLite and FAISS.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import sharp from 'sharp';
import { chooseKeeper, UnionFind } from '../src/gallery/duplicates.js';
import { DEMO_MMPROJ } from '../src/models/resolve.js';
import type { ImageRecord } from '../src/store/store.js';
import { multipart, startTestApp, type TestApp } from './helpers/app.js';
import { runScript } from './helpers/cli.js';
import { recompressedCopy, scenePng } from './helpers/images.js';

let t: TestApp;
/** name -> id; the true groups by name (the rest are singles) */
const ids = new Map<string, number>();
const TRUE_GROUPS = [['a', 'a-small', 'a-lossless'], ['b', 'b-small'], ['c', 'c-lossless']];
const SINGLES = ['d', 'e', 'f', 'g'];

async function add(name: string, data: Buffer): Promise<number> {
  const body = multipart({ image: { filename: `${name}.img`, data } });
  const res = await t.app.inject({ method: 'POST', url: '/api/images', ...body });
  expect(res.statusCode, res.body).toBe(201);
  return res.json().id;
}
const byName = (names: string[]) => names.map((n) => ids.get(n)!).sort((x, y) => x - y);

beforeAll(async () => {
  // 0.99: random scenes of shapes look much alike to a model trained on Fashion-MNIST (up to 0.973 here); copies score 0.9999
  t = await startTestApp({ LOOKALIKE_MMPROJ: DEMO_MMPROJ, LOOKALIKE_DUPLICATE_THRESHOLD: '0.99' });
  const scenes = Object.fromEntries(await Promise.all(['a', 'b', 'c', ...SINGLES].map(async (n, i) => [n, await scenePng(4100 + i * 37)] as const)));
  for (const n of Object.keys(scenes)) ids.set(n, await add(n, scenes[n]!));
  // the same pixels in other bytes: an exact duplicate; a smaller JPEG: a near one
  const lossless = async (png: Buffer) => sharp(png).png({ compressionLevel: 2, adaptiveFiltering: true }).toBuffer();
  ids.set('a-small', await add('a-small', await recompressedCopy(scenes.a!, 0.75, 70)));
  ids.set('a-lossless', await add('a-lossless', await lossless(scenes.a!)));
  ids.set('b-small', await add('b-small', await recompressedCopy(scenes.b!, 0.75, 70)));
  ids.set('c-lossless', await add('c-lossless', await lossless(scenes.c!)));
});
afterAll(async () => { await t?.close(); });

describe('duplicate groups', () => {
  it('finds exactly the true groups, exact ones marked, with the largest image to keep and every member\'s score', async () => {
    const res = await t.app.inject('/api/duplicates');
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json();
    expect(body.threshold).toBe(0.99); // LOOKALIKE_DUPLICATE_THRESHOLD
    const found = body.groups.map((g: { members: { id: number }[] }) => g.members.map((m) => m.id).sort((x: number, y: number) => x - y));
    expect(found.sort((x: number[], y: number[]) => x[0]! - y[0]!)).toEqual(TRUE_GROUPS.map(byName).sort((x, y) => x[0]! - y[0]!));
    const groupOf = (name: string) => body.groups.find((g: { members: { id: number }[] }) => g.members.some((m) => m.id === ids.get(name)));
    // c and its lossless copy: the same pixels (identical vectors); the first one added is kept (same size, same metadata)
    expect(groupOf('c')).toMatchObject({ kind: 'exact', keep: ids.get('c') });
    expect(body.groups[0].kind).toBe('exact'); // exact groups come first
    const a = groupOf('a');
    expect(a.kind).toBe('near');
    expect(a.keep).toBe(ids.get('a')); // 320x240 beats the 240x180 copy
    expect(a.members[0]).toMatchObject({ id: ids.get('a'), score: 1, exact: true });
    expect(a.members.find((m: { id: number }) => m.id === ids.get('a-lossless')).exact).toBe(true);
    const small = a.members.find((m: { id: number }) => m.id === ids.get('a-small'));
    expect(small.score).toBeGreaterThanOrEqual(0.99);
    expect(small.score).toBeLessThanOrEqual(1.0001);
    expect(small.thumbnailUrl).toBe(`/api/images/${small.id}/thumbnail`);
  });

  it('merges transitively, and a threshold of 1 leaves only exact copies', async () => {
    const loose = (await t.app.inject('/api/duplicates?threshold=-1')).json();
    expect(loose.groups).toHaveLength(1); // every image near every other: one group of all
    expect(loose.groups[0].members).toHaveLength(ids.size);
    const strict = (await t.app.inject('/api/duplicates?threshold=1&limit=1')).json();
    expect(strict.groups).toHaveLength(1);
    expect(strict.total).toBeGreaterThanOrEqual(1);
    expect(strict.groups[0].kind).toBe('exact');
    expect((await t.app.inject('/api/duplicates?threshold=2')).statusCode).toBe(400);
    expect((await t.app.inject('/api/duplicates?threshold=abc')).statusCode).toBe(400);
  });

  it('npm run duplicates prints the same groups (--json), beside the running server', async () => {
    const api = (await t.app.inject('/api/duplicates')).json();
    const out = await runScript('scripts/duplicates.ts', ['--json', '--data', t.dataDir, '--mmproj', DEMO_MMPROJ, '--threshold', '0.99']);
    expect(out.code, out.stderr).toBe(0);
    const cli = JSON.parse(out.stdout);
    expect(cli.threshold).toBe(api.threshold);
    const keys = (groups: { keep: number; members: { id: number }[] }[]) => groups.map((g) => [g.keep, g.members.map((m) => m.id)]);
    expect(keys(cli.groups)).toEqual(keys(api.groups));
    const text = await runScript('scripts/duplicates.ts', ['--threshold', '0.99', '--data', t.dataDir, '--mmproj', DEMO_MMPROJ]);
    expect(text.stdout).toMatch(/^3 groups at threshold 0.99 \(4 images could go\)$/m);
  });

  it('keeps one and relabels or deletes the others in one request; refuses a bad request before changing anything', async () => {
    const resolve = (body: unknown) => t.app.inject({ method: 'POST', url: '/api/duplicates/resolve', payload: body as object });
    const [a, aSmall, aLossless] = ['a', 'a-small', 'a-lossless'].map((n) => ids.get(n)!);
    const bad = [
      [{ keep: a, others: [a], action: 'delete' }, 400],
      [{ keep: a, others: [aSmall], action: 'relabel' }, 400], // relabel needs a label
      [{ keep: a, others: [], action: 'delete' }, 400],
      [{ keep: a, others: [aSmall, 999999], action: 'delete' }, 404],
      [{ keep: a, others: [aSmall], action: 'merge' }, 400],
    ] as const;
    for (const [body, status] of bad) {
      const res = await resolve(body);
      expect(res.statusCode, JSON.stringify(body)).toBe(status);
      expect(res.json().error.code).toBeTypeOf('string');
    }
    expect((await t.app.inject(`/api/images/${aSmall}`)).statusCode).toBe(200); // the 404 changed nothing

    const relabelled = await resolve({ keep: a, others: [aSmall], action: 'relabel', label: 'copy' });
    expect(relabelled.json()).toEqual({ kept: a, deleted: [], relabelled: [aSmall] });
    expect((await t.app.inject(`/api/images/${aSmall}`)).json().label).toBe('copy');

    const deleted = await resolve({ keep: a, others: [aSmall, aLossless], action: 'delete' });
    expect(deleted.json()).toEqual({ kept: a, deleted: [aSmall, aLossless], relabelled: [] });
    const similar = (await t.app.inject(`/api/images/${a}/similar?k=100`)).json();
    expect(similar.results.map((r: { id: number }) => r.id)).not.toContain(aSmall);
    expect(similar.results.map((r: { id: number }) => r.id)).not.toContain(aLossless);
    const after = (await t.app.inject('/api/duplicates')).json();
    expect(after.groups.some((g: { members: { id: number }[] }) => g.members.some((m) => m.id === a))).toBe(false);
  });
});

describe('the grouping rules', () => {
  it('union-find merges chains into one set', () => {
    const u = new UnionFind();
    u.union(1, 2); u.union(3, 4); u.union(2, 3); u.union(7, 8);
    expect(u.groups().sort((x, y) => x[0]! - y[0]!)).toEqual([[1, 2, 3, 4], [7, 8]]);
  });

  it('keeps the most pixels, then the most metadata, then the oldest', () => {
    const r = (id: number, width: number, label: string | null, cameraMake: string | null = null): ImageRecord => ({
      id, sha256: String(id), source: null, label, width, height: 100, bytes: 1, addedAt: '', takenAt: '', takenFrom: 'upload',
      cameraMake, cameraModel: null, lens: null, latitude: null, longitude: null,
    });
    expect(chooseKeeper([r(1, 100, 'x'), r(2, 200, null)]).id).toBe(2);
    expect(chooseKeeper([r(1, 100, null), r(2, 100, 'x')]).id).toBe(2);
    expect(chooseKeeper([r(1, 100, 'x'), r(2, 100, 'x', 'Canon')]).id).toBe(2); // the camera is metadata too
    expect(chooseKeeper([r(3, 100, 'x'), r(2, 100, 'x')]).id).toBe(2);
  });
});
