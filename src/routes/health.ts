import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { RETRY_SECONDS } from '../config.js';
import type { ErrorCode } from '../errors.js';
import { errorResponses } from '../http/errors.js';
import { DeviceOut } from '../http/schemas.js';

const Loading = z.object({ status: z.enum(['loading', 'error', 'closed']), error: z.object({ code: z.string(), message: z.string() }) })
  .describe('not ready: `error` says why, in the same shape as every other error; Retry-After says when to ask again');
const Ready = z.object({
  status: z.enum(['ready', 'degraded']).describe('degraded: serving, but a part is unreachable (Redis, the job queue): `error` says which, and what is refused'),
  error: z.object({ code: z.string(), message: z.string() }).optional(),
  demo: z.boolean(),
  model: z.object({ modelId: z.string(), fileName: z.string(), fingerprint: z.string(), projectorType: z.string(), dim: z.number(), pooling: z.string(), minTokens: z.number(), maxTokens: z.number() }),
  gallery: z.object({ images: z.number(), labelled: z.number() }),
  features: z.object({
    rerank: z.boolean(), describe: z.boolean(),
    textSearch: z.boolean().describe('words can search the gallery, and classify can answer zero-shot (an embedding model is loaded)'),
  }),
  device: DeviceOut,
});

const health: FastifyPluginAsyncZod = async (app) => {
  app.get('/api/health', {
    schema: {
      tags: ['service'], operationId: 'getHealth', security: [],
      summary: 'Ready once model, index and database are loaded; 503 before; degraded (200) while Redis, with LOOKALIKE_REDIS_URL, cannot be reached',
      response: { 200: Ready, ...errorResponses(), 503: Loading },
    },
  }, async (_req, reply) => {
    const { runtime } = app;
    const s = runtime.state;
    if (s.status !== 'ready') {
      const redis = runtime.redis;
      const status = s.status === 'failed' ? 'error' as const : s.status;
      const error = s.status === 'failed' ? s.failure : s.status === 'closed'
        ? { code: 'closed' satisfies ErrorCode, message: 'the service is shutting down' }
        : { code: 'loading', message: `the model and gallery are still loading${redis && !redis.reachable ? ` (${redis.problem})` : ''}; retry shortly` };
      return reply.code(503).header('retry-after', String(status === 'error' ? RETRY_SECONDS.startupFailed : RETRY_SECONDS.loading)).send({ status, error });
    }
    const { models, gallery, search, describe } = s.ready;
    const counts = gallery.counts();
    // Redis down: searches and reads still work (with a local encoder), adds and job states answer 503
    const redis = runtime.redis;
    const degraded = redis && !redis.reachable
      ? { status: 'degraded' as const, error: { code: 'queue_unavailable', message: `${redis.problem}: adds and job states answer 503 until it is back` } }
      : { status: 'ready' as const };
    return {
      ...degraded, demo: models.demo, model: models.encoder.identity, gallery: { images: counts.embedded, labelled: counts.labelled },
      features: { rerank: search.reranks, describe: describe.available, textSearch: models.encoder.textSearch }, device: runtime.device(models),
    };
  });
};
export default health;
