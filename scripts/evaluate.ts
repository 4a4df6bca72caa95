// npm run evaluate -- [options]: leave-one-out weighted KNN over the labelled gallery: accuracy, confusion table,
// calibration error, the similarity of right and wrong neighbours, and suggested open-set thresholds; then KNN, the
// linear probe (k-fold cross-validated) and zero-shot (with an embedding model) side by side, held-out accuracy and
// calibration (ECE) for each. Read-only: it runs beside the server, which keeps writing.
import { isTextEmbedder, type Embedder } from '../src/encoder/embedder.js';
import { Gallery } from '../src/gallery/gallery.js';
import { fitTemperature, labelCosines, LabelVectors, zeroShot as zeroShotOf } from '../src/knn/zero-shot.js';
import { expectedCalibrationError, type Evaluation } from '../src/knn/knn.js';
import { crossValidate, toProbeData } from '../src/knn/probe.js';
import type { Config } from '../src/config.js';
import { indexParams, knnOptions, loadModels } from '../src/models/load-models.js';
import { formatEvaluation } from '../src/knn/report.js';
import { parseCli, requireGallery, runCli, UsageError } from './cli-common.js';

const USAGE = 'Usage: npm run evaluate -- [options]';
const OPTIONS = {
  k: { type: 'string', env: 'LOOKALIKE_KNN_K', help: 'neighbours that vote' },
  temperature: { type: 'string', env: 'LOOKALIKE_KNN_TEMPERATURE', help: 'vote weight exp(sim / T)' },
  json: { type: 'boolean', help: 'print the evaluation as JSON' },
  'zero-shot': { type: 'boolean', help: 'also fit LOOKALIKE_ZEROSHOT_TEMPERATURE on the labelled images (needs an embedding model)' },
  'embed-model': { type: 'string', env: 'LOOKALIKE_EMBED_MODEL', help: 'Qwen3-VL-Embedding GGUF (demo: the demo\'s, trained on Fashion-MNIST)' },
} as const;

/** Zero-shot over the gallery's own label names for every labelled image, and the temperature that fits them best. */
async function calibrateZeroShot(gallery: Gallery, encoder: Embedder, template: string) {
  if (!isTextEmbedder(encoder)) throw new UsageError('--zero-shot needs an embedding model that embeds words: set LOOKALIKE_EMBED_MODEL (or --embed-model)');
  const labels = gallery.labels().map((l) => l.label);
  const { vectors: labelVectors } = await new LabelVectors(encoder, template).of(labels);
  const cosines: number[][] = [], truth: number[] = [];
  for (const batch of gallery.labelledVectors()) {
    batch.labels.forEach((label, i) => {
      cosines.push(labelCosines(batch.vectors.subarray(i * encoder.dim, (i + 1) * encoder.dim), labelVectors));
      truth.push(labels.indexOf(label));
    });
  }
  return { labels: labels.length, ...fitTemperature(cosines, truth) };
}

interface ClassifierRow { classifier: string; measured: string; accuracy: number; ece: number }

/** KNN (leave-one-out), the probe (k-fold cross-validated, as the server trains it) and zero-shot, on the same labelled images. */
async function sideBySide(gallery: Gallery, encoder: Embedder, config: Config, knn: Evaluation): Promise<ClassifierRow[]> {
  const rows: ClassifierRow[] = [{ classifier: 'KNN', measured: 'leave-one-out', accuracy: knn.accuracy, ece: knn.ece }];
  const labels: string[] = [], batches: Float32Array[] = [];
  for (const b of gallery.labelledVectors()) { labels.push(...b.labels); batches.push(b.vectors); }
  const classes = [...new Set(labels)].sort();
  if (classes.length < 2) return rows;
  const x = new Float32Array(labels.length * encoder.dim);
  batches.reduce((at, b) => { x.set(b, at); return at + b.length; }, 0);
  const cv = crossValidate(toProbeData(encoder.dim, labels, x));
  rows.push({ classifier: 'probe', measured: `${cv.folds}-fold cross-validation (lambda ${cv.lambda})`, accuracy: cv.accuracy, ece: cv.ece });
  if (isTextEmbedder(encoder)) {
    const { vectors } = await new LabelVectors(encoder, config.LOOKALIKE_ZEROSHOT_TEMPLATE).of(classes);
    const answers = labels.map((truth, i) => {
      const z = zeroShotOf(x.subarray(i * encoder.dim, (i + 1) * encoder.dim), classes, vectors, { temperature: config.LOOKALIKE_ZEROSHOT_TEMPERATURE, minProbability: config.LOOKALIKE_ZEROSHOT_MIN_PROBABILITY });
      return { confidence: z.probability, right: z.candidate === truth };
    });
    rows.push({ classifier: 'zero-shot', measured: `no training: every labelled image (T ${config.LOOKALIKE_ZEROSHOT_TEMPERATURE})`, accuracy: answers.filter((a) => a.right).length / answers.length, ece: expectedCalibrationError(answers) });
  }
  return rows;
}

function formatSideBySide(rows: ClassifierRow[]): string {
  const w = Math.max(...rows.map((r) => r.measured.length));
  return ['held-out accuracy and calibration, side by side:', `${'classifier'.padEnd(10)} ${'measured by'.padEnd(w)} ${'accuracy'.padStart(8)} ${'ECE'.padStart(6)}`,
    ...rows.map((r) => `${r.classifier.padEnd(10)} ${r.measured.padEnd(w)} ${`${(100 * r.accuracy).toFixed(1)}%`.padStart(8)} ${r.ece.toFixed(3).padStart(6)}`)].join('\n');
}

runCli(USAGE, async () => {
  const { values, config } = parseCli(process.argv.slice(2), OPTIONS, USAGE);
  requireGallery(config);
  const { encoder, dataDir } = await loadModels(config);
  const gallery = await Gallery.open({ dataDir, identity: encoder.identity, indexKind: config.LOOKALIKE_INDEX_KIND, indexParams: indexParams(config), readOnly: true })
    .catch(async (err) => { await encoder.dispose(); throw err; });
  try {
    const evaluation = await gallery.evaluate(knnOptions(config));
    const zeroShot = values['zero-shot'] ? await calibrateZeroShot(gallery, encoder, config.LOOKALIKE_ZEROSHOT_TEMPLATE) : undefined;
    const classifiers = await sideBySide(gallery, encoder, config, evaluation);
    if (values.json) process.stdout.write(`${JSON.stringify({ ...evaluation, zeroShot, classifiers }, null, 2)}\n`);
    else {
      process.stdout.write(`${formatEvaluation(evaluation)}\n\n${formatSideBySide(classifiers)}\n`);
      if (zeroShot) {
        process.stdout.write(`zero-shot over the gallery's ${zeroShot.labels} labels ("${config.LOOKALIKE_ZEROSHOT_TEMPLATE}"): top-1 accuracy ` +
          `${(100 * zeroShot.accuracy).toFixed(1)}%; the temperature that fits these images best: LOOKALIKE_ZEROSHOT_TEMPERATURE=${zeroShot.temperature} ` +
          `(mean negative log-likelihood ${zeroShot.nll.toFixed(3)})\n`);
      }
    }
  } finally {
    await gallery.close();
    await encoder.dispose();
  }
});
