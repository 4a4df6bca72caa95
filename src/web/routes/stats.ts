import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { errorResponses } from '../http/errors.js';
import { DeviceOut } from '../http/schemas.js';

const StatsOut = z.object({
  images: z.number().int().describe('images in the gallery (those in the trash are not)'),
  trashed: z.number().int().describe('images in the trash (GET /api/trash)'),
  embedded: z.number().int(),
  labelled: z.number().int(),
  labels: z.array(z.object({ label: z.string(), count: z.number().int() })),
  index: z.object({
    kind: z.string(),
    dim: z.number(),
    live: z.number(),
    ntotal: z.number(),
    tombstones: z.number(),
    staged: z.number(),
    bytesPerVector: z.number(),
    trainedOn: z.number(),
    fileBytesPerVector: z
      .number()
      .nullable()
      .describe("the index file's bytes per vector at its last save (measured; bytesPerVector is the model)"),
    databaseBytesPerVector: z
      .number()
      .nullable()
      .describe("the SQLite file's bytes per embedded image (vectors, thumbnails, rows)"),
  }),
  captions: z.object({
    enabled: z.boolean().describe('LOOKALIKE_CAPTIONS=on: the Instruct model captions in the background'),
    captioned: z.number().int(),
    pending: z.number().int().describe('images of the gallery with no caption yet'),
    perSecond: z.number().nullable().describe('captions a second, over the last 50'),
    etaSeconds: z.number().nullable().describe('seconds until none is pending, at that rate'),
  }),
  model: z.object({
    modelId: z.string(),
    fileName: z.string(),
    dim: z.number(),
    pooling: z.string(),
    projectorType: z.string(),
  }),
  demo: z.boolean(),
  queue: z.object({ inUse: z.number().int(), capacity: z.number().int() }),
  device: DeviceOut,
});

const stats: FastifyPluginAsyncZod = async (app) => {
  app.get(
    '/api/stats',
    {
      schema: {
        tags: ['service'],
        operationId: 'getStats',
        security: [],
        summary: 'Counts, labels, index kind, model',
        response: { 200: StatsOut, ...errorResponses(503) },
      },
    },
    async () => app.runtime.status.stats(),
  );
};
export default stats;
