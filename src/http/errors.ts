// One error shape for every route: { error: { code, message } }, with the status the registry (src/errors.ts) gives
// the code. Client mistakes keep their 4xx and message; anything else is logged with the request and a generic 500.
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { codesOf, ERRORS, LookalikeError, UnavailableError, type ErrorCode } from '../errors.js';

export const ErrorBody = z.object({ error: z.object({ code: z.string(), message: z.string() }) }).describe('Error');

/** The error responses of a route for its schema; 429 applies to every route when rate limiting is on. */
export function errorResponses(...statuses: number[]) {
  return Object.fromEntries([...statuses, 429].map((s) => [s, ErrorBody.describe(codesOf(s))])) as Record<number, typeof ErrorBody>;
}

// Fastify's and its plugins' own client errors, by their code: ours (its status is the registry's)
const FASTIFY_CODES: Record<string, ErrorCode> = {
  FST_FILES_LIMIT: 'too_many_files',
  FST_FIELDS_LIMIT: 'too_many_fields',
  FST_INVALID_MULTIPART_CONTENT_TYPE: 'not_multipart',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported_media_type',
  FST_ERR_CTP_BODY_TOO_LARGE: 'body_too_large',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'empty_body',
  FST_ERR_CTP_INVALID_JSON_BODY: 'invalid_json',
  FST_INVALID_JSON_FIELD_ERROR: 'invalid_json', // a form part sent as application/json that does not parse
  FST_ERR_RATE_LIMITED: 'rate_limited',
};

// Other client errors (plugins that set only a status, like @fastify/rate-limit): a code from the status
const STATUS_CODES: Record<number, ErrorCode> = {
  400: 'invalid_request', 401: 'unauthorized', 403: 'forbidden', 404: 'not_found', 405: 'method_not_allowed', 413: 'body_too_large', 415: 'unsupported_media_type', 429: 'rate_limited',
};

/** The one error shape, with the registry's status for the code. */
const send = (reply: FastifyReply, code: ErrorCode, message: string) => reply.code(ERRORS[code].status).send({ error: { code, message } });

export function registerErrorHandling(app: FastifyInstance, maxUploadMb: number): void {
  app.setErrorHandler((err: FastifyError, req, reply) => {
    if (err.code === 'FST_REQ_FILE_TOO_LARGE') {
      return send(reply, 'upload_too_large', `the upload is larger than the limit of ${maxUploadMb} MB (LOOKALIKE_MAX_UPLOAD_MB raises it)`);
    }
    if (err instanceof LookalikeError) {
      if (err instanceof UnavailableError) reply.header('retry-after', String(err.retryAfterSeconds));
      // designed 503s (busy, loading) are the service working as meant: a debug line each, not a warning
      if (err.statusCode >= 500) req.log[err instanceof UnavailableError ? 'debug' : 'warn']({ code: err.code }, err.message);
      return send(reply, err.code, err.message);
    }
    if (hasZodFastifySchemaValidationErrors(err)) {
      const details = err.validation.map((v) => `${v.instancePath.replace(/^\//, '').replace(/\//g, '.') || err.validationContext}: ${v.message}`).join('; ');
      return send(reply, 'invalid_request', `invalid ${err.validationContext}: ${details}`);
    }
    if (err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE' && req.routeOptions.config?.form) {
      return send(reply, 'not_multipart', `send multipart/form-data with the image in the field "image", not ${req.headers['content-type'] ?? 'no content type'}`);
    }
    const known = err.code ? FASTIFY_CODES[err.code] : undefined;
    if (known) return send(reply, known, err.message);
    const byStatus = err.statusCode ? STATUS_CODES[err.statusCode] : undefined;
    if (byStatus) return send(reply, byStatus, err.message);
    req.log.error({ err }, 'request failed');
    return send(reply, 'internal_error', 'internal error; see the server log');
  });
  app.setNotFoundHandler((req, reply) => {
    send(reply, 'not_found', `no route ${req.method} ${shortPath(req.url)}`);
  });
}

/** The path of a URL for a message, cut short: a client may send kilobytes of it. */
const shortPath = (url: string) => {
  const path = url.split('?')[0]!;
  return path.length > 200 ? `${path.slice(0, 200)}...` : path;
};

/** Errors the router raises before any route or error handler runs (Fastify's `frameworkErrors`): the same shape. */
export function frameworkErrors(err: FastifyError, req: FastifyRequest, reply: FastifyReply): void {
  if (err.code === 'FST_ERR_BAD_URL') {
    send(reply, 'invalid_request', `the path ${shortPath(req.url)} is not valid URL encoding (a % must be followed by two hex digits)`);
  } else {
    send(reply, 'not_found', `no route ${req.method} ${shortPath(req.url)}`);
  }
}
