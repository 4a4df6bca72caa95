// The service over a real socket: the bounded queue, and a clean stop of `npm start`'s server on SIGTERM.
import Database from 'better-sqlite3';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DataDirLockedError, lockDataDir } from '../src/engine/gallery/lock.js';
import { runScript, startScript, watchOutput } from './helpers/cli.js';
import { multipart, startTestApp } from './helpers/app.js';
import { scenePng, writeImageFolder } from './helpers/images.js';
import { TINY_MMPROJ } from './helpers/models.js';
import { startRedis } from './helpers/redis.js';
import { stopOnce, TARGETS } from './helpers/signals.js';

// process starts take what the machine takes: waits fail on a stall (no new output), a test's timeout is a backstop
const STALL_MS = 60_000;
const BACKSTOP_MS = 30 * 60_000;

// slow encodes (1024 tokens each) on an empty gallery of the tiny model: requests overlap for sure
const SLOW = { LOOKALIKE_MMPROJ: TINY_MMPROJ, LOOKALIKE_MIN_TOKENS: '1024', LOOKALIKE_MAX_TOKENS: '1024' };

async function upload(base: string, url: string, png: Buffer, headers: Record<string, string> = {}) {
  const body = multipart({ image: { filename: 'x.png', data: png, contentType: 'image/png' } });
  return fetch(`${base}${url}`, {
    method: 'POST',
    body: new Uint8Array(body.payload),
    headers: { ...body.headers, ...headers },
  });
}

describe('over a real socket', () => {
  const cleanup: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const c of cleanup) await c();
  });

  it('answers 503 with Retry-After when the queue is full, and stays healthy', async () => {
    const t = await startTestApp({ ...SLOW, LOOKALIKE_QUEUE_SIZE: '2' });
    cleanup.push(t.close);
    const address = await t.app.listen({ port: 0, host: '127.0.0.1' });
    const png = await scenePng(1);
    const responses = await Promise.all(Array.from({ length: 8 }, () => upload(address, '/api/search', png)));
    const codes = responses.map((r) => r.status);
    expect(codes.filter((c) => c === 200).length).toBeGreaterThanOrEqual(1);
    expect(codes.filter((c) => c === 503).length).toBeGreaterThanOrEqual(4);
    expect(codes.every((c) => c === 200 || c === 503)).toBe(true);
    for (const r of responses.filter((r) => r.status === 503)) {
      expect(Number(r.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect((await r.json()).error.code).toBe('busy');
    }
    expect((await fetch(`${address}/api/health`)).status).toBe(200);
    expect((await upload(address, '/api/search', png)).status).toBe(200);
  });

  it('stops cleanly on SIGTERM: the request in flight finishes, the index is saved, the lock released', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'lookalike-server-'));
    cleanup.push(async () => rmSync(dataDir, { recursive: true, force: true }));
    // port 0: the system picks a free port, which the server logs; no collision with anything else on the machine
    const child = startScript('src/web/server.ts', [], {
      ...SLOW,
      PORT: '0',
      LOOKALIKE_DATA_DIR: dataDir,
      LOOKALIKE_LOG_LEVEL: 'debug',
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    const output = watchOutput(child);
    const base = (await output.waitFor(/lookalike on (http:\/\/[\d.:]+)\//, 60_000))[1]!;
    await output.waitFor(/gallery ready/, 60_000);
    expect((await fetch(`${base}/api/health`)).status).toBe(200);
    const inFlight = upload(base, '/api/images', await scenePng(2));
    await output.waitFor(/incoming POST \/api\/images/, 60_000); // the server has the request: now stop it
    child.kill('SIGTERM');
    const res = await inFlight;
    expect(res.status).toBe(201);
    await output.waitFor(/closed: requests finished, index saved/, 60_000);
    expect(await exited).toBe(0);
    // one line per request, when it completes
    await output.waitFor(/"msg":"POST \/api\/images 201 \d+ ms"/, 1000);
    await output.waitFor(/"msg":"GET \/api\/health 200 \d+ ms"/, 1000);
    lockDataDir(dataDir)(); // free: a restart can take it
    expect(existsSync(join(dataDir, 'index', 'flat.json'))).toBe(true);
    const db = new Database(join(dataDir, 'lookalike.db'), { readonly: true });
    expect(db.prepare('SELECT COUNT(*) FROM embeddings').pluck().get()).toBe(1);
    db.close();
  });

  // one clean close whoever gets the signal: the process group (Ctrl-C, systemd), npm (Docker) or node; each target
  // once here, 10 times each in bench/signals.ts (README: figures)
  it.each(TARGETS)(
    'npm start closes once, cleanly, when the signal goes to %s',
    async (target) => {
      const r = await stopOnce('server', target, STALL_MS);
      expect(r.problems, r.output).toEqual([]);
    },
    BACKSTOP_MS,
  );

  it.each(TARGETS)(
    'npm run worker closes once, cleanly, when the signal goes to %s',
    async (target) => {
      const redis = await startRedis();
      try {
        const r = await stopOnce('worker', target, STALL_MS, redis.url);
        expect(r.problems, r.output).toEqual([]);
      } finally {
        await redis.stop();
      }
    },
    BACKSTOP_MS,
  );

  it('a start that cannot succeed exits 1 with the reason and no stack trace', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'lookalike-fail-'));
    cleanup.push(async () => rmSync(dataDir, { recursive: true, force: true }));
    const start = (env: Record<string, string>) =>
      runScript('src/web/server.ts', [], { PORT: '0', LOOKALIKE_DATA_DIR: dataDir, ...env });
    const missing = await start({ LOOKALIKE_MMPROJ: '/nope.gguf' });
    expect(missing.code).toBe(1);
    expect(missing.stdout).toMatch(/could not start: model file not found: \/nope\.gguf/);
    expect(missing.stdout).not.toMatch(/\n\s+at /);
    const textWithoutDemo = await start({ LOOKALIKE_MMPROJ: TINY_MMPROJ, LOOKALIKE_TEXT_MODEL: 'demo' });
    expect(textWithoutDemo.code).toBe(1);
    expect(textWithoutDemo.stdout).toMatch(/could not start: LOOKALIKE_TEXT_MODEL=demo goes with the demo encoder/);
    // a data folder bound to another pooling
    const folder = join(dataDir, 'pictures');
    await writeImageFolder(folder, ['a'], 2);
    expect((await runScript('scripts/index.ts', [folder, '--data', dataDir, '--mmproj', TINY_MMPROJ])).code).toBe(0);
    const other = await start({ LOOKALIKE_MMPROJ: TINY_MMPROJ, LOOKALIKE_POOLING: 'mean-deepstack' });
    expect(other.code).toBe(1);
    expect(other.stdout).toMatch(/could not start: .*Vectors of two models are never mixed/);
  });

  it(
    'npm run evaluate reads a gallery while the server holds it, and suggests thresholds; warns when exposed ' +
      'without a key',
    async () => {
      const dataDir = mkdtempSync(join(tmpdir(), 'lookalike-eval-'));
      cleanup.push(async () => rmSync(dataDir, { recursive: true, force: true }));
      const folder = join(dataDir, 'pictures');
      await writeImageFolder(folder, ['a', 'b', 'c'], 4);
      const env = { LOOKALIKE_MMPROJ: TINY_MMPROJ, LOOKALIKE_MIN_TOKENS: '16' };
      expect(
        (await runScript('scripts/index.ts', [folder, '--labels-from-folders', '--data', dataDir], env)).code,
      ).toBe(0);
      const child = startScript('src/web/server.ts', [], {
        ...env,
        PORT: '0',
        HOST: '0.0.0.0',
        LOOKALIKE_DATA_DIR: dataDir,
      });
      const output = watchOutput(child);
      try {
        await output.waitFor(
          /without LOOKALIKE_API_KEY: adding, relabelling and deleting images are refused \(403\)/,
          60_000,
        );
        await output.waitFor(/gallery ready: 12 images .*index flat; model .*device CPU/, 60_000);
        expect(() => lockDataDir(dataDir)).toThrow(DataDirLockedError);
        const r = await runScript('scripts/evaluate.ts', ['--data', dataDir], env);
        expect(r.code, r.stderr).toBe(0);
        expect(r.stdout).toMatch(/leave-one-out KNN over 12 labelled images/);
        expect(r.stdout).toMatch(/best-neighbour similarity when the top class was right: min [\d.]+/);
        expect(r.stdout).toMatch(/suggested .*LOOKALIKE_KNN_MIN_SIMILARITY=[\d.]+ LOOKALIKE_KNN_MIN_CONFIDENCE=[\d.]+/);
        const json = JSON.parse(
          (await runScript('scripts/evaluate.ts', ['--data', dataDir, '--json', '--k', '3'], env)).stdout,
        );
        expect(json.n).toBe(12);
        expect(json.sweeps.minSimilarity[0].answered).toBe(1);
      } finally {
        child.kill('SIGTERM');
      }
      const none = await runScript('scripts/evaluate.ts', ['--data', join(dataDir, 'nowhere')], env);
      expect(none.code).toBe(2);
      expect(none.stderr).toMatch(/there is no gallery in .*nowhere/);
      expect(existsSync(join(dataDir, 'nowhere'))).toBe(false);
    },
  );

  it('loses nothing acknowledged when SIGKILLed at 5 moments of a stream of adds and deletes', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'lookalike-crash-'));
    cleanup.push(async () => rmSync(dataDir, { recursive: true, force: true }));
    const env = {
      LOOKALIKE_MMPROJ: TINY_MMPROJ,
      LOOKALIKE_MIN_TOKENS: '16',
      LOOKALIKE_MAX_TOKENS: '64',
      PORT: '0',
      LOOKALIKE_DATA_DIR: dataDir,
    };
    const start = async () => {
      const child = startScript('src/web/server.ts', [], env);
      const output = watchOutput(child);
      const base = (await output.waitFor(/lookalike on (http:\/\/[\d.:]+)\//, 60_000))[1]!;
      await output.waitFor(/gallery ready/, 60_000);
      return { child, base, exited: new Promise((r) => child.on('close', r)) };
    };
    const added = new Map<number, Buffer>(); // acknowledged with 201, by id
    const deleted = new Set<number>(); // acknowledged with 204
    const tried = new Set<number>(); // a DELETE was sent: without its 204 the image may be gone or not
    let seed = 10_000;
    for (const killAfterMs of [150, 400, 700, 1000, 1500]) {
      const { child, base, exited } = await start();
      let running = true;
      const stream = (async () => {
        for (let op = 0; running; op++) {
          try {
            const live = [...added.keys()].filter((id) => !tried.has(id));
            if (op % 3 === 2 && live.length) {
              const id = live[op % live.length]!;
              tried.add(id);
              const res = await fetch(`${base}/api/images/${id}`, { method: 'DELETE' });
              if (res.status === 204) deleted.add(id);
            } else {
              const png = await scenePng(seed++, 96, 64);
              const res = await upload(base, '/api/images', png);
              if (res.status === 201) added.set((await res.json()).id, png);
            }
          } catch {
            /* the server died under this request: it was never acknowledged */
          }
        }
      })();
      await new Promise((r) => setTimeout(r, killAfterMs));
      child.kill('SIGKILL');
      running = false;
      await Promise.all([stream, exited]);
    }
    expect(added.size).toBeGreaterThan(10);
    expect(deleted.size).toBeGreaterThan(2);
    const { child, base } = await start();
    try {
      const stats = await (await fetch(`${base}/api/stats`)).json();
      const live = [...added.keys()].filter((id) => !tried.has(id));
      // an add the server committed just before it died counts although its 201 never arrived (and a delete that was
      // not acknowledged may have happened): what was acknowledged must hold, the rest may go either way
      expect(stats.images).toBeGreaterThanOrEqual(live.length);
      expect(stats.embedded).toBe(stats.images); // no image without its vector
      expect(stats.index.live).toBe(stats.embedded); // SQLite and FAISS agree
      for (const id of live) {
        const out = await (await upload(base, '/api/search', added.get(id)!)).json();
        expect(out.results[0].id, `image ${id}`).toBe(id);
        expect(out.results[0].score).toBeGreaterThan(0.999);
      }
      for (const id of deleted) expect((await fetch(`${base}/api/images/${id}`)).status).toBe(404);
      const wide = await (await fetch(`${base}/api/images/${live[0]}/similar?k=100`)).json();
      expect(wide.results.length).toBeGreaterThan(0);
      for (const r of wide.results) {
        // search returns only live ids
        expect(deleted.has(r.id)).toBe(false);
        expect((await fetch(`${base}/api/images/${r.id}`)).status).toBe(200);
      }
    } finally {
      child.kill('SIGTERM');
    }
  });
});
