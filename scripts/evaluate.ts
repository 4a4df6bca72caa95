// npm run evaluate -- [options]: leave-one-out weighted KNN over the labelled gallery: accuracy, confusion table,
// calibration error, the similarity of right and wrong neighbours, and suggested open-set thresholds. Read-only: it
// runs beside the server, which keeps writing.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Gallery } from '../src/gallery/gallery.js';
import { galleryDir, indexParams, knnOptions, loadModels } from '../src/models/load-models.js';
import { formatEvaluation } from '../src/knn/report.js';
import { parseCli, runCli, UsageError } from './cli-common.js';

const USAGE = 'Usage: npm run evaluate -- [options]';
const OPTIONS = {
  k: { type: 'string', env: 'LOOKALIKE_KNN_K', help: 'neighbours that vote' },
  temperature: { type: 'string', env: 'LOOKALIKE_KNN_TEMPERATURE', help: 'vote weight exp(sim / T)' },
  json: { type: 'boolean', help: 'print the evaluation as JSON' },
} as const;

runCli(USAGE, async () => {
  const { values, config } = parseCli(process.argv.slice(2), OPTIONS, USAGE);
  const dir = galleryDir(config);
  if (!existsSync(join(dir, 'lookalike.db'))) throw new UsageError(`there is no gallery in ${dir}: build one with npm run index, or give --data`);
  const { encoder, dataDir } = await loadModels(config);
  const gallery = await Gallery.open({ dataDir, identity: encoder.identity, indexKind: config.LOOKALIKE_INDEX_KIND, indexParams: indexParams(config), readOnly: true })
    .catch(async (err) => { await encoder.dispose(); throw err; });
  try {
    const evaluation = await gallery.evaluate(knnOptions(config));
    process.stdout.write(values.json ? `${JSON.stringify(evaluation, null, 2)}\n` : `${formatEvaluation(evaluation)}\n`);
  } finally {
    await gallery.close();
    await encoder.dispose();
  }
});
