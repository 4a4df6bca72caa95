// Search by upload or by words, "find similar" by id, and classification (KNN, and zero-shot with a text embedder).
import { sha256 } from '../../core/util/hash.js';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import { DEFAULT_SEARCH_K } from '../../core/config.js';
import { LookalikeError } from '../../core/errors.js';
import { clientGone } from '../http/client.js';
import { FewShotFields, FewShotOut } from '../http/vlm-fields.js';
import { errorResponses } from '../http/errors.js';
import {
  FilterFields,
  pagingDigest,
  SEARCH_SORTS,
  searchCursorIn,
  searchCursorOut,
  toFilter,
} from '../http/filters.js';
import { compositeQuery, FILES_MAX, formItems, PartsDoc, QueryItems, TEXT_MAX } from '../http/query-parts.js';
import { ClassName, IdParams, KnnOut, ProbeOut, SearchHitOut, imageOut, thumbnailUrl } from '../http/schemas.js';
import {
  DEFAULT_FORM_LIMITS,
  formBool,
  formInt,
  formNumber,
  formText,
  listOf,
  mediaType,
  parseFields,
  readUpload,
} from '../http/upload.js';
import { SEARCH_MODES, type CompositeQuery, type QueryPart } from '../../application/usecases/search.js';
import { LabelsStoppedError, type Classification } from '../../application/usecases/classify.js';

const K_MAX = 100;
const queryText = z
  .string()
  .max(TEXT_MAX)
  .refine((t) => t.trim().length > 0, 'the text is empty');
const mode = z
  .enum(SEARCH_MODES)
  .optional()
  .describe(
    'how words are matched: vector (default: the embedding model), ' +
      'keyword (FTS5 bm25 over file paths, labels, captions and the words pictures show; score: bm25) ' +
      'or hybrid (both, ' +
      'fused by reciprocal rank fusion with k = 60; score: the fused one). keyword and hybrid need captions ' +
      '(LOOKALIKE_CAPTIONS=on, or npm run captions), take no minScore nor sort=date, and page over one ranking ' +
      'made on ' +
      'the first page, 1000 deep',
  );
const sort = z
  .enum(SEARCH_SORTS)
  .default('score')
  .describe('score: best first; date: newest first among all results that reach minScore (needs minScore)');
const SearchFields = FilterFields.extend({
  text: formText(TEXT_MAX).describe(
    'words to search by, instead of an image (needs an embedding model: LOOKALIKE_EMBED_MODEL)',
  ),
  k: formInt(1, K_MAX).default(DEFAULT_SEARCH_K).describe('results per page'),
  minScore: formNumber(-1, 1).optional(),
  sort,
  rerank: formBool.default(false),
  classify: formBool.default(false),
  mode,
  positive: formItems.optional().describe(PartsDoc.positive),
  negative: formItems.optional().describe(PartsDoc.negative),
}).partial({ text: true });
// the same as a JSON body: typed values instead of form strings
const SearchJson = FilterFields.extend({
  text: queryText.optional(),
  positive: QueryItems.optional().describe(PartsDoc.positive),
  negative: QueryItems.optional().describe(PartsDoc.negative),
  k: z.number().int().min(1).max(K_MAX).default(DEFAULT_SEARCH_K),
  minScore: z.number().min(-1).max(1).optional(),
  sort,
  rerank: z.boolean().default(false),
  classify: z.boolean().default(false),
  mode,
}).strict();
const SimilarQuery = FilterFields.extend({
  k: formInt(1, K_MAX).default(DEFAULT_SEARCH_K),
  minScore: formNumber(-1, 1).optional(),
  sort,
});
/** The use case's options from the fields the three forms share, and the digest of the query its cursors are bound
 *  to. */
function searchOptions(f: z.output<typeof SimilarQuery>, query: unknown) {
  const digest = pagingDigest(query, f);
  const after = searchCursorIn(f.cursor, f.sort, digest);
  return { k: f.k, minScore: f.minScore, sort: f.sort, filter: toFilter(f), after, digest };
}
/** A query's parts as its cursor is bound to them: an image by its content. */
const partInputs = (p: QueryPart) => ({
  text: p.text?.trim(),
  image: p.image && sha256(p.image),
  id: p.id,
  weight: p.weight,
});
const partsInputs = (c: CompositeQuery) => ({
  positive: c.positive.map(partInputs),
  negative: c.negative.map(partInputs),
});
const MAX_LABELS = 1000;
// duplicates merged; one label is refused: a softmax over one label is always that label, with probability 1
const Labels = listOf(ClassName, MAX_LABELS)
  .transform((labels) => [...new Set(labels)])
  .refine(
    (labels) => labels.length >= 2,
    'give at least 2 different labels: zero-shot picks among them (with one it would always answer it, with ' +
      'probability 1)',
  );
// up to MAX_LABELS repeated fields, or one JSON array of them at 200 characters of up to 4 bytes each
const CLASSIFY_FORM_LIMITS = { fields: MAX_LABELS + 10, bytes: MAX_LABELS * (200 * 4 + 3) + 1024 };
const ClassifyFields = z.object({
  k: formInt(1, 200).optional(),
  labels: Labels.optional().describe(
    'zero-shot classes, 2 to 1000: repeat the field, or one JSON array (needs an embedding model); default: the ' +
      "gallery's own labels",
  ),
  ...FewShotFields,
});
const ZeroShotOut = z
  .object({
    label: z.string().nullable(),
    candidate: z.string().nullable(),
    probability: z.number(),
    unknown: z.boolean(),
    reason: z.string().nullable(),
    scores: z.array(z.object({ label: z.string(), cosine: z.number(), probability: z.number() })),
  })
  .describe(
    'zero-shot: a softmax of the image\'s cosine to each label\'s text ("a photo of {label}") over ' +
      'LOOKALIKE_ZEROSHOT_TEMPERATURE',
  );
const AnswerOut = z
  .object({
    from: z.enum(['knn', 'probe', 'zero-shot']),
    label: z.string().nullable().describe('the class to go by, or null when unknown'),
    candidate: z.string().nullable().describe("the trusted method's top class, even when rejected"),
    confidence: z.number().describe("KNN's vote share, or the probe's or zero-shot's probability"),
    unknown: z.boolean(),
    reason: z.string().nullable(),
  })
  .nullable()
  .describe(
    "the trusted method's answer; unknown, whichever method is trusted, when the best labelled " +
      'neighbour is less similar than LOOKALIKE_KNN_MIN_SIMILARITY (zero-shot over labels given with the request ' +
      'answers by its own threshold) and, for the probe, when its probability is below LOOKALIKE_KNN_MIN_CONFIDENCE; ' +
      'null with no answer at all',
  );
const ClassificationOut = KnnOut.extend({
  zeroShot: ZeroShotOut.optional(),
  probe: ProbeOut.nullable(),
  trusted: z
    .enum(['knn', 'probe', 'zero-shot'])
    .nullable()
    .describe(
      'which answer to go by: the probe when each of its classes had at least 50 labelled pictures; else KNN when ' +
        'it answered with at least 3 neighbours of its class; else zero-shot',
    ),
  answer: AnswerOut,
});
const ClassifyOut = ClassificationOut.extend({
  fewShot: FewShotOut.optional(),
  tookMs: z.number(),
});
const SearchOut = z.object({
  results: z.array(SearchHitOut),
  next: z
    .string()
    .nullable()
    .describe('the cursor of the next page (pass it as `cursor` with the same query), or null on the last page'),
  tookMs: z.number(),
  classification: ClassificationOut.optional().describe(
    'with classify=true: what /api/classify answers (without few-shot), from the same encode',
  ),
  rerank: z
    .object({
      reranked: z.number().int(),
      cached: z.number().int(),
      complete: z.boolean().describe('false: the time budget ran out; the rest kept its embedding order'),
      tookMs: z.number(),
      judge: z
        .enum(['instruct', 'reranker'])
        .describe('who scored: the Instruct VL model (LOOKALIKE_TEXT_MODEL) or the reranker (LOOKALIKE_RERANK_MODEL)'),
    })
    .optional(),
});

export function knnOut(r: Classification['knn']) {
  return { ...r, neighbours: r.neighbours.map((n) => ({ ...n, thumbnailUrl: thumbnailUrl(n.id) })) };
}

const classificationOut = (c: Classification) => ({
  ...knnOut(c.knn),
  zeroShot: c.zeroShot,
  probe: c.probe,
  trusted: c.trusted,
  answer: c.answer,
});

const search: FastifyPluginAsyncZod = async (app) => {
  /** The search request, multipart (an image, or `text`) or JSON ({ text, ... }). */
  async function readSearch(req: FastifyRequest) {
    if (!req.isMultipart() && mediaType(req) === 'application/json') {
      const body = parseFields(SearchJson, req.body, 'JSON body');
      const parts = compositeQuery(body, new Map(), body.text !== undefined);
      if (!parts && body.text === undefined)
        throw new LookalikeError('invalid_request', 'invalid JSON body: give "text", or a "positive" list');
      const inputs = parts ? partsInputs(parts) : { text: body.text!.trim(), mode: body.mode };
      return { image: undefined, ...body, ...searchOptions(body, inputs), parts };
    }
    const { image, files, fields } = await readUpload(req, SearchFields, { imageOptional: true, namedFiles: true });
    const parts = compositeQuery(fields, files, image !== undefined || fields.text !== undefined);
    if (parts) {
      return { ...fields, ...searchOptions(fields, partsInputs(parts)), image: undefined, text: undefined, parts };
    }
    if (image && fields.text !== undefined)
      throw new LookalikeError('invalid_request', 'send an image or a text, not both');
    if (!image && fields.text === undefined)
      throw new LookalikeError(
        'missing_image',
        'no image: send the file in the multipart field "image", or words in the field "text"',
      );
    if (!image) parseFields(z.object({ text: queryText }), { text: fields.text }, 'form fields');
    const inputs = image ? { image: sha256(image) } : { text: fields.text!.trim(), mode: fields.mode };
    return { image, ...fields, ...searchOptions(fields, inputs) };
  }

  app.post(
    '/api/search',
    {
      config: {
        form: SearchFields,
        imageOptional: true,
        admitted: true,
        formLimits: { ...DEFAULT_FORM_LIMITS, files: 1 + FILES_MAX },
      },
      schema: {
        tags: ['search'],
        operationId: 'searchImages',
        security: [],
        consumes: ['multipart/form-data', 'application/json'],
        summary: 'Most similar gallery images to an uploaded photo, or to words',
        description:
          'multipart fields: image (file) or text (words; needs an embedding model); k (1-100, default 12: results ' +
          'per page); minScore (-1..1); ' +
          'filters: label, folder (path prefix), takenAfter, takenBefore, camera; sort (score, or date within ' +
          'minScore); cursor (the `next` of the page before); ' +
          'classify (true: add the KNN result, same encode); rerank (true: re-order the page with the VL model or ' +
          'the reranker); ' +
          'mode (words: vector, keyword or hybrid). ' +
          'Or a JSON body { "text": "...", "k": 12, ... } with the same fields. The results are exactly the k best ' +
          'images the filters keep. ' +
          'A query of several parts: "positive" and "negative" lists of items {text?, file?, id?, weight?} (a form ' +
          'field holding the JSON list, or arrays in a JSON body); ' +
          'an item\'s "file" names a multipart file field (up to 8, not "image"); the query vector is the weighted ' +
          'sum of the positives minus the negatives, normalised.',
        response: { 200: SearchOut, ...errorResponses(400, 409, 413, 415, 503) },
      },
    },
    async (req) => {
      const started = performance.now();
      const { search } = app.runtime.ready();
      const request = await readSearch(req);
      const answer = await search.run(request);
      const classification = answer.classification && classificationOut(answer.classification);
      const next = searchCursorOut(answer.next, request.digest);
      const tookMs = performance.now() - started;
      return { results: answer.results.map(imageOut), next, tookMs, classification, rerank: answer.rerank };
    },
  );

  app.post(
    '/api/classify',
    {
      config: { form: ClassifyFields, formLimits: CLASSIFY_FORM_LIMITS, admitted: true },
      schema: {
        tags: ['search'],
        operationId: 'classifyImage',
        security: [],
        consumes: ['multipart/form-data'],
        summary:
          'Which class an uploaded photo belongs to: weighted KNN over the labelled gallery, and zero-shot over ' +
          'class names',
        description:
          'multipart fields: image (file, required); k (neighbours that vote, default LOOKALIKE_KNN_K); labels ' +
          '(zero-shot classes, ' +
          'repeated or a JSON array, 2 to 1000, of which at most LOOKALIKE_ZEROSHOT_MAX_NEW_LABELS not embedded by ' +
          'an earlier request; needs an embedding model). ' +
          "With an embedding model and no labels, zero-shot uses the gallery's label names (when it has at least 2). " +
          'method=fewshot (needs a text model: 409 no_text_model) adds `fewShot`: the VL model is shown `examples` ' +
          '(default 3) nearest labelled images of each class, then this one (400 too_many_classes, ' +
          'too_many_examples, prompt_too_long past the limits).',
        response: { 200: ClassifyOut, ...errorResponses(400, 409, 413, 415, 503) },
      },
    },
    async (req, reply) => {
      const started = performance.now();
      const { classify } = app.runtime.ready();
      const { image, fields } = await readUpload(req, ClassifyFields);
      let answer;
      try {
        const fewShot =
          fields.method === 'fewshot' ? { classes: fields.classes, examples: fields.examples } : undefined;
        answer = await classify.run({
          image,
          k: fields.k,
          labels: fields.labels,
          fewShot,
          signal: clientGone(req, reply),
        });
      } catch (err) {
        if (!(err instanceof LabelsStoppedError)) throw err;
        req.log.info(
          `classify: the client went away; zero-shot labels stopped after ${err.embedded} new ones (${err.left} ` +
            `not embedded)`,
        );
        reply.hijack();
        reply.raw.destroy();
        return;
      }
      if (answer.embeddedLabels) req.log.info(`classify: ${answer.embeddedLabels} new zero-shot labels embedded`);
      return { ...classificationOut(answer), fewShot: answer.fewShot, tookMs: performance.now() - started };
    },
  );

  app.get(
    '/api/images/:id/similar',
    {
      schema: {
        tags: ['search'],
        operationId: 'findSimilar',
        security: [],
        summary: 'Find similar to a gallery image, from its stored vector (no re-encoding)',
        params: IdParams,
        querystring: SimilarQuery,
        response: { 200: SearchOut, ...errorResponses(400, 404, 503) },
      },
    },
    async (req) => {
      const started = performance.now();
      const { digest, ...opts } = searchOptions(req.query, { similar: req.params.id });
      const page = await app.runtime.ready().search.similar(req.params.id, opts);
      const next = searchCursorOut(page.next, digest);
      return { results: page.results.map(imageOut), next, tookMs: performance.now() - started };
    },
  );
};
export default search;
