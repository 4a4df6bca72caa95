// Prometheus metrics of the server. Beyond loopback it needs the API key, like the routes that change the gallery
// (without one: 403 metrics_disabled).
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { metricsAccess } from '../http/auth.js';
import { unlimitedErrorResponses } from '../http/errors.js';

const metrics: FastifyPluginAsyncZod = async (app) => {
  app.get(
    '/metrics',
    {
      onRequest: metricsAccess(app.runtime.config),
      config: { rateLimit: false }, // Prometheus scrapes on its own schedule, not a client's
      schema: {
        tags: ['service'],
        operationId: 'getMetrics',
        security: [{ bearer: [] }],
        summary:
          'Prometheus metrics: requests, encode times, the admission queue, jobs, gallery and index, the process',
        produces: ['text/plain'],
        response: { 200: z.string().describe('Prometheus text format'), ...unlimitedErrorResponses(401, 403) },
      },
    },
    async (_req, reply) => reply.type(app.runtime.metrics.contentType).send(await app.runtime.metrics.text()),
  );
};
export default metrics;
