// A query built from several parts (`positive` and `negative` lists on /api/search): each item is words, an uploaded
// image (a multipart file field it names), both as one input, or a stored image id, with a weight. Parsed and checked
// here; the query vector is made by the Search use case.
import { z } from 'zod';
import { LookalikeError } from '../../core/errors.js';
import type { CompositeQuery } from '../../application/usecases/search.js';

const PARTS_MAX = 16;
/** A weight's size: beyond these a weighted sum of unit vectors overflows to NaN or sinks below float32's precision. */
export const WEIGHT_MIN = 1e-6;
export const WEIGHT_MAX = 1e6;
/** Characters of words in one query or item. */
export const TEXT_MAX = 2000;
export const FILES_MAX = 8; // uploaded images a query may name, besides "image"
const QueryItem = z
  .object({
    text: z
      .string()
      .max(TEXT_MAX)
      .refine((t) => t.trim().length > 0, 'the text is empty')
      .optional()
      .describe('words (need an embedding model)'),
    file: z
      .string()
      .min(1)
      .max(100)
      .optional()
      .describe(
        'multipart only: the name of the file field that holds an image (not "image"); with "text", image and ' +
          'words are one input',
      ),
    id: z.number().int().min(1).optional().describe('a gallery image: its stored vector'),
    weight: z
      .number({ error: 'a weight is a finite number, like 2 or 0.5' })
      .refine((w) => w !== 0, 'a weight of 0 adds nothing: leave the item out')
      .refine(
        (w) => Math.abs(w) >= WEIGHT_MIN && Math.abs(w) <= WEIGHT_MAX,
        `a weight is between ${WEIGHT_MIN} and ${WEIGHT_MAX} in size (or as much below 0)`,
      )
      .default(1),
  })
  .strict()
  .refine(
    (i) => i.id !== undefined || i.text !== undefined || i.file !== undefined,
    'an item needs words ("text"), an uploaded image ("file") or a gallery image ("id")',
  )
  .refine(
    (i) => i.id === undefined || (i.text === undefined && i.file === undefined),
    'an id goes alone (its stored vector is used): give words or an image as another item',
  );
type QueryItem = z.output<typeof QueryItem>;
export const QueryItems = z
  .array(QueryItem)
  .min(1, 'the list is empty: give at least one item, or leave the list out')
  .max(PARTS_MAX);
/** In a form: one field holding the list as JSON (or a part sent as application/json). */
export const formItems = z.preprocess((v) => {
  if (typeof v !== 'string') return v;
  try {
    return JSON.parse(v) as unknown;
  } catch {
    return v;
  }
}, QueryItems);
export const PartsDoc = {
  positive:
    'what to search for: a JSON list of items {text?, file?, id?, weight?} (weight: 1e-6 to 1e6, or -1e6 to ' +
    '-1e-6; default 1); the query is the weighted sum of the items, minus that of "negative", normalised',
  negative: 'what to move away from: items as in "positive", subtracted from the query vector',
};

/** The parts of a query built from several, with the uploaded files its items name; undefined for a plain query. */
export function compositeQuery(
  fields: { positive?: QueryItem[]; negative?: QueryItem[] },
  files: Map<string, Buffer>,
  single: boolean,
): CompositeQuery | undefined {
  const unused = [...files.keys()].find(
    (name) => ![...(fields.positive ?? []), ...(fields.negative ?? [])].some((i) => i.file === name),
  );
  if (unused !== undefined)
    throw new LookalikeError(
      'wrong_field',
      `unexpected file field "${unused}": send the image in the field "image", or name the field in an item of ` +
        `"positive" or "negative" ({"file": "${unused}"})`,
    );
  if (!fields.positive && !fields.negative) return undefined;
  if (!fields.positive)
    throw new LookalikeError(
      'invalid_request',
      '"negative" needs a "positive" list: a query of only what to avoid points nowhere',
    );
  if (single)
    throw new LookalikeError(
      'invalid_request',
      'send "positive" (and "negative") lists, or an image or a text, not both',
    );
  const part = (where: string) => (i: QueryItem, n: number) => {
    const image = i.file === undefined ? undefined : files.get(i.file);
    if (i.file !== undefined && !image)
      throw new LookalikeError(
        'invalid_request',
        `${where}[${n}] names the file field "${i.file}", and the request has none by that name (a JSON body has ` +
          `no files: send multipart)`,
      );
    return { text: i.text, image, id: i.id, weight: i.weight };
  };
  return { positive: fields.positive.map(part('positive')), negative: (fields.negative ?? []).map(part('negative')) };
}
