// What the command-line scripts share: options that map onto settings, usage errors (exit 2), fatal errors (exit 1).
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { closest, ConfigError, loadConfig, type Config } from '../src/core/config.js';
import { Gallery } from '../src/engine/gallery/gallery.js';
import { galleryDir } from '../src/application/models/model-set.js';

export const MODEL_OPTIONS = {
  data: { type: 'string', env: 'LOOKALIKE_DATA_DIR', help: 'data folder' },
  mmproj: { type: 'string', env: 'LOOKALIKE_MMPROJ', help: 'encoder mmproj: path or hf: URI (empty: the demo model)' },
  threads: { type: 'string', env: 'LOOKALIKE_THREADS', help: 'threads per encode; auto: the physical cores' },
  gpu: { type: 'string', env: 'LOOKALIKE_GPU', help: 'auto | cuda | vulkan | metal | off' },
  'min-tokens': { type: 'string', env: 'LOOKALIKE_MIN_TOKENS', help: 'minimum image tokens' },
  'max-tokens': { type: 'string', env: 'LOOKALIKE_MAX_TOKENS', help: 'maximum image tokens' },
  pooling: { type: 'string', env: 'LOOKALIKE_POOLING', help: 'mean | mean-deepstack' },
  'index-kind': {
    type: 'string',
    env: 'LOOKALIKE_INDEX_KIND',
    help: "auto (the data folder's, flat for a new one) | flat | hnsw | ivf-sq8 | ivf-pq",
  },
} as const;

export class UsageError extends Error {}

export function parseCli<
  T extends Record<string, { type: 'string' | 'boolean'; help: string; env?: string; default?: string }>,
>(
  argv: string[],
  options: T,
  usage: string,
): { values: Record<string, string | boolean | undefined>; positionals: string[]; config: Config } {
  const all = { ...MODEL_OPTIONS, ...options, help: { type: 'boolean', help: 'show this help' } } as Record<
    string,
    { type: 'string' | 'boolean'; help: string; env?: string }
  >;
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: Object.fromEntries(
        Object.entries(all).map(([k, v]) => [k, { type: v.type }]),
      ) as ParseArgsConfig['options'],
      allowPositionals: true,
      strict: true,
    });
  } catch (err) {
    const unknown = /^Unknown option '-*([^']*)'/.exec((err as Error).message)?.[1];
    throw new UsageError(
      unknown
        ? `unknown option --${unknown} (did you mean --${closest(unknown, Object.keys(all))}?)`
        : (err as Error).message,
    );
  }
  const values = parsed.values as Record<string, string | boolean | undefined>;
  if (values.help) {
    process.stdout.write(helpText(usage, all));
    process.exit(0);
  }
  const env = { ...process.env };
  const fromFlag = new Map<string, string>(); // setting -> the flag that gave it, to name what the user typed
  for (const [name, o] of Object.entries(all)) {
    if (o.env && typeof values[name] === 'string') {
      env[o.env] = values[name] as string;
      fromFlag.set(o.env, name);
    }
  }
  let config: Config;
  try {
    config = loadConfig(env);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    const named = err.message.replace(/\b(LOOKALIKE_\w+)=("[^"]*"|\S*)/g, (whole, setting: string, value: string) =>
      fromFlag.has(setting) ? `--${fromFlag.get(setting)} ${value}` : whole,
    );
    throw new UsageError(named);
  }
  return { values, positionals: parsed.positionals, config };
}

function helpText(usage: string, options: Record<string, { type: string; help: string; env?: string }>): string {
  const cfg = (() => {
    try {
      return loadConfig({});
    } catch {
      return null;
    }
  })();
  const rows = Object.entries(options).map(([name, o]) => {
    const flag = `--${name}${o.type === 'string' ? ' <value>' : ''}`;
    const def = o.env && cfg ? ` (default: ${String(cfg[o.env as keyof Config]) || 'empty'}; env ${o.env})` : '';
    return `  ${flag.padEnd(28)} ${o.help}${def}`;
  });
  return `${usage}\n\nOptions:\n${rows.join('\n')}\n`;
}

/** For the scripts that only read a gallery: stops before any model is loaded when there is none to read. */
export function requireGallery(config: Config): void {
  const dir = galleryDir(config);
  if (!Gallery.exists(dir))
    throw new UsageError(`there is no gallery in ${dir}: build one with npm run index, or give --data`);
}

/** Runs a CLI body with the exit codes people expect: 0 done, 1 failed, 2 bad usage. */
export function runCli(usage: string, body: () => Promise<number | void>): void {
  body().then(
    (code) => process.exit(code ?? 0),
    (err) => {
      if (err instanceof UsageError) {
        process.stderr.write(`error: ${err.message}\n\n${usage}\nRun with --help for all options.\n`);
        process.exit(2);
      }
      process.stderr.write(`error: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    },
  );
}
