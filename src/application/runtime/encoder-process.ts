// `npm run worker`: the worker recipe's models (the embedder alone, encoding here), serving the job queues.
import type { Config } from '../../core/config.js';
import { serveJobs, type RunningWorker } from '../jobs/serve-jobs.js';
import { localEmbedder } from '../models/model-set.js';

export async function startWorker(cfg: Config, log: (msg: string) => void): Promise<RunningWorker> {
  const models = await localEmbedder(cfg, log);
  return serveJobs(cfg, models, log).catch(async (err: unknown) => {
    await models.dispose();
    throw err;
  });
}
