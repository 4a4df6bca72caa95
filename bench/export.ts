// bench/export: the time, size and peak memory of `npm run export` (npy float32, npy float16, jsonl float32, each
// with thumbnails) and the time of an import, for a gallery of N images built through the real write path
// (Gallery.add) with 4096-d vectors (bench/synthetic's) and thumbnails of --thumb-kb random bytes each.
// The exports run as their own processes, as a user runs them (peak RSS by /usr/bin/time). The import runs the use
// case in this process with the synthetic gallery's identity (npm run import takes the identity from the configured
// model's files, which this gallery has none of).
//   npm run bench:export -- --n 5000 [--thumb-kb 10] [--dir <folder> (kept)]
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Gallery } from '../src/engine/gallery/gallery.js';
import { importExport } from '../src/engine/gallery/export-import.js';
import { identity } from '../test/helpers/vectors.js';
import { DIM, makeSource } from './synthetic.js';

const { values } = parseArgs({
  options: {
    n: { type: 'string', default: '5000' },
    'thumb-kb': { type: 'string', default: '10' },
    dir: { type: 'string' },
  },
});
const n = Number(values.n),
  thumbBytes = Number(values['thumb-kb']) * 1024;
const ROOT = fileURLToPath(new URL('../', import.meta.url));
const model = identity(DIM, 'bench');
const params = { hnswM: 32, efSearch: 64, nprobe: 16, exactCandidates: 100 };

function folderBytes(dir: string): number {
  return readdirSync(dir, { withFileTypes: true }).reduce(
    (s, e) => s + (e.isDirectory() ? folderBytes(join(dir, e.name)) : statSync(join(dir, e.name)).size),
    0,
  );
}

/** Runs the export script; its own "done in" seconds and its peak resident memory. */
function runExport(args: string[]): Promise<{ seconds: number; peakMiB: number }> {
  const command = [process.execPath, '--import', 'tsx', 'scripts/export.ts', ...args];
  const child = spawn('/usr/bin/time', ['-f', 'peak-rss-kb %M', ...command], {
    cwd: ROOT,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d) => {
    stderr += d;
    process.stderr.write(d);
  });
  return new Promise((resolve, reject) =>
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`export exited ${code}`));
      resolve({
        seconds: Number(/export: done in ([\d.]+) s/.exec(stderr)?.[1]),
        peakMiB: Number(/peak-rss-kb (\d+)/.exec(stderr)?.[1]) / 1024,
      });
    }),
  );
}

const dir = values.dir ?? mkdtempSync(join(tmpdir(), 'lookalike-bench-export-'));
const dataDir = join(dir, 'data');
const f = (x: number, d = 1) => x.toFixed(d);
const mib = (bytes: number) => `${f(bytes / 2 ** 20, 0)} MiB`;
try {
  if (!existsSync(join(dataDir, 'lookalike.db'))) {
    const src = makeSource(n, 42);
    const v = new Float32Array(DIM);
    const gallery = await Gallery.open({
      dataDir,
      identity: model,
      indexKind: 'flat',
      indexParams: params,
      log: () => {},
    });
    for (let i = 0; i < n; i++) {
      src.point(v, i % src.clusters);
      const image = {
        sha256: i.toString(16).padStart(64, '0'),
        bytes: 100_000,
        width: 1024,
        height: 768,
        thumbnail: randomBytes(thumbBytes),
      };
      await gallery.add(image, v, { source: `photos/${i}.jpg`, label: i % 4 ? null : `class-${i % 10}` });
    }
    await gallery.close();
  }
  const day = new Date().toISOString().slice(0, 10);
  const lines = [
    `${n} images x ${DIM} dims, thumbnails ${values['thumb-kb']} KB; ` +
      `data folder ${mib(folderBytes(dataDir))}; ${day}`,
  ];
  for (const [name, flags] of [
    ['npy-f32', ['--format', 'npy']],
    ['npy-f16', ['--format', 'npy', '--f16']],
    ['jsonl-f32', ['--format', 'jsonl']],
  ] as const) {
    const out = join(dir, name);
    rmSync(out, { recursive: true, force: true });
    const r = await runExport(['--data-dir', dataDir, '--out', out, '--thumbnails', ...flags]);
    const thumbs = folderBytes(join(out, 'thumbnails'));
    lines.push(
      `export ${name}: ${f(r.seconds)} s, ${mib(folderBytes(out) - thumbs)} + ${mib(thumbs)} of thumbnails, ` +
        `peak RSS ${f(r.peakMiB, 0)} MiB`,
    );
  }
  for (const name of ['npy-f16', 'jsonl-f32']) {
    const target = join(dir, `imported-${name}`);
    rmSync(target, { recursive: true, force: true });
    const started = performance.now();
    await importExport({
      exportDir: join(dir, name),
      dataDir: target,
      identity: model,
      indexKind: 'flat',
      indexParams: params,
      progress: () => {},
    });
    lines.push(
      `import ${name}: ${f((performance.now() - started) / 1000)} s (checks every sha256, inserts, builds ` +
        `and saves the flat index); data folder ${mib(folderBytes(target))}`,
    );
  }
  console.log(`\n${lines.join('\n')}`);
} finally {
  if (!values.dir) rmSync(dir, { recursive: true, force: true });
}
