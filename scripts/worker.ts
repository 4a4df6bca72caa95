// npm run worker: an encoder worker for LOOKALIKE_REDIS_URL (see src/jobs/worker.ts and README "Scaling out").
// Stops on SIGINT/SIGTERM after the job in hand.
import { startWorker } from '../src/jobs/worker.js';
import { parseCli, runCli, UsageError } from './cli-common.js';

const USAGE = 'Usage: LOOKALIKE_REDIS_URL=redis://host:6379 npm run worker -- [options]';
const OPTIONS = {
  redis: { type: 'string', env: 'LOOKALIKE_REDIS_URL', help: 'Redis URL (redis://host:port)' },
  'embed-model': { type: 'string', env: 'LOOKALIKE_EMBED_MODEL', help: 'Qwen3-VL-Embedding GGUF, when the writer uses one' },
  'metrics-port': { type: 'string', env: 'LOOKALIKE_METRICS_PORT', help: 'serve Prometheus metrics on this port (0: off)' },
} as const;

runCli(USAGE, async () => {
  const { config } = parseCli(process.argv.slice(2), OPTIONS, USAGE);
  if (!config.LOOKALIKE_REDIS_URL) throw new UsageError('LOOKALIKE_REDIS_URL (or --redis) is not set: a worker takes its jobs from Redis');
  const log = (msg: string) => process.stderr.write(`${msg}\n`);
  const worker = await startWorker(config, log);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
  log(`worker ${worker.id}: stopping after the job in hand`);
  await worker.close();
  return 0;
});
