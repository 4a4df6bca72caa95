// The errors a client or operator can cause, each with a stable code and the HTTP status the API answers with.
// Everything else is a bug and becomes a 500 with a generic message.
export class LookalikeError extends Error {
  constructor(readonly code: string, message: string, readonly statusCode: number) {
    super(message);
    this.name = new.target.name;
  }
}

export class BadImageError extends LookalikeError {
  constructor(message: string) { super('bad_image', message, 415); }
}
export class ImageTooLargeError extends LookalikeError {
  constructor(message: string) { super('image_too_large', message, 413); }
}
export class ModelFileError extends LookalikeError {
  constructor(message: string) { super('bad_model_file', message, 400); }
}
export class ModelMismatchError extends LookalikeError {
  constructor(message: string) { super('model_mismatch', message, 409); }
}
export class NotFoundError extends LookalikeError {
  constructor(message: string) { super('not_found', message, 404); }
}
export class BadRequestError extends LookalikeError {
  constructor(message: string, code = 'bad_request') { super(code, message, 400); }
}
/** A change refused because the disk is full (SQLITE_FULL): 507 Insufficient Storage; reads go on. */
export class DiskFullError extends LookalikeError {
  constructor(message: string) { super('disk_full', message, 507); }
}
/** What a 503 tells clients to wait before they ask again: while the models load, after a failed start, and while
 * Redis (the job queue) is unreachable (it is retried every second). */
export const RETRY_SECONDS = {
  loading: 5, startupFailed: 60,
  queueUnavailable: 5,
} as const;

/** A 503 that tells the client when to come back (the Retry-After header). */
export class UnavailableError extends LookalikeError {
  constructor(code: string, message: string, readonly retryAfterSeconds: number) { super(code, message, 503); }
}
export class BusyError extends UnavailableError {
  constructor(message: string, retryAfterSeconds: number) { super('busy', message, retryAfterSeconds); }
}

// Work a request may bring: its form's text fields, and zero-shot labels not embedded yet (each one a text encode).
export class FieldsTooLargeError extends LookalikeError {
  constructor(message: string) { super('fields_too_large', message, 413); }
}
export class TooManyNewLabelsError extends LookalikeError {
  constructor(message: string) { super('too_many_new_labels', message, 413); }
}
/** A few-shot prompt past its limits (LOOKALIKE_FEWSHOT_MAX_CLASSES, LOOKALIKE_FEWSHOT_MAX_EXAMPLES). */
export class FewShotLimitError extends LookalikeError {
  constructor(code: 'too_many_classes' | 'too_many_examples', message: string) { super(code, message, 400); }
}
