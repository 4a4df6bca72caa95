// Routes that change the gallery need `Authorization: Bearer <LOOKALIKE_API_KEY>` when a key is set; a server
// that listens beyond loopback without a key refuses them outright.
import { timingSafeEqual, createHash } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Config } from '../config.js';
import { LookalikeError } from '../errors.js';

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);
const digest = (s: string) => createHash('sha256').update(s).digest();

/** Listening beyond loopback: then changes need a key, and without one they are refused. */
export function exposed(config: Config): boolean {
  return !LOOPBACK.has(config.HOST) && !config.HOST.startsWith('127.');
}

export function writeAccess(config: Config) {
  const key = config.LOOKALIKE_API_KEY;
  const open = exposed(config);
  return async (req: FastifyRequest, _reply: FastifyReply): Promise<void> => {
    if (!key) {
      if (open) throw new LookalikeError('writes_disabled', `the server listens on ${config.HOST} without LOOKALIKE_API_KEY: changes to the gallery are refused`, 403);
      return;
    }
    const given = /^Bearer (.+)$/i.exec(req.headers.authorization ?? '')?.[1] ?? '';
    if (!given) throw new LookalikeError('unauthorized', 'this route needs Authorization: Bearer <LOOKALIKE_API_KEY>', 401);
    if (!timingSafeEqual(digest(given), digest(key))) throw new LookalikeError('forbidden', 'wrong API key', 403);
  };
}
