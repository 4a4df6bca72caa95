// The service over a real socket: the bounded queue, and a clean stop of `npm start`'s server on SIGTERM.
import Database from 'better-sqlite3';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startScript, watchOutput } from './helpers/cli.js';
import { multipart, startTestApp } from './helpers/app.js';
import { scenePng } from './helpers/images.js';
import { TINY_MMPROJ } from './helpers/models.js';

// slow encodes (1024 tokens each) on an empty gallery of the tiny model: requests overlap for sure
const SLOW = { LOOKALIKE_MMPROJ: TINY_MMPROJ, LOOKALIKE_MIN_TOKENS: '1024', LOOKALIKE_MAX_TOKENS: '1024' };

async function upload(base: string, url: string, png: Buffer, headers: Record<string, string> = {}) {
  const body = multipart({ image: { filename: 'x.png', data: png, contentType: 'image/png' } });
  return fetch(`${base}${url}`, { method: 'POST', body: new Uint8Array(body.payload), headers: { ...body.headers, ...headers } });
}

describe('over a real socket', () => {
  const cleanup: (() => Promise<void>)[] = [];
  afterAll(async () => { for (const c of cleanup) await c(); });

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
    const child = startScript('src/server.ts', [], { ...SLOW, PORT: '0', LOOKALIKE_DATA_DIR: dataDir, LOOKALIKE_LOG_LEVEL: 'debug' });
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
    expect(existsSync(join(dataDir, 'lock'))).toBe(false);
    expect(existsSync(join(dataDir, 'index', 'flat.json'))).toBe(true);
    const db = new Database(join(dataDir, 'lookalike.db'), { readonly: true });
    expect(db.prepare('SELECT COUNT(*) FROM embeddings').pluck().get()).toBe(1);
    db.close();
  }, 180_000);
});
