// Who may change the gallery and read metrics: `Authorization: Bearer <LOOKALIKE_API_KEY>` when a key is set; a
// server (or a worker's metrics) listening beyond loopback without a key refuses them outright. The server's routes
// (src/web/http/auth.ts) and a worker's metrics server apply the same rule.
import { timingSafeEqual, createHash } from 'node:crypto';
import { LookalikeError } from '../errors.js';

/** The two settings the rule reads (LOOKALIKE_API_KEY, HOST). */
export interface AccessSettings {
  HOST: string;
  LOOKALIKE_API_KEY: string;
}

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);
const digest = (s: string) => createHash('sha256').update(s).digest();

/** Listening beyond loopback: then changes need a key, and without one they are refused. */
export function exposed(config: AccessSettings): boolean {
  return !LOOPBACK.has(config.HOST) && !config.HOST.startsWith('127.');
}

/** The key rule for a request's Authorization header; `refusal` is what is answered beyond loopback without a key. */
export function checkKey(
  config: AccessSettings,
  authorization: string | undefined,
  refusal: () => LookalikeError,
): void {
  const key = config.LOOKALIKE_API_KEY;
  if (!key) {
    if (exposed(config)) throw refusal();
    return;
  }
  const given = /^Bearer (.+)$/i.exec(authorization ?? '')?.[1] ?? '';
  if (!given) throw new LookalikeError('unauthorized', 'this route needs Authorization: Bearer <LOOKALIKE_API_KEY>');
  if (!timingSafeEqual(digest(given), digest(key))) throw new LookalikeError('forbidden', 'wrong API key');
}

/** Metrics, of the server and of a worker: open on loopback, and beyond it only with the key. */
export function checkMetricsAccess(config: AccessSettings, authorization: string | undefined): void {
  checkKey(
    config,
    authorization,
    () =>
      new LookalikeError(
        'metrics_disabled',
        `metrics are not served on ${config.HOST} without LOOKALIKE_API_KEY: set one, and scrape with ` +
          `Authorization: Bearer <key>`,
      ),
  );
}
