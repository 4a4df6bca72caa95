// npm run restore -- <backup folder> [--data-dir <folder>] [--force]: checks the backup's manifest (its digest, every
// file's sha256) and puts the gallery into a data folder that no server uses and that holds none (--force replaces
// one). The server started on it brings the index up to date from the database, as at every open.
import { galleryDir } from '../src/application/models/model-set.js';
import { restore } from '../src/application/usecases/backup.js';
import { parseCli, runCli, UsageError } from './cli-common.js';

const USAGE = 'Usage: npm run restore -- <backup folder> [--data-dir <gallery folder>] [--force]';
const OPTIONS = {
  'data-dir': {
    type: 'string',
    help: 'the folder to restore into (default: the gallery folder the settings name: --data, LOOKALIKE_DATA_DIR)',
  },
  'embed-model': {
    type: 'string',
    env: 'LOOKALIKE_EMBED_MODEL',
    help: "the embedding model (demo: the demo's folder)",
  },
  force: { type: 'boolean', help: 'replace the gallery (database, index, probe) the folder already holds' },
} as const;

runCli(USAGE, async () => {
  const { values, positionals, config } = parseCli(process.argv.slice(2), OPTIONS, USAGE);
  if (positionals.length !== 1) {
    const why = positionals.length ? `unexpected argument "${positionals[1]}"` : 'give the backup folder to restore';
    throw new UsageError(why);
  }
  const dataDir = typeof values['data-dir'] === 'string' ? values['data-dir'] : galleryDir(config);
  await restore({ backupDir: positionals[0]!, dataDir, force: values.force === true });
});
