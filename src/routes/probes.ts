// The probes a supervisor asks (Kubernetes, a load balancer, a script): /livez, whether the process serves HTTP at all
// (it does while the models load); /readyz, whether it can answer traffic now, and else what is missing. /api/health
// stays as it was: the details for a person.
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { RETRY_SECONDS } from '../config.js';
import { unlimitedErrorResponses } from '../http/errors.js';
import type { Runtime } from '../runtime/runtime.js';

const PART = z.enum(['models', 'index', 'startup', 'redis', 'shutdown']);
type Part = z.infer<typeof PART>;

const Alive = z.object({ status: z.literal('alive') });
const Ready = z.object({ status: z.literal('ready') });
const NotReady = z.object({
  status: z.literal('not_ready'),
  missing: z.array(PART).describe('models: loading; index: the database and vector index opening; ' +
    'startup: a start-up task (the demo gallery\'s build), or a start that failed; ' +
    'redis: unreachable, with LOOKALIKE_QUERY_ENCODER=queue; shutdown: closing'),
  error: z.object({ code: z.literal('not_ready'), message: z.string() }),
}).describe('not ready: `missing` names what; Retry-After says when to ask again');

/** What the server lacks to answer traffic, each with a sentence: none when ready. */
export function missingParts(runtime: Runtime): { part: Part; why: string }[] {
  const missing: { part: Part; why: string }[] = [];
  const s = runtime.state;
  if (s.status === 'loading') {
    const loaded = runtime.loadedParts;
    if (!loaded.models) missing.push({ part: 'models', why: 'the models are loading' });
    if (!loaded.gallery) missing.push({ part: 'index', why: 'the database and the vector index are opening' });
    if (loaded.models && loaded.gallery) {
      missing.push({ part: 'startup', why: 'a start-up task runs (the demo gallery is built)' });
    }
  } else if (s.status === 'failed') {
    missing.push({ part: 'startup', why: `the start failed: ${s.failure.message}` });
  } else if (s.status === 'closed') {
    missing.push({ part: 'shutdown', why: 'the server is shutting down' });
  }
  // a server whose queries the workers encode cannot answer a search without Redis; otherwise Redis down only refuses
  // adds (/api/health says degraded), and searches go on
  const redis = runtime.redis;
  if (runtime.config.LOOKALIKE_QUERY_ENCODER === 'queue' && redis && !redis.reachable && s.status !== 'closed') {
    missing.push({ part: 'redis', why: `${redis.problem}: the workers encode this server's queries through it` });
  }
  return missing;
}

// a supervisor asks every few seconds: its probes must never be refused as over the clients' rate limit
const notRateLimited = { rateLimit: false } as const;

const probes: FastifyPluginAsyncZod = async (app) => {
  app.get('/livez', {
    config: notRateLimited,
    schema: {
      tags: ['service'], operationId: 'getLivez', security: [],
      summary: 'Liveness: 200 whenever the process serves HTTP, loading included (restart it only when this fails)',
      response: { 200: Alive, ...unlimitedErrorResponses() },
    },
  }, async () => ({ status: 'alive' as const }));

  app.get('/readyz', {
    config: notRateLimited,
    schema: {
      tags: ['service'], operationId: 'getReadyz', security: [],
      summary: 'Readiness: 200 once models, index and (in queue mode) Redis are there; else 503 naming what is missing',
      response: { 200: Ready, ...unlimitedErrorResponses(), 503: NotReady },
    },
  }, async (_req, reply) => {
    const missing = missingParts(app.runtime);
    if (!missing.length) return { status: 'ready' as const };
    const retry = app.runtime.state.status === 'failed' ? RETRY_SECONDS.startupFailed : RETRY_SECONDS.loading;
    return reply.code(503).header('retry-after', String(retry)).send({
      status: 'not_ready', missing: missing.map((m) => m.part),
      error: { code: 'not_ready', message: `not ready: ${missing.map((m) => m.why).join('; ')}` },
    });
  });
};
export default probes;
