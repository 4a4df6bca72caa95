// npm run backup -- <folder>: a consistent snapshot of the gallery while the server runs (no lock taken, writes go on):
// the database through SQLite's online backup, the index as last saved, probe.json, and a manifest with counts, each
// file's sha256 and a digest. The models are listed with their sha256, not copied. Progress on stderr.
import { galleryDir } from '../src/application/models/model-set.js';
import { backup, BackupError } from '../src/application/usecases/backup.js';
import { parseCli, requireGallery, runCli, UsageError } from './cli-common.js';

const USAGE = 'Usage: npm run backup -- <backup folder> [--data <data folder>]';
const OPTIONS = {
  'embed-model': {
    type: 'string',
    env: 'LOOKALIKE_EMBED_MODEL',
    help: "the embedding model the data folder was built with (demo: the demo's)",
  },
} as const;

runCli(USAGE, async () => {
  const { positionals, config } = parseCli(process.argv.slice(2), OPTIONS, USAGE);
  if (positionals.length !== 1) {
    const why = positionals.length ? `unexpected argument "${positionals[1]}"` : 'give the backup folder to write';
    throw new UsageError(why);
  }
  requireGallery(config);
  try {
    const m = await backup({ dataDir: galleryDir(config), target: positionals[0]!, config });
    const bytes = m.files.reduce((n, f) => n + f.bytes, 0);
    const summary = { snapshot: m.snapshot, files: m.files.length, bytes, digest: m.digest };
    process.stdout.write(`${JSON.stringify(summary)}\n`);
  } catch (err) {
    if (err instanceof BackupError) throw new UsageError(err.message);
    throw err;
  }
});
