// npm run import -- <export folder> [--data-dir <folder>]: builds a gallery from an export made with --thumbnails
// (npm run export): the same ids, vectors, labels, metadata and trash, and its index. The export must be of the
// configured model, and the folder must hold no gallery and be in use by no process.
import { describeEmbedder, galleryDir } from '../src/application/models/model-set.js';
import { indexParams } from '../src/application/runtime/compose.js';
import { importExport } from '../src/engine/gallery/export-import.js';
import { parseCli, runCli, UsageError } from './cli-common.js';

const USAGE = 'Usage: npm run import -- <export folder> [--data-dir <gallery folder>]';
const OPTIONS = {
  'data-dir': {
    type: 'string',
    help:
      'the folder to build the gallery in ' +
      '(default: the gallery folder the settings name: --data, LOOKALIKE_DATA_DIR)',
  },
  'embed-model': {
    type: 'string',
    env: 'LOOKALIKE_EMBED_MODEL',
    help: "the embedding model (demo: the demo's folder)",
  },
} as const;

runCli(USAGE, async () => {
  const { values, positionals, config } = parseCli(process.argv.slice(2), OPTIONS, USAGE);
  if (positionals.length !== 1) {
    const why = positionals.length ? `unexpected argument "${positionals[1]}"` : 'give the export folder to import';
    throw new UsageError(why);
  }
  // the configured model's identity from its files, no weights loaded: the export must be of this model
  const { description } = await describeEmbedder(config);
  const dataDir = typeof values['data-dir'] === 'string' ? values['data-dir'] : galleryDir(config);
  const m = await importExport({
    exportDir: positionals[0]!,
    dataDir,
    identity: description.identity,
    indexKind: config.LOOKALIKE_INDEX_KIND,
    indexParams: indexParams(config),
  });
  process.stdout.write(`${JSON.stringify({ counts: m.counts, model: m.model.modelId, dataDir })}\n`);
});
