// The key rule (src/core/util/access.ts) as Fastify hooks: routes that change the gallery, and metrics.
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Config } from '../../core/config.js';
import { LookalikeError } from '../../core/errors.js';
import { checkKey, checkMetricsAccess } from '../../core/util/access.js';

export function writeAccess(config: Config) {
  const refusal = () =>
    new LookalikeError(
      'writes_disabled',
      `the server listens on ${config.HOST} without LOOKALIKE_API_KEY: changes to the gallery are refused`,
    );
  return async (req: FastifyRequest, _reply: FastifyReply): Promise<void> =>
    checkKey(config, req.headers.authorization, refusal);
}

export function metricsAccess(config: Config) {
  return async (req: FastifyRequest, _reply: FastifyReply): Promise<void> =>
    checkMetricsAccess(config, req.headers.authorization);
}
