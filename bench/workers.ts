// bench/workers: what encoding on workers costs and gains, on this 2-core machine. The 8B-size random mmproj (F16)
// at 64 tokens, 1 thread per encoder: the in-process builder against `--queue` with 1 and 2 worker processes (a
// Redis of its own), images/s and the job overhead per image; what a query sent to a worker adds to its round trip
// (tiny model, so the overhead is not lost in the encode); and the single writer's limit: gallery adds per second
// (SQLite + FAISS) of vectors already made.   npm run bench:workers   (LOOKALIKE_BENCH_IMAGES=16)
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildIndex } from '../src/application/usecases/build-index.js';
import { loadConfig, type Config } from '../src/core/config.js';
import { VisionEncoder } from '../src/engine/encoder/vision-encoder.js';
import { Gallery } from '../src/engine/gallery/gallery.js';
import { QueryClient } from '../src/application/jobs/remote.js';
import { JobWriter } from '../src/application/jobs/writer.js';
import { RedisLink } from '../src/application/jobs/redis-link.js';
import { imagePayload } from '../src/application/jobs/queues.js';
import { QWEN3VL_8B_VISION, writeRandomMmproj } from '../test/helpers/random-models.js';
import { scenePng, writeImageFolder } from '../test/helpers/images.js';
import { startRedis } from '../test/helpers/redis.js';
import { clusteredVectors, fakeImage, identity } from '../test/helpers/vectors.js';
import { median, mib, table, timed } from './common.js';

const N = Number(process.env.LOOKALIKE_BENCH_IMAGES ?? 16);
const root = fileURLToPath(new URL('../', import.meta.url));
const models = join(root, 'bench', '.models');
const mmproj = join(models, 'random-qwen3vl-8b-vision-mmproj-f16.gguf');
mkdirSync(models, { recursive: true });
if (!existsSync(mmproj)) writeRandomMmproj(mmproj, QWEN3VL_8B_VISION, 8);
console.log(`mmproj ${mmproj} (${mib(statSync(mmproj).size)} MiB), ${N} images at 64 tokens, 1 thread per encoder`);

const tmp = mkdtempSync(join(tmpdir(), 'lookalike-bench-workers-'));
const folder = join(tmp, 'pictures');
await writeImageFolder(folder, ['a', 'b', 'c', 'd'], Math.ceil(N / 4), 77);
const env = {
  LOOKALIKE_MMPROJ: mmproj,
  LOOKALIKE_MIN_TOKENS: '64',
  LOOKALIKE_MAX_TOKENS: '64',
  LOOKALIKE_THREADS: '1',
  LOOKALIKE_MODELS_DIR: join(tmp, 'models'),
};
const cfgOf = (extra: Record<string, string>): Config => loadConfig({ ...env, ...extra });

function startWorker(redisUrl: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/worker.ts'], {
    cwd: root,
    env: { ...process.env, ...env, LOOKALIKE_REDIS_URL: redisUrl },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stderr!.on('data', (d) => {
      out += d;
      if (/waiting for jobs/.test(out)) resolve(child);
    });
    child.on('exit', (code) => reject(new Error(`worker exited (${code}): ${out}`)));
  });
}

async function build(name: string, workers: number): Promise<{ name: string; seconds: number }> {
  const dataDir = join(tmp, `data-${name}`);
  const quiet = { write: () => true, isTTY: false } as unknown as NodeJS.WriteStream;
  if (workers === 0) {
    const encoder = await VisionEncoder.load(mmproj, { threads: 1, minTokens: 64, maxTokens: 64 });
    const gallery = await Gallery.open({
      dataDir,
      identity: encoder.identity,
      indexKind: 'flat',
      indexParams: { hnswM: 32, efSearch: 128, nprobe: 16 },
    });
    // sizes its buffers, as a worker's first job does before timing matters
    await encoder.encode(await encoder.decode(await scenePng(1, 256, 256)));
    const [, ms] = await timed(() => buildIndex(gallery, encoder, { folder, progressStream: quiet }));
    await gallery.close();
    await encoder.dispose();
    return { name, seconds: ms / 1000 };
  }
  const redis = await startRedis();
  const children = await Promise.all(Array.from({ length: workers }, () => startWorker(redis.url)));
  try {
    const cfg = cfgOf({ LOOKALIKE_DATA_DIR: dataDir, LOOKALIKE_REDIS_URL: redis.url });
    const description = await VisionEncoder.describe(mmproj, { minTokens: 64, maxTokens: 64 });
    // warm each worker's buffers with one query, as the in-process encoder was warmed
    const redisLink = new RedisLink(redis.url, () => {});
    const client = QueryClient.open(cfg, description.identity.modelId, redisLink);
    const decoded = await description.decode(await scenePng(1, 256, 256));
    await Promise.all(
      children.map(() => client.embed({ modelId: description.identity.modelId, image: imagePayload(decoded) })),
    );
    await client.close();
    const gallery = await Gallery.open({
      dataDir,
      identity: description.identity,
      indexKind: 'flat',
      indexParams: { hnswM: 32, efSearch: 128, nprobe: 16 },
    });
    const writer = JobWriter.open(cfg, description.identity.modelId, () => {}, redisLink, { bounded: false });
    const [summary, ms] = await timed(() =>
      buildIndex(gallery, description, { folder, progressStream: quiet, writer }),
    );
    if (summary.added !== N) throw new Error(`${name}: ${summary.added} added of ${N}`);
    await writer.close();
    await redisLink.close();
    await gallery.close();
    return { name, seconds: ms / 1000 };
  } finally {
    for (const c of children) c.kill('SIGTERM');
    await redis.stop();
  }
}

const runs = [await build('in-process', 0), await build('queue, 1 worker', 1), await build('queue, 2 workers', 2)];
const [local, one, two] = runs as [(typeof runs)[0], (typeof runs)[0], (typeof runs)[0]];
console.log(
  `\n${table(
    ['path', 'seconds', 'images/s', 'vs in-process'],
    runs.map((r) => [r.name, r.seconds.toFixed(1), (N / r.seconds).toFixed(3), (local.seconds / r.seconds).toFixed(2)]),
  )}`,
);
console.log(
  `\n1 worker / in-process: ${(local.seconds / one.seconds).toFixed(3)} (target >= 0.95); 2 workers / 1 ` +
    `worker: ${(one.seconds / two.seconds).toFixed(3)} (target >= 1.8); ` +
    `job overhead per image: ${(((one.seconds - local.seconds) / N) * 1000).toFixed(0)} ms`,
);

// the query round trip through a worker, against encoding in the process: the tiny model makes the difference visible
{
  const tiny = join(tmp, 'models', 'tiny.gguf');
  const { writeRandomMmproj: write, TINY_VISION } = await import('../test/helpers/random-models.js');
  write(tiny, TINY_VISION, 1);
  const redis = await startRedis();
  const worker = spawn(process.execPath, ['--import', 'tsx', 'scripts/worker.ts'], {
    cwd: root,
    env: {
      ...process.env,
      ...env,
      LOOKALIKE_MMPROJ: tiny,
      LOOKALIKE_MIN_TOKENS: '64',
      LOOKALIKE_MAX_TOKENS: '64',
      LOOKALIKE_REDIS_URL: redis.url,
      LOOKALIKE_JOB_QUEUE: 'tiny',
    },
    stdio: 'ignore',
  });
  try {
    const cfg = cfgOf({ LOOKALIKE_MMPROJ: tiny, LOOKALIKE_REDIS_URL: redis.url, LOOKALIKE_JOB_QUEUE: 'tiny' });
    const encoder = await VisionEncoder.load(tiny, { threads: 1, minTokens: 64, maxTokens: 64 });
    const client = QueryClient.open(cfg, encoder.identity.modelId);
    const decoded = await encoder.decode(await scenePng(5, 256, 256));
    await encoder.encode(decoded);
    // waits for the worker to be up
    await client.embed({ modelId: encoder.identity.modelId, image: imagePayload(decoded) });
    const localMs: number[] = [],
      queueMs: number[] = [];
    for (let i = 0; i < 50; i++) {
      localMs.push((await timed(() => encoder.encode(decoded)))[1]);
      queueMs.push(
        (await timed(() => client.embed({ modelId: encoder.identity.modelId, image: imagePayload(decoded) })))[1],
      );
    }
    console.log(
      `\nquery round trip, tiny model, 64 tokens: in process ${median(localMs).toFixed(1)} ms, through a ` +
        `worker ${median(queueMs).toFixed(1)} ms ` +
        `(median of 50): the queue adds ${(median(queueMs) - median(localMs)).toFixed(1)} ms`,
    );
    await client.close();
    await encoder.dispose();
  } finally {
    worker.kill('SIGTERM');
    await redis.stop();
  }
}

// the single writer: adds of ready vectors (SQLite + FAISS), as the writer stores workers' results
{
  const rows: (string | number)[][] = [];
  for (const kind of ['flat', 'hnsw'] as const) {
    const dataDir = join(tmp, `writer-${kind}`);
    const g = await Gallery.open({
      dataDir,
      identity: identity(4096, 'writer'),
      indexKind: kind,
      indexParams: { hnswM: 32, efSearch: 128, nprobe: 16 },
    });
    const vectors = clusteredVectors(2000, 4096, 40, 5);
    const thumb = Buffer.alloc(8000, 7); // about a WebP thumbnail's size
    const [, ms] = await timed(async () => {
      for (let i = 0; i < vectors.length; i++)
        await g.add({ ...fakeImage(i), thumbnail: thumb }, vectors[i]!, { source: `x${i}`, label: null });
    });
    await g.close();
    rows.push([kind, vectors.length, (ms / 1000).toFixed(1), (vectors.length / (ms / 1000)).toFixed(0)]);
  }
  console.log(
    `\nthe single writer: one add at a time, 4096-d vectors and 8 KB ` +
      `thumbnails\n${table(['index', 'adds', 'seconds', 'adds/s'], rows)}`,
  );
}
rmSync(tmp, { recursive: true, force: true });
