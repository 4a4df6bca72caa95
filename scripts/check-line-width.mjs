// npm run lint, after Biome: no line of src/ over 120 characters. Biome's formatter wraps code at 120 but leaves long
// strings and comments as they are, and no lint rule of its measures them.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

const WIDTH = 120;
const root = join(import.meta.dirname, '..');
const files = (dir) =>
  readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    if (e.name === 'build') return [];
    const path = join(dir, e.name);
    return e.isDirectory() ? files(path) : /\.(ts|mts|mjs)$/.test(e.name) ? [path] : [];
  });
const long = files(join(root, 'src')).flatMap((file) =>
  readFileSync(file, 'utf8')
    .split('\n')
    .flatMap((line, i) => (line.length > WIDTH ? [`${relative(root, file)}:${i + 1} (${line.length})`] : [])),
);
if (long.length) {
  console.error(`${long.length} lines of src/ over ${WIDTH} characters:\n${long.join('\n')}`);
  process.exit(1);
}
