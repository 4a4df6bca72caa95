// npm run captions -- [options]: captions every image of the gallery that has none yet (the Instruct model's caption
// and the words it reads), as a server with LOOKALIKE_CAPTIONS=on does in the background. Resumable: each caption is
// stored as it is made, and a run after a stop or a crash does only what is left. It takes the data folder's lock:
// stop the server first (or let the server caption, with LOOKALIKE_CAPTIONS=on).
import { describeEmbedder, instructModel } from '../src/application/models/model-set.js';
import { openGallery } from '../src/application/runtime/compose.js';
import { Captions } from '../src/application/usecases/captions.js';
import { Progress } from '../src/core/util/progress.js';
import type { CaptionLanguage } from '../src/engine/vlm/caption.js';
import { parseCli, requireGallery, runCli, UsageError } from './cli-common.js';

const USAGE = 'Usage: npm run captions -- [--text-model <gguf|demo>] [--languages en,zh]';
const OPTIONS = {
  'text-model': {
    type: 'string',
    env: 'LOOKALIKE_TEXT_MODEL',
    help: "the Instruct text GGUF that captions (demo: the demo's)",
  },
  'text-mmproj': {
    type: 'string',
    env: 'LOOKALIKE_TEXT_MMPROJ',
    help: "its own mmproj (empty: --mmproj, or the demo's)",
  },
  'embed-model': {
    type: 'string',
    env: 'LOOKALIKE_EMBED_MODEL',
    help: "the embedding model the data folder was built with (demo: the demo's)",
  },
  languages: { type: 'string', env: 'LOOKALIKE_CAPTION_LANGUAGES', help: 'caption languages: en, zh or en,zh' },
} as const;

runCli(USAGE, async () => {
  const { positionals, config } = parseCli(process.argv.slice(2), OPTIONS, USAGE);
  if (positionals.length) throw new UsageError(`unexpected argument "${positionals[0]}"`);
  if (!config.LOOKALIKE_TEXT_MODEL)
    throw new UsageError('give the model that captions: --text-model (or LOOKALIKE_TEXT_MODEL)');
  requireGallery(config);
  const log = (m: string) => process.stderr.write(`${m}\n`);
  const gallery = await openGallery(config, await describeEmbedder(config, log), { log });
  const vlm = await instructModel(config, log).catch(async (err: unknown) => {
    await gallery.close();
    throw err;
  });
  const captions = new Captions(gallery, vlm, null, {
    languages: config.LOOKALIKE_CAPTION_LANGUAGES.split(',') as CaptionLanguage[],
    model: config.LOOKALIKE_TEXT_MODEL,
    log,
  });
  const stop = () => {
    void captions.stop();
  }; // Ctrl-C: the caption in hand is stored, the rest waits for the next run
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    const start = captions.progress();
    log(`captions: ${start.captioned} captioned, ${start.pending} to go`);
    const progress = new Progress('captioned', start.pending);
    await captions.backfill(() => progress.tick());
    progress.draw(true);
    const end = captions.progress();
    log(
      `captions: ${end.captioned} captioned, ${end.pending} left${end.pending ? ' (failed or stopped: run again)' : ''}`,
    );
    return end.pending ? 1 : 0;
  } finally {
    await gallery.close();
    await vlm.dispose();
  }
});
