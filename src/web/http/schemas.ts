// Response shapes shared by the routes (zod: validated on the way out, and documented in OpenAPI at /docs).
import { z } from 'zod';
import { TAKEN_FROM } from '../../core/domain/records.js';

export const ImageOut = z.object({
  id: z.number().int(),
  label: z.string().nullable(),
  source: z.string().nullable().describe('file path relative to the indexed folder, or the uploaded file name'),
  width: z.number().int(),
  height: z.number().int(),
  bytes: z.number().int(),
  sha256: z.string(),
  addedAt: z.string(),
  takenAt: z
    .string()
    .describe(
      'when the photo was taken, ISO 8601: with its offset when EXIF gives one, else a local time without one (see ' +
        'takenFrom)',
    ),
  takenFrom: z
    .enum(TAKEN_FROM)
    .describe(
      "where takenAt comes from: EXIF DateTimeOriginal, the file's modification time (index builder), " +
        'the time of upload (no EXIF date), or when it was added (a row from before metadata; npm run index -- ' +
        '<folder> reads its file again)',
    ),
  cameraMake: z.string().nullable(),
  cameraModel: z.string().nullable(),
  lens: z.string().nullable(),
  latitude: z.number().nullable().describe('GPS position from EXIF, degrees'),
  longitude: z.number().nullable(),
  thumbnailUrl: z.string(),
});

export const SearchHitOut = ImageOut.extend({
  score: z
    .number()
    .describe(
      'cosine similarity of the embeddings, -1..1; with mode=keyword the bm25 score ' +
        '(higher: better), with mode=hybrid the reciprocal rank fusion score',
    ),
  rerankScore: z.number().nullable().optional().describe('P(yes) from the VL model, when re-ranked'),
});

export const KnnOut = z.object({
  label: z.string().nullable().describe('predicted class, or null when unknown'),
  candidate: z.string().nullable().describe('the top class even when rejected'),
  confidence: z.number(),
  unknown: z.boolean(),
  reason: z.string().nullable(),
  bestSimilarity: z.number().nullable(),
  votes: z.array(z.object({ label: z.string(), count: z.number().int(), weight: z.number(), share: z.number() })),
  neighbours: z.array(
    z.object({ id: z.number().int(), score: z.number(), label: z.string().nullable(), thumbnailUrl: z.string() }),
  ),
});

export const ProbeOut = z
  .object({
    label: z.string(),
    probability: z.number(),
    scores: z
      .array(z.object({ label: z.string(), probability: z.number() }))
      .describe('every class the probe knows, most probable first; the probabilities sum to 1'),
    trainedOn: z.number().int().describe('labelled vectors it was trained on'),
    fewestPerClass: z.number().int().describe('the fewest labelled vectors any of its classes had'),
  })
  .describe(
    "the linear probe: a softmax (multinomial logistic) regression trained on the gallery's labelled vectors in " +
      'the background; ' +
      'null until one is trained (at least 2 labelled classes), and after a label change it answers from the ' +
      'previous training until the next lands',
  );

/** A class name (a gallery label, a zero-shot label): trimmed; empty, too long or with control characters refused. */
export const ClassName = z
  .string()
  .trim()
  .min(1, 'a label is empty or only spaces')
  .max(200, 'a label has at most 200 characters')
  .refine((s) => !/\p{Cc}/u.test(s), 'a label may not hold control characters (line breaks, tabs, ...)');

// decimal digits only: no 0x20, 1e0, +33, 33.0 or spaces (Number() would take each of them)
const imageId = z.preprocess(
  (v) => (typeof v === 'string' && /^[0-9]+$/.test(v) ? Number(v) : v),
  z
    .number({
      error: (issue) =>
        issue.code === 'invalid_type' ? 'an image id is a whole number in decimal digits, like 12' : undefined,
    })
    .int()
    .positive(),
); // int(): at most Number.MAX_SAFE_INTEGER
export const IdParams = z.object({ id: imageId });

export function thumbnailUrl(id: number): string {
  return `/api/images/${id}/thumbnail`;
}

export function imageOut<T extends { id: number }>(r: T): T & { thumbnailUrl: string } {
  return { ...r, thumbnailUrl: thumbnailUrl(r.id) };
}

export const DeviceOut = z.object({
  kind: z.enum(['cpu', 'gpu']),
  name: z.string().describe('ggml device: CPU, Vulkan0, CUDA0, ...'),
  description: z
    .string()
    .describe('e.g. "Vulkan0 (llvmpipe (LLVM 15.0.6, 256 bits))" or "CPU, 2 threads, ggml zen4 kernels"'),
  backend: z.string(),
  memoryFree: z
    .number()
    .nullable()
    .describe('bytes free on the GPU, where ggml reports it (0 when it does not); null on the CPU'),
  memoryTotal: z.number().nullable(),
  threads: z.number().int().describe('CPU threads per encode and per text-model step'),
  cpuVariant: z.string().nullable().describe('the ggml CPU kernels loaded (libggml-cpu-<variant>.so)'),
  visionTower: z.string().describe('where the vision tower runs, as llama.cpp reported at load: CPU, Vulkan0, CUDA0'),
  textLayersOnGpu: z
    .number()
    .int()
    .nullable()
    .describe('text-model layers (of the VL model, when loaded) that llama.cpp offloaded to the GPU'),
});
