// Reads a multipart upload: exactly one file, in the field `image`, plus text fields validated with zod.
import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import { BadRequestError, LookalikeError } from '../errors.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The form fields of a multipart upload route: read by readUpload(), and documented as its OpenAPI requestBody. */
    form?: z.ZodObject;
  }
}

/** The OpenAPI request body of an upload route: the image file and the route's form fields. */
export function formBodySchema(form: z.ZodObject): Record<string, unknown> {
  const fields = z.toJSONSchema(form, { io: 'input', unrepresentable: 'any' }) as { properties?: Record<string, unknown>; required?: string[] };
  return {
    type: 'object',
    required: ['image', ...(fields.required ?? [])],
    properties: {
      image: { type: 'string', format: 'binary', description: 'the picture, in any format sharp decodes (JPEG, PNG, WebP, GIF, TIFF, AVIF, HEIF, SVG); at most LOOKALIKE_MAX_UPLOAD_MB' },
      ...fields.properties,
    },
  };
}

export interface Upload<T> {
  image: Buffer;
  filename: string;
  fields: T;
}

export async function readUpload<S extends z.ZodType>(req: FastifyRequest, fieldsSchema: S): Promise<Upload<z.output<S>>> {
  if (!req.isMultipart()) {
    throw new LookalikeError('not_multipart', 'send the image as multipart/form-data, in the field "image"', 415);
  }
  let image: Buffer | undefined;
  let filename = '';
  const raw: Record<string, string> = {};
  for await (const part of req.parts()) {
    if (part.type === 'file') {
      if (part.fieldname !== 'image') {
        await part.toBuffer().catch(() => undefined); // drain it
        throw new BadRequestError(`unexpected file field "${part.fieldname}": send the image in the field "image"`, 'wrong_field');
      }
      if (image) throw new LookalikeError('too_many_files', 'send one image per request', 413); // a backstop: the multipart limit says so first
      image = await part.toBuffer(); // throws FST_REQ_FILE_TOO_LARGE past the upload limit
      filename = part.filename ?? '';
    } else {
      raw[part.fieldname] = String(part.value);
    }
  }
  if (!image) throw new BadRequestError('no image: send the file in the multipart field "image"', 'missing_image');
  const parsed = fieldsSchema.safeParse(raw);
  if (!parsed.success) {
    const details = parsed.error.issues.map((i) => `${i.path.join('.') || 'fields'}: ${i.message}`).join('; ');
    throw new BadRequestError(`invalid form fields: ${details}`, 'invalid_request');
  }
  return { image, filename, fields: parsed.data };
}

/** Form fields arrive as strings: "" means absent. */
export const formInt = (min: number, max: number) => z.preprocess((v) => (v === '' ? undefined : v), z.coerce.number().int().min(min).max(max));
export const formNumber = (min: number, max: number) => z.preprocess((v) => (v === '' ? undefined : v), z.coerce.number().min(min).max(max));
export const formBool = z.preprocess((v) => (v === '' ? undefined : v), z.enum(['true', 'false', '1', '0', 'on']).transform((v) => v === 'true' || v === '1' || v === 'on'));
export const formText = (max: number) => z.preprocess((v) => (v === '' ? undefined : v), z.string().max(max));
