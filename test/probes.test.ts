// /livez and /readyz over a real socket: while loading, when ready, after a failed start, and with Redis down in
// queue mode (a real redis-server, killed and started again).
import type { FastifyInstance } from 'fastify';
import { afterAll, describe, expect, it } from 'vitest';
import { lockDataDir } from '../src/engine/gallery/lock.js';
import { startTestApp, type TestApp } from './helpers/app.js';
import { TINY_MMPROJ } from './helpers/models.js';
import { startRedis, type TestRedis } from './helpers/redis.js';

const env = { LOOKALIKE_MMPROJ: TINY_MMPROJ };

async function listen(app: FastifyInstance): Promise<string> {
  return app.listen({ port: 0, host: '127.0.0.1' });
}

async function probe(base: string, path: '/livez' | '/readyz') {
  const res = await fetch(`${base}${path}`);
  const body = (await res.json()) as Record<string, unknown>;
  return { status: res.status, retryAfter: res.headers.get('retry-after'), body };
}

/** Asks /readyz until it answers `status`: progress is the server's own state changing, however long that takes. */
async function readyzUntil(base: string, status: number) {
  for (;;) {
    const r = await probe(base, '/readyz');
    if (r.status === status) return r;
    if (r.status !== 200 && r.status !== 503) {
      throw new Error(`/readyz answered ${r.status}: ${JSON.stringify(r.body)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const opened: TestApp[] = [];
const redises: TestRedis[] = [];
afterAll(async () => {
  for (const t of opened) await t.close();
  for (const r of redises) await r.stop();
});

describe('/livez and /readyz', () => {
  it('while loading: alive, and not ready, naming the models and the index; ready once they are loaded', async () => {
    const t = await startTestApp(env, { start: false });
    opened.push(t);
    const base = await listen(t.app);
    expect(await probe(base, '/livez')).toMatchObject({ status: 200, body: { status: 'alive' } });
    const loading = await probe(base, '/readyz');
    expect(loading.status).toBe(503);
    expect(loading.retryAfter).toBe('5');
    expect(loading.body).toMatchObject({
      status: 'not_ready',
      missing: ['models', 'index'],
      error: { code: 'not_ready' },
    });
    expect((loading.body.error as { message: string }).message).toMatch(/models are loading.*vector index are opening/);

    await t.app.runtime.start();
    expect(await probe(base, '/readyz')).toMatchObject({ status: 200, body: { status: 'ready' } });
    expect(await probe(base, '/livez')).toMatchObject({ status: 200, body: { status: 'alive' } });
  });

  it('are never refused by the rate limit, which still refuses the API', async () => {
    const t = await startTestApp({ ...env, LOOKALIKE_RATE_LIMIT: '3' });
    opened.push(t);
    const base = await listen(t.app);
    for (let i = 0; i < 6; i++) {
      expect((await probe(base, '/livez')).status).toBe(200);
      expect((await probe(base, '/readyz')).status).toBe(200);
      expect((await fetch(`${base}/metrics`)).status).toBe(200);
    }
    const stats = [];
    for (let i = 0; i < 4; i++) stats.push((await fetch(`${base}/api/stats`)).status);
    expect(stats).toEqual([200, 200, 200, 429]);
  });

  it('after a failed start: alive, and not ready, saying why', async () => {
    const t = await startTestApp(env, { start: false });
    opened.push(t);
    const release = lockDataDir(t.dataDir); // another writer holds the data folder: the gallery cannot open
    try {
      await t.app.runtime.start();
    } finally {
      release();
    }
    const base = await listen(t.app);
    expect(await probe(base, '/livez')).toMatchObject({ status: 200 });
    const failed = await probe(base, '/readyz');
    expect(failed).toMatchObject({ status: 503, retryAfter: '60', body: { missing: ['startup'] } });
    expect((failed.body.error as { message: string }).message).toMatch(
      /the start failed: the data folder .* is in use/,
    );
  });

  it('in queue mode: not ready while Redis is down, naming it, and ready again once it is back', async () => {
    const redis = await startRedis();
    redises.push(redis);
    const t = await startTestApp({ ...env, LOOKALIKE_REDIS_URL: redis.url, LOOKALIKE_QUERY_ENCODER: 'queue' });
    opened.push(t);
    const local = await startTestApp({ ...env, LOOKALIKE_REDIS_URL: redis.url }); // encodes its queries itself
    opened.push(local);
    const [base, localBase] = [await listen(t.app), await listen(local.app)];
    await readyzUntil(base, 200);
    await readyzUntil(localBase, 200);

    await redis.kill();
    const down = await readyzUntil(base, 503);
    expect(down.body).toMatchObject({ status: 'not_ready', missing: ['redis'], error: { code: 'not_ready' } });
    expect((down.body.error as { message: string }).message).toMatch(/Redis unreachable at redis:\/\/127\.0\.0\.1:\d+/);
    expect(await probe(base, '/livez')).toMatchObject({ status: 200 });
    // a server with its own encoder still answers searches without Redis (only adds wait): ready, and health degraded
    await new Promise<void>((resolve) => {
      const check = () => (local.app.runtime.redis!.reachable ? setTimeout(check, 20) : resolve());
      check();
    });
    expect(await probe(localBase, '/readyz')).toMatchObject({ status: 200 });
    expect((await (await fetch(`${localBase}/api/health`)).json()).status).toBe('degraded');

    await redis.restart(0);
    expect(await readyzUntil(base, 200)).toMatchObject({ body: { status: 'ready' } });
  });
});
