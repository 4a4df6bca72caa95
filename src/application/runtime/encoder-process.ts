// `npm run worker`: the worker recipe's models (the embedder, encoding here, and the Instruct model when
// LOOKALIKE_TEXT_MODEL names one, for captions), serving the job queues.
import type { Config } from '../../core/config.js';
import { serveJobs, type RunningWorker, type WorkerModels } from '../jobs/serve-jobs.js';
import { instructModel, instructModelId, localEmbedder } from '../models/model-set.js';

export async function startWorker(cfg: Config, log: (msg: string) => void): Promise<RunningWorker> {
  const embedder = await localEmbedder(cfg, log);
  let instruct: WorkerModels['instruct'] = null;
  try {
    // with LOOKALIKE_TEXT_MODEL, it captions too
    if (cfg.LOOKALIKE_TEXT_MODEL) {
      const modelId = await instructModelId(cfg, log);
      instruct = { vlm: await instructModel(cfg, log), modelId };
    }
  } catch (err) {
    await embedder.dispose();
    throw err;
  }
  const models: WorkerModels = {
    encoder: embedder.encoder,
    acceleration: embedder.acceleration,
    instruct,
    dispose: async () => {
      await instruct?.vlm.dispose();
      await embedder.dispose();
    },
  };
  return serveJobs(cfg, models, log).catch(async (err: unknown) => {
    await models.dispose();
    throw err;
  });
}
