// The trash: deleted images (through the API, a resolve or the page) kept for LOOKALIKE_TRASH_DAYS, then expired.
// Listed with thumbnails, restored (same id, label, metadata, vector, thumbnail) or emptied, all of it or by id.
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { LookalikeError } from '../../core/errors.js';
import { writeAccess } from '../http/auth.js';
import { errorResponses } from '../http/errors.js';
import { IdParams, ImageOut } from '../http/schemas.js';
import { formInt, jsonOnly } from '../http/upload.js';
import type { ListAfter } from '../../core/domain/records.js';

const TRASH_MAX = 1000;
const TrashedOut = ImageOut.extend({
  trashedAt: z.string().describe('when it was deleted, ISO 8601'),
  expiresAt: z.string().describe('when it leaves the trash for good (trashedAt + LOOKALIKE_TRASH_DAYS)'),
});
const Ids = z
  .object({
    ids: z
      .array(z.number().int().min(1))
      .min(1)
      .max(TRASH_MAX)
      .optional()
      .describe('these images of the trash (every one must be there, or nothing changes); none: all of it'),
  })
  .strict();

// a page ends at (trashed ms, id) of its last image: the cursor is those two numbers, and nothing else is taken
const cursorOut = (after: ListAfter | null) => (after ? `${after.value}_${after.id}` : null);
function cursorIn(cursor: string | undefined): ListAfter | undefined {
  if (cursor === undefined) return undefined;
  const m = /^(\d{1,16})_(\d{1,16})$/.exec(cursor);
  if (!m)
    throw new LookalikeError('invalid_request', 'cursor: not one this server gave (use the "next" of the page before)');
  return { value: Number(m[1]), id: Number(m[2]) };
}

const trash: FastifyPluginAsyncZod = async (app) => {
  const canWrite = writeAccess(app.runtime.config);
  const trashThumbnail = (id: number) => `/api/trash/${id}/thumbnail`;

  app.get(
    '/api/trash',
    {
      schema: {
        tags: ['gallery'],
        operationId: 'listTrash',
        security: [],
        summary: 'The images in the trash, the last deleted first, with their thumbnails and when each expires',
        querystring: z.object({
          limit: formInt(1, TRASH_MAX).default(100),
          cursor: z.string().max(40).optional().describe('the "next" of the page before'),
        }),
        response: {
          200: z.object({
            images: z.array(TrashedOut),
            total: z.number().int().describe('images in the trash'),
            trashDays: z.number(),
            next: z.string().nullable().describe('the cursor of the next page, or null on the last'),
          }),
          ...errorResponses(400, 503),
        },
      },
    },
    async (req) => {
      const page = app.runtime.ready().images.trash(req.query.limit, cursorIn(req.query.cursor));
      const images = page.images.map((r) => ({ ...r, thumbnailUrl: trashThumbnail(r.id) }));
      return { images, total: page.total, trashDays: page.trashDays, next: cursorOut(page.next) };
    },
  );

  app.get(
    '/api/trash/:id/thumbnail',
    {
      schema: {
        tags: ['gallery'],
        operationId: 'getTrashThumbnail',
        security: [],
        params: IdParams,
        summary: 'The thumbnail of an image in the trash (WebP, at most 256 px)',
        response: { 200: z.any().describe('image/webp bytes'), ...errorResponses(400, 404, 503) },
      },
    },
    async (req, reply) => {
      const thumb = app.runtime.ready().images.thumbnail(req.params.id, true);
      // not cached for long: it leaves the trash when restored or emptied
      return reply.type('image/webp').header('cache-control', 'no-cache').send(thumb);
    },
  );

  app.post(
    '/api/trash/restore',
    {
      onRequest: canWrite,
      preParsing: jsonOnly,
      schema: {
        tags: ['gallery'],
        operationId: 'restoreTrash',
        security: [{ bearer: [] }],
        body: Ids,
        summary:
          'Bring images back from the trash with the same id, label, metadata and vector; search finds them at once',
        response: {
          200: z.object({ restored: z.array(z.number().int()) }),
          ...errorResponses(400, 401, 403, 404, 415, 503, 507),
        },
      },
    },
    async (req) => ({ restored: await app.runtime.ready().images.restore(req.body.ids) }),
  );

  app.post(
    '/api/trash/empty',
    {
      onRequest: canWrite,
      preParsing: jsonOnly,
      schema: {
        tags: ['gallery'],
        operationId: 'emptyTrash',
        security: [{ bearer: [] }],
        body: Ids,
        summary: 'Delete images in the trash for good',
        response: { 200: z.object({ deleted: z.number().int() }), ...errorResponses(400, 401, 403, 404, 415, 503) },
      },
    },
    async (req) => ({ deleted: app.runtime.ready().images.emptyTrash(req.body.ids) }),
  );
};
export default trash;
