// The layers of src/ (README "How it is built"): a folder (or a top-level file) may import itself and the layers
// below it, never one above or beside it. Read from the import statements; no tool beyond this file.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = resolve(import.meta.dirname, '../src');

/** Bottom up; units in one layer do not import each other. */
export const LAYERS: string[][] = [
  ['errors.ts', 'identity.ts'],
  ['domain'],
  ['util'],
  ['config.ts'],
  ['native', 'image', 'store', 'index', 'demo'],
  ['gguf'],
  ['accel'],
  ['vlm'],
  ['encoder'],
  ['knn'],
  ['gallery'],
  ['jobs'],
  ['models'],
  ['usecases'],
  ['runtime'],
  ['http'],
  ['routes'],
  ['app.ts'],
  ['server.ts'],
];

/** The unit a file of src/ belongs to: its top folder, or itself at the top. */
const unitOf = (file: string) => relative(SRC, file).split(sep)[0]!;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sourceFiles(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

/** Every relative import of src/ as [from unit, to unit, file, specifier]. */
function imports(): [string, string, string, string][] {
  const out: [string, string, string, string][] = [];
  for (const file of sourceFiles(SRC)) {
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/^\s*(?:import|export)\b[^'"]*?from\s+['"](\.{1,2}\/[^'"]+)['"]/gm)) {
      const target = resolve(dirname(file), m[1]!).replace(/\.js$/, '.ts');
      out.push([unitOf(file), unitOf(target), relative(SRC, file), m[1]!]);
    }
  }
  return out;
}

const layerOf = new Map(LAYERS.flatMap((units, i) => units.map((u) => [u, i] as const)));

describe('the layers of src/', () => {
  const edges = imports();

  it('names every folder and top-level file of src/ in a layer', () => {
    const units = readdirSync(SRC).filter((n) => n.endsWith('.ts') || !n.includes('.'));
    expect(units.filter((u) => !layerOf.has(u))).toEqual([]);
  });

  it('reads imports (the check itself is not empty)', () => {
    expect(edges.length).toBeGreaterThan(100);
    expect(edges.some(([from, to]) => from === 'routes' && to === 'http')).toBe(true);
  });

  it('has no import from a lower layer to a higher one, nor between units of one layer', () => {
    const against = edges.filter(([from, to]) => from !== to && layerOf.get(from)! <= layerOf.get(to)!);
    expect(against.map(([from, to, file, spec]) => `${file} imports ${spec} (${from} -> ${to})`)).toEqual([]);
  });

  it('has no import loop between folders', () => {
    const next = new Map<string, Set<string>>();
    for (const [from, to] of edges) if (from !== to) next.set(from, (next.get(from) ?? new Set()).add(to));
    const loops: string[] = [];
    const visit = (unit: string, path: string[]) => {
      for (const to of next.get(unit) ?? []) {
        if (path.includes(to)) loops.push([...path.slice(path.indexOf(to)), to].join(' -> '));
        else visit(to, [...path, to]);
      }
    };
    for (const unit of next.keys()) visit(unit, [unit]);
    expect(loops).toEqual([]);
  });

  it('keeps config.ts free of native code: it imports no module that loads the binding', () => {
    const reach = (unit: string, seen = new Set<string>()): Set<string> => {
      for (const [from, to] of edges)
        if (from === unit && !seen.has(to)) {
          seen.add(to);
          reach(to, seen);
        }
      return seen;
    };
    expect([...reach('config.ts')].filter((u) => ['native', 'accel', 'encoder', 'vlm'].includes(u))).toEqual([]);
  });

  it('keeps routes on the use cases: they import no gallery, knn, store or models, nor reach the loaded parts', () => {
    const below = ['gallery', 'knn', 'store', 'models', 'index'];
    const bypass = edges.filter(([from, to]) => from === 'routes' && below.includes(to));
    expect(bypass.map(([, , file, spec]) => `${file} imports ${spec}`)).toEqual([]);
    const reaching = sourceFiles(join(SRC, 'routes')).filter((file) =>
      /runtime\.parts\(|ready\(\)\.(gallery|models)\b|runtime\.config\.LOOKALIKE_(?!API_KEY|METRICS)/.test(
        readFileSync(file, 'utf8'),
      ),
    );
    expect(reaching.map((f) => relative(SRC, f))).toEqual([]);
  });

  it('keeps persistence behind the gallery: only gallery/ imports store/', () => {
    const persistence = edges.filter(([from, to]) => to === 'store' && from !== 'store' && from !== 'gallery');
    expect(persistence.map(([, , file, spec]) => `${file} imports ${spec}`)).toEqual([]);
  });

  it('writes an image row in one place: Gallery.add, called from Ingest alone', () => {
    const calls = (pattern: RegExp) =>
      [...sourceFiles(SRC), ...sourceFiles(resolve(SRC, '../scripts'))].flatMap((file) =>
        [...readFileSync(file, 'utf8').matchAll(pattern)].map(() => relative(SRC, file)),
      );
    expect(calls(/\.addImage\(/g)).toEqual([join('gallery', 'gallery.ts')]);
    expect(calls(/gallery\.add\(/gi)).toEqual([join('usecases', 'ingest.ts')]);
  });

  it(
    'keeps route handlers short: each parses, calls one use case and maps the answer, in under 40 lines, through ' +
      'app.runtime',
    () => {
      const long: string[] = [];
      for (const file of sourceFiles(join(SRC, 'routes'))) {
        const lines = readFileSync(file, 'utf8').split('\n');
        expect(lines.join('\n'), file).not.toMatch(/app\.services/);
        let start = -1;
        lines.forEach((line, i) => {
          if (/^ {2}\}, async \(/.test(line)) start = i;
          else if (start >= 0 && /^ {2}\}\);/.test(line)) {
            if (i - start + 1 >= 40) long.push(`${relative(SRC, file)}:${start + 1} (${i - start + 1} lines)`);
            start = -1;
          }
        });
      }
      expect(long).toEqual([]);
    },
  );
});
