// The gallery's images: add (upload), read, thumbnail, delete.
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { NotFoundError } from '../errors.js';
import { writeAccess } from '../http/auth.js';
import { ErrorBody } from '../http/errors.js';
import { IdParams, ImageOut, imageOut } from '../http/schemas.js';
import { formText, readUpload } from '../http/upload.js';

const AddFields = z.object({ label: formText(200).optional() });
const errors = { 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody, 413: ErrorBody, 415: ErrorBody, 503: ErrorBody };

const images: FastifyPluginAsyncZod = async (app) => {
  const canWrite = writeAccess(app.services.config);

  app.post('/api/images', {
    preHandler: canWrite,
    schema: {
      tags: ['gallery'], consumes: ['multipart/form-data'], security: [{ bearer: [] }],
      summary: 'Add an image to the gallery (201); the same content again returns the existing id (200, duplicate: true)',
      description: 'multipart fields: image (file, required); label (optional class name)',
      response: { 200: z.object({ id: z.number().int(), duplicate: z.literal(true) }), 201: z.object({ id: z.number().int(), duplicate: z.literal(false) }), ...errors },
    },
  }, async (req, reply) => {
    const { gallery, embedUpload } = app.requireReady();
    app.services.admission.assertRoom(); // a full queue answers 503 before the upload is read
    const { image, filename, fields } = await readUpload(req, AddFields);
    const { vector, prepared } = await embedUpload(image);
    const { id, duplicate } = await gallery.add(prepared, vector, { source: filename || null, label: fields.label ?? null });
    return duplicate ? reply.code(200).send({ id, duplicate: true as const }) : reply.code(201).send({ id, duplicate: false as const });
  });

  app.get('/api/images/:id', {
    schema: { tags: ['gallery'], summary: 'One image record', params: IdParams, response: { 200: ImageOut, ...errors } },
  }, async (req) => imageOut(app.requireReady().gallery.get(req.params.id)));

  app.get('/api/images/:id/thumbnail', {
    schema: { tags: ['gallery'], summary: 'The image thumbnail (WebP, at most 256 px)', params: IdParams, response: { 200: z.any().describe('image/webp bytes'), 404: ErrorBody, 503: ErrorBody } },
  }, async (req, reply) => {
    const thumb = app.requireReady().gallery.store.thumbnail(req.params.id);
    if (!thumb) throw new NotFoundError(`no image with id ${req.params.id}`);
    // ids are never reused, so a thumbnail never changes
    return reply.type('image/webp').header('cache-control', 'public, max-age=604800, immutable').send(thumb);
  });

  app.delete('/api/images/:id', {
    preHandler: canWrite,
    schema: { tags: ['gallery'], summary: 'Remove an image (204)', security: [{ bearer: [] }], params: IdParams, response: { 204: z.null(), ...errors } },
  }, async (req, reply) => {
    await app.requireReady().gallery.remove(req.params.id);
    return reply.code(204).send(null);
  });
};
export default images;
