// Captions made by the workers through a real Redis (Debian's redis-server on a free port) and real worker processes
// with the demo Instruct model: a server whose queries and adds go to the workers (LOOKALIKE_QUERY_ENCODER=queue)
// loads no model, queues the thumbnails, and stores the captions that come back; a worker SIGKILLed mid-captioning
// loses nothing (its job is given to the next worker once its lock expires); the captions are those `npm run captions`
// makes in-process (greedy: the same model says the same), and keyword search finds the pictures by them.
import type { ChildProcess } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { Queue } from 'bullmq';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/core/config.js';
import { demoSplit, FASHION_CLASSES, fashionPng, readFashion } from '../src/engine/demo/fashion-mnist.js';
import {
  DEMO_EMBED_MMPROJ,
  DEMO_EMBED_MODEL,
  DEMO_TEXT_MMPROJ,
  DEMO_TEXT_MODEL,
} from '../src/application/models/resolve.js';
import { captionQueueName, type CaptionJobData } from '../src/application/jobs/caption-jobs.js';
import { connection } from '../src/application/jobs/queues.js';
import { instructModelId } from '../src/application/models/model-set.js';
import { multipart, startTestApp } from './helpers/app.js';
import { runScript, startScript, watchOutput } from './helpers/cli.js';
import { MODELS_DIR } from './helpers/models.js';
import { startRedis, type TestRedis } from './helpers/redis.js';

const PER_CLASS = 4;
const N = 10 * PER_CLASS;
/** A stall, not a budget: waits fail only when nothing moves for this long. */
const STALL_MS = 120_000;
const LOCK_SECONDS = 2;

const root = mkdtempSync(join(tmpdir(), 'cap2-jobs-'));
const MODELS = {
  LOOKALIKE_MMPROJ: DEMO_EMBED_MMPROJ,
  LOOKALIKE_EMBED_MODEL: DEMO_EMBED_MODEL,
  LOOKALIKE_THREADS: '1',
  LOOKALIKE_MODELS_DIR: MODELS_DIR,
};
const INSTRUCT = {
  LOOKALIKE_TEXT_MODEL: DEMO_TEXT_MODEL,
  LOOKALIKE_TEXT_MMPROJ: DEMO_TEXT_MMPROJ,
  LOOKALIKE_CAPTION_LANGUAGES: 'en',
};

const openServer = async (dataDir: string, env: Record<string, string>) =>
  (await startTestApp({ ...MODELS, ...env }, { dataDir })).app;

const stats = async (app: FastifyInstance) =>
  (await app.inject('/api/stats')).json().captions as { enabled: boolean; captioned: number; pending: number };

function captionRows(dataDir: string) {
  const db = new Database(join(dataDir, 'lookalike.db'), { readonly: true });
  try {
    return db.prepare('SELECT image_id, model, caption, words FROM captions ORDER BY image_id').all() as {
      image_id: number;
      model: string;
      caption: string;
      words: string;
    }[];
  } finally {
    db.close();
  }
}

/** Waits until `done` holds, failing when the captioned count stops moving for STALL_MS. */
async function until(app: FastifyInstance, done: (s: Awaited<ReturnType<typeof stats>>) => boolean) {
  let last = -1,
    since = Date.now();
  for (;;) {
    const s = await stats(app);
    if (done(s)) return s;
    if (s.captioned !== last) [last, since] = [s.captioned, Date.now()];
    if (Date.now() - since > STALL_MS) throw new Error(`captioning stalled at ${s.captioned} (${s.pending} pending)`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('captions on the workers', () => {
  const dataDir = join(root, 'gallery');
  const reference = join(root, 'reference');
  const classOf = new Map<number, string>();
  const children: ChildProcess[] = [];
  let redis: TestRedis;

  beforeAll(async () => {
    // the gallery, uploaded under names that say nothing of the class; a copy captioned in-process is the reference
    const fashion = readFashion('t10k');
    const { gallery } = demoSplit(fashion.labels, PER_CLASS, 0);
    const app = await openServer(dataDir, { LOOKALIKE_CAPTIONS: 'off' });
    for (const [n, i] of gallery.entries()) {
      const body = multipart({ image: { filename: `picture-${n}.png`, data: await fashionPng(fashion, i) } });
      const res = await app.inject({
        method: 'POST',
        url: '/api/images',
        payload: body.payload,
        headers: body.headers,
      });
      expect(res.statusCode, res.body).toBe(201);
      classOf.set(res.json().id, FASHION_CLASSES[fashion.labels[i]!]!);
    }
    await app.close();
    cpSync(dataDir, reference, { recursive: true });
    const local = await runScript('scripts/captions.ts', [], { ...MODELS, ...INSTRUCT, LOOKALIKE_DATA_DIR: reference });
    expect(local.code, local.stderr).toBe(0);
    redis = await startRedis();
  });
  afterAll(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await redis?.stop();
    rmSync(root, { recursive: true, force: true });
  });

  const queueEnv = () => ({
    ...INSTRUCT,
    LOOKALIKE_REDIS_URL: redis.url,
    LOOKALIKE_JOB_LOCK_SECONDS: String(LOCK_SECONDS),
  });
  async function worker() {
    const child = startScript('scripts/worker.ts', [], { ...MODELS, ...queueEnv() });
    children.push(child);
    const output = watchOutput(child);
    await output.waitFor(/waiting for jobs on .*-caption/, STALL_MS);
    expect(output.text).toMatch(/captions with the Instruct model fashion-instruct-text-[0-9a-f]{12}/);
    return { child, closed: new Promise((resolve) => child.on('close', resolve)) };
  }

  it('captions on the workers, loses nothing when one is killed mid-captioning, and the captions are searchable', async () => {
    const server = await openServer(dataDir, {
      ...queueEnv(),
      LOOKALIKE_CAPTIONS: 'on',
      LOOKALIKE_QUERY_ENCODER: 'queue',
    });
    try {
      // the server holds no model: neither the encoder (queries go to the workers) nor the Instruct model
      expect(server.runtime.parts().models.vlm).toBeNull();
      expect(await stats(server)).toMatchObject({ enabled: true, captioned: 0, pending: N });

      const first = await worker();
      await until(server, (s) => s.captioned >= 3);
      const cfg = loadConfig({ ...MODELS, ...queueEnv() });
      const modelId = await instructModelId(cfg);
      first.child.kill('SIGKILL');
      await first.closed;
      const before = await stats(server);
      expect(before.pending, 'captioning ended before the kill: the test needs more pictures').toBeGreaterThan(0);
      // the killed worker's job: still active in Redis, held by a lock nobody renews
      const queue = new Queue<CaptionJobData>(captionQueueName(cfg, modelId), {
        connection: connection(cfg),
      });
      let orphan: number;
      try {
        const active = await queue.getActive();
        expect(active.length, 'the worker was between two jobs when killed').toBe(1);
        orphan = active[0]!.data.imageId;
      } finally {
        await queue.close();
      }
      expect(captionRows(dataDir).map((r) => r.image_id)).not.toContain(orphan);

      await worker();
      await until(server, (s) => s.pending === 0);
      expect(await stats(server)).toMatchObject({ captioned: N, pending: 0 });
      const rows = captionRows(dataDir);
      expect(rows.map((r) => r.image_id)).toContain(orphan);
      // the workers said what the model says in-process
      expect(rows).toEqual(captionRows(reference));

      // a keyword finds the pictures whose captions say it, and mostly of the class it names
      let right = 0,
        found = 0;
      for (const cls of ['trouser', 'sneaker', 'bag', 'dress', 'sandal']) {
        const res = await server.inject({
          method: 'POST',
          url: '/api/search',
          payload: { text: cls, mode: 'keyword', k: PER_CLASS },
        });
        expect(res.statusCode, res.body).toBe(200);
        for (const { id } of res.json().results as { id: number }[]) {
          const said = rows.find((r) => r.image_id === id)!;
          expect(said.caption.toLowerCase()).toContain(cls);
          found++;
          if (classOf.get(id) === cls) right++;
        }
      }
      expect(found).toBeGreaterThan(10);
      expect(right / found).toBeGreaterThanOrEqual(0.6);
    } finally {
      await server.close();
    }
  });
});
