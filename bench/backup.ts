// bench/backup: the time and size of `npm run backup` and `npm run restore` for a gallery of N images, built through
// the real write path (Gallery.add: SQLite, then the index worker) with 4096-d vectors (bench/synthetic's) and
// thumbnails of --thumb-kb random bytes each (a 256 px WebP thumbnail is 5-15 KB, and does not compress).
// The backup and the restore run as their own processes, as a user runs them.
//   npm run bench:backup -- --n 20000 [--thumb-kb 10] [--kind flat] [--dir <folder> (kept)] [--under-load]
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Gallery } from '../src/engine/gallery/gallery.js';
import type { IndexKind } from '../src/engine/index/kinds.js';
import { identity } from '../test/helpers/vectors.js';
import { DIM, makeSource } from './synthetic.js';

const { values } = parseArgs({
  options: {
    n: { type: 'string', default: '20000' },
    'thumb-kb': { type: 'string', default: '10' },
    kind: { type: 'string', default: 'flat' },
    dir: { type: 'string' },
    'under-load': { type: 'boolean' },
  },
});
const n = Number(values.n),
  thumbBytes = Number(values['thumb-kb']) * 1024,
  kind = values.kind as IndexKind;
const ROOT = fileURLToPath(new URL('../', import.meta.url));
const params = { hnswM: 32, efSearch: 64, nprobe: 16, exactCandidates: 100 };
const open = (dir: string) =>
  Gallery.open({
    dataDir: dir,
    identity: identity(DIM, 'bench'),
    indexKind: kind,
    indexParams: params,
    log: () => {},
  });
/** What the gallery stores beside image `i`'s vector (a thumbnail of random bytes). */
const image = (i: number) => ({
  sha256: i.toString(16).padStart(64, '0'),
  bytes: 100_000,
  width: 1024,
  height: 768,
  thumbnail: randomBytes(thumbBytes),
});
const meta = { source: null, label: null };

function folderBytes(dir: string): number {
  return readdirSync(dir, { withFileTypes: true }).reduce(
    (s, e) => s + (e.isDirectory() ? folderBytes(join(dir, e.name)) : statSync(join(dir, e.name)).size),
    0,
  );
}

function run(script: string, args: string[], dataDir: string): Promise<{ seconds: number; stderr: string }> {
  const started = performance.now();
  // the backup lists the configured model files: the demo's, as this gallery has no real model
  const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], {
    cwd: ROOT,
    env: {
      ...process.env,
      LOOKALIKE_DATA_DIR: dataDir,
      LOOKALIKE_MMPROJ: join(ROOT, 'src/engine/demo/models/fashion-vision-mmproj.gguf'),
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d) => {
    stderr += d;
    process.stderr.write(d);
  });
  return new Promise((resolve, reject) =>
    child.on('close', (code) => {
      if (code === 0) resolve({ seconds: (performance.now() - started) / 1000, stderr });
      else reject(new Error(`${script} exited ${code}`));
    }),
  );
}

const dir = values.dir ?? mkdtempSync(join(tmpdir(), 'lookalike-bench-backup-'));
const dataDir = join(dir, 'data');
const f = (x: number, d = 1) => x.toFixed(d);
try {
  const src = makeSource(n, 42);
  const v = new Float32Array(DIM);
  if (!existsSync(join(dataDir, 'lookalike.db'))) {
    const gallery = await open(dataDir);
    const started = performance.now();
    for (let i = 0; i < n; i++) {
      src.point(v, i % src.clusters);
      await gallery.add(image(i), v, meta);
      if ((i + 1) % 10_000 === 0) console.log(`  built ${i + 1}/${n} in ${f((performance.now() - started) / 1000)} s`);
    }
    await gallery.close(); // saves the index
  }
  // --under-load: this process holds the gallery (and its lock) as a server would, and adds one image after another
  // while the backup runs beside it
  let writer: Promise<number> | null = null,
    stop = false;
  let gallery: Gallery | null = null;
  if (values['under-load']) {
    gallery = await open(dataDir);
    const g = gallery;
    writer = (async () => {
      let added = 0;
      while (!stop) {
        src.point(v, added % src.clusters);
        await g.add(image(n + added), v, meta);
        added++;
      }
      return added;
    })();
  }
  const target = join(dir, 'backup');
  rmSync(target, { recursive: true, force: true });
  const b = await run('scripts/backup.ts', [target], dataDir);
  stop = true;
  const addedMeanwhile = writer ? await writer : 0;
  await gallery?.close();
  const restored = join(dir, 'restored');
  rmSync(restored, { recursive: true, force: true });
  const r = await run('scripts/restore.ts', [target, '--data-dir', restored], dataDir);
  const dataBytes = folderBytes(dataDir),
    backupBytes = folderBytes(target);
  const inner = (out: string, what: string) => Number(new RegExp(`${what}: done in ([\\d.]+) s`).exec(out)?.[1]);
  const day = new Date().toISOString().slice(0, 10);
  console.log(`\n${n} images x ${DIM} dims, thumbnails ${values['thumb-kb']} KB, ${kind} index; ${day}`);
  console.log(
    `data folder ${f(dataBytes / 2 ** 30, 2)} GiB; backup ${f(backupBytes / 2 ** 30, 2)} GiB ` +
      `in ${inner(b.stderr, 'backup')} s (${f(b.seconds)} s with the process's start)` +
      `${writer ? `, ${addedMeanwhile} images added meanwhile` : ''}; restore in ${inner(r.stderr, 'restore')} s ` +
      `(${f(r.seconds)} s with the process's start; it checks every sha256, then copies)`,
  );
} finally {
  if (!values.dir) rmSync(dir, { recursive: true, force: true });
}
