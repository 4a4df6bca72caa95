// The probes a supervisor asks (Kubernetes, a load balancer, a script): /livez, whether the process serves HTTP at all
// (it does while the models load); /readyz, whether it can answer traffic now, and else what is missing. /api/health
// stays as it was: the details for a person.
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { unlimitedErrorResponses } from '../http/errors.js';
import type { MissingPart } from '../../application/usecases/status.js';

const PART = z.enum(['models', 'index', 'startup', 'redis', 'shutdown'] as const satisfies readonly MissingPart[]);

const Alive = z.object({ status: z.literal('alive') });
const Ready = z.object({ status: z.literal('ready') });
const NotReady = z
  .object({
    status: z.literal('not_ready'),
    missing: z
      .array(PART)
      .describe(
        'models: loading; index: the database and vector index opening; ' +
          "startup: a start-up task (the demo gallery's build), or a start that failed; " +
          'redis: unreachable, with LOOKALIKE_QUERY_ENCODER=queue; shutdown: closing',
      ),
    error: z.object({ code: z.literal('not_ready'), message: z.string() }),
  })
  .describe('not ready: `missing` names what; Retry-After says when to ask again');

// a supervisor asks every few seconds: its probes must never be refused as over the clients' rate limit
const notRateLimited = { rateLimit: false } as const;

const probes: FastifyPluginAsyncZod = async (app) => {
  app.get(
    '/livez',
    {
      config: notRateLimited,
      schema: {
        tags: ['service'],
        operationId: 'getLivez',
        security: [],
        summary: 'Liveness: 200 whenever the process serves HTTP, loading included (restart it only when this fails)',
        response: { 200: Alive, ...unlimitedErrorResponses() },
      },
    },
    async () => ({ status: 'alive' as const }),
  );

  app.get(
    '/readyz',
    {
      config: notRateLimited,
      schema: {
        tags: ['service'],
        operationId: 'getReadyz',
        security: [],
        summary:
          'Readiness: 200 once models, index and (in queue mode) Redis are there; else 503 naming what is missing',
        response: { 200: Ready, ...unlimitedErrorResponses(), 503: NotReady },
      },
    },
    async (_req, reply) => {
      const { missing, retryAfter } = app.runtime.status.readiness();
      if (!missing.length) return { status: 'ready' as const };
      return reply
        .code(503)
        .header('retry-after', String(retryAfter))
        .send({
          status: 'not_ready',
          missing: missing.map((m) => m.part),
          error: { code: 'not_ready', message: `not ready: ${missing.map((m) => m.why).join('; ')}` },
        });
    },
  );
};
export default probes;
