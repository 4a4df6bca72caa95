// The selected results as one download: a ZIP of their stored thumbnails (the server keeps no originals).
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { errorResponses } from '../http/errors.js';

const IDS_MAX = 500;
// "3,17,42": decimal ids, as the page puts them in a link
const IdList = z
  .string()
  .max(IDS_MAX * 12)
  .transform((s) => s.split(',').map((x) => x.trim()))
  .pipe(
    z
      .array(
        z
          .string()
          .regex(/^[0-9]+$/, 'an image id is a whole number in decimal digits, like 12')
          .transform(Number)
          .pipe(z.number().int().min(1)),
      )
      .min(1, 'give at least one id')
      .max(IDS_MAX, `at most ${IDS_MAX} ids`),
  );

const takeAway: FastifyPluginAsyncZod = async (app) => {
  app.get(
    '/api/thumbnails.zip',
    {
      schema: {
        tags: ['gallery'],
        operationId: 'downloadThumbnails',
        security: [],
        summary:
          'The stored thumbnails of the given images as one ZIP (WebP files named <id>-<name>.webp); the server ' +
          'keeps no originals',
        querystring: z.object({ ids: IdList.describe(`image ids separated by commas, 1 to ${IDS_MAX}`) }),
        response: { 200: z.any().describe('application/zip bytes'), ...errorResponses(400, 404, 503) },
      },
    },
    async (req, reply) => {
      const zip = app.runtime.ready().images.thumbnailsZip(req.query.ids);
      return reply
        .type('application/zip')
        .header('content-disposition', 'attachment; filename="lookalike-thumbnails.zip"')
        .send(zip);
    },
  );
};
export default takeAway;
