// One error shape for every route: { error: { code, message } }. Client mistakes keep their 4xx and message;
// anything else is logged with the request and answered with a generic 500.
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { LookalikeError, UnavailableError } from '../errors.js';

export const ErrorBody = z.object({ error: z.object({ code: z.string(), message: z.string() }) }).describe('Error');

// What each status means across the API, with the codes that come with it (README: "API").
const STATUS_MEANING: Record<number, string> = {
  400: 'invalid_request (a bad field, parameter or id), missing_image, wrong_field (the file in another field), invalid_multipart (a malformed multipart body), ' +
    'invalid_json (a JSON body or a JSON form part that does not parse), empty_body (a JSON content type with no body), prompt_too_long, ' +
    'too_many_classes (over LOOKALIKE_FEWSHOT_MAX_CLASSES few-shot classes), too_many_examples (over LOOKALIKE_FEWSHOT_MAX_EXAMPLES per class)',
  401: 'unauthorized: this route needs Authorization: Bearer <LOOKALIKE_API_KEY>',
  403: 'forbidden (wrong key), or writes_disabled (listening beyond loopback without a key)' +
    '; on /metrics: metrics_disabled (listening beyond loopback without a key)',
  404: 'not_found: no image (or job) with this id',
  409: 'no_text_model (describe needs the full VL model; re-ranking it or a reranker), text_search_unavailable (words need an embedding model), ' +
    'no_job_queue (no LOOKALIKE_REDIS_URL)',
  413: 'upload_too_large (over LOOKALIKE_MAX_UPLOAD_MB), image_too_large (over LOOKALIKE_MAX_PIXELS), too_many_files, too_many_fields, ' +
    'fields_too_large (the text fields hold too many bytes), too_many_new_labels (over LOOKALIKE_ZEROSHOT_MAX_NEW_LABELS zero-shot labels not embedded yet)',
  415: 'bad_image (empty, not an image, truncated), not_multipart, unsupported_media_type',
  429: 'rate_limited (when LOOKALIKE_RATE_LIMIT is set)',
  503: 'busy (the encoder queue is full), loading, startup_failed, workers_busy (no worker answered a query in time), each with Retry-After ' +
    'saying when to come back; worker_model_mismatch (a worker of another model answered a query)' +
    '; queue_unavailable (Redis, the job queue, is unreachable or did not answer in time; with Retry-After)',
  507: 'disk_full: the disk holding the data folder is full, the change was not made (reads go on)',
};

/** The error responses of a route for its schema; 429 applies to every route when rate limiting is on. */
export function errorResponses(...statuses: number[]) {
  return Object.fromEntries([...statuses, 429].map((s) => [s, ErrorBody.describe(STATUS_MEANING[s]!)])) as Record<number, typeof ErrorBody>;
}

// Fastify's and its plugins' own client errors, by code: [status, our code]
const FASTIFY_CODES: Record<string, [number, string]> = {
  FST_FILES_LIMIT: [413, 'too_many_files'],
  FST_FIELDS_LIMIT: [413, 'too_many_fields'],
  FST_INVALID_MULTIPART_CONTENT_TYPE: [415, 'not_multipart'],
  FST_ERR_CTP_INVALID_MEDIA_TYPE: [415, 'unsupported_media_type'],
  FST_ERR_CTP_BODY_TOO_LARGE: [413, 'body_too_large'],
  FST_ERR_CTP_EMPTY_JSON_BODY: [400, 'empty_body'],
  FST_ERR_CTP_INVALID_JSON_BODY: [400, 'invalid_json'],
  FST_INVALID_JSON_FIELD_ERROR: [400, 'invalid_json'], // a form part sent as application/json that does not parse
  FST_ERR_RATE_LIMITED: [429, 'rate_limited'],
};

// Other client errors (plugins that set only a status, like @fastify/rate-limit): a code from the status
const STATUS_CODES: Record<number, string> = { 401: 'unauthorized', 403: 'forbidden', 404: 'not_found', 405: 'method_not_allowed', 429: 'rate_limited' };

export function registerErrorHandling(app: FastifyInstance, maxUploadMb: number): void {
  app.setErrorHandler((err: FastifyError, req, reply) => {
    if (err.code === 'FST_REQ_FILE_TOO_LARGE') {
      return reply.code(413).send({ error: { code: 'upload_too_large', message: `the upload is larger than the limit of ${maxUploadMb} MB (LOOKALIKE_MAX_UPLOAD_MB raises it)` } });
    }
    if (err instanceof LookalikeError) {
      if (err instanceof UnavailableError) reply.header('retry-after', String(err.retryAfterSeconds));
      // designed 503s (busy, loading) are the service working as meant: a debug line each, not a warning
      if (err.statusCode >= 500) req.log[err instanceof UnavailableError ? 'debug' : 'warn']({ code: err.code }, err.message);
      return reply.code(err.statusCode).send({ error: { code: err.code, message: err.message } });
    }
    if (hasZodFastifySchemaValidationErrors(err)) {
      const details = err.validation.map((v) => `${v.instancePath.replace(/^\//, '').replace(/\//g, '.') || err.validationContext}: ${v.message}`).join('; ');
      return reply.code(400).send({ error: { code: 'invalid_request', message: `invalid ${err.validationContext}: ${details}` } });
    }
    if (err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE' && req.routeOptions.config?.form) {
      return reply.code(415).send({ error: { code: 'not_multipart', message: `send multipart/form-data with the image in the field "image", not ${req.headers['content-type'] ?? 'no content type'}` } });
    }
    const known = err.code ? FASTIFY_CODES[err.code] : undefined;
    if (known) return reply.code(known[0]).send({ error: { code: known[1], message: err.message } });
    if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) {
      const code = STATUS_CODES[err.statusCode] ?? err.code?.toLowerCase() ?? 'bad_request';
      return reply.code(err.statusCode).send({ error: { code, message: err.message } });
    }
    req.log.error({ err }, 'request failed');
    return reply.code(500).send({ error: { code: 'internal_error', message: 'internal error; see the server log' } });
  });
  app.setNotFoundHandler((req, reply) => {
    reply.code(404).send({ error: { code: 'not_found', message: `no route ${req.method} ${shortPath(req.url)}` } });
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
    reply.code(400).send({ error: { code: 'invalid_request', message: `the path ${shortPath(req.url)} is not valid URL encoding (a % must be followed by two hex digits)` } });
  } else {
    reply.code(404).send({ error: { code: 'not_found', message: `no route ${req.method} ${shortPath(req.url)}` } });
  }
}
