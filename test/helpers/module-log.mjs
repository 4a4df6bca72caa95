// Preloaded with --import: writes every module the process loads to the file LOOKALIKE_MODULE_LOG, one URL or path a
// line, so a test can tell what a process did (not) load. ES modules are logged as they resolve, by a loader hook
// (the hooks run on their own thread); CommonJS ones from require.cache when the process exits.
import { appendFileSync } from 'node:fs';
import { createRequire, register } from 'node:module';

const file = process.env.LOOKALIKE_MODULE_LOG;
if (!file) throw new Error('module-log.mjs: set LOOKALIKE_MODULE_LOG to the file to write');
const hooks = `import { appendFileSync } from 'node:fs';
let file;
export function initialize(data) { file = data.file; }
export async function resolve(specifier, context, next) {
  const resolved = await next(specifier, context);
  appendFileSync(file, resolved.url + '\\n');
  return resolved;
}`;
register(`data:text/javascript,${encodeURIComponent(hooks)}`, import.meta.url, { data: { file } });
const require = createRequire(import.meta.url);
process.on('exit', () => appendFileSync(file, `${Object.keys(require.cache).join('\n')}\n`));
