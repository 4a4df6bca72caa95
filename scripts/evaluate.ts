// npm run evaluate -- [options]: leave-one-out weighted KNN over the labelled gallery: accuracy, confusion table,
// calibration error, the similarity of right and wrong neighbours, and suggested open-set thresholds; then KNN, the
// linear probe (k-fold cross-validated) and zero-shot (with an embedding model) side by side, held-out accuracy and
// calibration (ECE) for each. Read-only: it runs beside the server, which keeps writing.
import { isTextEmbedder } from '../src/engine/encoder/embedder.js';
import { calibrateZeroShot, compareClassifiers, leaveOneOut } from '../src/engine/knn/evaluate.js';
import { knnOptions, localEmbedder } from '../src/application/models/model-set.js';
import { formatClassifiers, formatEvaluation } from '../src/engine/knn/report.js';
import { openGallery } from '../src/application/runtime/compose.js';
import { parseCli, requireGallery, runCli, UsageError } from './cli-common.js';

const USAGE = 'Usage: npm run evaluate -- [options]';
const OPTIONS = {
  k: { type: 'string', env: 'LOOKALIKE_KNN_K', help: 'neighbours that vote' },
  temperature: { type: 'string', env: 'LOOKALIKE_KNN_TEMPERATURE', help: 'vote weight exp(sim / T)' },
  json: { type: 'boolean', help: 'print the evaluation as JSON' },
  'zero-shot': {
    type: 'boolean',
    help: 'also fit LOOKALIKE_ZEROSHOT_TEMPERATURE on the labelled images (needs an embedding model)',
  },
  'embed-model': {
    type: 'string',
    env: 'LOOKALIKE_EMBED_MODEL',
    help: "Qwen3-VL-Embedding GGUF (demo: the demo's, trained on Fashion-MNIST)",
  },
} as const;

runCli(USAGE, async () => {
  const { values, config } = parseCli(process.argv.slice(2), OPTIONS, USAGE);
  requireGallery(config);
  const models = await localEmbedder(config);
  const { encoder } = models;
  const gallery = await openGallery(config, models, { readOnly: true }).catch(async (err) => {
    await models.dispose();
    throw err;
  });
  try {
    const evaluation = await leaveOneOut(gallery, knnOptions(config));
    if (values['zero-shot'] && !isTextEmbedder(encoder))
      throw new UsageError(
        '--zero-shot needs an embedding model that embeds words: set LOOKALIKE_EMBED_MODEL (or --embed-model)',
      );
    const zeroShot =
      values['zero-shot'] && isTextEmbedder(encoder)
        ? await calibrateZeroShot(gallery, encoder, config.LOOKALIKE_ZEROSHOT_TEMPLATE)
        : undefined;
    const classifiers = await compareClassifiers(gallery, evaluation, isTextEmbedder(encoder) ? encoder : null, {
      template: config.LOOKALIKE_ZEROSHOT_TEMPLATE,
      temperature: config.LOOKALIKE_ZEROSHOT_TEMPERATURE,
      minProbability: config.LOOKALIKE_ZEROSHOT_MIN_PROBABILITY,
    });
    if (values.json) process.stdout.write(`${JSON.stringify({ ...evaluation, zeroShot, classifiers }, null, 2)}\n`);
    else {
      process.stdout.write(`${formatEvaluation(evaluation)}\n\n${formatClassifiers(classifiers)}\n`);
      if (zeroShot) {
        process.stdout.write(
          `zero-shot over the gallery's ${zeroShot.labels} labels ("${config.LOOKALIKE_ZEROSHOT_TEMPLATE}"): top-1 ` +
            `accuracy ` +
            `${(100 * zeroShot.accuracy).toFixed(1)}%; the temperature that fits these images best: ` +
            `LOOKALIKE_ZEROSHOT_TEMPERATURE=${zeroShot.temperature} ` +
            `(mean negative log-likelihood ${zeroShot.nll.toFixed(3)})\n`,
        );
      }
    }
  } finally {
    await gallery.close();
    await models.dispose();
  }
});
