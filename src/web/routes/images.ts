// The gallery's images: add (upload), read, relabel, thumbnail, delete.
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { writeAccess } from '../http/auth.js';
import { errorResponses } from '../http/errors.js';
import { FilterFields, LIST_SORTS, listCursorIn, listCursorOut, toFilter } from '../http/filters.js';
import { ClassName, IdParams, ImageOut, imageOut } from '../http/schemas.js';
import { formInt, formText, jsonOnly, readUpload } from '../http/upload.js';

const AddFields = z.object({
  label: formText(200)
    .pipe(ClassName)
    .optional()
    .describe('class name; given again with the same content, it replaces the stored one'),
});
const ListQuery = FilterFields.extend({
  sort: z.enum(LIST_SORTS).default('date').describe('date: newest taken first; added: newest added first'),
  limit: formInt(1, 100).default(24),
});
const Added = z.object({ id: z.number().int(), label: z.string().nullable() });

const images: FastifyPluginAsyncZod = async (app) => {
  const canWrite = writeAccess(app.runtime.config);

  app.post(
    '/api/images',
    {
      onRequest: canWrite, // before the body is read: a request without the key uploads nothing
      config: { form: AddFields, admitted: true },
      schema: {
        tags: ['gallery'],
        operationId: 'addImage',
        consumes: ['multipart/form-data'],
        security: [{ bearer: [] }],
        summary:
          'Add an image to the gallery (201); the same content again returns the existing id (200, duplicate: ' +
          'true), and content in the trash is restored (200, restored: true); with workers ' +
          '(LOOKALIKE_REDIS_URL) 202 and a job',
        description:
          'multipart fields: image (file, required); label (optional class name: with content already in the ' +
          'gallery, it relabels it)',
        response: {
          200: Added.extend({
            duplicate: z.literal(true),
            relabelled: z.boolean(),
            restored: z.boolean().describe('the content was in the trash: it is back, with its id'),
          }),
          201: Added.extend({ duplicate: z.literal(false), relabelled: z.literal(false), restored: z.literal(false) }),
          202: z
            .object({ jobId: z.string(), statusUrl: z.string() })
            .describe('encoded by a worker: follow GET /api/jobs/{id}'),
          ...errorResponses(400, 401, 403, 413, 415, 503, 507),
        },
      },
    },
    async (req, reply) => {
      const { ingest } = app.runtime.ready();
      const { image, filename, fields } = await readUpload(req, AddFields);
      const added = await ingest.add(image, { source: filename || null, label: fields.label ?? null });
      if (added.kind === 'queued')
        return reply.code(202).send({ jobId: added.jobId, statusUrl: `/api/jobs/${encodeURIComponent(added.jobId)}` });
      const { id, label, relabelled, restored } = added;
      return added.duplicate
        ? reply.code(200).send({ id, label, duplicate: true as const, relabelled, restored })
        : reply
            .code(201)
            .send({ id, label, duplicate: false as const, relabelled: false as const, restored: false as const });
    },
  );

  app.get(
    '/api/jobs/:id',
    {
      schema: {
        tags: ['gallery'],
        operationId: 'getJob',
        security: [],
        summary:
          'The state of an add encoded by a worker: waiting, active, done (with the image id) or failed (with why)',
        params: z.object({
          id: z.string().describe('the jobId that POST /api/images answered; any other id is a 404'),
        }),
        response: {
          200: z.object({
            id: z.string(),
            state: z.enum(['waiting', 'active', 'done', 'failed']),
            imageId: z.number().int().optional(),
            error: z.string().optional(),
          }),
          ...errorResponses(404, 409, 503),
        },
      },
    },
    async (req) => ({ id: req.params.id, ...(await app.runtime.ready().ingest.jobState(req.params.id)) }),
  );

  app.get(
    '/api/images',
    {
      schema: {
        tags: ['gallery'],
        operationId: 'listImages',
        security: [],
        querystring: ListQuery,
        summary:
          "The gallery's images, newest first (taken or added), with the filters of search and a cursor for the " +
          'next page',
        response: {
          200: z.object({
            images: z.array(ImageOut),
            next: z.string().nullable().describe('the cursor of the next page, or null on the last'),
          }),
          ...errorResponses(400, 503),
        },
      },
    },
    async (req) => {
      const { sort, limit } = req.query;
      const after = listCursorIn(req.query);
      const page = app.runtime.ready().images.list({ filter: toFilter(req.query), sort, limit, after });
      return { images: page.images.map(imageOut), next: listCursorOut(req.query, page.next) };
    },
  );

  app.get(
    '/api/images/:id',
    {
      schema: {
        tags: ['gallery'],
        operationId: 'getImage',
        security: [],
        summary: 'One image record',
        params: IdParams,
        response: { 200: ImageOut, ...errorResponses(400, 404, 503) },
      },
    },
    async (req) => imageOut(app.runtime.ready().images.get(req.params.id)),
  );

  app.patch(
    '/api/images/:id',
    {
      onRequest: canWrite, // before the body is read: a request without the key uploads nothing
      preParsing: jsonOnly,
      schema: {
        tags: ['gallery'],
        operationId: 'relabelImage',
        security: [{ bearer: [] }],
        params: IdParams,
        summary: "Set or clear (null) an image's label; search filters and classification see it at once",
        body: z.object({ label: ClassName.nullable() }).strict(),
        response: { 200: ImageOut, ...errorResponses(400, 401, 403, 404, 415, 503, 507) },
      },
    },
    async (req) => imageOut(app.runtime.ready().images.relabel(req.params.id, req.body.label)),
  );

  app.get(
    '/api/images/:id/thumbnail',
    {
      schema: {
        tags: ['gallery'],
        operationId: 'getThumbnail',
        security: [],
        summary: 'The image thumbnail (WebP, at most 256 px)',
        params: IdParams,
        response: { 200: z.any().describe('image/webp bytes'), ...errorResponses(400, 404, 503) },
      },
    },
    async (req, reply) => {
      const thumb = app.runtime.ready().images.thumbnail(req.params.id);
      // ids are never reused, so a thumbnail never changes
      return reply.type('image/webp').header('cache-control', 'public, max-age=604800, immutable').send(thumb);
    },
  );

  app.delete(
    '/api/images/:id',
    {
      onRequest: canWrite, // before the body is read: a request without the key uploads nothing
      schema: {
        tags: ['gallery'],
        operationId: 'deleteImage',
        security: [{ bearer: [] }],
        params: IdParams,
        summary:
          'Move an image to the trash (204): gone from search and listings, restorable for LOOKALIKE_TRASH_DAYS ' +
          '(see /api/trash)',
        response: { 204: z.null(), ...errorResponses(400, 401, 403, 404, 503, 507) },
      },
    },
    async (req, reply) => {
      await app.runtime.ready().images.remove(req.params.id);
      return reply.code(204).send(null);
    },
  );
};
export default images;
