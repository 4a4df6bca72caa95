// Encoding on workers through a real Redis (Debian's redis-server, started here on a free port): the index builder
// with --queue, workers that die, a Redis that restarts or hangs, a poison job, a worker of another model, a result
// that cannot be stored, and the API's 202.
import Database from 'better-sqlite3';
import { createHash } from 'node:crypto';
import { Queue } from 'bullmq';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync, type ChildProcess } from 'node:child_process';
import sharp from 'sharp';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../src/web/app.js';
import { loadConfig } from '../src/core/config.js';
import { VisionEncoder } from '../src/engine/encoder/vision-encoder.js';
import { prepareImage } from '../src/engine/image/prepare.js';
import {
  connection,
  encodeJobData,
  encodeJobId,
  encodeJobOptions,
  queueNames,
  type EncodeJobData,
} from '../src/application/jobs/queues.js';
import { RedisLink } from '../src/application/jobs/redis-link.js';
import { multipart, startTestApp, type TestApp } from './helpers/app.js';
import { runScript, startScript, watchOutput } from './helpers/cli.js';
import { scenePng, writeImageFolder } from './helpers/images.js';
import { MODELS_DIR, TINY_MMPROJ } from './helpers/models.js';
import { freePort, startRedis, type TestRedis } from './helpers/redis.js';

// Encoding speed depends on the machine (1.2 images/s on a slow 2-core one): waits fail on a stall, when no new result
// came for STALL_MS, never on a total time; a test's own timeout is only a backstop.
const STALL_MS = 60_000;
const BACKSTOP_MS = 30 * 60_000;
let root: string;
let folder: string; // 200 pictures in 10 labelled folders
const children: ChildProcess[] = [];
const redises: TestRedis[] = [];
beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'lookalike-jobs-'));
  folder = join(root, 'pictures');
  await writeImageFolder(
    folder,
    Array.from({ length: 10 }, (_, i) => `class${i}`),
    20,
  );
}, BACKSTOP_MS);
afterEach(async () => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  for (const r of redises.splice(0)) await r.stop();
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

const base = {
  LOOKALIKE_MMPROJ: TINY_MMPROJ,
  LOOKALIKE_MIN_TOKENS: '16',
  LOOKALIKE_MAX_TOKENS: '256',
  LOOKALIKE_THREADS: '1',
  LOOKALIKE_MODELS_DIR: MODELS_DIR,
};

async function redis(appendonly = false) {
  const r = await startRedis({ appendonly });
  redises.push(r);
  return r;
}

async function worker(env: Record<string, string>) {
  const child = startScript('scripts/worker.ts', [], env);
  children.push(child);
  const output = watchOutput(child);
  await output.waitFor(/waiting for jobs/, STALL_MS);
  return { child, output, modelId: /: model (\S+) \(/.exec(output.text)![1]! };
}

function rows(dataDir: string) {
  const db = new Database(join(dataDir, 'lookalike.db'), { readonly: true });
  try {
    return {
      images: db.prepare('SELECT COUNT(*) FROM images').pluck().get() as number,
      distinct: db.prepare('SELECT COUNT(DISTINCT sha256) FROM images').pluck().get() as number,
      embeddings: db.prepare('SELECT COUNT(*) FROM embeddings').pluck().get() as number,
      vectors: new Map(
        (
          db.prepare('SELECT i.sha256, e.vector FROM images i JOIN embeddings e ON e.image_id = i.id').all() as {
            sha256: string;
            vector: Buffer;
          }[]
        ).map((r) => [r.sha256, r.vector]),
      ),
    };
  } finally {
    db.close();
  }
}

describe('npm run index -- --queue', () => {
  it(
    'indexes 200 images on two workers, each once, with vectors bit-identical to a local build',
    async () => {
      const r = await redis();
      const env = { ...base, LOOKALIKE_REDIS_URL: r.url };
      const metricsPort = await freePort();
      await Promise.all([worker({ ...env, LOOKALIKE_METRICS_PORT: String(metricsPort) }), worker(env)]);
      const queued = join(root, 'queued');
      const run = await runScript(
        'scripts/index.ts',
        [folder, '--queue', '--labels-from-folders', '--data', queued],
        env,
      );
      expect(run.code, run.stderr).toBe(0);
      expect(run.stdout).toMatch(
        /200 image files, 200 added, 0 already indexed, 0 relabelled, 0 exact duplicates, 0 failed; encoded by 2 worker\(s\)/,
      );
      expect(run.stderr).toMatch(/workers 2/);
      const local = join(root, 'local');
      expect((await runScript('scripts/index.ts', [folder, '--labels-from-folders', '--data', local], base)).code).toBe(
        0,
      );
      const [q, l] = [rows(queued), rows(local)];
      expect([q.images, q.distinct, q.embeddings]).toEqual([200, 200, 200]);
      for (const [sha, vector] of l.vectors) expect(q.vectors.get(sha)?.equals(vector), sha).toBe(true);
      // a worker's own metrics, on LOOKALIKE_METRICS_PORT
      const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
      const done = Number(/^lookalike_worker_jobs_total\{outcome="done"\} (\d+)$/m.exec(metrics)?.[1]);
      expect(done).toBeGreaterThan(0);
      expect(done).toBeLessThan(200); // the other worker did the rest
      expect(metrics).toMatch(/^lookalike_encode_duration_seconds_count\{input="image"\} \d+$/m);
      // resumable as before: nothing left to do
      const again = await runScript(
        'scripts/index.ts',
        [folder, '--queue', '--labels-from-folders', '--data', queued],
        env,
      );
      expect(again.stdout).toMatch(/0 added, 200 already indexed/);
    },
    BACKSTOP_MS,
  );

  it(
    'completes when a worker is SIGKILLed mid-run: its job goes to another, nothing lost or doubled',
    async () => {
      const r = await redis();
      // slower encodes and a short lock, so that a job is in the dying worker's hands and comes back soon
      const env = {
        ...base,
        LOOKALIKE_REDIS_URL: r.url,
        LOOKALIKE_MIN_TOKENS: '400',
        LOOKALIKE_MAX_TOKENS: '400',
        LOOKALIKE_JOB_LOCK_SECONDS: '2',
      };
      const [doomed] = await Promise.all([worker(env), worker(env)]);
      const data = join(root, 'killed-worker');
      const builder = startScript('scripts/index.ts', [folder, '--queue', '--data', data], env);
      children.push(builder);
      const out = watchOutput(builder);
      await out.waitFor(/added (1\d|[2-9]\d)/, STALL_MS);
      doomed!.child.kill('SIGKILL');
      await out.waitFor(/done in .* 200 added/, STALL_MS);
      const q = rows(data);
      expect([q.images, q.distinct, q.embeddings]).toEqual([200, 200, 200]);
    },
    BACKSTOP_MS,
  );

  it(
    'completes when Redis is killed and restarted mid-run (append-only file on)',
    async () => {
      const r = await redis(true);
      const env = { ...base, LOOKALIKE_REDIS_URL: r.url, LOOKALIKE_MIN_TOKENS: '400', LOOKALIKE_MAX_TOKENS: '400' };
      await Promise.all([worker(env), worker(env)]);
      const data = join(root, 'redis-restart');
      const builder = startScript('scripts/index.ts', [folder, '--queue', '--data', data], env);
      children.push(builder);
      const out = watchOutput(builder);
      const exited = new Promise<number | null>((resolve) => builder.on('close', resolve));
      await out.waitFor(/added (1\d|[2-9]\d)/, STALL_MS);
      await r.restart(1000);
      let code = await exited;
      if (code !== 0) {
        // it may stop with a message instead: then a second run resumes and finishes exactly
        const again = await runScript('scripts/index.ts', [folder, '--queue', '--data', data], env);
        code = again.code;
      }
      expect(code).toBe(0);
      const q = rows(data);
      expect([q.images, q.distinct, q.embeddings]).toEqual([200, 200, 200]);
    },
    BACKSTOP_MS,
  );

  it('says it is waiting for workers when none is running, instead of printing nothing', async () => {
    const r = await redis();
    const builder = startScript(
      'scripts/index.ts',
      [join(folder, 'class2'), '--queue', '--data', join(root, 'no-workers')],
      { ...base, LOOKALIKE_REDIS_URL: r.url },
    );
    children.push(builder);
    const out = watchOutput(builder);
    await out.waitFor(
      /20 images enqueued; waiting for workers to encode them \(0 seen so far; start them with npm run worker\)/,
      120_000,
    );
  });

  it(
    'a worker of another model takes none of the jobs: they wait for a worker of their model, and all are stored',
    async () => {
      const r = await redis();
      // other token limits: another model id
      const other = await worker({ ...base, LOOKALIKE_REDIS_URL: r.url, LOOKALIKE_MAX_TOKENS: '128' });
      const data = join(root, 'other-model');
      const builder = startScript('scripts/index.ts', [join(folder, 'class0'), '--queue', '--data', data], {
        ...base,
        LOOKALIKE_REDIS_URL: r.url,
      });
      children.push(builder);
      const out = watchOutput(builder);
      await out.waitFor(/images enqueued; waiting for workers/, STALL_MS); // the other model's worker is idle and ready
      const own = await worker({ ...base, LOOKALIKE_REDIS_URL: r.url });
      expect(own.modelId).not.toBe(other.modelId);
      await out.waitFor(/done in .* failed/, STALL_MS);
      expect(out.text).toMatch(
        /20 added, 0 already indexed, 0 relabelled, 0 exact duplicates, 0 failed; encoded by 1 worker\(s\)/,
      );
      expect(out.text).not.toMatch(/refused/);
      expect(rows(data).embeddings).toBe(20);
    },
    BACKSTOP_MS,
  );

  it(
    "a worker started with the server's settings (LOOKALIKE_QUERY_ENCODER=queue) encodes its jobs itself",
    async () => {
      const r = await redis();
      // before the fix it sent its jobs back to the queue as queries: a short timeout and one attempt make that fail
      // fast
      const env = {
        ...base,
        LOOKALIKE_REDIS_URL: r.url,
        LOOKALIKE_QUERY_TIMEOUT_MS: '2000',
        LOOKALIKE_JOB_ATTEMPTS: '1',
      };
      await worker({ ...env, LOOKALIKE_QUERY_ENCODER: 'queue' });
      const run = await runScript(
        'scripts/index.ts',
        [join(folder, 'class3'), '--queue', '--data', join(root, 'queue-encoder')],
        env,
      );
      expect(run.stdout).toMatch(/20 added, 0 already indexed, 0 relabelled, 0 exact duplicates, 0 failed/);
    },
    BACKSTOP_MS,
  );
});

describe('a poison job', () => {
  it(
    'fails after its attempts with the reason kept, and the rest completes',
    async () => {
      const r = await redis();
      const env = { ...base, LOOKALIKE_REDIS_URL: r.url };
      const w = await worker(env);
      const cfg = loadConfig({ ...env, LOOKALIKE_DATA_DIR: root });
      const queue = new Queue(queueNames(cfg, w.modelId).encode, { connection: connection(cfg) });
      try {
        // a job no worker can do: its pixels do not fill the size it claims
        await queue.add(
          'encode',
          {
            modelId: 'x',
            sha256: 'poison',
            image: {
              rgb: Buffer.alloc(30).toString('base64'),
              width: 64,
              height: 64,
              sourceWidth: 64,
              sourceHeight: 64,
              content: { left: 0, top: 0, width: 64, height: 64 },
            },
            meta: { source: 'poison.png', label: null, width: 64, height: 64, bytes: 1, thumbnail: '' },
          },
          { jobId: 'x.poison', attempts: 3, backoff: { type: 'fixed', delay: 100 }, removeOnFail: false },
        );
        const run = await runScript(
          'scripts/index.ts',
          [join(folder, 'class1'), '--queue', '--data', join(root, 'poisoned')],
          env,
        );
        expect(run.stdout).toMatch(/20 added/);
        let job = await queue.getJob('x.poison');
        for (let i = 0; i < 100 && !(await job!.isFailed()); i++) {
          await new Promise((res) => setTimeout(res, 100));
          job = await queue.getJob('x.poison');
        }
        expect(await job!.isFailed()).toBe(true);
        expect(job!.attemptsMade).toBe(3);
        expect(job!.failedReason).toMatch(/bad image size/);
      } finally {
        await queue.close();
      }
    },
    BACKSTOP_MS,
  );
});

describe('the API with workers', () => {
  it(
    'answers an add with 202 and a job, shows its states, and the image is then searchable; queries can go to the ' +
      'workers too',
    async () => {
      const r = await redis();
      // the demo's model in the worker and the servers (empty settings are unset: the demo mmproj, its own token
      // limits)
      const w = await worker({
        ...base,
        LOOKALIKE_MMPROJ: '',
        LOOKALIKE_MIN_TOKENS: '',
        LOOKALIKE_MAX_TOKENS: '',
        LOOKALIKE_REDIS_URL: r.url,
      });
      const t = await startTestApp({ LOOKALIKE_REDIS_URL: r.url });
      // with EXIF: its metadata travels with the job and is stored with the worker's vector
      const photo = await sharp(await scenePng(321))
        .jpeg()
        .withExif({ IFD0: { Make: 'Acme', Model: 'Queue 1' }, IFD2: { DateTimeOriginal: '2020:02:29 12:00:00' } })
        .toBuffer();
      const file = { filename: 'new.jpg', data: photo, contentType: 'image/jpeg' };
      try {
        const body = multipart({ image: file, label: 'fresh' });
        const added = await t.app.inject({
          method: 'POST',
          url: '/api/images',
          payload: body.payload,
          headers: body.headers,
        });
        expect(added.statusCode).toBe(202);
        const { jobId, statusUrl } = added.json();
        const states: string[] = [];
        let state;
        for (
          let changedAt = Date.now();
          Date.now() - changedAt < STALL_MS;
          await new Promise((res) => setTimeout(res, 50))
        ) {
          state = (await t.app.inject(statusUrl)).json();
          if (states.at(-1) !== state.state) {
            states.push(state.state);
            changedAt = Date.now();
          }
          if (state.state === 'done' || state.state === 'failed') break;
        }
        expect(state).toMatchObject({ id: jobId, state: 'done', imageId: expect.any(Number) });
        const search = multipart({ image: file, k: '1' });
        const found = (
          await t.app.inject({ method: 'POST', url: '/api/search', payload: search.payload, headers: search.headers })
        ).json();
        expect(found.results[0]).toMatchObject({
          id: state.imageId,
          label: 'fresh',
          source: 'new.jpg',
          takenAt: '2020-02-29T12:00:00',
          takenFrom: 'exif',
          cameraModel: 'Queue 1',
        });
        expect((await t.app.inject('/api/jobs/nope.0')).statusCode).toBe(404);
        // the same content again: already in the gallery, no job
        const again = multipart({ image: file });
        expect(
          (
            await t.app.inject({ method: 'POST', url: '/api/images', payload: again.payload, headers: again.headers })
          ).json(),
        ).toMatchObject({ id: state.imageId, duplicate: true });

        // a server that loads no model: its queries go to the worker, with the same vectors as the local path
        const remote = await startTestApp(
          { LOOKALIKE_REDIS_URL: r.url, LOOKALIKE_QUERY_ENCODER: 'queue', LOOKALIKE_QUERY_TIMEOUT_MS: '5000' },
          { start: false },
        );
        try {
          await remote.app.runtime.start(); // builds its own demo gallery, encoded by the worker
          expect(remote.app.runtime.state.status).toBe('ready');
          const demo = readFileSync(
            join(
              t.dataDir,
              'demo',
              'images',
              'sneaker',
              readdirSync(join(t.dataDir, 'demo', 'images', 'sneaker')).sort()[0]!,
            ),
          );
          const ask = async (app: typeof t.app) => {
            const q = multipart({ image: { filename: 'q.png', data: demo, contentType: 'image/png' }, k: '5' });
            return (await app.inject({ method: 'POST', url: '/api/search', payload: q.payload, headers: q.headers }))
              .json()
              .results.map((x: { sha256: string; score: number }) => [x.sha256, x.score]);
          };
          expect(await ask(remote.app)).toEqual(await ask(t.app)); // the same images and scores: bit-identical vectors
          expect((await remote.app.inject('/api/health')).json().device.visionTower).toMatch(/workers/);
          // no worker left: a query waits LOOKALIKE_QUERY_TIMEOUT_MS, then 503 workers_busy with Retry-After
          w.child.kill('SIGKILL');
          const q = multipart({ image: { filename: 'q.png', data: demo, contentType: 'image/png' } });
          const unanswered = await remote.app.inject({
            method: 'POST',
            url: '/api/search',
            payload: q.payload,
            headers: q.headers,
          });
          expect(unanswered.statusCode).toBe(503);
          expect(unanswered.json().error.code).toBe('workers_busy');
          expect(Number(unanswered.headers['retry-after'])).toBeGreaterThan(0);
        } finally {
          await remote.close();
        }
      } finally {
        await t.close();
      }
    },
    BACKSTOP_MS,
  );
});

describe('a result that cannot be stored', () => {
  it(
    'is listed as failed with its reason in GET /api/jobs/:id, and the results after it are stored',
    async () => {
      const r = await redis();
      const env = { ...base, LOOKALIKE_REDIS_URL: r.url };
      const w = await worker(env);
      const cfg = loadConfig({ ...env, LOOKALIKE_DATA_DIR: root });
      const queue = new Queue<EncodeJobData>(queueNames(cfg, w.modelId).encode, { connection: connection(cfg) });
      const description = await VisionEncoder.describe(TINY_MMPROJ, { minTokens: 16, maxTokens: 256 });
      const completed = async (jobId: string) => {
        for (let i = 0; i < 600 && !(await (await queue.getJob(jobId))?.isCompleted()); i++)
          await new Promise((res) => setTimeout(res, 100));
      };
      let t: TestApp | undefined;
      try {
        // both encoded while no writer runs: one whose meta the database refuses, completed after a good one (so first
        // in the writer's list, newest first), then the writer starts
        const good = await prepareImage(description, await scenePng(901));
        const goodId = encodeJobId(w.modelId, good.sha256);
        await queue.add('encode', encodeJobData(w.modelId, good, { source: 'good.png', label: null }), {
          ...encodeJobOptions(cfg),
          jobId: goodId,
        });
        await completed(goodId);
        const bad = await prepareImage(description, await scenePng(902));
        const badData = encodeJobData(w.modelId, bad, { source: 'bad.png', label: null });
        const badId = encodeJobId(w.modelId, bad.sha256);
        await queue.add(
          'encode',
          { ...badData, meta: { ...badData.meta, width: null as unknown as number } },
          { ...encodeJobOptions(cfg), jobId: badId },
        );
        await completed(badId);
        t = await startTestApp(env);
        const state = async (jobId: string) => {
          for (
            let changedAt = Date.now(), last = '';
            Date.now() - changedAt < STALL_MS;
            await new Promise((res) => setTimeout(res, 100))
          ) {
            const s = (await t!.app.inject(`/api/jobs/${jobId}`)).json();
            if (s.state === 'done' || s.state === 'failed') return s;
            if (s.state !== last) {
              last = s.state;
              changedAt = Date.now();
            }
          }
          throw new Error(`job ${jobId} did not finish`);
        };
        expect(await state(badId)).toMatchObject({
          state: 'failed',
          error: expect.stringMatching(/could not be stored: NOT NULL constraint failed: images.width/),
        });
        expect(await state(goodId)).toMatchObject({ state: 'done', imageId: expect.any(Number) });
      } finally {
        await t?.close();
        await queue.close();
      }
    },
    BACKSTOP_MS,
  );
});

describe('Redis down', () => {
  // a request that hung for the outage would hang here: each must answer well within this
  const answered = <T>(p: Promise<T>, ms = 15_000) =>
    Promise.race([
      p,
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`no answer in ${ms} ms`)), ms)),
    ]);
  const addBody = async (seed: number) =>
    multipart({ image: { filename: `n${seed}.png`, data: await scenePng(seed), contentType: 'image/png' } });

  it(
    'answers adds, job states and metrics at once (503 queue_unavailable), says so in health and in one log line, ' +
      'and recovers',
    async () => {
      const r = await redis(true); // append-only: the job added before the outage is still there after it
      const lines: string[] = [];
      const dataDir = mkdtempSync(join(tmpdir(), 'lookalike-redis-down-'));
      const config = loadConfig({
        LOOKALIKE_DATA_DIR: dataDir,
        LOOKALIKE_MODELS_DIR: MODELS_DIR,
        LOOKALIKE_REDIS_URL: r.url,
        LOOKALIKE_QUEUE_SIZE: '4',
      });
      const app = await buildApp(config, {
        logger: {
          level: 'info',
          stream: {
            write: (l: string) => {
              lines.push(l);
            },
          },
        },
        startRuntime: false,
      });
      await app.ready();
      await app.runtime.start();
      const health = async () => (await app.inject('/api/health')).json();
      const waitForHealth = async (status: string) => {
        for (
          let changedAt = Date.now();
          Date.now() - changedAt < STALL_MS;
          await new Promise((res) => setTimeout(res, 100))
        )
          if ((await health()).status === status) return;
        throw new Error(`health never said ${status}`);
      };
      try {
        await waitForHealth('ready');
        const jobId = (await app.inject({ method: 'POST', url: '/api/images', ...(await addBody(500)) })).json().jobId;
        expect(jobId).toMatch(/\./);

        await r.kill();
        await waitForHealth('degraded');
        expect((await health()).error).toEqual({
          code: 'queue_unavailable',
          message: expect.stringMatching(new RegExp(`Redis unreachable at ${r.url}`)),
        });
        // 20 adds of new content at once: each 503 at once, none waits for the outage
        const adds = await answered(
          Promise.all(
            Array.from({ length: 20 }, async (_, i) =>
              app.inject({ method: 'POST', url: '/api/images', ...(await addBody(600 + i)) }),
            ),
          ),
        );
        for (const res of adds) {
          expect(res.statusCode).toBe(503);
          expect(['queue_unavailable', 'busy']).toContain(res.json().error.code); // beyond LOOKALIKE_QUEUE_SIZE: busy
          expect(Number(res.headers['retry-after'])).toBeGreaterThanOrEqual(1);
        }
        expect(adds.filter((res) => res.json().error.code === 'queue_unavailable').length).toBeGreaterThan(0);
        const state = await answered(app.inject(`/api/jobs/${jobId}`));
        expect(state.statusCode).toBe(503);
        expect(state.json().error).toMatchObject({
          code: 'queue_unavailable',
          message: expect.stringMatching(/Redis unreachable/),
        });
        const metrics = await answered(app.inject('/metrics'));
        expect(metrics.statusCode).toBe(200);
        expect(metrics.body).toMatch(/^lookalike_redis_up 0$/m);
        // one line for the outage, no stack traces
        const log = lines.join('');
        expect(log.match(/Redis unreachable at/g)).toHaveLength(1);
        expect(log).not.toMatch(/\\n\s+at /); // pino escapes newlines in JSON lines

        await r.restart(0);
        await waitForHealth('ready');
        expect(lines.join('')).toMatch(/Redis back at/);
        expect((await app.inject({ method: 'POST', url: '/api/images', ...(await addBody(700)) })).statusCode).toBe(
          202,
        );
        expect((await app.inject(`/api/jobs/${jobId}`)).statusCode).toBe(200);
      } finally {
        await app.close();
        rmSync(dataDir, { recursive: true, force: true });
      }
    },
    BACKSTOP_MS,
  );

  it(
    'bounds the adds that wait on a Redis that does not answer (stopped process): the queue size wait, 503 within ' +
      'the bound',
    async () => {
      const r = await redis();
      const t = await startTestApp({ LOOKALIKE_REDIS_URL: r.url, LOOKALIKE_QUEUE_SIZE: '4' });
      const port = new URL(r.url).port;
      const pid = Number(
        /process_id:(\d+)/.exec(execFileSync('redis-cli', ['-p', port, 'info', 'server'], { encoding: 'utf8' }))![1],
      );
      process.kill(pid, 'SIGSTOP'); // connections stay open, nothing answers
      try {
        const bodies = await Promise.all(Array.from({ length: 40 }, (_, i) => addBody(800 + i)));
        const adds = await answered(
          Promise.all(bodies.map((b) => t.app.inject({ method: 'POST', url: '/api/images', ...b }))),
        );
        const codes = adds.map((res) => `${res.statusCode} ${res.json().error?.code}`);
        expect(codes.filter((c) => c === '503 busy').length).toBeGreaterThanOrEqual(40 - 4);
        expect(codes.filter((c) => c === '503 queue_unavailable').length).toBeGreaterThan(0);
        expect(codes.every((c) => c === '503 busy' || c === '503 queue_unavailable')).toBe(true);
      } finally {
        process.kill(pid, 'SIGCONT');
        await t.close();
      }
    },
    BACKSTOP_MS,
  );

  // a hang: reported within 5 s; an add it did not confirm names its job, which then stores the image
  it(
    "reports a Redis that hangs in health and the metric, and names an unconfirmed add's job",
    async () => {
      const r = await redis();
      const demo = { LOOKALIKE_MMPROJ: '', LOOKALIKE_MIN_TOKENS: '', LOOKALIKE_MAX_TOKENS: '' }; // the server's model
      const w = await worker({ ...base, ...demo, LOOKALIKE_REDIS_URL: r.url });
      const t = await startTestApp({ LOOKALIKE_REDIS_URL: r.url });
      const info = execFileSync('redis-cli', ['-p', new URL(r.url).port, 'info', 'server'], { encoding: 'utf8' });
      const pid = Number(/process_id:(\d+)/.exec(info)![1]);
      const health = async () => (await t.app.inject('/api/health')).json();
      const redisUp = async () => /^lookalike_redis_up (\d)$/m.exec((await t.app.inject('/metrics')).body)![1];
      const poll = async <T>(what: string, get: () => Promise<T>, done: (v: T) => boolean) => {
        for (
          const since = Date.now();
          Date.now() - since < STALL_MS;
          await new Promise((res) => setTimeout(res, 100))
        ) {
          const v = await get();
          if (done(v)) return v;
        }
        throw new Error(`${what}: not within ${STALL_MS} ms`);
      };
      let stopped = false;
      try {
        expect((await health()).status).toBe('ready');
        expect(await redisUp()).toBe('1');
        const body = await addBody(900);
        process.kill(pid, 'SIGSTOP'); // connections stay open, nothing answers
        stopped = true;
        const stoppedAt = Date.now();
        const add = t.app.inject({ method: 'POST', url: '/api/images', ...body });
        const degraded = await poll('health degraded', health, (h) => h.status === 'degraded');
        expect(Date.now() - stoppedAt).toBeLessThan(5000);
        expect(degraded.error).toEqual({
          code: 'queue_unavailable',
          message: expect.stringMatching(/Redis unreachable at .* \(no answer to a ping within 2000 ms\)/),
        });
        expect(await redisUp()).toBe('0');
        // the add waited its bound; it was sent, so it may still be stored: the 503 says so, and names the job
        const refused = await answered(add);
        expect(refused.statusCode).toBe(503);
        const message: string = refused.json().error.message;
        expect(message).toMatch(/did not answer within 3000 ms; the image may still be stored, as job \S+ /);
        expect(message).toMatch(/\(GET \/api\/jobs\/\S+ tells\); sending it again is safe/);
        const jobId = /as job (\S+) /.exec(message)![1]!;
        expect((await health()).status).toBe('degraded'); // still, as long as it hangs
        // an add now is refused without waiting: nothing is sent, so nothing will be stored
        const other = await scenePng(901);
        const otherBody = multipart({ image: { filename: 'n901.png', data: other, contentType: 'image/png' } });
        const now = await answered(t.app.inject({ method: 'POST', url: '/api/images', ...otherBody }));
        expect(now.json().error).toEqual({
          code: 'queue_unavailable',
          message: expect.stringMatching(/needs the job queue: Redis unreachable at .*; retry shortly$/),
        });

        process.kill(pid, 'SIGCONT');
        stopped = false;
        await poll('health ready', health, (h) => h.status === 'ready');
        expect(await redisUp()).toBe('1');
        const jobState = async () => (await t.app.inject(`/api/jobs/${jobId}`)).json();
        const state = await poll('the job done', jobState, (s) => s.state === 'done' || s.state === 'failed');
        expect(state).toMatchObject({ id: jobId, state: 'done', imageId: expect.any(Number) });
        expect((await t.app.inject(`/api/images/${state.imageId}`)).json().source).toBe('n900.png');
        // the add refused at once is no job, in Redis or stored
        const otherJob = encodeJobId(degraded.model.modelId, createHash('sha256').update(other).digest('hex'));
        expect((await t.app.inject(`/api/jobs/${otherJob}`)).statusCode).toBe(404);
      } finally {
        if (stopped) process.kill(pid, 'SIGCONT');
        await t.close();
        w.child.kill('SIGKILL');
      }
    },
    BACKSTOP_MS,
  );

  it(
    'does not take this process being busy (3 s of synchronous work, Redis fine) for a Redis that hangs',
    async () => {
      const r = await redis();
      const lines: string[] = [];
      const link = new RedisLink(r.url, (m) => lines.push(m));
      try {
        expect(await link.waitUntilUp(STALL_MS)).toBe(true);
        // in the check phase, a ping in flight: its answer comes during the block, and is read before any hang is
        // called
        let ticks = 0;
        await new Promise<void>((resolve) => {
          const timer = setInterval(
            () =>
              setImmediate(() => {
                if (++ticks % 2 === 0)
                  for (const until = Date.now() + 3000; Date.now() < until; ) {
                    /* busy */
                  }
                if (ticks === 6) {
                  clearInterval(timer);
                  resolve();
                }
              }),
            1000,
          );
        });
        await new Promise((res) => setTimeout(res, 100)); // what the last block left to read
        expect(lines).toEqual([]);
        expect(link.reachable).toBe(true);
      } finally {
        await link.close();
      }
    },
    BACKSTOP_MS,
  );

  it(
    'the builder with an unreachable LOOKALIKE_REDIS_URL stops with one line that names it, no stack traces',
    async () => {
      const url = `redis://127.0.0.1:${await freePort()}`;
      const run = await runScript(
        'scripts/index.ts',
        [join(folder, 'class2'), '--queue', '--data', join(root, 'no-redis')],
        { ...base, LOOKALIKE_REDIS_URL: url },
      );
      expect(run.code).toBe(1);
      expect(run.stderr).toMatch(
        new RegExp(
          `error: Redis unreachable at ${url} \\(ECONNREFUSED\\) for 10 s: is it running, and is ` +
            `LOOKALIKE_REDIS_URL \\(--redis\\) right\\?`,
        ),
      );
      expect(run.stderr.match(/Redis unreachable at/g)).toHaveLength(2); // the probe's line, and the error
      expect(run.stderr).not.toMatch(/\n\s+at /);
    },
    BACKSTOP_MS,
  );
});
