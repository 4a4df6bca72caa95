// One error shape for every route: { error: { code, message } }, with the status the registry (src/core/errors.ts)
// gives the code. Client mistakes keep their 4xx and message; anything else is logged with the request and a generic
// 500.
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { maxHeaderSize, STATUS_CODES as REASONS } from 'node:http';
import type { Duplex } from 'node:stream';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { codesOf, ERRORS, LookalikeError, UnavailableError, type ErrorCode } from '../../core/errors.js';

export const ErrorBody = z.object({ error: z.object({ code: z.string(), message: z.string() }) }).describe('Error');

/** The error responses of a route for its schema; 429 applies to every route when rate limiting is on. */
export function errorResponses(...statuses: number[]) {
  return unlimitedErrorResponses(...statuses, 429);
}

/** The same for a route the rate limit never refuses (`config: { rateLimit: false }`: the probes, /metrics). */
export function unlimitedErrorResponses(...statuses: number[]) {
  return Object.fromEntries(statuses.map((s) => [s, ErrorBody.describe(codesOf(s))])) as Record<
    number,
    typeof ErrorBody
  >;
}

// Fastify's and its plugins' own client errors, by their code: ours (its status is the registry's)
const FASTIFY_CODES: Record<string, ErrorCode> = {
  FST_INVALID_MULTIPART_CONTENT_TYPE: 'not_multipart',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported_media_type',
  FST_ERR_CTP_BODY_TOO_LARGE: 'body_too_large',
  FST_INVALID_JSON_FIELD_ERROR: 'invalid_json', // a form part sent as application/json that does not parse
  FST_ERR_RATE_LIMITED: 'rate_limited',
};

// Other client errors (plugins that set only a status, like @fastify/rate-limit): a code from the status
const STATUS_CODES: Record<number, ErrorCode> = {
  400: 'invalid_request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  405: 'method_not_allowed',
  413: 'body_too_large',
  415: 'unsupported_media_type',
  429: 'rate_limited',
};

/** The one error shape, with the registry's status for the code. */
const send = (reply: FastifyReply, code: ErrorCode, message: string) =>
  reply.code(ERRORS[code].status).send({ error: { code, message } });

export function registerErrorHandling(app: FastifyInstance, maxUploadMb: number): void {
  app.setErrorHandler((err: FastifyError, req, reply) => {
    if (err.code === 'FST_REQ_FILE_TOO_LARGE') {
      return send(
        reply,
        'upload_too_large',
        `the upload is larger than the limit of ${maxUploadMb} MB (LOOKALIKE_MAX_UPLOAD_MB raises it)`,
      );
    }
    if (err instanceof LookalikeError) {
      if (err instanceof UnavailableError) reply.header('retry-after', String(err.retryAfterSeconds));
      // designed 503s (busy, loading) are the service working as meant: a debug line each, not a warning
      if (err.statusCode >= 500)
        req.log[err instanceof UnavailableError ? 'debug' : 'warn']({ code: err.code }, err.message);
      return send(reply, err.code, err.message);
    }
    if (hasZodFastifySchemaValidationErrors(err)) {
      const details = err.validation
        .map((v) => `${v.instancePath.replace(/^\//, '').replace(/\//g, '.') || err.validationContext}: ${v.message}`)
        .join('; ');
      return send(reply, 'invalid_request', `invalid ${err.validationContext}: ${details}`);
    }
    if (err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE' && req.routeOptions.config?.form) {
      return send(
        reply,
        'not_multipart',
        `send multipart/form-data with the image in the field "image", ` +
          `not ${req.headers['content-type'] ?? 'no content type'}`,
      );
    }
    const known = err.code ? FASTIFY_CODES[err.code] : undefined;
    if (known) return send(reply, known, err.message);
    const byStatus = err.statusCode ? STATUS_CODES[err.statusCode] : undefined;
    if (byStatus) return send(reply, byStatus, err.message);
    req.log.error({ err }, 'request failed');
    return send(reply, 'internal_error', 'internal error; see the server log');
  });
  const routes = new RouteMethods();
  app.addHook('onRoute', (route) => routes.add(route.url, route.method));
  app.setNotFoundHandler((req, reply) => {
    const allowed = routes.allowed(req.url.split('?')[0]!);
    if (!allowed.length) return send(reply, 'not_found', `no route ${req.method} ${shortPath(req.url)}`);
    reply.header('allow', allowed.join(', '));
    const message = `${shortPath(req.url)} does not take ${req.method}: it takes ${allowed.join(', ')}`;
    return send(reply, 'method_not_allowed', message);
  });
}

/** The methods each route path takes, so a known path asked with another method answers 405 with `Allow`. */
class RouteMethods {
  private readonly paths = new Map<string, { pattern: RegExp; methods: Set<string> }>();

  add(url: string, method: string | string[]): void {
    const entry = this.paths.get(url) ?? { pattern: routePattern(url), methods: new Set<string>() };
    for (const m of [method].flat()) entry.methods.add(m);
    this.paths.set(url, entry);
  }

  allowed(path: string): string[] {
    const methods = new Set<string>();
    for (const { pattern, methods: ms } of this.paths.values()) {
      if (pattern.test(path)) ms.forEach((m) => methods.add(m));
    }
    return [...methods].sort();
  }
}

/** A route's path as find-my-way reads it: `:name` is one segment, a final `*` the rest. */
const routePattern = (url: string) =>
  new RegExp(
    `^${url
      .split('/')
      .map((seg) => (seg === '*' ? '.*' : seg.startsWith(':') ? '[^/]+' : seg.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
      .join('/')}$`,
  );

/** The path of a URL for a message, cut short: a client may send kilobytes of it. */
const shortPath = (url: string) => {
  const path = url.split('?')[0]!;
  return path.length > 200 ? `${path.slice(0, 200)}...` : path;
};

/** Errors the router raises before any route or error handler runs (Fastify's `frameworkErrors`): the same shape. */
export function frameworkErrors(err: FastifyError, req: FastifyRequest, reply: FastifyReply): void {
  if (err.code === 'FST_ERR_BAD_URL') {
    send(
      reply,
      'invalid_request',
      `the path ${shortPath(req.url)} is not valid URL encoding (a % must be followed by two hex digits)`,
    );
  } else {
    send(reply, 'not_found', `no route ${req.method} ${shortPath(req.url)}`);
  }
}

/**
 * Requests Node's HTTP parser refuses before Fastify sees them (Fastify's `clientErrorHandler`): the same shape, on
 * a socket that is then closed. A URL and headers too large (431), a method that is not HTTP's (501), a timeout.
 */
export function clientError(this: FastifyInstance, err: Error & { code?: string }, socket: Duplex): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return; // the client has gone: nobody to answer
  const [code, message]: [ErrorCode, string] =
    err.code === 'HPE_HEADER_OVERFLOW'
      ? ['headers_too_large', `the URL and headers pass ${maxHeaderSize >> 10} KB`]
      : err.code === 'HPE_INVALID_METHOD'
        ? ['unknown_method', "the request's method is not an HTTP method"]
        : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
          ? ['request_timeout', 'the request did not arrive in time']
          : ['invalid_request', `the request is not valid HTTP (${err.code ?? err.message})`];
  this.log.debug({ code: err.code }, message);
  const status = ERRORS[code].status;
  const body = JSON.stringify({ error: { code, message } });
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${status} ${REASONS[status]}\r\ncontent-type: application/json; charset=utf-8\r\n` +
        `content-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy(err);
}
