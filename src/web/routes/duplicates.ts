// Duplicate groups (exact and near, around keepers) and their review: keep one, delete or relabel the others.
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { writeAccess } from '../http/auth.js';
import { errorResponses } from '../http/errors.js';
import { ClassName, ImageOut, imageOut } from '../http/schemas.js';
import { formInt, formNumber, jsonOnly } from '../http/upload.js';

const GROUPS_MAX = 1000;
const MemberOut = ImageOut.extend({
  score: z.number().describe('cosine similarity to the image to keep (1 for itself)'),
  exact: z.boolean().describe('the same pixels as the image to keep: the same vector at the same width and height'),
});
const GroupOut = z.object({
  kind: z.enum(['exact', 'near']).describe('exact: every member is an exact copy of the kept one'),
  keep: z
    .number()
    .int()
    .describe('the suggested image to keep: the most pixels, then the most metadata, then the oldest'),
  members: z.array(MemberOut).describe('the image to keep first, then the others by falling score'),
  similarities: z
    .array(z.array(z.number()))
    .describe(
      "cosine similarity of every member to every other, in the members' order (the scores against another keeper)",
    ),
});
const imageId = z.number().int().min(1);

const duplicates: FastifyPluginAsyncZod = async (app) => {
  app.get(
    '/api/duplicates',
    {
      schema: {
        tags: ['gallery'],
        operationId: 'findDuplicates',
        security: [],
        summary:
          'Groups of duplicate images around the image to keep: its exact copies, and its near duplicates at the ' +
          'threshold or above; one scan at a time',
        querystring: z.object({
          threshold: formNumber(-1, 1)
            .optional()
            .describe(
              'cosine similarity at which two images are near duplicates (default LOOKALIKE_DUPLICATE_THRESHOLD)',
            ),
          limit: formInt(1, GROUPS_MAX)
            .default(100)
            .describe('at most this many groups (exact first, then the tightest)'),
        }),
        response: {
          200: z.object({
            threshold: z.number(),
            total: z.number().int().describe('groups found, before the limit'),
            groups: z.array(GroupOut),
            tookMs: z.number(),
          }),
          ...errorResponses(400, 503),
        },
      },
    },
    async (req) => {
      const started = performance.now();
      const { threshold, groups } = await app.runtime.ready().duplicates.find(req.query.threshold);
      const shown = groups.slice(0, req.query.limit).map((g) => ({ ...g, members: g.members.map(imageOut) }));
      return { threshold, total: groups.length, groups: shown, tookMs: performance.now() - started };
    },
  );

  app.post(
    '/api/duplicates/resolve',
    {
      onRequest: writeAccess(app.runtime.config),
      preParsing: jsonOnly,
      schema: {
        tags: ['gallery'],
        operationId: 'resolveDuplicates',
        security: [{ bearer: [] }],
        summary:
          'Keep one image of a group and move the others to the trash (or relabel them), in one transaction: all ' +
          'or nothing',
        body: z
          .object({
            keep: imageId,
            others: z.array(imageId).min(1).max(GROUPS_MAX),
            action: z
              .enum(['delete', 'relabel'])
              .describe('delete: the others go to the trash; relabel: they take "label" and stay'),
            label: ClassName.nullable().optional().describe("with relabel: the others' new label (null clears it)"),
          })
          .strict(),
        response: {
          200: z.object({
            kept: z.number().int(),
            deleted: z.array(z.number().int()),
            relabelled: z.array(z.number().int()),
          }),
          ...errorResponses(400, 401, 403, 404, 409, 415, 503, 507),
        },
      },
    },
    async (req) => app.runtime.ready().duplicates.resolve(req.body),
  );
};
export default duplicates;
