// npm run search -- "words" | photo.jpg [+ | - more terms] [options]: the top results from a data folder, without the
// server (read-only, so it runs beside one). A term naming a file is an image, #12 is a gallery image, anything else is
// words (they need an embedding model); "2:words" weighs a term twice. Terms after + add to the query, after - move
// away from it (rclip's form): the terms go to the Search use case as POST /api/search's lists do, one rule for both.
// --copy-to / --link put the matching originals in a folder.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { DEFAULT_SEARCH_K } from '../src/core/config.js';
import { LookalikeError } from '../src/core/errors.js';
import { localEmbedder } from '../src/application/models/model-set.js';
import { openGallery } from '../src/application/runtime/compose.js';
import { QueryEncoder } from '../src/application/usecases/query-encoder.js';
import { Search, type CompositeQuery, type QueryPart } from '../src/application/usecases/search.js';
import { Admission } from '../src/core/util/admission.js';
import { Metrics } from '../src/core/util/metrics.js';
import { parseCli, requireGallery, runCli, UsageError } from './cli-common.js';
import { takeAway } from './take-away.js';

const USAGE = 'Usage: npm run search -- "words" | <image file> | #<id> [+ | - <term> ...] [options]';
const OPTIONS = {
  k: { type: 'string', help: `how many results (default ${DEFAULT_SEARCH_K})` },
  label: { type: 'string', help: 'only images with this label' },
  'embed-model': {
    type: 'string',
    env: 'LOOKALIKE_EMBED_MODEL',
    help: "Qwen3-VL-Embedding GGUF for words (demo: the demo's, trained on Fashion-MNIST)",
  },
  json: { type: 'boolean', help: 'print the results as JSON' },
  'copy-to': {
    type: 'string',
    help: 'copy the matching originals into this folder (found under --from; uploads keep none)',
  },
  link: { type: 'boolean', help: 'with --copy-to: make symbolic links to the originals instead of copies' },
  from: {
    type: 'string',
    help:
      'the folder that was indexed (npm run index -- <folder>): where the originals are (default: the current ' +
      'folder)',
  },
} as const;

interface Term {
  kind: 'file' | 'id' | 'words';
  value: string;
  weight: number;
  negative: boolean;
}

const wordsNeedEmbedModel = (query: string) =>
  new UsageError(
    `"${query}" is not a file, and words need an embedding model: ` +
      'set LOOKALIKE_EMBED_MODEL with its mmproj (export them, as for the server) or give --embed-model',
  );

/** "a" + b.jpg - "2:c": each term with its sign (the operator before it) and weight ("N:" before it). */
export function parseTerms(args: string[]): Term[] {
  const terms: Term[] = [];
  let sign: '+' | '-' | null = '+';
  for (const arg of args) {
    if (arg === '+' || arg === '-') {
      if (sign !== null) throw new UsageError(`"${arg}" where a term should be: put one term between + and -`);
      sign = arg;
      continue;
    }
    if (sign === null)
      throw new UsageError(
        `two terms in a row ("${terms.at(-1)!.value}", "${arg}"): put + or - between them, or quote words together`,
      );
    const weighted = /^(-?\d+(?:\.\d+)?):(.+)$/s.exec(arg);
    const [weight, value] = weighted ? [Number(weighted[1]), weighted[2]!] : [1, arg];
    if (!Number.isFinite(weight) || weight === 0)
      throw new UsageError(`"${arg}": a weight is a finite number other than 0`);
    const kind = existsSync(value) && statSync(value).isFile() ? 'file' : /^#\d+$/.test(value) ? 'id' : 'words';
    terms.push({ kind, value: kind === 'id' ? value.slice(1) : value, weight, negative: sign === '-' });
    sign = null;
  }
  if (sign !== null && terms.length) throw new UsageError(`"${args.at(-1)}" at the end: a term must follow it`);
  if (!terms.some((t) => !t.negative))
    throw new UsageError('give a query: words in quotes, an image file, or #<id> (then + or - more terms)');
  return terms;
}

/** The terms as the Search use case takes them: a file's bytes, an id, words; each named as typed, for its errors. */
function compositeQuery(terms: Term[]): CompositeQuery {
  const part = (t: Term): QueryPart => {
    const name = t.kind === 'id' ? `#${t.value}` : `"${t.value}"`;
    if (t.kind === 'id') return { id: Number(t.value), weight: t.weight, name };
    if (t.kind === 'file') return { image: readFileSync(t.value), weight: t.weight, name };
    return { text: t.value, weight: t.weight, name };
  };
  return { positive: terms.filter((t) => !t.negative).map(part), negative: terms.filter((t) => t.negative).map(part) };
}

runCli(USAGE, async () => {
  const { values, positionals, config } = parseCli(process.argv.slice(2), OPTIONS, USAGE);
  const terms = parseTerms(positionals);
  const k = Number(values.k ?? DEFAULT_SEARCH_K);
  if (!Number.isInteger(k) || k < 1 || k > 1000) throw new UsageError(`--k ${values.k}: a whole number from 1 to 1000`);
  if (values.link && !values['copy-to']) throw new UsageError('--link goes with --copy-to <folder>');
  // before the data folder: without an embedding model it is another folder (the demo's), and its absence says nothing
  const words = terms.find((t) => t.kind === 'words');
  if (words && !config.LOOKALIKE_EMBED_MODEL) throw wordsNeedEmbedModel(words.value);
  requireGallery(config);
  const models = await localEmbedder(config);
  try {
    const gallery = await openGallery(config, models, { readOnly: true });
    try {
      // one query at a time, with no re-ranking and no classifier: what the API's search does with its parts
      const queries = new QueryEncoder(models.encoder, new Admission(1), new Metrics(false));
      const search = new Search(gallery, queries, null, null);
      const label = typeof values.label === 'string' ? values.label : undefined;
      const { results } = await search
        .run({
          parts: compositeQuery(terms),
          k,
          filter: { label },
          rerank: false,
          classify: false,
        })
        .catch((err: unknown) => {
          // a term the gallery cannot take (no such id, parts that cancel) is the user's to fix: bad usage
          throw err instanceof LookalikeError && err.code === 'invalid_request' ? new UsageError(err.message) : err;
        });
      if (values.json) {
        process.stdout.write(
          `${JSON.stringify(
            results.map(({ id, score, label, source }) => ({ id, score, label, source })),
            null,
            2,
          )}\n`,
        );
      } else {
        for (const r of results)
          process.stdout.write(
            `${String(r.id).padStart(6)}  ${r.score.toFixed(4)}  ${(r.label ?? '-').padEnd(16)}  ${r.source ?? ''}\n`,
          );
      }
      if (typeof values['copy-to'] === 'string') {
        const from = typeof values.from === 'string' ? values.from : process.cwd();
        return takeAway(results, { to: values['copy-to'], from, link: Boolean(values.link) });
      }
    } finally {
      await gallery.close();
    }
  } finally {
    await models.dispose();
  }
});
