// npm run duplicates -- [--threshold 0.97] [--json]: the duplicate groups of a data folder, as GET /api/duplicates
// answers them, without the server (read-only, so it runs beside one). No model is loaded: the stored vectors suffice.
import { describeEmbedder } from '../src/application/models/model-set.js';
import { openGallery } from '../src/application/runtime/compose.js';
import { Duplicates } from '../src/application/usecases/duplicates.js';
import { parseCli, requireGallery, runCli, UsageError } from './cli-common.js';

const USAGE = 'Usage: npm run duplicates -- [--threshold <similarity>] [--json]';
const OPTIONS = {
  threshold: {
    type: 'string',
    env: 'LOOKALIKE_DUPLICATE_THRESHOLD',
    help: 'cosine similarity at which two images are near duplicates',
  },
  'embed-model': {
    type: 'string',
    env: 'LOOKALIKE_EMBED_MODEL',
    help: "the embedding model the data folder was built with (demo: the demo's)",
  },
  json: { type: 'boolean', help: 'print the groups as JSON' },
} as const;

runCli(USAGE, async () => {
  const { values, positionals, config } = parseCli(process.argv.slice(2), OPTIONS, USAGE);
  if (positionals.length) throw new UsageError(`unexpected argument "${positionals[0]}"`);
  requireGallery(config);
  // the model's identity from its files, no weights loaded: the folder refuses another model's vectors
  const gallery = await openGallery(config, await describeEmbedder(config), { readOnly: true });
  try {
    const { threshold, groups } = await new Duplicates(gallery, config.duplicateThreshold).find();
    if (values.json) {
      process.stdout.write(`${JSON.stringify({ threshold, groups }, null, 2)}\n`);
      return;
    }
    for (const g of groups) {
      process.stdout.write(`${g.kind} group of ${g.members.length}, keep #${g.keep}\n`);
      for (const m of g.members) {
        process.stdout.write(
          `  ${m.id === g.keep ? 'keep ' : m.exact ? 'exact' : '     '} ${String(m.id).padStart(6)}  ${m.score.toFixed(4)}  ${`${m.width}x${m.height}`.padEnd(11)} ${(m.label ?? '-').padEnd(16)} ${m.source ?? ''}\n`,
        );
      }
    }
    process.stdout.write(
      `${groups.length} groups at threshold ${threshold} (${groups.reduce((n, g) => n + g.members.length - 1, 0)} ` +
        `images could go)\n`,
    );
  } finally {
    await gallery.close();
  }
});
