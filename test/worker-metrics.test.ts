// A worker's metrics server (LOOKALIKE_METRICS_PORT) follows the server's rule for /metrics: on HOST (loopback by
// default), a key when one is set, and refused beyond loopback without one. It once listened on every interface
// without a key, whatever HOST said.
import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startScript, watchOutput } from './helpers/cli.js';
import { MODELS_DIR, TINY_MMPROJ } from './helpers/models.js';
import { freePort, startRedis, type TestRedis } from './helpers/redis.js';

let redis: TestRedis;
const children: ChildProcess[] = [];
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  for (const c of children) c.kill('SIGKILL');
  await redis?.stop();
});

/** A worker with its metrics on a free port: the address it says it serves them on. */
async function workerMetrics(env: Record<string, string>): Promise<string> {
  const port = await freePort();
  const child = startScript('scripts/worker.ts', [], {
    LOOKALIKE_MMPROJ: TINY_MMPROJ,
    LOOKALIKE_MODELS_DIR: MODELS_DIR,
    LOOKALIKE_THREADS: '1',
    LOOKALIKE_REDIS_URL: redis.url,
    LOOKALIKE_JOB_QUEUE: `metrics${port}`,
    LOOKALIKE_METRICS_PORT: String(port),
    ...env,
  });
  children.push(child);
  const [, host] = (await watchOutput(child).waitFor(/metrics on http:\/\/([\d.]+):\d+\/metrics/, 60_000))!;
  return `http://127.0.0.1:${port}/metrics|${host}`;
}

const get = async (url: string, authorization?: string) => {
  const res = await fetch(url, { headers: authorization ? { authorization } : {} });
  return { status: res.status, body: await res.text() };
};

describe("a worker's metrics", () => {
  it('listen on loopback by default and answer there without a key', async () => {
    const [url, host] = (await workerMetrics({})).split('|') as [string, string];
    expect(host).toBe('127.0.0.1');
    const res = await get(url);
    expect(res.status).toBe(200);
    expect(res.body).toMatch(/^lookalike_/m);
  });

  it('are refused beyond loopback without a key (403 metrics_disabled), and need the key when one is set', async () => {
    const [open] = (await workerMetrics({ HOST: '0.0.0.0' })).split('|') as [string];
    const refused = await get(open);
    expect(refused.status).toBe(403);
    expect(JSON.parse(refused.body).error.code).toBe('metrics_disabled');
    const [keyed] = (await workerMetrics({ HOST: '0.0.0.0', LOOKALIKE_API_KEY: 'sesame' })).split('|') as [string];
    expect((await get(keyed)).status).toBe(401);
    expect((await get(keyed, 'Bearer wrong')).status).toBe(403);
    expect((await get(keyed, 'Bearer sesame')).status).toBe(200);
  });
});
