import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { errorResponses } from '../http/errors.js';
import { DeviceOut } from '../http/schemas.js';

const Loading = z
  .object({
    status: z.enum(['loading', 'error', 'closed']),
    error: z.object({ code: z.string(), message: z.string() }),
    building: z
      .object({ done: z.number().int(), total: z.number().int() })
      .optional()
      .describe('while the demo gallery is built on the first start: pictures done of all (as the terminal counts)'),
  })
  .describe('not ready: `error` says why, in the same shape as every other error; Retry-After says when to ask again');
const Ready = z.object({
  status: z
    .enum(['ready', 'degraded'])
    .describe(
      'degraded: serving, but a part is unreachable (Redis, the job queue): `error` says which, and what is refused',
    ),
  error: z.object({ code: z.string(), message: z.string() }).optional(),
  demo: z.boolean(),
  model: z.object({
    modelId: z.string(),
    fileName: z.string(),
    fingerprint: z.string(),
    projectorType: z.string(),
    dim: z.number(),
    pooling: z.string(),
    minTokens: z.number(),
    maxTokens: z.number(),
  }),
  gallery: z.object({ images: z.number(), labelled: z.number() }),
  features: z.object({
    rerank: z.boolean(),
    describe: z.boolean(),
    textSearch: z
      .boolean()
      .describe('words can search the gallery, and classify can answer zero-shot (an embedding model is loaded)'),
  }),
  wordsFloor: z
    .number()
    .nullable()
    .describe(
      'a words query whose best score is below this is far from every ' +
        'picture (measured for the demo embedding model; null: not measured)',
    ),
  device: DeviceOut,
});

const health: FastifyPluginAsyncZod = async (app) => {
  app.get(
    '/api/health',
    {
      schema: {
        tags: ['service'],
        operationId: 'getHealth',
        security: [],
        summary:
          'Ready once model, index and database are loaded; 503 before; degraded (200) while Redis, with ' +
          'LOOKALIKE_REDIS_URL, cannot be reached',
        response: { 200: Ready, ...errorResponses(), 503: Loading },
      },
    },
    async (_req, reply) => {
      const health = app.runtime.status.health();
      if (!health.ready) {
        const { status, error, retryAfter, building } = health;
        return reply.code(503).header('retry-after', String(retryAfter)).send({ status, error, building });
      }
      const { ready: _, ...answer } = health;
      return answer;
    },
  );
};
export default health;
