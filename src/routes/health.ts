import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { DeviceOut } from '../http/schemas.js';

const Loading = z.object({ status: z.enum(['loading', 'error', 'closed']), error: z.object({ code: z.string(), message: z.string() }).nullable() });
const Ready = z.object({
  status: z.literal('ready'),
  demo: z.boolean(),
  model: z.object({ modelId: z.string(), fileName: z.string(), fingerprint: z.string(), projectorType: z.string(), dim: z.number(), pooling: z.string(), minTokens: z.number(), maxTokens: z.number() }),
  gallery: z.object({ images: z.number(), labelled: z.number() }),
  features: z.object({ rerank: z.boolean(), describe: z.boolean() }),
  device: DeviceOut,
});

const health: FastifyPluginAsyncZod = async (app) => {
  app.get('/api/health', {
    schema: { tags: ['service'], summary: 'Ready once model, index and database are loaded; 503 before', response: { 200: Ready, 503: Loading } },
  }, async (_req, reply) => {
    const s = app.services;
    if (!s.ready) return reply.code(503).send({ status: s.status === 'ready' ? 'loading' : s.status, error: s.failure });
    const counts = s.gallery!.store.counts();
    return {
      status: 'ready' as const, demo: s.demo, model: s.encoder!.identity, gallery: { images: counts.embedded, labelled: counts.labelled },
      features: { rerank: s.vlm !== null, describe: s.vlm !== null }, device: s.device(),
    };
  });
};
export default health;
