// Duplicate groups on a made set whose true groups are known, through the API and the CLI, with the demo's trained
// encoder (no demo gallery: LOOKALIKE_MMPROJ names its file), real SQLite and FAISS; the grouping around keepers on
// made vectors; and the scan beside writes, on a gallery over one read batch (1024 vectors).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { groupAroundKeepers, inKeeperOrder } from '../src/engine/gallery/duplicates.js';
import { Gallery } from '../src/engine/gallery/gallery.js';
import { l2Normalize } from '../src/engine/encoder/vision-encoder.js';
import { DEMO_MMPROJ } from '../src/application/models/resolve.js';
import type { ImageRecord } from '../src/core/domain/records.js';
import { multipart, startTestApp, type TestApp } from './helpers/app.js';
import { runScript } from './helpers/cli.js';
import { recompressedCopy, scenePng } from './helpers/images.js';
import { clusteredVectors, fakeImage, identity } from './helpers/vectors.js';

let t: TestApp;
/** name -> id; the true groups by name (the rest are singles) */
const ids = new Map<string, number>();
const TRUE_GROUPS = [
  ['a', 'a-small', 'a-lossless'],
  ['b', 'b-small'],
  ['c', 'c-lossless'],
];
const SINGLES = ['d', 'e', 'f', 'g'];

async function add(name: string, data: Buffer): Promise<number> {
  const body = multipart({ image: { filename: `${name}.img`, data } });
  const res = await t.app.inject({ method: 'POST', url: '/api/images', ...body });
  expect(res.statusCode, res.body).toBe(201);
  return res.json().id;
}
const byName = (names: string[]) => names.map((n) => ids.get(n)!).sort((x, y) => x - y);

beforeAll(async () => {
  // 0.99: random scenes of shapes look much alike to a model trained on Fashion-MNIST (up to 0.973 here); copies score
  // 0.9999
  t = await startTestApp({ LOOKALIKE_MMPROJ: DEMO_MMPROJ, LOOKALIKE_DUPLICATE_THRESHOLD: '0.99' });
  const scenes = Object.fromEntries(
    await Promise.all(['a', 'b', 'c', ...SINGLES].map(async (n, i) => [n, await scenePng(4100 + i * 37)] as const)),
  );
  for (const n of Object.keys(scenes)) ids.set(n, await add(n, scenes[n]!));
  // the same pixels in other bytes: an exact duplicate; a smaller JPEG: a near one
  const lossless = async (png: Buffer) => sharp(png).png({ compressionLevel: 2, adaptiveFiltering: true }).toBuffer();
  ids.set('a-small', await add('a-small', await recompressedCopy(scenes.a!, 0.75, 70)));
  ids.set('a-lossless', await add('a-lossless', await lossless(scenes.a!)));
  ids.set('b-small', await add('b-small', await recompressedCopy(scenes.b!, 0.75, 70)));
  ids.set('c-lossless', await add('c-lossless', await lossless(scenes.c!)));
});
afterAll(async () => {
  await t?.close();
});

describe('duplicate groups', () => {
  it("finds exactly the true groups, exact ones marked, with the largest image to keep and every member's score", async () => {
    const res = await t.app.inject('/api/duplicates');
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json();
    expect(body.threshold).toBe(0.99); // LOOKALIKE_DUPLICATE_THRESHOLD
    const found = body.groups.map((g: { members: { id: number }[] }) =>
      g.members.map((m) => m.id).sort((x: number, y: number) => x - y),
    );
    expect(found.sort((x: number[], y: number[]) => x[0]! - y[0]!)).toEqual(
      TRUE_GROUPS.map(byName).sort((x, y) => x[0]! - y[0]!),
    );
    const groupOf = (name: string) =>
      body.groups.find((g: { members: { id: number }[] }) => g.members.some((m) => m.id === ids.get(name)));
    // c and its lossless copy: the same pixels (identical vectors); the first one added is kept (same size, same
    // metadata)
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

  it('a threshold of -1 puts all with the first keeper, and a threshold of 1 leaves only exact copies', async () => {
    const loose = (await t.app.inject('/api/duplicates?threshold=-1')).json();
    expect(loose.groups).toHaveLength(1); // every image near every other, the keeper among them
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
    const out = await runScript('scripts/duplicates.ts', [
      '--json',
      '--data',
      t.dataDir,
      '--mmproj',
      DEMO_MMPROJ,
      '--threshold',
      '0.99',
    ]);
    expect(out.code, out.stderr).toBe(0);
    const cli = JSON.parse(out.stdout);
    expect(cli.threshold).toBe(api.threshold);
    const keys = (groups: { keep: number; members: { id: number }[] }[]) =>
      groups.map((g) => [g.keep, g.members.map((m) => m.id)]);
    expect(keys(cli.groups)).toEqual(keys(api.groups));
    const text = await runScript('scripts/duplicates.ts', [
      '--threshold',
      '0.99',
      '--data',
      t.dataDir,
      '--mmproj',
      DEMO_MMPROJ,
    ]);
    expect(text.stdout).toMatch(/^3 groups at threshold 0.99 \(4 images could go\)$/m);
  });

  it('keeps one and relabels or deletes the others in one request; refuses a bad request before changing anything', async () => {
    const resolve = (body: unknown) =>
      t.app.inject({ method: 'POST', url: '/api/duplicates/resolve', payload: body as object });
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
  it('groups around keepers: a chain a~b~c never puts a and c together', () => {
    // 1 is like 2, 2 like 3, 3 like 4; 1 is not like 3. Keeper order 1, 2, 3, 4.
    const like = new Map([
      [1, [2]],
      [2, [1, 3]],
      [3, [2, 4]],
      [4, [3]],
    ]);
    expect(groupAroundKeepers([1, 2, 3, 4], (id) => like.get(id)!)).toEqual([
      [1, 2],
      [3, 4],
    ]);
    // the keeper's own neighbours only, each image in at most one group
    expect(groupAroundKeepers([2, 1, 3, 4], (id) => like.get(id)!)).toEqual([[2, 1, 3]]);
    expect(
      groupAroundKeepers(
        [1, 2],
        (id) => like.get(id)!,
        () => false,
      ),
    ).toEqual([]);
  });

  it('keeps the most pixels, then the most metadata, then the oldest', () => {
    const r = (id: number, width: number, label: string | null, cameraMake: string | null = null): ImageRecord => ({
      id,
      sha256: String(id),
      source: null,
      label,
      width,
      height: 100,
      bytes: 1,
      addedAt: '',
      takenAt: '',
      takenFrom: 'upload',
      cameraMake,
      cameraModel: null,
      lens: null,
      latitude: null,
      longitude: null,
    });
    expect(inKeeperOrder([r(1, 100, 'x'), r(2, 200, null)])[0]!.id).toBe(2);
    expect(inKeeperOrder([r(1, 100, null), r(2, 100, 'x')])[0]!.id).toBe(2);
    expect(inKeeperOrder([r(1, 100, 'x'), r(2, 100, 'x', 'Canon')])[0]!.id).toBe(2); // the camera is metadata too
    expect(inKeeperOrder([r(3, 100, 'x'), r(2, 100, 'x')])[0]!.id).toBe(2);
  });
});

describe('duplicates of a gallery of made vectors', () => {
  const params = { hnswM: 16, efSearch: 64, nprobe: 4 };
  /** A unit vector at `angle` radians along one great circle: cos(a - b) is the similarity of two of them. */
  const onCircle = (angle: number) =>
    l2Normalize(
      Float32Array.from({ length: 8 }, (_, i) => (i === 0 ? Math.cos(angle) : i === 1 ? Math.sin(angle) : 0)),
    );

  it('no chains: each member at the threshold or above to its keeper; the same vector at another size is near', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lookalike-dups-'));
    const g = await Gallery.open({ dataDir: dir, identity: identity(8), indexKind: 'flat', indexParams: params });
    try {
      const step = Math.acos(0.98); // neighbours along the chain at 0.98; two steps apart at cos(2 step) = 0.9208
      const add = async (i: number, angle: number, width = 64) =>
        (await g.add({ ...fakeImage(i), width }, onCircle(angle), { source: null, label: null })).id;
      const chain = [await add(1, 0, 128), await add(2, step), await add(3, 2 * step), await add(4, 3 * step)];
      // the same vector: one at the same size, one smaller
      const [copy, resized] = [await add(5, 2), await add(6, 2, 32)];
      const twin = await add(7, 2);
      const groups = await g.duplicates(0.97);
      const ids = groups.map((gr) => gr.members.map((m) => m.id));
      expect(ids).toContainEqual([chain[0], chain[1]]);
      expect(ids).toContainEqual([chain[2], chain[3]]);
      for (const gr of groups) for (const m of gr.members) expect(m.score).toBeGreaterThanOrEqual(0.97);
      const same = groups.find((gr) => gr.keep === copy)!;
      expect(same.members.map((m) => [m.id, m.exact])).toEqual([
        [copy, true],
        [resized, false],
        [twin, true],
      ]);
      expect(same.kind).toBe('near'); // a resized copy is near, even with the same vector
      // every member's similarity to every other: what another keeper's scores are made from
      const chained = groups.find((gr) => gr.keep === chain[0])!;
      expect(chained.similarities).toHaveLength(2);
      expect(chained.similarities[0]![1]).toBeCloseTo(0.98, 4);
      expect((await g.duplicates(1)).map((gr) => gr.members.map((m) => m.id))).toEqual([[copy, resized, twin]]);
    } finally {
      await g.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
  it('finds every group of a gallery over one read batch: 210 tight clusters of 10, each one group', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lookalike-dups-'));
    const g = await Gallery.open({ dataDir: dir, identity: identity(16), indexKind: 'flat', indexParams: params });
    try {
      const vectors = clusteredVectors(2100, 16, 210, 3, 0.02); // member i of cluster i % 210
      for (let i = 0; i < vectors.length; i++)
        await g.add(fakeImage(i + 1), vectors[i]!, { source: null, label: null });
      const groups = await g.duplicates(0.99, 10);
      expect(groups).toHaveLength(210);
      for (const gr of groups) {
        expect(gr.members).toHaveLength(10);
        expect(new Set(gr.members.map((m) => (m.id - 1) % 210)).size).toBe(1);
      }
    } finally {
      await g.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});

describe('a scan beside writes, on more than 1024 images', () => {
  let s: TestApp;
  const N = 3000;
  beforeAll(async () => {
    s = await startTestApp({ LOOKALIKE_MMPROJ: DEMO_MMPROJ });
    const g = s.app.runtime.parts().gallery;
    const vectors = clusteredVectors(N, 64, 300, 7, 0.05);
    for (let i = 0; i < N; i++)
      await g.add(fakeImage(i + 1), vectors[i]!, { source: `made/${i}.png`, label: `c${i % 5}` });
  }, 120_000);
  afterAll(async () => {
    await s?.close();
  });

  const scan = (threshold: number) => s.app.inject(`/api/duplicates?threshold=${threshold}`);

  it('relabels, deletes and adds answer while duplicates are found', async () => {
    const pictures = await Promise.all(Array.from({ length: 20 }, (_, i) => scenePng(7000 + i)));
    const statuses: number[] = [];
    let during = 0,
      done = false;
    const running = scan(0.95).finally(() => {
      done = true;
    });
    for (let i = 0; !done; i++) {
      const id = 1 + i * 7;
      const upload = multipart({ image: { filename: `new${i}.png`, data: pictures[i % pictures.length]! } });
      const answers = await Promise.all([
        s.app.inject({ method: 'PATCH', url: `/api/images/${id}`, payload: { label: 'relabelled' } }),
        s.app.inject({ method: 'DELETE', url: `/api/images/${id + 3}` }),
        s.app.inject({ method: 'POST', url: '/api/images', ...upload }),
      ]);
      if (!done) during++;
      statuses.push(...answers.map((a) => a.statusCode));
    }
    expect((await running).statusCode).toBe(200);
    expect(during).toBeGreaterThan(0); // writes were answered while the scan ran
    expect(
      statuses.filter((c) => c >= 500),
      statuses.join(' '),
    ).toEqual([]);
  });

  it('one scan at a time: the same threshold shares its result, another answers 503 busy with Retry-After', async () => {
    const first = scan(0.95);
    const [shared, other] = await Promise.all([scan(0.95), scan(0.9)]);
    const [a, b] = [(await first).json(), shared.json()];
    expect(shared.statusCode).toBe(200);
    expect(b.groups).toEqual(a.groups);
    expect(other.statusCode).toBe(503);
    expect(other.json().error.code).toBe('busy');
    expect(Number(other.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect((await scan(0.9)).statusCode).toBe(200); // once the scan is over
  });

  it('similar-search times during a scan, against idle (printed, not asserted)', async () => {
    const similar = async () => {
      const started = performance.now();
      expect((await s.app.inject('/api/images/2/similar?k=10')).statusCode).toBe(200);
      return performance.now() - started;
    };
    const p50 = (xs: number[]) => xs.sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;
    const idle: number[] = [];
    for (let i = 0; i < 40; i++) idle.push(await similar());
    const busy: number[] = [];
    let scans = 0;
    while (busy.length < 40) {
      let done = false;
      const running = scan(0.95).finally(() => {
        done = true;
      });
      scans++;
      while (!done && busy.length < 40) {
        const took = await similar();
        if (!done) busy.push(took); // only those that ended while the scan ran
      }
      await running;
    }
    console.log(
      `similar-search p50: idle ${p50(idle).toFixed(2)} ms, during a scan of ${N} images ${p50(busy).toFixed(2)} ` +
        `ms (${scans} scans)`,
    );
  });
});

describe('the demo gallery at the default threshold', () => {
  // 1000 Fashion-MNIST test pictures, none a copy of another: what the Duplicates view shows must be a handful
  let demo: TestApp;
  beforeAll(async () => {
    demo = await startTestApp();
  }, 600_000);
  afterAll(async () => demo?.close());

  it("groups at most a handful (auto is 0.99 for the demo's models), where 0.97 groups dozens", async () => {
    const groupsAt = async (query: string) =>
      (await demo.app.inject({ url: `/api/duplicates${query}` })).json() as { threshold: number; groups: unknown[] };
    const auto = await groupsAt('');
    console.log(`demo gallery: ${auto.groups.length} groups at ${auto.threshold}`);
    expect(auto.threshold).toBe(0.99);
    expect(auto.groups.length).toBeLessThanOrEqual(5);
    expect((await groupsAt('?threshold=0.97')).groups.length).toBeGreaterThan(20);
  });
});
