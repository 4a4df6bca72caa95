// Search by upload, "find similar" by id, and KNN classification.
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { errorResponses } from '../http/errors.js';
import { IdParams, KnnOut, SearchHitOut, imageOut, thumbnailUrl } from '../http/schemas.js';
import { formBool, formInt, formNumber, formText, readUpload } from '../http/upload.js';
import type { KnnResult } from '../knn/knn.js';
import type { SearchResult } from '../gallery/gallery.js';

const K_MAX = 100;
const SearchFields = z.object({
  k: formInt(1, K_MAX).default(12),
  minScore: formNumber(-1, 1).optional(),
  label: formText(200).optional(),
  rerank: formBool.default(false),
  classify: formBool.default(false),
});
const ClassifyFields = z.object({ k: formInt(1, 200).optional() });
const SearchOut = z.object({
  results: z.array(SearchHitOut),
  tookMs: z.number(),
  classification: KnnOut.optional(),
  rerank: z.object({ reranked: z.number().int(), cached: z.number().int(), complete: z.boolean().describe('false: the time budget ran out; the rest kept its embedding order'), tookMs: z.number() }).optional(),
});

export function knnOut(r: KnnResult) {
  return { ...r, neighbours: r.neighbours.map((n) => ({ ...n, thumbnailUrl: thumbnailUrl(n.id) })) };
}

const search: FastifyPluginAsyncZod = async (app) => {
  app.post('/api/search', {
    config: { form: SearchFields },
    schema: {
      tags: ['search'], consumes: ['multipart/form-data'],
      summary: 'Most similar gallery images to an uploaded photo',
      description: 'multipart fields: image (file, required); k (1-100, default 12); minScore (-1..1); label (only this class); ' +
        'classify (true: add the KNN result, same encode); rerank (true: re-order the top with the VL model, when loaded)',
      response: { 200: SearchOut, ...errorResponses(400, 409, 413, 415, 503) },
    },
  }, async (req) => {
    const started = performance.now();
    const { gallery, embedUpload } = app.requireReady();
    app.services.admission.assertRoom(); // a full queue answers 503 before the upload is read
    const { image, fields } = await readUpload(req, SearchFields);
    if (fields.rerank) app.requireVlm();
    const { vector, prepared } = await embedUpload(image);
    let results: (SearchResult & { rerankScore?: number | null })[] = await gallery.search(vector, { k: fields.k, minScore: fields.minScore, label: fields.label });
    let rerank;
    if (fields.rerank) {
      const { vlm, reranker } = app.requireVlm();
      // candidates are judged from their stored thumbnails (one deleted meanwhile is skipped); the VL model sits
      // behind the same bounded queue
      ({ results, summary: rerank } = await app.services.admission.run(() => reranker.rerank(prepared.decoded, prepared.sha256, results,
        (r) => vlm.decode(gallery.thumbnail(r.id)))));
    }
    const classification = fields.classify ? knnOut(await gallery.classify(vector, app.services.knn)) : undefined;
    return { results: results.map(imageOut), tookMs: performance.now() - started, classification, rerank };
  });

  app.post('/api/classify', {
    config: { form: ClassifyFields },
    schema: {
      tags: ['search'], consumes: ['multipart/form-data'],
      summary: 'Which labelled class an uploaded photo belongs to (weighted KNN), or unknown',
      description: 'multipart fields: image (file, required); k (neighbours that vote, default LOOKALIKE_KNN_K)',
      response: { 200: KnnOut.extend({ tookMs: z.number() }), ...errorResponses(400, 413, 415, 503) },
    },
  }, async (req) => {
    const started = performance.now();
    const { gallery, embedUpload } = app.requireReady();
    app.services.admission.assertRoom(); // a full queue answers 503 before the upload is read
    const { image, fields } = await readUpload(req, ClassifyFields);
    const { vector } = await embedUpload(image);
    const result = await gallery.classify(vector, { ...app.services.knn, k: fields.k ?? app.services.knn.k });
    return { ...knnOut(result), tookMs: performance.now() - started };
  });

  app.get('/api/images/:id/similar', {
    schema: {
      tags: ['search'], summary: 'Find similar to a gallery image, from its stored vector (no re-encoding)',
      params: IdParams,
      querystring: z.object({ k: z.coerce.number().int().min(1).max(K_MAX).default(12), minScore: z.coerce.number().min(-1).max(1).optional(), label: z.string().max(200).optional() }),
      response: { 200: SearchOut, ...errorResponses(400, 404, 503) },
    },
  }, async (req) => {
    const started = performance.now();
    const { gallery } = app.requireReady();
    const results = await gallery.similar(req.params.id, req.query);
    return { results: results.map(imageOut), tookMs: performance.now() - started };
  });
};
export default search;
