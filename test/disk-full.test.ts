// A full disk, for real: the data folder on a small tmpfs filled to the last byte. Changes answer 507 disk_full and
// reads go on; a failed index save is kept for the next one and leaves no temporary file; shutdown says what it saved.
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { demoSplit, readFashion } from '../src/engine/demo/fashion-mnist.js';
import { Gallery } from '../src/engine/gallery/gallery.js';
import { lockDataDir } from '../src/engine/gallery/lock.js';
import { multipart, startTestApp, type TestApp } from './helpers/app.js';
import { startScript, watchOutput } from './helpers/cli.js';
import { scenePng } from './helpers/images.js';
import { TINY_MMPROJ } from './helpers/models.js';
import { mountTmpfs, type Tmpfs } from './helpers/tmpfs.js';
import { identity } from './helpers/vectors.js';

const mounted = mountTmpfs(32); // room for the demo gallery (1000 pictures, about 8 MB on tmpfs), then filled
const disk = 'skip' in mounted ? null : mounted;
if (!disk) console.warn(`disk-full tests skipped: ${(mounted as { skip: string }).skip}`);
afterAll(() => disk?.unmount());

const temporaryFiles = (dir: string) => readdirSync(dir).filter((f) => f.includes('.tmp-'));

describe.skipIf(!disk)('on a full disk', () => {
  const fs = disk as Tmpfs;
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ LOOKALIKE_DATA_DIR: fs.dir });
  });
  afterEach(() => fs.free()); // a test that failed midway leaves the next one room
  afterAll(async () => t?.close());
  const add = async (seed: number) => {
    const body = multipart({
      image: { filename: `${seed}.png`, data: await scenePng(seed), contentType: 'image/png' },
    });
    return t.app.inject({ method: 'POST', url: '/api/images', payload: body.payload, headers: body.headers });
  };
  const expectDiskFull = (res: { statusCode: number; json(): { error: { code: string; message: string } } }) => {
    expect(res.statusCode).toBe(507);
    expect(res.json().error).toEqual({
      code: 'disk_full',
      message: expect.stringMatching(/the disk holding .* is full: the change was not made/),
    });
  };

  it(
    'answers add, PATCH and DELETE with 507 disk_full, serves reads meanwhile, and takes changes again once there ' +
      'is room',
    async () => {
      const before = await add(600);
      expect(before.statusCode).toBe(201);
      fs.fill();
      expectDiskFull(await add(601));
      expectDiskFull(await t.app.inject({ method: 'PATCH', url: '/api/images/1', payload: { label: 'renamed' } }));
      expectDiskFull(await t.app.inject({ method: 'DELETE', url: '/api/images/2' }));
      // reads: nothing changed, and everything answers
      expect((await t.app.inject('/api/images/1')).json().label).not.toBe('renamed');
      expect((await t.app.inject('/api/images/2')).statusCode).toBe(200);
      expect((await t.app.inject('/api/health')).statusCode).toBe(200);
      expect((await t.app.inject(`/api/images/${before.json().id}/similar?k=3`)).json().results).toHaveLength(3);
      const search = multipart({ image: { filename: 'q.png', data: await scenePng(600), contentType: 'image/png' } });
      const found = await t.app.inject({
        method: 'POST',
        url: '/api/search',
        payload: search.payload,
        headers: search.headers,
      });
      expect(found.json().results[0].id).toBe(before.json().id);
      fs.free();
      expect((await add(601)).statusCode).toBe(201);
      expect(
        (await t.app.inject({ method: 'PATCH', url: '/api/images/1', payload: { label: 'renamed' } })).json().label,
      ).toBe('renamed');
      expect((await t.app.inject({ method: 'DELETE', url: '/api/images/2' })).statusCode).toBe(204);
    },
  );

  it('keeps the changes of a failed index save for the next save, and leaves no temporary file behind', async () => {
    const gallery = t.app.runtime.parts().gallery;
    await gallery.save();
    const indexDir = join(fs.dir, 'demo', 'index');
    const { id } = (await add(602)).json();
    fs.fill();
    await expect(gallery.save()).rejects.toThrow();
    expect(temporaryFiles(indexDir)).toEqual([]);
    fs.free();
    await gallery.save(); // the same changes, now with room: once a no-op, the failure having cleared the flag
    expect(JSON.parse(readFileSync(join(indexDir, 'flat.json'), 'utf8')).ids).toContain(id);
  });

  it('refuses to open a data folder on a full disk with a message that says so, not a raw ENOSPC stack, leaving no lock', () => {
    const fresh = join(fs.dir, 'fresh');
    mkdirSync(fresh);
    fs.fill();
    expect(() => lockDataDir(fresh)).toThrow(/the disk holding .*fresh is full: its lock file could not be written/);
    expect(readdirSync(fresh)).toEqual([]);
    fs.free();
    lockDataDir(fresh)(); // and with room again it locks (and releases)
  });

  it('a demo start on a nearly full disk says so, not a raw ENOSPC stack, and with room starts whole', async () => {
    const dataDir = join(fs.dir, 'demo-start');
    const start = async () => {
      const child = startScript('src/web/server.ts', [], { PORT: '0', LOOKALIKE_DATA_DIR: dataDir });
      const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
      const output = watchOutput(child);
      return { child, output, exited };
    };
    try {
      // room for the database only; room for it and some of the demo's pictures (the start fails at different writes)
      for (const leave of [64 * 1024, 1024 * 1024]) {
        fs.fill(leave);
        const s = await start();
        const line = (await s.output.waitFor(/lookalike could not start: [^"]*/, 120_000))[0];
        expect(line, `${leave} bytes free`).toMatch(
          new RegExp(
            'could not start: the disk holding .*demo-start is ' +
              'full \\((ENOSPC|database or disk is full)[^)]*\\); free some space and start again',
          ),
        );
        expect(await s.exited).toBe(1);
        expect(s.output.text).not.toMatch(/"stack"/);
        fs.free();
      }
      // with room: the whole demo gallery, not the pictures a failed start had written
      const s = await start();
      try {
        const ready = (await s.output.waitFor(/gallery ready: (\d+) images/, 120_000))[1];
        expect(Number(ready)).toBe(demoSplit(readFashion('t10k').labels).gallery.length);
      } finally {
        s.child.kill('SIGTERM');
        await s.exited;
      }
    } finally {
      fs.free();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('says at shutdown that the index was not saved, instead of "index saved"', async () => {
    const dataDir = join(fs.dir, 'server');
    const child = startScript('src/web/server.ts', [], {
      LOOKALIKE_MMPROJ: TINY_MMPROJ,
      LOOKALIKE_MIN_TOKENS: '16',
      LOOKALIKE_MAX_TOKENS: '64',
      PORT: '0',
      LOOKALIKE_DATA_DIR: dataDir,
    });
    const exited = new Promise((resolve) => child.on('close', resolve));
    const output = watchOutput(child);
    try {
      const base = (await output.waitFor(/lookalike on (http:\/\/[\d.:]+)\//, 60_000))[1]!;
      await output.waitFor(/gallery ready/, 60_000);
      const body = multipart({ image: { filename: 'a.png', data: await scenePng(603), contentType: 'image/png' } });
      expect(
        (
          await fetch(`${base}/api/images`, {
            method: 'POST',
            body: new Uint8Array(body.payload),
            headers: body.headers,
          })
        ).status,
      ).toBe(201);
      fs.fill(); // the index has a change to save, and no room for it
      child.kill('SIGTERM');
      const last = (await output.waitFor(/closed: requests finished, [^\n]*/, 60_000))[0];
      expect(last).toMatch(/index NOT saved/);
      await output.waitFor(/index save failed at shutdown \(.+\): every change is in the database/, 1000);
    } finally {
      fs.free();
      child.kill('SIGKILL');
      await exited;
    }
  });
});

describe('temporary index files', () => {
  it('are removed when a writer opens the gallery (a failed save in an older version, or a kill mid-save)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lookalike-leftovers-'));
    try {
      const open = () =>
        Gallery.open({
          dataDir: dir,
          identity: identity(8),
          indexKind: 'flat',
          indexParams: { hnswM: 16, efSearch: 64, nprobe: 4 },
        });
      await (await open()).close();
      const indexDir = join(dir, 'index');
      for (const f of ['flat.3.faiss.tmp-4242', 'flat.json.tmp-4242', 'hnsw.2.faiss.tmp-77'])
        writeFileSync(join(indexDir, f), 'partial');
      const g = await open();
      expect(temporaryFiles(indexDir)).toEqual([]);
      await g.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
