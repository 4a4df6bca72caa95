// Every error a client or operator can cause, declared once: its code, the HTTP status the API answers with, whether
// a 503 carries Retry-After, and what it means. The API's error handler, the OpenAPI descriptions and the README's
// table (`npm run errors:table`) are all made from this registry. Anything else is a bug: a 500 with a generic message.

interface ErrorSpec {
  status: number;
  description: string;
  /** A 503 that says when to come back (the Retry-After header). */
  retryAfter?: true;
  /**
   * Raised at start-up or by a command-line script, not answered by a route (the health route shows a start-up
   * failure).
   */
  startup?: true;
  /** Sent as the `error` event of a stream already under way (its 200 was sent), never as a response of its own. */
  stream?: true;
}

export const ERRORS = {
  invalid_request: {
    status: 400,
    description:
      'a bad field or parameter; a malformed id (an image id is decimal digits, nothing else); a path that is not ' +
      'valid URL encoding; a page cursor this server did not give, or of another sort, or of another query or ' +
      'filters; `sort=date` without `minScore`, or with over 10000 results above it; a JSON key `__proto__` ' +
      '(or `constructor.prototype`); a request line or header that is not valid HTTP',
  },
  missing_image: { status: 400, description: 'no file' },
  wrong_field: {
    status: 400,
    description:
      'the file in another field than `image` (search: a file field that no `positive` or `negative` item names)',
  },
  invalid_multipart: {
    status: 400,
    description: 'a multipart body that does not parse: no boundary, a wrong one, garbage, cut short',
  },
  invalid_json: {
    status: 400,
    description: 'a JSON body, or a form part sent as `application/json`, that does not parse',
  },
  empty_body: { status: 400, description: 'a JSON content type with no body' },
  prompt_too_long: {
    status: 400,
    description: "the prompt (images included; a describe's kept history too) does not fit the text model's context",
  },
  too_many_classes: { status: 400, description: 'few-shot `classes` over `LOOKALIKE_FEWSHOT_MAX_CLASSES`' },
  too_many_examples: {
    status: 400,
    description: 'few-shot `examples` over `LOOKALIKE_FEWSHOT_MAX_EXAMPLES` per class',
  },
  unauthorized: { status: 401, description: 'this route needs `Authorization: Bearer <LOOKALIKE_API_KEY>`' },
  forbidden: { status: 403, description: 'a wrong key' },
  writes_disabled: {
    status: 403,
    description: 'a change, on a server listening beyond loopback without `LOOKALIKE_API_KEY`',
  },
  metrics_disabled: { status: 403, description: '`/metrics` on a server listening beyond loopback without a key' },
  not_found: { status: 404, description: 'no image (or job, or route) with this id' },
  method_not_allowed: {
    status: 405,
    description: 'a method the path does not take (the `Allow` header lists those it does)',
  },
  request_timeout: {
    status: 408,
    description: "a request that did not arrive whole in time (Node's `headersTimeout` and `requestTimeout`)",
  },
  no_text_model: {
    status: 409,
    description: 'describe or re-rank without the model for it (`LOOKALIKE_TEXT_MODEL`, `LOOKALIKE_RERANK_MODEL`)',
  },
  text_search_unavailable: { status: 409, description: 'words without an embedding model (`LOOKALIKE_EMBED_MODEL`)' },
  no_captions: {
    status: 409,
    description:
      '`mode=keyword` or `mode=hybrid` on a gallery that was never captioned (`LOOKALIKE_CAPTIONS=on`, or `npm run ' +
      'captions`)',
  },
  resolve_conflict: {
    status: 409,
    description:
      'a duplicates resolve naming an image in the trash: deleted, or chosen to go by an overlapping resolve that ' +
      'came first (the message names it); nothing was changed',
  },
  no_job_queue: { status: 409, description: 'a job asked of a server without Redis (`LOOKALIKE_REDIS_URL`)' },
  upload_too_large: {
    status: 413,
    description: 'an upload over `LOOKALIKE_MAX_UPLOAD_MB` (the message names the limit and the setting)',
  },
  image_too_large: {
    status: 413,
    description:
      'an image over `LOOKALIKE_MAX_PIXELS`, checked from its header before decoding (the message names the limit ' +
      'and the setting)',
  },
  too_many_files: {
    status: 413,
    description:
      "more than one file (search: more than `image` and 8 named by a query's items; the message names the limit)",
  },
  too_many_fields: { status: 413, description: 'over 20 form fields (1010 for classify)' },
  fields_too_large: {
    status: 413,
    description: "a form's text fields over their bytes: 4 KB, about 800 KB for classify's labels",
  },
  too_many_new_labels: {
    status: 413,
    description: 'over `LOOKALIKE_ZEROSHOT_MAX_NEW_LABELS` zero-shot labels not embedded yet',
  },
  body_too_large: { status: 413, description: 'a JSON body over 1 MB' },
  bad_image: { status: 415, description: 'empty, not an image, truncated' },
  not_multipart: { status: 415, description: 'an upload route sent something else (a raw `image/jpeg` body included)' },
  unsupported_media_type: { status: 415, description: 'a JSON route sent something else' },
  rate_limited: {
    status: 429,
    description:
      'over `LOOKALIKE_RATE_LIMIT` requests a minute (every route but /livez, /readyz and /metrics, when set)',
  },
  headers_too_large: {
    status: 431,
    description: "a URL and headers over 16 KB together (Node's `--max-http-header-size`)",
  },
  internal_error: { status: 500, description: 'a bug: logged with the request' },
  unknown_method: { status: 501, description: "a method that is not HTTP's (`FOO`): no route takes it" },
  loading: { status: 503, retryAfter: true, description: 'the model and gallery are still loading' },
  startup_failed: {
    status: 503,
    retryAfter: true,
    description: 'the service failed to start (an app built with `buildApp()`: `npm start` exits with code 1 instead)',
  },
  busy: {
    status: 503,
    retryAfter: true,
    description:
      "the encoder queue is full (`LOOKALIKE_QUEUE_SIZE`); Retry-After is the queue's length times the recent time " +
      "per request. Duplicates: a scan at another threshold is under way; Retry-After is the last scan's time left",
  },
  workers_busy: {
    status: 503,
    retryAfter: true,
    description: 'with `LOOKALIKE_QUERY_ENCODER=queue`: no worker answered within `LOOKALIKE_QUERY_TIMEOUT_MS`',
  },
  worker_model_mismatch: {
    status: 503,
    description: 'with `queue`: a worker of another model answered (no Retry-After: waiting does not mend it)',
  },
  queue_unavailable: {
    status: 503,
    retryAfter: true,
    description:
      'Redis, the job queue, is down or did not answer within 3 s: adds, job states and queries sent to ' +
      'workers (an add that waited the 3 s names its job: it may still be stored)',
  },
  closed: { status: 503, retryAfter: true, description: '`/api/health` while the service shuts down' },
  not_ready: {
    status: 503,
    retryAfter: true,
    description:
      '`/readyz`: not ready for traffic; `missing` names what: `models`, `index`, `startup` (a start-up task, or a ' +
      'failed start), `redis` (queue mode), `shutdown`',
  },
  disk_full: { status: 507, description: 'a change, on a full disk: it was not made, and searches and reads go on' },
  index_out_of_memory: {
    status: 507,
    description:
      'an add the index cannot take in this memory (a `flat` or `hnsw` array doubles as it grows): the image was ' +
      'not stored; searches go on',
  },
  generation_failed: {
    status: 500,
    stream: true,
    description: 'describe: the generation failed after text was streamed (the `error` event; the message says why)',
  },
  bad_model_file: {
    status: 400,
    startup: true,
    description: 'a model file that is missing, of another kind, or damaged',
  },
  bad_setting: {
    status: 400,
    startup: true,
    description: 'a setting the model cannot take (`LOOKALIKE_EMBED_DIM` over its width)',
  },
  gpu_unavailable: {
    status: 400,
    startup: true,
    description: '`LOOKALIKE_GPU` names a GPU backend that cannot be used here',
  },
  model_mismatch: {
    status: 409,
    startup: true,
    description: 'the data folder holds vectors of another model (re-index, or `--switch-model`)',
  },
  data_dir_locked: {
    status: 409,
    startup: true,
    description: 'the data folder is in use by another process (the server or an index run)',
  },
  bad_label_list: {
    status: 400,
    startup: true,
    description: '`npm run index -- --labels`: a line that is not `path,label`',
  },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof ERRORS;

export class LookalikeError extends Error {
  readonly statusCode: number;

  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
    this.name = new.target.name;
    this.statusCode = ERRORS[code].status;
  }
}

export class BadImageError extends LookalikeError {
  constructor(message: string) {
    super('bad_image', message);
  }
}
export class ImageTooLargeError extends LookalikeError {
  constructor(message: string) {
    super('image_too_large', message);
  }
}
export class ModelFileError extends LookalikeError {
  constructor(message: string) {
    super('bad_model_file', message);
  }
}
export class ModelMismatchError extends LookalikeError {
  constructor(message: string) {
    super('model_mismatch', message);
  }
}
export class NotFoundError extends LookalikeError {
  constructor(message: string) {
    super('not_found', message);
  }
}
/** Words, where the embedder sees images only (the Instruct model's mmproj). */
export class TextSearchUnavailableError extends LookalikeError {
  constructor() {
    super(
      'text_search_unavailable',
      "this server embeds images only (the Instruct model's mmproj): words need an embedding model that puts them " +
        "in the images' space, " +
        'Qwen3-VL-Embedding (set LOOKALIKE_EMBED_MODEL with its mmproj as LOOKALIKE_MMPROJ, see README)',
    );
  }
}
/** An add the vector index cannot take in this memory (faiss could not allocate): 507; searches go on. */
export class IndexOutOfMemoryError extends LookalikeError {
  constructor(message: string) {
    super('index_out_of_memory', message);
  }
}
/** A change refused because the disk is full (SQLITE_FULL): 507 Insufficient Storage; reads go on. */
export class DiskFullError extends LookalikeError {
  constructor(message: string) {
    super('disk_full', message);
  }
}
/** Whether an error is a full disk: a file write's ENOSPC, or SQLite's SQLITE_FULL. */
export const isDiskFull = (err: unknown) =>
  ['ENOSPC', 'SQLITE_FULL'].includes((err as { code?: string } | null)?.code ?? '');

/** A 503 that tells the client when to come back (the Retry-After header). */
export class UnavailableError extends LookalikeError {
  constructor(
    code: ErrorCode,
    message: string,
    readonly retryAfterSeconds: number,
  ) {
    super(code, message);
  }
}
export class BusyError extends UnavailableError {
  constructor(message: string, retryAfterSeconds: number) {
    super('busy', message, retryAfterSeconds);
  }
}

// Work a request may bring: its form's text fields, and zero-shot labels not embedded yet (each one a text encode).
export class FieldsTooLargeError extends LookalikeError {
  constructor(message: string) {
    super('fields_too_large', message);
  }
}
export class TooManyNewLabelsError extends LookalikeError {
  constructor(message: string) {
    super('too_many_new_labels', message);
  }
}

/** A few-shot prompt past its limits (LOOKALIKE_FEWSHOT_MAX_CLASSES, LOOKALIKE_FEWSHOT_MAX_EXAMPLES). */
export class FewShotLimitError extends LookalikeError {
  constructor(code: 'too_many_classes' | 'too_many_examples', message: string) {
    super(code, message);
  }
}

/** The API's codes of one status, each with what it means (OpenAPI descriptions). */
export function codesOf(status: number): string {
  return Object.entries(ERRORS)
    .filter(([, e]) => e.status === status && !('startup' in e) && !('stream' in e))
    .map(([code, e]) => `${code}: ${e.description}${'retryAfter' in e ? ' (with Retry-After)' : ''}`)
    .join('; ');
}

/** The README's table of error codes. */
export function errorsTable(): string {
  const when = (e: ErrorSpec) =>
    'startup' in e ? 'start-up or scripts' : 'stream' in e ? 'an event of a stream' : 'retryAfter' in e ? 'yes' : '';
  const rows = Object.entries(ERRORS).map(
    ([code, e]) => `| ${e.status} | \`${code}\` | ${when(e)} | ${e.description} |`,
  );
  return ['| status | code | Retry-After | meaning |', '|---|---|---|---|', ...rows].join('\n');
}
