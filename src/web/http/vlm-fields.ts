// The request fields and answers of the VL model's features: `/api/classify` with `method=fewshot`, and describe's
// `history` (follow-up questions).
import { z } from 'zod';
import { DEFAULT_FEWSHOT_EXAMPLES } from '../../application/usecases/few-shot.js';
import { ClassName } from './schemas.js';
import { formInt, listOf } from './upload.js';

export const FewShotFields = {
  method: z
    .enum(['knn', 'fewshot'])
    .default('knn')
    .describe(
      'knn (default): KNN, and zero-shot with an embedding model; fewshot: also ask the VL model with labelled ' +
        'example images (needs LOOKALIKE_TEXT_MODEL)',
    ),
  classes: listOf(ClassName, 1000)
    .transform((l) => [...new Set(l)])
    .optional()
    .describe(
      'few-shot candidate classes (gallery labels), repeated or a JSON array, at most ' +
        'LOOKALIKE_FEWSHOT_MAX_CLASSES; default: the first of the KNN vote',
    ),
  examples: formInt(1, 1000)
    .default(DEFAULT_FEWSHOT_EXAMPLES)
    .describe('few-shot example images per class, at most LOOKALIKE_FEWSHOT_MAX_EXAMPLES'),
};

export const FewShotOut = z
  .object({
    label: z.string(),
    probability: z.number(),
    scores: z.array(z.object({ label: z.string(), probability: z.number(), examples: z.number().int() })),
    modelCalls: z.number().int().describe('VL model calls: one, and one more per point where class names part ways'),
    promptTokens: z.number().int(),
    tookMs: z.number(),
    note: z.string().optional(),
  })
  .describe(
    "few-shot: the VL model shown each class's nearest labelled images, then this one; probabilities of the class " +
      "names' tokens, summing to 1",
  );

/** Messages a request may send (beyond it: 400), so that a client may send its whole conversation and let it be cut. */
export const MAX_HISTORY_MESSAGES = 100;
export const MAX_MESSAGE_CHARS = 4000;

export const HistoryMessage = z
  .object({ role: z.enum(['user', 'assistant']), text: z.string().max(MAX_MESSAGE_CHARS) })
  .strict();

/**
 * The `history` form field: a JSON array of {role, text}, alternating user and assistant, from a question to its
 * answer.
 */
export const History = z
  .preprocess((v) => {
    if (typeof v !== 'string') return v;
    try {
      return JSON.parse(v) as unknown;
    } catch {
      return v;
    }
  }, z.array(HistoryMessage).max(MAX_HISTORY_MESSAGES))
  .refine(
    (h) => h.every((m, i) => m.role === (i % 2 === 0 ? 'user' : 'assistant')) && h.length % 2 === 0,
    'history alternates {"role":"user"} and {"role":"assistant"} messages, from the first question to the last answer',
  );

/** The describe form's limits, room for a history: 128 KiB of text fields together (more: 413 fields_too_large). */
export const HISTORY_FORM_LIMITS = { fields: 20, bytes: 128 * 1024 };
