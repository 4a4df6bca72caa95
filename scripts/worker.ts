// npm run worker: an encoder worker for LOOKALIKE_REDIS_URL (see src/application/jobs/serve-jobs.ts and README "Scaling
// out"). Stops on SIGINT/SIGTERM after the job in hand, once, whether the signal went to node, to npm or to the group
// (the npm script execs node, so no shell or tsx process stands between them).
import { startWorker } from '../src/application/runtime/encoder-process.js';
import { closeOnSignal } from '../src/core/util/shutdown.js';
import { startTracing, stopTracing } from '../src/core/util/tracing.js';
import { parseCli, runCli, UsageError } from './cli-common.js';

const USAGE = 'Usage: LOOKALIKE_REDIS_URL=redis://host:6379 npm run worker -- [options]';
const OPTIONS = {
  redis: { type: 'string', env: 'LOOKALIKE_REDIS_URL', help: 'Redis URL (redis://host:port)' },
  'embed-model': {
    type: 'string',
    env: 'LOOKALIKE_EMBED_MODEL',
    help: 'Qwen3-VL-Embedding GGUF, when the writer uses one',
  },
  'text-model': {
    type: 'string',
    env: 'LOOKALIKE_TEXT_MODEL',
    help: 'the Instruct text GGUF: with it, the worker captions too (the server names the same)',
  },
  'text-mmproj': { type: 'string', env: 'LOOKALIKE_TEXT_MMPROJ', help: "the Instruct model's own mmproj" },
  'metrics-port': {
    type: 'string',
    env: 'LOOKALIKE_METRICS_PORT',
    help: 'serve Prometheus metrics on this port (0: off)',
  },
} as const;

runCli(USAGE, async () => {
  const { config } = parseCli(process.argv.slice(2), OPTIONS, USAGE);
  if (!config.LOOKALIKE_REDIS_URL)
    throw new UsageError('LOOKALIKE_REDIS_URL (or --redis) is not set: a worker takes its jobs from Redis');
  const log = (msg: string) => process.stderr.write(`${msg}\n`);
  const name = `worker ${process.pid}`;
  const tracing = await startTracing('lookalike-worker');
  if (tracing) log(`${name}: ${tracing}`);
  const starting = startWorker(config, log);
  // armed before the model loads: a signal at any moment closes it once (after the load, if it comes during it)
  closeOnSignal(
    {
      info: (m) => log(`${name}: ${m}`),
      error: (err, m) => log(`${name}: ${m}: ${err instanceof Error ? err.stack : String(err)}`),
    },
    async () => {
      const worker = await starting;
      log(`${name}: stopping after the job in hand`);
      await worker.close();
      await stopTracing(); // the last encodes' spans are sent
      log(`${name}: closed`);
    },
  );
  await starting;
  await new Promise(() => {}); // runs until a signal closes it (closeOnSignal exits)
});
