// Every setting of lookalike, in one place: environment variables, optionally under a JSON file named by
// LOOKALIKE_CONFIG (keys are the variable names). Validated with zod; the README's table is printed from here
// (`npm run config:table`).
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { z } from 'zod';
import { VISION_POOLINGS } from './identity.js';
import { physicalCores } from './util/cpu.js';

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const num = (min: number, max: number) => z.coerce.number().min(min).max(max);
/** A word, or an integer in range: `auto`, `all`. */
const wordOrInt = <W extends string>(word: W, min: number, max: number) =>
  z
    .union([z.literal(word), int(min, max)], { error: `expected ${word} or a whole number from ${min} to ${max}` })
    .default(word);
const wordOrNum = <W extends string>(word: W, min: number, max: number) =>
  z
    .union([z.literal(word), num(min, max)], { error: `expected ${word} or a number from ${min} to ${max}` })
    .default(word);

export const GPU_MODES = ['auto', 'cuda', 'vulkan', 'metal', 'off'] as const;
/** The FAISS index kinds (src/engine/index/kinds.ts says what each is); LOOKALIKE_INDEX_KIND takes these and `auto`. */
export const INDEX_KINDS = ['flat', 'hnsw', 'ivf-sq8', 'ivf-pq'] as const;
export type GpuMode = (typeof GPU_MODES)[number];

/** Image tokens per encode when neither the settings nor the mmproj say (the published Qwen3-VL files do not). */
export const DEFAULT_TOKEN_LIMITS = { min: 64, max: 256 } as const;

/** What a 503 tells clients to wait before they ask again (Retry-After): while the models load, after a failed
 *  start, while Redis (the job queue, retried every second) cannot be reached, and after no worker answered a query. */
export const RETRY_SECONDS = { loading: 5, startupFailed: 60, queueUnavailable: 5, workersBusy: 5 } as const;

/** LOOKALIKE_DUPLICATE_THRESHOLD's `auto`. The demo's models see 28x28 pictures, where two of one kind are often
 *  nearly the same pixels: at 0.97 the demo gallery, which holds no copies, showed 56 groups, at 0.99 three. */
export const DUPLICATE_THRESHOLDS = { model: 0.97, demo: 0.99 } as const;

/** Results a search returns when it does not say (`k`): the API's and `npm run search`'s alike. */
export const DEFAULT_SEARCH_K = 12;

/** The most tokens one describe may generate: the bound of a request's maxTokens and of its default setting alike. */
export const DESCRIBE_TOKEN_LIMIT = 2048;

export const SETTINGS = {
  PORT: { schema: int(0, 65535).default(7860), doc: 'HTTP port' },
  HOST: {
    schema: z.string().default('127.0.0.1'),
    doc: 'Interface to listen on; `0.0.0.0` exposes the service (then LOOKALIKE_API_KEY is required for changes)',
  },
  LOOKALIKE_DATA_DIR: {
    schema: z.string().default('index-data'),
    doc: 'Data folder: SQLite database, FAISS index, downloaded and demo models',
  },
  LOOKALIKE_MMPROJ: {
    schema: z.string().default(''),
    doc:
      'The vision encoder: a local mmproj GGUF path or an `hf:` URI (e.g. ' +
      '`hf:Qwen/Qwen3-VL-8B-Instruct-GGUF/mmproj-Qwen3VL-8B-Instruct-F16.gguf`). Empty: the demo (a tiny ' +
      'Qwen3-VL vision tower trained on Fashion-MNIST, src/engine/demo/models)',
  },
  LOOKALIKE_TEXT_MODEL: {
    schema: z.string().default(''),
    doc:
      'Optional text GGUF of the same VL model (path or `hf:` URI): enables re-ranking and describe. `demo` ' +
      'with the demo encoder: the tiny one trained on Fashion-MNIST (describes in English and Chinese, judges ' +
      're-ranks, few-shot)',
  },
  LOOKALIKE_TEXT_MMPROJ: {
    schema: z.string().default(''),
    doc:
      "The Instruct model's own mmproj (path or `hf:` URI). Empty: `LOOKALIKE_MMPROJ` (the encoder and the " +
      'Instruct model then share one vision tower in memory; beside `LOOKALIKE_EMBED_MODEL` it must be set); ' +
      "with `LOOKALIKE_TEXT_MODEL=demo`, the vision demo's. One that differs from the encoder's is loaded beside " +
      'it, so `LOOKALIKE_EMBED_MODEL` and `LOOKALIKE_TEXT_MODEL` run together',
  },
  LOOKALIKE_EMBED_MODEL: {
    schema: z.string().default(''),
    doc:
      'A Qwen3-VL-Embedding text GGUF (path or `hf:` URI) as the embedder, with `LOOKALIKE_MMPROJ` as its ' +
      'mmproj: images and words in one space (search by text, zero-shot classes). `demo`: a tiny one trained on ' +
      'Fashion-MNIST with English and Chinese class names (with its own mmproj). Empty: the Instruct mmproj ' +
      'alone (images only)',
  },
  LOOKALIKE_EMBED_DIM: {
    schema: int(0, 65536).default(0),
    doc:
      "Keep the first N dims of the embedding model's vectors (Matryoshka), re-normalised; 0: all. Part of the " +
      'model id: a folder made at one N refuses another',
  },
  LOOKALIKE_EMBED_ITEM_INSTRUCTION: {
    schema: z.string().min(1).max(1000).default("Represent the user's input."),
    doc: 'System turn of the embedding model for gallery images and image queries (part of the model id)',
  },
  LOOKALIKE_EMBED_QUERY_INSTRUCTION: {
    schema: z.string().min(1).max(1000).default("Retrieve images or text relevant to the user's query."),
    doc: 'System turn of the embedding model for text queries and zero-shot labels',
  },
  LOOKALIKE_RERANK_MODEL: {
    schema: z.string().default(''),
    doc:
      'A Qwen3-VL-Reranker GGUF (path or `hf:` URI) to re-rank image and text queries, with ' +
      '`LOOKALIKE_RERANK_MMPROJ`. `demo`: a tiny one trained on Fashion-MNIST ' +
      '(`src/engine/demo/models/reranker.json`)',
  },
  LOOKALIKE_RERANK_MMPROJ: {
    schema: z.string().default(''),
    doc:
      "The reranker's mmproj (path or `hf:` URI); empty with `LOOKALIKE_RERANK_MODEL=demo`: the embedding " +
      "demo's mmproj (whatever the embedder), which it was trained with",
  },
  LOOKALIKE_RERANK_INSTRUCTION: {
    schema: z
      .string()
      .min(1)
      .max(1000)
      .default('Given a search query, retrieve relevant candidates that answer the query.'),
    doc: "The reranker's `<Instruct>`",
  },
  LOOKALIKE_ZEROSHOT_TEMPLATE: {
    schema: z
      .string()
      .regex(/\{label\}/, 'must contain {label}')
      .max(500)
      .default('a photo of {label}'),
    doc: 'How a class name becomes the text that zero-shot classification embeds',
  },
  LOOKALIKE_ZEROSHOT_TEMPERATURE: {
    schema: num(0.0001, 10).default(0.02),
    doc:
      'Zero-shot probabilities are a softmax of cosine / T (`npm run evaluate -- --zero-shot` fits T on your ' +
      'labelled gallery)',
  },
  LOOKALIKE_ZEROSHOT_MIN_PROBABILITY: {
    schema: num(0, 1).default(0.5),
    doc: 'Below this top probability the zero-shot answer is `unknown`',
  },
  LOOKALIKE_ZEROSHOT_MAX_NEW_LABELS: {
    schema: int(1, 1000).default(32),
    doc:
      'Zero-shot labels a request may bring that are not embedded yet (each costs one text encode; embedded ' +
      'labels are cached): more is 413 `too_many_new_labels`',
  },
  LOOKALIKE_CAPTIONS: {
    schema: z.enum(['off', 'on']).default('off'),
    doc:
      '`on`: the Instruct model (`LOOKALIKE_TEXT_MODEL`) captions every image in the background and reads the ' +
      'words it shows, for keyword and hybrid search (`mode`); `npm run captions` does the same from the command ' +
      'line. With `LOOKALIKE_REDIS_URL`, the workers started with the same `LOOKALIKE_TEXT_MODEL` caption instead',
  },
  LOOKALIKE_CAPTION_LANGUAGES: {
    schema: z
      .string()
      .regex(/^(en|zh)(,(en|zh))*$/, 'a comma-separated list of en and zh')
      .default('en'),
    doc:
      'The languages of the captions: `en` (Describe this image.), `zh` (请用中文描述这张图片), or `en,zh`: one ' +
      'generation each',
  },
  LOOKALIKE_LORA: {
    schema: z.string().default(''),
    doc: 'Optional LoRA adapter GGUF for the text model (path or `hf:` URI)',
  },
  LOOKALIKE_LORA_SCALE: { schema: z.coerce.number().min(-10).max(10).default(1), doc: 'Strength of the LoRA adapter' },
  LOOKALIKE_CONTEXT: {
    schema: int(256, 262144).default(4096),
    doc: 'Text model context, in tokens (images count: 64-256 each by default)',
  },
  LOOKALIKE_MODELS_DIR: {
    schema: z.string().default(''),
    doc: 'Where `hf:` models are downloaded; default `<data dir>/models`',
  },
  LOOKALIKE_THREADS: {
    schema: wordOrInt('auto', 1, 256),
    doc:
      "CPU threads per encode and per text-model step; `auto`: the number of physical cores (1 for the demo's " +
      'tiny models)',
  },
  LOOKALIKE_GPU: {
    schema: z.enum(GPU_MODES).default('auto'),
    doc:
      '`auto`: CUDA, then Vulkan, else the CPU (the log says why each was skipped); `cuda`, `vulkan`: that one ' +
      'or stop with a message; `metal`: macOS only (not built); `off`: the CPU',
  },
  LOOKALIKE_GPU_LAYERS: {
    schema: wordOrInt('all', 0, 10_000),
    doc: 'Text-model layers offloaded to the GPU (with their KV cache) when a GPU is used; `all` or a number',
  },
  LOOKALIKE_MIN_TOKENS: {
    schema: wordOrInt('auto', 1, 16384),
    doc:
      `Minimum image tokens per encode (one token per 32x32 px); \`auto\`: what the mmproj says it was trained ` +
      `at (llama.cpp's \`clip.vision.image_min_pixels\` key, as the demo's files have), ` +
      `else ${DEFAULT_TOKEN_LIMITS.min}`,
  },
  LOOKALIKE_MAX_TOKENS: {
    schema: wordOrInt('auto', 1, 16384),
    doc:
      `Maximum image tokens per encode: larger images are scaled down to fit; \`auto\`: the mmproj's own ` +
      `(\`clip.vision.image_max_pixels\`), else ${DEFAULT_TOKEN_LIMITS.max}`,
  },
  LOOKALIKE_POOLING: {
    schema: z.enum(VISION_POOLINGS).default('mean'),
    doc: '`mean`: mean of the main projector slice; `mean-deepstack`: the full width with the deepstack slices',
  },
  LOOKALIKE_INDEX_KIND: {
    schema: z
      .enum(['auto', ...INDEX_KINDS], {
        error: (i) =>
          i.input === 'sq8'
            ? 'sq8 was dropped (slower than flat here): use ivf-sq8 (as small, faster) or flat'
            : undefined,
      })
      .default('auto'),
    doc:
      'FAISS index kind (see "Index kinds"); `auto`: the kind the data folder already has, `flat` for a new ' +
      "one. Another kind than the folder's replaces its index",
  },
  LOOKALIKE_HNSW_M: { schema: int(4, 128).default(32), doc: 'HNSW graph degree' },
  LOOKALIKE_EF_SEARCH: { schema: int(1, 4096).default(128), doc: 'HNSW search breadth' },
  LOOKALIKE_NPROBE: { schema: int(1, 65536).default(16), doc: 'IVF lists visited per query' },
  LOOKALIKE_EXACT_CANDIDATES: {
    schema: int(1, 10_000).default(100),
    doc:
      'ivf-pq: candidates re-scored with the stored vectors, so its scores are exact cosines (more: better ' +
      'recall, slower)',
  },
  LOOKALIKE_WARM_UP: {
    schema: z.enum(['off', 'on']).default('on'),
    doc:
      'ivf-pq: after a start, read the database file into the page cache in the background, pausing while ' +
      'searches run, so that re-scoring stops reading from the disk (see "A million images")',
  },
  LOOKALIKE_KNN_K: { schema: int(1, 200).default(20), doc: 'Neighbours that vote in classification' },
  LOOKALIKE_KNN_TEMPERATURE: { schema: num(0.001, 10).default(0.07), doc: 'Vote weight is exp(similarity / T)' },
  LOOKALIKE_KNN_MIN_SIMILARITY: {
    schema: num(-1, 1).default(0.5),
    doc: 'Below this best similarity the answer is `unknown`',
  },
  LOOKALIKE_KNN_MIN_CONFIDENCE: {
    schema: num(0, 1).default(0.5),
    doc: 'Below this vote share the answer is `unknown`',
  },
  LOOKALIKE_DUPLICATE_THRESHOLD: {
    schema: wordOrNum('auto', -1, 1),
    doc:
      `Similarity at which two images are near duplicates (\`npm run bench:duplicates\` measures it for the ` +
      `configured model); \`auto\`: ${DUPLICATE_THRESHOLDS.model}, and ${DUPLICATE_THRESHOLDS.demo} for the ` +
      `demo's models`,
  },
  LOOKALIKE_TRASH_DAYS: {
    schema: num(0.000001, 36_500).default(30),
    doc:
      'Days a deleted image stays in the trash (restorable, out of search) before it is deleted for good; ' +
      'fractions of a day too',
  },
  LOOKALIKE_API_KEY: {
    schema: z.string().default(''),
    doc: 'Bearer key for routes that change the gallery; required when HOST is not loopback',
  },
  LOOKALIKE_MAX_UPLOAD_MB: { schema: num(0.001, 1024).default(20), doc: 'Largest upload accepted' },
  LOOKALIKE_MAX_PIXELS: {
    schema: int(1, 2 ** 31 - 1).default(50_000_000),
    doc: 'Largest decoded image (width x height) accepted',
  },
  LOOKALIKE_QUEUE_SIZE: {
    schema: int(1, 1000).default(8),
    doc: 'Requests that may wait for the encoder; beyond it: 503 with Retry-After',
  },
  LOOKALIKE_RATE_LIMIT: {
    schema: int(0, 1_000_000).default(0),
    doc: 'Requests per minute per client; 0 turns rate limiting off',
  },
  LOOKALIKE_RERANK_TOP_N: { schema: int(1, 100).default(10), doc: 'Candidates the VL model re-scores' },
  LOOKALIKE_RERANK_BUDGET_MS: {
    schema: int(1, 3_600_000).default(60_000),
    doc:
      'Time budget for one re-rank: it answers by then with what was scored; candidates not reached keep their ' +
      'embedding order',
  },
  LOOKALIKE_FEWSHOT_MAX_CLASSES: {
    schema: int(2, 50).default(5),
    doc:
      'Classes one few-shot prompt may hold (`/api/classify` with `method=fewshot`); more given: 400 ' +
      '`too_many_classes`; none given: the first this many of the KNN vote',
  },
  LOOKALIKE_FEWSHOT_MAX_EXAMPLES: {
    schema: int(1, 20).default(5),
    doc:
      'Example images per class a few-shot request may ask for (`examples`, default 3); more: 400 ' +
      '`too_many_examples`',
  },
  LOOKALIKE_DESCRIBE_MAX_TOKENS: {
    schema: int(1, DESCRIBE_TOKEN_LIMIT).default(256),
    doc: `Default maxTokens of describe (1-${DESCRIBE_TOKEN_LIMIT}, the most a request may ask for)`,
  },
  LOOKALIKE_REDIS_URL: {
    schema: z
      .string()
      .regex(/^(redis:\/\/.+)?$/, 'a redis:// URL')
      .default(''),
    doc:
      'Redis for encoding jobs (`redis://host:6379`): workers (`npm run worker`) encode, this process writes. ' +
      'Empty: everything in one process',
  },
  LOOKALIKE_JOB_QUEUE: {
    schema: z
      .string()
      .regex(/^[\w.-]+$/)
      .default('lookalike'),
    doc: 'Prefix of the job queues in Redis, followed by the model id (one writer per name and model)',
  },
  LOOKALIKE_JOB_ATTEMPTS: {
    schema: int(1, 100).default(3),
    doc: 'Tries of an encoding job before it fails (with backoff; the reason is kept and listed)',
  },
  LOOKALIKE_JOB_LOCK_SECONDS: {
    schema: int(1, 3600).default(30),
    doc: 'How long a worker holds a job without renewing its lock: a worker that died gives its job back after this',
  },
  LOOKALIKE_QUERY_ENCODER: {
    schema: z.enum(['local', 'queue']).default('local'),
    doc: '`local`: the server encodes queries itself; `queue`: it loads no model and sends queries to the workers',
  },
  LOOKALIKE_QUERY_TIMEOUT_MS: {
    schema: int(100, 3_600_000).default(30_000),
    doc: 'How long a query sent to the workers may take before the request answers 503',
  },
  LOOKALIKE_METRICS_PORT: {
    schema: int(0, 65535).default(0),
    doc:
      'A worker serves its Prometheus metrics on this port of HOST (0: off; beyond loopback only with ' +
      'LOOKALIKE_API_KEY)',
  },
  LOOKALIKE_LOG_LEVEL: {
    schema: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    doc: 'Server log level',
  },
} as const;

type Settings = typeof SETTINGS;
export type Config = { [K in keyof Settings]: z.output<Settings[K]['schema']> } & {
  dataDir: string;
  modelsDir: string;
  /** LOOKALIKE_THREADS resolved to a number. */
  threads: number;
  /** LOOKALIKE_GPU_LAYERS as libllama takes it: negative for all. */
  gpuLayers: number;
  /** LOOKALIKE_DUPLICATE_THRESHOLD resolved to a number. */
  duplicateThreshold: number;
};

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  let file: Record<string, unknown> = {};
  if (env.LOOKALIKE_CONFIG) {
    try {
      file = JSON.parse(readFileSync(env.LOOKALIKE_CONFIG, 'utf8')) as Record<string, unknown>;
    } catch (err) {
      throw new ConfigError(`LOOKALIKE_CONFIG=${env.LOOKALIKE_CONFIG}: ${(err as Error).message}`);
    }
  }
  const out: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const key of Object.keys(file)) {
    if (!(key in SETTINGS))
      problems.push(
        `${key} in ${env.LOOKALIKE_CONFIG}: not a setting (did you mean ${closest(key, Object.keys(SETTINGS))}?)`,
      );
  }
  for (const [name, { schema }] of Object.entries(SETTINGS)) {
    const raw = env[name] !== undefined && env[name] !== '' ? env[name] : file[name];
    const parsed = (schema as z.ZodType).safeParse(raw);
    if (parsed.success) out[name] = parsed.data;
    else problems.push(`${name}=${JSON.stringify(raw)}: ${parsed.error.issues.map((i) => i.message).join('; ')}`);
  }
  if (problems.length) throw new ConfigError(`invalid settings:\n  ${problems.join('\n  ')}`);
  const cfg = out as Config;
  if (
    cfg.LOOKALIKE_MIN_TOKENS !== 'auto' &&
    cfg.LOOKALIKE_MAX_TOKENS !== 'auto' &&
    cfg.LOOKALIKE_MIN_TOKENS > cfg.LOOKALIKE_MAX_TOKENS
  )
    throw new ConfigError('LOOKALIKE_MIN_TOKENS is larger than LOOKALIKE_MAX_TOKENS');
  cfg.dataDir = resolve(cfg.LOOKALIKE_DATA_DIR);
  cfg.modelsDir = resolve(cfg.LOOKALIKE_MODELS_DIR || `${cfg.dataDir}/models`);
  // the demo's models encode a picture in about a millisecond, less than waking a second ggml thread costs: with other
  // processes on both cores, 2 threads took 576 ms an image against 1.3 ms for 1 (measured on this project's machines)
  cfg.threads =
    cfg.LOOKALIKE_THREADS !== 'auto' ? cfg.LOOKALIKE_THREADS : cfg.LOOKALIKE_MMPROJ === '' ? 1 : physicalCores();
  cfg.gpuLayers = cfg.LOOKALIKE_GPU_LAYERS === 'all' ? -1 : cfg.LOOKALIKE_GPU_LAYERS;
  const autoThreshold = cfg.LOOKALIKE_MMPROJ === '' ? DUPLICATE_THRESHOLDS.demo : DUPLICATE_THRESHOLDS.model;
  cfg.duplicateThreshold =
    cfg.LOOKALIKE_DUPLICATE_THRESHOLD === 'auto' ? autoThreshold : cfg.LOOKALIKE_DUPLICATE_THRESHOLD;
  return cfg;
}

/** The candidate nearest to `word` by edit distance, for "did you mean" messages. */
export function closest(word: string, candidates: string[]): string {
  const distance = (a: string, b: string) => {
    let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
    for (let i = 1; i <= a.length; i++) {
      const row = [i];
      for (let j = 1; j <= b.length; j++)
        row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = row;
    }
    return prev[b.length]!;
  };
  const d = (c: string) => distance(word.toLowerCase(), c.toLowerCase()); // settings are upper case, flags lower
  return candidates.reduce((best, c) => (d(c) < d(best) ? c : best));
}

/**
 * A token-limit setting as the encoders take it: undefined for `auto` (the model file's own limits, else the defaults).
 */
export function tokenSetting(value: number | 'auto'): number | undefined {
  return value === 'auto' ? undefined : value;
}

/** A setting's default: the one place defaults live (the encoder and the VL model take theirs from here too). */
export function settingDefault<K extends keyof Settings>(name: K): z.output<Settings[K]['schema']> {
  return (SETTINGS[name].schema as z.ZodType).parse(undefined) as z.output<Settings[K]['schema']>;
}

/** The README's configuration table. */
export function settingsTable(): string {
  const rows = Object.entries(SETTINGS).map(([name, { schema, doc }]) => {
    const def = (schema as z.ZodType).parse(undefined);
    return `| \`${name}\` | ${def === '' ? '(empty)' : `\`${String(def)}\``} | ${doc} |`;
  });
  return ['| variable | default | meaning |', '|---|---|---|', ...rows].join('\n');
}
