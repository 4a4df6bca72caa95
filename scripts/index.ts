// npm run index -- <folder> [options]: builds or extends the gallery from a folder of images. See --help.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import {
  buildIndex,
  formatSummary,
  parseLabelList,
  type BuildEncoder,
} from '../src/application/usecases/build-index.js';
import { JobWriter } from '../src/application/jobs/writer.js';
import { RedisLink } from '../src/application/jobs/redis-link.js';
import { describeDevice, weightTypeAdvice } from '../src/engine/accel/acceleration.js';
import { describeEmbedder, galleryDir, knnOptions, localEmbedder } from '../src/application/models/model-set.js';
import { openGallery } from '../src/application/runtime/compose.js';
import { leaveOneOut } from '../src/engine/knn/evaluate.js';
import { formatEvaluation } from '../src/engine/knn/report.js';
import type { Config } from '../src/core/config.js';
import { parseCli, runCli, UsageError } from './cli-common.js';

const USAGE = 'Usage: npm run index -- <image folder> [options]';
const REDIS_START_WAIT_MS = 10_000;
const OPTIONS = {
  mmproj: {
    type: 'string',
    env: 'LOOKALIKE_MMPROJ',
    help: 'encoder mmproj: path or hf: URI (empty: only with --demo)',
  },
  'embed-model': {
    type: 'string',
    env: 'LOOKALIKE_EMBED_MODEL',
    help: "Qwen3-VL-Embedding GGUF, with --mmproj (demo: the demo's)",
  },
  demo: { type: 'boolean', help: 'no model of your own: the demo model (Fashion-MNIST only), in its own data folder' },
  'labels-from-folders': {
    type: 'boolean',
    help: 'label each image with its first-level sub-folder name (ImageFolder layout)',
  },
  labels: { type: 'string', help: 'CSV or list file of "path,label" lines (paths relative to the file)' },
  force: { type: 'boolean', help: 're-embed images that are already embedded for this model' },
  'switch-model': { type: 'boolean', help: 'bind the data folder to this model (re-index after changing models)' },
  evaluate: { type: 'boolean', help: 'after indexing, print a leave-one-out KNN evaluation of the labelled images' },
  queue: { type: 'boolean', help: 'encode on the workers of LOOKALIKE_REDIS_URL (npm run worker) instead of here' },
  redis: { type: 'string', env: 'LOOKALIKE_REDIS_URL', help: 'Redis URL for --queue (redis://host:port)' },
} as const;

/** The --labels file: a malformed one is bad usage (exit 2), named. */
function readLabels(file: string): Map<string, string> {
  try {
    return parseLabelList(readFileSync(file, 'utf8'), dirname(resolve(file)));
  } catch (err) {
    throw new UsageError(`the labels file ${file}: ${(err as Error).message}`);
  }
}

/** Without a model of one's own the photos would go into the demo's folder, encoded by a model that knows only
 *  Fashion-MNIST: that takes --demo (or the demo embedding model named), never an unset variable. */
function checkModelChoice(config: Config, demo: boolean): void {
  const { LOOKALIKE_MMPROJ: mmproj, LOOKALIKE_EMBED_MODEL: embed } = config;
  if (demo && (mmproj !== '' || (embed !== '' && embed !== 'demo'))) {
    throw new UsageError(
      '--demo indexes with the demo models: give it without LOOKALIKE_MMPROJ (--mmproj), and with ' +
        'LOOKALIKE_EMBED_MODEL (--embed-model) empty or demo',
    );
  }
  if (demo || mmproj !== '' || embed === 'demo') return;
  if (embed !== '') {
    throw new UsageError('LOOKALIKE_EMBED_MODEL (--embed-model) needs its mmproj: set LOOKALIKE_MMPROJ (or --mmproj)');
  }
  throw new UsageError(
    "no model chosen: set LOOKALIKE_MMPROJ (or --mmproj) to the encoder's mmproj, a path or an " +
      'hf: URI (with LOOKALIKE_EMBED_MODEL / --embed-model for search by words; README: "Using the real model"), ' +
      `or give --demo to index with the demo model, which knows only Fashion-MNIST, into ${galleryDir(config)}`,
  );
}

runCli(USAGE, async () => {
  const { values, positionals, config } = parseCli(process.argv.slice(2), OPTIONS, USAGE);
  if (positionals.length !== 1)
    throw new UsageError(positionals.length ? 'give exactly one image folder' : 'the image folder is missing');
  if (values.labels && values['labels-from-folders'])
    throw new UsageError('use either --labels or --labels-from-folders');
  checkModelChoice(config, Boolean(values.demo));
  // every argument is checked before anything is loaded or created: a typo leaves no data folder behind
  const folder = resolve(positionals[0]!);
  if (!existsSync(folder) || !statSync(folder).isDirectory()) throw new UsageError(`${positionals[0]} is not a folder`);
  if (typeof values.labels === 'string' && !existsSync(values.labels))
    throw new UsageError(`the labels file ${values.labels} does not exist`);
  const labels = typeof values.labels === 'string' ? readLabels(values.labels) : undefined;
  const log = (msg: string) => process.stderr.write(`${msg}\n`);
  const unlisted = labels ? [...labels.keys()].filter((path) => !existsSync(path)) : [];
  if (unlisted.length)
    log(
      `warning: the labels file names ${unlisted.length} file(s) that do not ` +
        `exist: ${unlisted.slice(0, 5).join(', ')}${unlisted.length > 5 ? ', ...' : ''}`,
    );

  const queued = Boolean(values.queue);
  if (queued && !config.LOOKALIKE_REDIS_URL)
    throw new UsageError('--queue sends the images to workers through Redis: set LOOKALIKE_REDIS_URL (or --redis)');
  // with --queue the workers encode: here only the model's identity and how it decodes, no weights
  const models = queued ? await describeEmbedder(config, log) : await localEmbedder(config, log);
  const { identity } = models.description;
  const encoder: BuildEncoder = models.encoder ?? models.description;
  const dispose = () => models.dispose();
  if (config.LOOKALIKE_MMPROJ === '') log('the demo model (tiny, trained on Fashion-MNIST only), in its own folder');
  if (models.acceleration) {
    log(`device: ${describeDevice(models.acceleration, config.threads)}`);
    const advice = models.acceleration.gpu || models.demo ? null : weightTypeAdvice(models.mmprojPath, config.threads);
    if (advice) log(`note: ${advice}`);
  }
  log(
    `encoder ${identity.modelId} (${identity.dim} dims); data ` +
      `folder ${models.dataDir}${queued ? `; encoding on ` + `the workers of ${config.LOOKALIKE_REDIS_URL}` : ''}`,
  );
  const gallery = await openGallery(config, models, { switchModel: Boolean(values['switch-model']), log }).catch(
    async (err) => {
      await dispose();
      throw err;
    },
  );
  log(`index ${(await gallery.indexStats()).kind}`);
  const redis = queued ? new RedisLink(config.LOOKALIKE_REDIS_URL, log) : undefined;
  // a Redis that cannot be reached at the start is more likely a wrong URL than an outage: say so and stop
  if (redis && !(await redis.waitUntilUp(REDIS_START_WAIT_MS))) {
    await redis.close();
    await gallery.close();
    await dispose();
    throw new Error(
      `${redis.problem} for ${REDIS_START_WAIT_MS / 1000} s: is it running, and is LOOKALIKE_REDIS_URL (--redis) right?`,
    );
  }
  // once running, the builder waits for a Redis that restarts (the probe logs when it goes and comes back)
  const writer = redis ? JobWriter.open(config, identity.modelId, log, redis, { bounded: false }) : undefined;

  let stop = false;
  const onSignal = () => {
    if (stop) process.exit(130);
    stop = true;
    log('\nstopping after the current image (Ctrl-C again to quit at once; the next run resumes)');
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const summary = await buildIndex(gallery, encoder, {
      folder,
      labels,
      labelsFromFolders: Boolean(values['labels-from-folders']),
      force: Boolean(values.force),
      shouldStop: () => stop,
      writer,
    });
    process.stdout.write(`${formatSummary(summary)}\n`);
    const counts = gallery.counts();
    process.stdout.write(`gallery: ${counts.embedded} images embedded for this model (${counts.labelled} labelled)\n`);
    if (values.evaluate) process.stdout.write(`${formatEvaluation(await leaveOneOut(gallery, knnOptions(config)))}\n`);
    if (summary.stopped) return 130;
    const stored = summary.added + summary.reembedded + summary.skipped;
    if (summary.failed.length && !stored) {
      log(`error: every image failed (${summary.failed.length}): nothing was stored`);
      return 1;
    }
    return 0;
  } finally {
    await writer?.close();
    await redis?.close();
    await gallery.close();
    await dispose();
  }
});
