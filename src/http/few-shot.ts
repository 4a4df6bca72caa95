// `/api/classify` with `method=fewshot`: its form fields and answer, and the glue from an upload to src/vlm/few-shot.ts
// (candidate classes from the KNN vote, examples from the gallery's nearest images of each class).
import { z } from 'zod';
import type { Config } from '../config.js';
import { LookalikeError } from '../errors.js';
import type { Gallery } from '../gallery/gallery.js';
import type { KnnResult } from '../knn/knn.js';
import { checkFewShotRequest, classifyFewShot, DEFAULT_FEWSHOT_EXAMPLES, pickExamples, type FewShotLimits, type FewShotResult } from '../vlm/few-shot.js';
import type { VisionLanguageModel } from '../vlm/vision-language-model.js';
import { ClassName } from './schemas.js';
import { formInt, listOf } from './upload.js';

export const FewShotFields = {
  method: z.enum(['knn', 'fewshot']).default('knn')
    .describe('knn (default): KNN, and zero-shot with an embedding model; fewshot: also ask the VL model with labelled example images (needs LOOKALIKE_TEXT_MODEL)'),
  classes: listOf(ClassName, 1000).transform((l) => [...new Set(l)]).optional()
    .describe('few-shot candidate classes (gallery labels), repeated or a JSON array, at most LOOKALIKE_FEWSHOT_MAX_CLASSES; default: the first of the KNN vote'),
  examples: formInt(1, 1000).default(DEFAULT_FEWSHOT_EXAMPLES).describe('few-shot example images per class, at most LOOKALIKE_FEWSHOT_MAX_EXAMPLES'),
};

export const FewShotOut = z.object({
  label: z.string(), probability: z.number(),
  scores: z.array(z.object({ label: z.string(), probability: z.number(), examples: z.number().int() })),
  modelCalls: z.number().int().describe('VL model calls: one, and one more per point where class names part ways'),
  promptTokens: z.number().int(), tookMs: z.number(),
  note: z.string().optional(),
}).describe('few-shot: the VL model shown each class\'s nearest labelled images, then this one; probabilities of the class names\' tokens, summing to 1');

export const DEMO_FEWSHOT_NOTE = 'the demo text model has random weights: this answer is noise, not a judgement; load a real VL model with LOOKALIKE_TEXT_MODEL';

const limitsOf = (cfg: Config): FewShotLimits => ({ maxClasses: cfg.LOOKALIKE_FEWSHOT_MAX_CLASSES, maxExamples: cfg.LOOKALIKE_FEWSHOT_MAX_EXAMPLES });

/** Checks a few-shot request before any work: the model is there (409), the classes and examples within limits (400). */
export function checkFewShot(vlm: VisionLanguageModel | null, fields: { classes?: string[]; examples: number }, cfg: Config): VisionLanguageModel {
  if (!vlm) throw new LookalikeError('no_text_model', 'few-shot classification needs the full VL model: this server has no text model (set LOOKALIKE_TEXT_MODEL, see README)', 409);
  checkFewShotRequest(fields.classes, fields.examples, limitsOf(cfg));
  return vlm;
}

/** Few-shot answer for an upload; the upload itself (when it is in the gallery) is never one of its examples. */
export async function fewShotForUpload(vlm: VisionLanguageModel, gallery: Gallery, upload: { image: Buffer; sha256: string; vector: Float32Array }, knn: KnnResult,
  fields: { classes?: string[]; examples: number }, cfg: Config): Promise<FewShotResult & { tookMs: number; note?: string }> {
  const started = performance.now();
  const self = gallery.embeddedIdBySha(upload.sha256);
  const voted = knn.votes.map((v) => v.label);
  const source = {
    labels: () => [...voted, ...gallery.labels().map((l) => l.label).filter((l) => !voted.includes(l))],
    nearest: async (label: string, k: number) => (await gallery.search(upload.vector, { k, label, excludeId: self })).map((r) => r.id),
    load: async (id: number) => vlm.decode(gallery.thumbnail(id)),
  };
  const classes = await pickExamples(source, fields.classes, fields.examples, limitsOf(cfg));
  const result = await classifyFewShot(vlm, await vlm.decode(upload.image), classes);
  return { ...result, tookMs: performance.now() - started, note: cfg.LOOKALIKE_TEXT_MODEL === 'demo' ? DEMO_FEWSHOT_NOTE : undefined };
}
