// npm run search -- "words" | photo.jpg [options]: the top results from a data folder, without the server (read-only,
// so it runs beside one). An argument naming a file is an image; anything else is words (they need an embedding model).
import { existsSync, readFileSync, statSync } from 'node:fs';
import { isTextEmbedder } from '../src/encoder/embedder.js';
import { Gallery } from '../src/gallery/gallery.js';
import { indexParams, localEmbedder } from '../src/models/model-set.js';
import { DEFAULT_SEARCH_K } from '../src/config.js';
import { parseCli, requireGallery, runCli, UsageError } from './cli-common.js';

const USAGE = 'Usage: npm run search -- "words" | <image file> [options]';
const OPTIONS = {
  k: { type: 'string', help: `how many results (default ${DEFAULT_SEARCH_K})` },
  label: { type: 'string', help: 'only images with this label' },
  'embed-model': { type: 'string', env: 'LOOKALIKE_EMBED_MODEL', help: 'Qwen3-VL-Embedding GGUF for words (demo: the demo\'s, trained on Fashion-MNIST)' },
  json: { type: 'boolean', help: 'print the results as JSON' },
} as const;

const wordsNeedEmbedModel = (query: string) => new UsageError(`"${query}" is not a file, and words need an embedding model: ` +
  'set LOOKALIKE_EMBED_MODEL with its mmproj (export them, as for the server) or give --embed-model');

runCli(USAGE, async () => {
  const { values, positionals, config } = parseCli(process.argv.slice(2), OPTIONS, USAGE);
  if (positionals.length !== 1) throw new UsageError('give one query: words in quotes, or an image file');
  const k = Number(values.k ?? DEFAULT_SEARCH_K);
  if (!Number.isInteger(k) || k < 1 || k > 1000) throw new UsageError(`--k ${values.k}: a whole number from 1 to 1000`);
  const query = positionals[0]!;
  const isFile = existsSync(query) && statSync(query).isFile();
  // before the data folder: without an embedding model it is another folder (the demo's), and its absence says nothing
  if (!isFile && !config.LOOKALIKE_EMBED_MODEL) throw wordsNeedEmbedModel(query);
  requireGallery(config);
  const models = await localEmbedder(config);
  const { encoder, dataDir } = models;
  try {
    if (!isFile && !isTextEmbedder(encoder)) throw wordsNeedEmbedModel(query);
    const gallery = await Gallery.open({ dataDir, identity: encoder.identity, indexKind: config.LOOKALIKE_INDEX_KIND, indexParams: indexParams(config), readOnly: true });
    try {
      const vector = isFile || !isTextEmbedder(encoder) ? (await encoder.embed(readFileSync(query))).vector : await encoder.embedText(query.trim());
      const results = await gallery.search(vector, { k, filter: { label: typeof values.label === 'string' ? values.label : undefined } });
      if (values.json) {
        process.stdout.write(`${JSON.stringify(results.map(({ id, score, label, source }) => ({ id, score, label, source })), null, 2)}\n`);
      } else {
        for (const r of results) process.stdout.write(`${String(r.id).padStart(6)}  ${r.score.toFixed(4)}  ${(r.label ?? '-').padEnd(16)}  ${r.source ?? ''}\n`);
      }
    } finally {
      await gallery.close();
    }
  } finally {
    await models.dispose();
  }
});
