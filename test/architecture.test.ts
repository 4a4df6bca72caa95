// The tiers of src/ (README "How it is built"): web, application, engine, core, top down. A file imports its own tier,
// the tier directly below it and core, nothing else; and no folder holds a loop, between its sub-folders or between
// its files. Read from the import statements; no tool beyond this file. The rules are pure functions of an import
// graph, so the tests below also run them on small made-up graphs and see each rule fail.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = resolve(import.meta.dirname, '../src');

/** Top down. core is below every tier: the records, errors, settings and helpers all of them name. */
const TIERS = ['web', 'application', 'engine', 'core'] as const;

/** An import, as paths from src/ with '/' between parts: `from` imports `to`. */
interface Edge {
  from: string;
  to: string;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    if (e.isDirectory()) return e.name === 'build' ? [] : sourceFiles(join(dir, e.name));
    return /\.(ts|mts|mjs)$/.test(e.name) ? [join(dir, e.name)] : [];
  });
}

const SPECIFIERS = [
  /^\s*(?:import|export)\b[^'"]*?from\s+['"](\.{1,2}\/[^'"]+)['"]/gm, // static, types too
  /^\s*import\s+['"](\.{1,2}\/[^'"]+)['"]/gm, // for its effects
  /\bimport\(\s*['"](\.{1,2}\/[^'"]+)['"]\s*\)/g, // dynamic
];

/** Every relative import of src/. */
function imports(): Edge[] {
  const path = (file: string) => relative(SRC, file).split(sep).join('/');
  return sourceFiles(SRC).flatMap((file) => {
    const text = readFileSync(file, 'utf8');
    return SPECIFIERS.flatMap((re) => [...text.matchAll(re)]).map((m) => ({
      from: path(file),
      to: path(resolve(dirname(file), m[1]!).replace(/\.js$/, '.ts')),
    }));
  });
}

const tierOf = (path: string) => path.split('/')[0]!;

/** Imports that leave their tier for another than the one directly below, or core. */
function tierViolations(edges: Edge[]): string[] {
  return edges
    .filter(({ from, to }) => {
      const [a, b] = [TIERS.indexOf(tierOf(from) as never), TIERS.indexOf(tierOf(to) as never)];
      return !(a === b || tierOf(to) === 'core' || b === a + 1);
    })
    .map(({ from, to }) => `${from} imports ${to} (${tierOf(from)} -> ${tierOf(to)})`);
}

/** Loops inside a folder: for every folder, the graph between its entries (a file, or a sub-folder with all it holds)
 *  must have no cycle. At src/ that is between tiers, in a tier between its folders, in a folder between files. */
function folderLoops(edges: Edge[]): string[] {
  const next = new Map<string, Set<string>>(); // entry -> entries of the same folder it imports
  for (const { from, to } of edges) {
    const [a, b] = [from.split('/'), to.split('/')];
    let i = 0;
    while (i < a.length - 1 && i < b.length - 1 && a[i] === b[i]) i++;
    if (a[i] === b[i]) continue; // the same file
    const [x, y] = [a.slice(0, i + 1).join('/'), b.slice(0, i + 1).join('/')];
    next.set(x, (next.get(x) ?? new Set()).add(y));
  }
  const loops = new Set<string>();
  const state = new Map<string, 'open' | 'done'>();
  const visit = (entry: string, path: string[]) => {
    state.set(entry, 'open');
    for (const to of next.get(entry) ?? []) {
      if (state.get(to) === 'open') loops.add([...path.slice(path.indexOf(to)), to].join(' -> '));
      else if (!state.has(to)) visit(to, [...path, to]);
    }
    state.set(entry, 'done');
  };
  for (const entry of [...next.keys()].sort()) if (!state.has(entry)) visit(entry, [entry]);
  return [...loops];
}

describe('the tiers of src/', () => {
  const edges = imports();

  it('holds the tiers alone at its top', () => {
    expect(readdirSync(SRC).sort()).toEqual([...TIERS].sort());
  });

  it('reads imports (the check itself is not empty)', () => {
    expect(edges.length).toBeGreaterThan(300);
    expect(edges.some(({ from, to }) => from.startsWith('web/routes/') && to.startsWith('web/http/'))).toBe(true);
    expect(edges.some(({ to }) => to === 'engine/index/index-thread.ts')).toBe(false); // a thread's entry, by URL
  });

  it('imports only its own tier, the tier directly below, and core', () => {
    expect(tierViolations(edges)).toEqual([]);
  });

  it('has no import loop inside any folder: between tiers, between the folders of a tier, between files', () => {
    expect(folderLoops(edges)).toEqual([]);
  });

  it('fails on a deliberate violation of each rule (made-up graphs)', () => {
    const e = (from: string, to: string) => ({ from, to });
    const allowed = [
      e('web/routes/a.ts', 'web/http/b.ts'),
      e('web/routes/a.ts', 'application/usecases/c.ts'),
      e('application/usecases/c.ts', 'engine/gallery/d.ts'),
      e('engine/gallery/d.ts', 'engine/store/f.ts'),
      e('engine/gallery/d.ts', 'core/errors.ts'),
      e('web/app.ts', 'core/config.ts'),
    ];
    expect(tierViolations(allowed)).toEqual([]);
    expect(folderLoops(allowed)).toEqual([]);
    // a tier skipped, one imported from below, core importing a tier
    expect(tierViolations([...allowed, e('web/routes/a.ts', 'engine/vlm/v.ts')])).toEqual([
      'web/routes/a.ts imports engine/vlm/v.ts (web -> engine)',
    ]);
    expect(tierViolations([e('engine/store/f.ts', 'application/usecases/c.ts')])).toHaveLength(1);
    expect(tierViolations([e('core/config.ts', 'engine/native/binding.ts')])).toHaveLength(1);
    // loops: between two folders of a tier, between two files of a folder, and a long one through three folders
    expect(folderLoops([...allowed, e('engine/store/f.ts', 'engine/gallery/x.ts')])).toEqual([
      'engine/gallery -> engine/store -> engine/gallery',
    ]);
    expect(
      folderLoops([e('engine/gallery/a.ts', 'engine/gallery/b.ts'), e('engine/gallery/b.ts', 'engine/gallery/a.ts')]),
    ).toEqual(['engine/gallery/a.ts -> engine/gallery/b.ts -> engine/gallery/a.ts']);
    expect(
      folderLoops([e('core/a/x.ts', 'core/b/y.ts'), e('core/b/y.ts', 'core/c/z.ts'), e('core/c/z.ts', 'core/a/w.ts')]),
    ).toHaveLength(1);
    // an import into a sub-folder of one's own folder is one edge between the two entries, not a loop
    expect(
      folderLoops([
        e('engine/gallery/a.ts', 'engine/gallery/sub/b.ts'),
        e('engine/gallery/sub/b.ts', 'engine/knn/k.ts'),
      ]),
    ).toEqual([]);
  });

  const inside = (path: string) => edges.filter(({ from }) => from.startsWith(path));

  it('keeps routes on the use cases: they import no gallery, knn, store or models, nor reach the loaded parts', () => {
    const below = ['engine/', 'application/models/'];
    const bypass = inside('web/routes/').filter(({ to }) => below.some((b) => to.startsWith(b)));
    expect(bypass.map(({ from, to }) => `${from} imports ${to}`)).toEqual([]);
    const reaching = sourceFiles(join(SRC, 'web/routes')).filter((file) =>
      /runtime\.parts\(|ready\(\)\.(gallery|models)\b|runtime\.config\.LOOKALIKE_(?!API_KEY|METRICS)/.test(
        readFileSync(file, 'utf8'),
      ),
    );
    expect(reaching.map((f) => relative(SRC, f))).toEqual([]);
  });

  it('keeps persistence behind the gallery: only engine/gallery/ imports engine/store/', () => {
    const persistence = edges.filter(
      ({ from, to }) =>
        to.startsWith('engine/store/') && !from.startsWith('engine/store/') && !from.startsWith('engine/gallery/'),
    );
    expect(persistence.map(({ from, to }) => `${from} imports ${to}`)).toEqual([]);
  });

  it('writes an image row in one place: Gallery.add, called from Ingest alone', () => {
    const calls = (pattern: RegExp) =>
      [...sourceFiles(SRC), ...sourceFiles(resolve(SRC, '../scripts'))].flatMap((file) =>
        [...readFileSync(file, 'utf8').matchAll(pattern)].map(() => relative(SRC, file)),
      );
    expect(calls(/\.addImage\(/g)).toEqual([join('engine', 'gallery', 'gallery.ts')]);
    expect(calls(/gallery\.add\(/gi)).toEqual([join('application', 'usecases', 'ingest.ts')]);
  });

  it('keeps route handlers short: each parses, calls one use case and maps the answer, in under 40 lines', () => {
    const long: string[] = [];
    let handlers = 0;
    for (const file of sourceFiles(join(SRC, 'web/routes'))) {
      const lines = readFileSync(file, 'utf8').split('\n');
      expect(lines.join('\n'), file).not.toMatch(/app\.services/);
      let start = -1;
      lines.forEach((line, i) => {
        if (/^ {4}async \(.*\{$/.test(line)) {
          start = i;
          handlers++;
        } else if (start >= 0 && /^ {4}\},?$/.test(line)) {
          if (i - start + 1 >= 40) long.push(`${relative(SRC, file)}:${start + 1} (${i - start + 1} lines)`);
          start = -1;
        }
      });
    }
    expect(handlers).toBeGreaterThan(10); // the pattern still finds them
    expect(long).toEqual([]);
  });
});
