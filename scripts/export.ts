// npm run export -- --format jsonl|npy --out <folder>: the gallery's ids, vectors, labels and metadata (thumbnails
// with --thumbnails) for another tool or a notebook, or for npm run import. Read-only, so it runs beside the server.
// Progress on stderr; a summary (counts, files, digest) on stdout.
import { galleryDir } from '../src/application/models/model-set.js';
import { exportGallery, ExportError, type ExportLayout } from '../src/engine/gallery/export.js';
import { parseCli, runCli, UsageError } from './cli-common.js';

const USAGE =
  'Usage: npm run export -- --format jsonl|npy --out <folder> [--f16] [--thumbnails] [--include-trash] ' +
  '[--data-dir <gallery folder>]';
const OPTIONS = {
  format: {
    type: 'string',
    help:
      'jsonl: images.jsonl, one object per image with a "vector" array; ' +
      'npy: vectors.npy, ids.npy and metadata.jsonl',
  },
  out: { type: 'string', help: 'the folder to write (new or empty), with the manifest export.json' },
  f16: { type: 'boolean', help: 'vectors as float16, as the gallery stores them (default: float32)' },
  thumbnails: { type: 'boolean', help: 'the thumbnails too, as thumbnails/<id>.webp (npm run import needs them)' },
  'include-trash': { type: 'boolean', help: 'the images in the trash too (their "trashedAt" is set)' },
  'data-dir': {
    type: 'string',
    help: 'the gallery folder to export (default: the one the settings name: --data, LOOKALIKE_DATA_DIR)',
  },
  'embed-model': {
    type: 'string',
    env: 'LOOKALIKE_EMBED_MODEL',
    help: "the embedding model (demo: the demo's folder)",
  },
} as const;

runCli(USAGE, async () => {
  const { values, positionals, config } = parseCli(process.argv.slice(2), OPTIONS, USAGE);
  if (positionals.length) throw new UsageError(`unexpected argument "${positionals[0]}"`);
  if (values.format !== 'jsonl' && values.format !== 'npy') throw new UsageError('give --format jsonl or --format npy');
  if (typeof values.out !== 'string') throw new UsageError('give the folder to write with --out');
  const dataDir = typeof values['data-dir'] === 'string' ? values['data-dir'] : galleryDir(config);
  try {
    const m = await exportGallery({
      dataDir,
      out: values.out,
      layout: values.format as ExportLayout,
      dtype: values.f16 ? 'float16' : 'float32',
      thumbnails: values.thumbnails === true,
      includeTrash: values['include-trash'] === true,
    });
    const bytes = m.files.reduce((n, f) => n + f.bytes, 0);
    process.stdout.write(
      `${JSON.stringify({
        counts: m.counts,
        model: m.model.modelId,
        files: m.files.length,
        bytes,
        digest: m.digest,
      })}\n`,
    );
  } catch (err) {
    if (err instanceof ExportError) throw new UsageError(err.message);
    throw err;
  }
});
