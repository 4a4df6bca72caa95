// Reads a multipart upload: exactly one file, in the field `image`, plus text fields validated with zod.
import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import { FieldsTooLargeError, LookalikeError } from '../../core/errors.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The form fields of a multipart upload route: read by readUpload(), and documented as its OpenAPI requestBody. */
    form?: z.ZodObject;
    /** The image may be left out (search by `text`). */
    imageOptional?: boolean;
    /** Wider multipart limits for this route's text fields than the app's (classify's up to 1000 labels). */
    formLimits?: FormLimits;
    /** The route encodes or generates: a full admission queue answers 503 busy before its upload is read. */
    admitted?: boolean;
  }
}

/**
 * How many text fields a form may have, and how many bytes they may hold together (and so each one); how many files.
 */
export interface FormLimits {
  fields: number;
  bytes: number;
  files?: number;
}
/** Every upload route's, unless its config says otherwise: a few short fields. */
export const DEFAULT_FORM_LIMITS: FormLimits = { fields: 20, bytes: 4096 };

/** The OpenAPI request body of an upload route: the image file and the route's form fields. */
export function formBodySchema(form: z.ZodObject, imageOptional = false): Record<string, unknown> {
  const fields = z.toJSONSchema(form, { io: 'input', unrepresentable: 'any' }) as {
    properties?: Record<string, unknown>;
    required?: string[];
  };
  restoreDefaults(form, fields);
  return {
    type: 'object',
    required: [...(imageOptional ? [] : ['image']), ...(fields.required ?? [])],
    properties: {
      image: {
        type: 'string',
        format: 'binary',
        description:
          'the picture, in any format sharp decodes (JPEG, PNG, WebP, GIF, TIFF, AVIF, HEIF, SVG); at most ' +
          'LOOKALIKE_MAX_UPLOAD_MB',
      },
      ...fields.properties,
    },
  };
}

/**
 * Puts the defaults of an object's fields back into its JSON Schema: zod leaves out the default of a field parsed
 * through a preprocess (formInt, formNumber) when it describes the input, so the document would not say it.
 */
export function restoreDefaults(schema: unknown, json: unknown): void {
  const props = (json as { properties?: Record<string, Record<string, unknown>> } | undefined)?.properties;
  if (!(schema instanceof z.ZodObject) || !props) return;
  for (const [key, field] of Object.entries(schema.shape)) {
    const prop = props[key];
    if (!(field instanceof z.ZodDefault) || !prop || 'default' in prop) continue;
    const value: unknown = field.def.defaultValue;
    // a form's yes/no field is text on the wire (formBool): its default as the text that means it
    prop.default = Array.isArray(prop.enum) && !prop.enum.includes(value) ? String(value) : value;
  }
}

export interface Upload<T> {
  image: Buffer;
  filename: string;
  fields: T;
  /** With `namedFiles`: the files sent in fields other than "image", by field name (a query's parts refer to them). */
  files: Map<string, Buffer>;
}

/** Reads a multipart upload: the image (required unless `imageOptional`) and the form fields, validated. */
export async function readUpload<S extends z.ZodType>(
  req: FastifyRequest,
  fieldsSchema: S,
  opts: { imageOptional: true; namedFiles?: boolean },
): Promise<Omit<Upload<z.output<S>>, 'image'> & { image: Buffer | undefined }>;
export async function readUpload<S extends z.ZodType>(
  req: FastifyRequest,
  fieldsSchema: S,
): Promise<Upload<z.output<S>>>;
export async function readUpload<S extends z.ZodType>(
  req: FastifyRequest,
  fieldsSchema: S,
  opts: { imageOptional?: boolean; namedFiles?: boolean } = {},
): Promise<Omit<Upload<z.output<S>>, 'image'> & { image: Buffer | undefined }> {
  if (!req.isMultipart()) {
    throw new LookalikeError('not_multipart', 'send the image as multipart/form-data, in the field "image"');
  }
  let image: Buffer | undefined;
  let filename = '';
  const files = new Map<string, Buffer>();
  const raw: Record<string, unknown> = {}; // a repeated field (labels) becomes a list
  const limits = req.routeOptions.config.formLimits ?? DEFAULT_FORM_LIMITS;
  let bytes = 0;
  try {
    // busboy cuts a field longer than fieldSize short without an error: that is refused below, never parsed
    const maxFiles = limits.files ?? 1;
    for await (const part of req.parts({
      limits: { fields: limits.fields, parts: limits.fields + maxFiles + 4, fieldSize: limits.bytes, files: maxFiles },
    })) {
      if (part.type === 'file') {
        if (opts.namedFiles && part.fieldname !== 'image') {
          // the multipart limit counts the image too: without one, a file more than the query's items may name
          if (files.size === maxFiles - 1) {
            await part.toBuffer().catch(() => undefined); // drain it
            throw tooManyFiles(maxFiles, true);
          }
          if (files.has(part.fieldname))
            throw new LookalikeError(
              'invalid_request',
              `two files in the field "${part.fieldname}": give each file its own field name`,
            );
          files.set(part.fieldname, await part.toBuffer());
          continue;
        }
        if (part.fieldname !== 'image') {
          await part.toBuffer().catch(() => undefined); // drain it
          throw new LookalikeError(
            'wrong_field',
            `unexpected file field "${part.fieldname}": send the image in the field "image"`,
          );
        }
        // a backstop: the multipart limit says so first
        if (image) throw new LookalikeError('too_many_files', 'send one image per request');
        image = await part.toBuffer(); // throws FST_REQ_FILE_TOO_LARGE past the upload limit
        filename = part.filename ?? '';
      } else {
        bytes += Buffer.byteLength(typeof part.value === 'string' ? part.value : JSON.stringify(part.value));
        if (part.valueTruncated || bytes > limits.bytes) {
          throw new FieldsTooLargeError(
            `the form's text fields hold more than ${limits.bytes} bytes (at the field "${part.fieldname}")`,
          );
        }
        // a part sent as application/json arrives parsed (a list of labels stays a list); any other is text
        const value = part.mimetype === 'application/json' ? part.value : String(part.value);
        if (value === '') continue; // an empty field is an absent one (a form's untouched input)
        const before = raw[part.fieldname];
        raw[part.fieldname] = before === undefined ? value : [...(Array.isArray(before) ? before : [before]), value];
      }
    }
  } catch (err) {
    // busboy's parse errors (no or wrong boundary, garbage, a body cut short) come without a code; ours and
    // Fastify's limits come with one and keep their own status
    if (err instanceof Error && !('code' in err)) {
      throw new LookalikeError(
        'invalid_multipart',
        `the multipart body is malformed (${err.message}): send multipart/form-data with its boundary, the image ` +
          `in the field "image"`,
      );
    }
    const code = (err as { code?: unknown }).code;
    if (code === 'FST_FILES_LIMIT') throw tooManyFiles(limits.files ?? 1, opts.namedFiles === true);
    if (code === 'FST_FIELDS_LIMIT') {
      throw new LookalikeError('too_many_fields', `the form has more than ${limits.fields} text fields`);
    }
    throw err;
  }
  if (!image && !opts.imageOptional)
    throw new LookalikeError('missing_image', 'no image: send the file in the multipart field "image"');
  return { image, filename, files, fields: parseFields(fieldsSchema, raw, 'form fields') };
}

/** 413 too_many_files, naming the limit: one image, or (a query of several parts) the image and `files - 1` named. */
function tooManyFiles(files: number, named: boolean): LookalikeError {
  return new LookalikeError(
    'too_many_files',
    named
      ? `at most ${files - 1} files named by the query's items, besides the one in "image": send the others in another`
      : 'send one image per request, in the field "image"',
  );
}

/** The media type of a request, without parameters, in lower case (media types are case-insensitive). */
export function mediaType(req: FastifyRequest): string {
  return (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
}

/**
 * JSON bodies, in the place of Fastify's parser: JSON.parse, refusing by name the keys that reach an object's prototype
 * when a body is merged into one (`__proto__`, `constructor.prototype`); JSON.parse itself only makes them own keys.
 */
type Done = (err: Error | null, value?: unknown) => void;
export function parseJsonBody(_req: FastifyRequest, body: string, done: Done): void {
  if (body.length === 0) {
    done(new LookalikeError('empty_body', 'the content type is JSON, and the body is empty'));
    return;
  }
  try {
    done(null, JSON.parse(body, refusePrototypeKeys));
  } catch (err) {
    const message = `the JSON body does not parse: ${(err as Error).message}`;
    done(err instanceof LookalikeError ? err : new LookalikeError('invalid_json', message));
  }
}

function refusePrototypeKeys(key: string, value: unknown): unknown {
  const prototype = key === 'constructor' && typeof value === 'object' && value !== null && 'prototype' in value;
  const proto = key === '__proto__' ? key : prototype ? 'constructor.prototype' : null;
  if (proto) {
    throw new LookalikeError('invalid_request', `invalid JSON body: the key "${proto}" is refused (a prototype's)`);
  }
  return value;
}

/**
 * A route that takes a JSON body: anything else is a 415 before the body is read (as preParsing, after the key check).
 */
export async function jsonOnly(req: FastifyRequest): Promise<void> {
  if (mediaType(req) !== 'application/json') {
    throw new LookalikeError(
      'unsupported_media_type',
      `send a JSON body (content-type: application/json), not ${req.headers['content-type'] ?? 'no content type'}`,
    );
  }
}

/** Validates fields (a form's or a JSON body's) with zod: a 400 invalid_request that names each problem. */
export function parseFields<S extends z.ZodType>(schema: S, raw: unknown, what: string): z.output<S> {
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const details = parsed.error.issues.map((i) => `${i.path.join('.') || 'fields'}: ${i.message}`).join('; ');
    throw new LookalikeError('invalid_request', `invalid ${what}: ${details}`);
  }
  return parsed.data;
}

// Numbers in forms and query strings: an optional minus, digits, and for a real an optional fraction. Number() would
// also take 0x10, 0b11, 1e1, +5, " 5" and "" (as 0).
const INTEGER = /^-?[0-9]+$/;
const DECIMAL = /^-?[0-9]+(\.[0-9]+)?$/;
const numberText = (pattern: RegExp) => (v: unknown) => (typeof v === 'string' && pattern.test(v) ? Number(v) : v);
/** Form fields and query parameters arrive as strings (an empty one is left out, so defaults apply to it). */
export const formInt = (min: number, max: number) =>
  z.preprocess(
    numberText(INTEGER),
    z.number({ error: 'a whole number in decimal digits, like 12' }).int().min(min).max(max),
  );
export const formNumber = (min: number, max: number) =>
  z.preprocess(
    numberText(DECIMAL),
    z.number({ error: 'a number in decimal digits, like 0.25 or -1' }).min(min).max(max),
  );
export const formBool = z
  .enum(['true', 'false', '1', '0', 'on'])
  .transform((v) => v === 'true' || v === '1' || v === 'on');
export const formText = (max: number) => z.string().max(max);

/** A list field: repeated form fields, a JSON array in one field, or an array in a JSON body. */
export const listOf = <T extends z.ZodType>(item: T, max: number) =>
  z.preprocess((v) => {
    if (typeof v === 'string' && v.trim().startsWith('[')) {
      try {
        return JSON.parse(v) as unknown;
      } catch {
        return v;
      }
    }
    return typeof v === 'string' ? [v] : v;
  }, z.array(item).min(1).max(max));
