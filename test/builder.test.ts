// The index builder as a user runs it: `npm run index -- <folder>` in a child process, on the tiny model.
import Database from 'better-sqlite3';
import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VisionEncoder } from '../src/engine/encoder/vision-encoder.js';
import { Gallery } from '../src/engine/gallery/gallery.js';
import { runScript, startScript } from './helpers/cli.js';
import { scenePng, writeImageFolder } from './helpers/images.js';
import { TINY_MMPROJ } from './helpers/models.js';

const params = { hnswM: 16, efSearch: 64, nprobe: 4 };
let root: string;
beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'lookalike-builder-'));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

const env = () => ({ LOOKALIKE_MMPROJ: TINY_MMPROJ, LOOKALIKE_MIN_TOKENS: '16', LOOKALIKE_MAX_TOKENS: '256' });

describe('npm run index', () => {
  it('completes over a folder with broken files and reports them, and duplicates', async () => {
    const folder = join(root, 'mixed');
    await writeImageFolder(folder, ['one', 'two'], 3);
    writeFileSync(join(folder, 'one', 'text.jpg'), 'this is text with a .jpg name');
    writeFileSync(join(folder, 'one', 'empty.png'), Buffer.alloc(0));
    const png = await sharp(await scenePng(5))
      .png()
      .toBuffer();
    writeFileSync(join(folder, 'two', 'truncated.png'), png.subarray(0, png.length >> 1));
    copyFileSync(join(folder, 'one', '0.jpg'), join(folder, 'two', 'copy-of-one-0.jpg'));
    writeFileSync(join(folder, 'notes.txt'), 'not an image, not even by name');
    const data = join(root, 'mixed-data');
    const r = await runScript('scripts/index.ts', [folder, '--labels-from-folders', '--data', data], env());
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/10 image files, 6 added, 0 already indexed, 0 relabelled, 1 exact duplicates, 3 failed/);
    expect(r.stdout).toMatch(/two\/copy-of-one-0.jpg = one\/0.jpg/);
    for (const f of ['one/text.jpg', 'one/empty.png', 'two/truncated.png']) expect(r.stdout).toContain(f);
    expect(r.stdout).toMatch(/text\.jpg: the file could not be decoded as an image/);
    expect(r.stdout).not.toMatch(/upload/);
    // the final progress line once, not twice
    expect(r.stderr.match(/indexing 10\/10/g)).toHaveLength(1);
    expect(r.stderr).toMatch(/indexing 10\/10 \(100.0%\) [\d.]+\/s ETA/);

    // run again: everything is already there
    const again = await runScript('scripts/index.ts', [folder, '--labels-from-folders', '--data', data], env());
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/0 added, 6 already indexed/);
  });

  it(
    "stores each file's metadata (EXIF, else its mtime) and path, and backfills rows from before metadata without " +
      'encoding',
    async () => {
      const folder = join(root, 'exif');
      mkdirSync(join(folder, 'trip'), { recursive: true });
      writeFileSync(
        join(folder, 'trip', 'cam.jpg'),
        await sharp(await scenePng(1))
          .jpeg()
          .withExif({
            IFD0: { Make: 'Acme', Model: 'Snap 9' },
            IFD2: { DateTimeOriginal: '2021:06:15 10:30:00', OffsetTimeOriginal: '-05:00', LensModel: 'Prime 35' },
            IFD3: {
              GPSLatitudeRef: 'N',
              GPSLatitude: '10/1 30/1 0/1',
              GPSLongitudeRef: 'W',
              GPSLongitude: '20/1 15/1 0/1',
            },
          })
          .toBuffer(),
      );
      writeFileSync(join(folder, 'plain.png'), await scenePng(2));
      const mtime = new Date('2017-08-09T10:11:12Z');
      utimesSync(join(folder, 'plain.png'), mtime, mtime);
      const data = join(root, 'exif-data');
      expect((await runScript('scripts/index.ts', [folder, '--data', data], env())).code).toBe(0);
      const rows = () => {
        const db = new Database(join(data, 'lookalike.db'), { readonly: true });
        try {
          return db
            .prepare(`SELECT source, taken_at, taken_ms, taken_from, camera_make, camera_model, lens, latitude, longitude, width, height, bytes,
          (SELECT hex(vector) FROM embeddings WHERE image_id = images.id) AS vector FROM images ORDER BY source`)
            .all() as Record<string, unknown>[];
        } finally {
          db.close();
        }
      };
      const first = rows();
      expect(first).toEqual([
        expect.objectContaining({
          source: 'plain.png',
          taken_at: mtime.toISOString(),
          taken_ms: mtime.getTime(),
          taken_from: 'file',
          camera_make: null,
          latitude: null,
        }),
        expect.objectContaining({
          source: 'trip/cam.jpg',
          taken_at: '2021-06-15T10:30:00-05:00',
          taken_ms: Date.parse('2021-06-15T15:30:00Z'),
          taken_from: 'exif',
          camera_make: 'Acme',
          camera_model: 'Snap 9',
          lens: 'Prime 35',
          latitude: 10.5,
          longitude: -20.25,
          bytes: statSync(join(folder, 'trip', 'cam.jpg')).size,
        }),
      ]);
      // as a data folder from before metadata looks after its migration
      const db = new Database(join(data, 'lookalike.db'));
      db.prepare(
        "UPDATE images SET taken_from = 'added', taken_at = added_at, camera_make = NULL, camera_model = NULL, lens " +
          '= NULL, latitude = NULL, longitude = NULL',
      ).run();
      db.close();
      const again = await runScript('scripts/index.ts', [folder, '--data', data], env());
      expect(again.code).toBe(0);
      expect(again.stdout).toMatch(/0 added, 2 already indexed \(2 given their metadata\)/);
      expect(rows()).toEqual(first); // the same metadata, the same vectors: nothing re-encoded
    },
  );

  it('loses nothing when killed with SIGKILL mid-run, and the next run finishes the job exactly', async () => {
    const folder = join(root, 'many');
    await writeImageFolder(folder, ['a', 'b', 'c', 'd'], 6);
    const data = join(root, 'many-data');
    // bigger images make each encode take long enough to kill the run in the middle
    const slow = { ...env(), LOOKALIKE_MIN_TOKENS: '700', LOOKALIKE_MAX_TOKENS: '800' };
    const child = startScript('scripts/index.ts', [folder, '--labels-from-folders', '--data', data], slow);
    const dbPath = join(data, 'lookalike.db');
    let committed = 0;
    for (let i = 0; i < 600 && committed < 3; i++) {
      await new Promise((r) => setTimeout(r, 100));
      try {
        const db = new Database(dbPath, { readonly: true, fileMustExist: true });
        committed = db.prepare('SELECT COUNT(*) FROM embeddings').pluck().get() as number;
        db.close();
      } catch {
        /* not created yet */
      }
    }
    child.kill('SIGKILL');
    await new Promise((r) => child.on('close', r));
    expect(committed).toBeGreaterThanOrEqual(3);
    const db = new Database(dbPath, { readonly: true });
    const afterKill = db.prepare('SELECT COUNT(*) FROM images').pluck().get() as number;
    db.close();
    expect(afterKill).toBeLessThan(24);

    const r = await runScript('scripts/index.ts', [folder, '--labels-from-folders', '--data', data], slow);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`${24 - afterKill} added, ${afterKill} already indexed`));
    const check = new Database(dbPath, { readonly: true });
    expect(check.prepare('SELECT COUNT(*) FROM images').pluck().get()).toBe(24);
    expect(check.prepare('SELECT COUNT(DISTINCT sha256) FROM images').pluck().get()).toBe(24);
    expect(check.prepare('SELECT COUNT(*) FROM embeddings').pluck().get()).toBe(24);
    expect(check.prepare('SELECT label, COUNT(*) AS n FROM images GROUP BY label ORDER BY label').all()).toEqual(
      ['a', 'b', 'c', 'd'].map((label) => ({ label, n: 6 })),
    );
    check.close();

    // the index agrees with the database
    const encoder = await VisionEncoder.load(TINY_MMPROJ, { minTokens: 700, maxTokens: 800 });
    const g = await Gallery.open({ dataDir: data, identity: encoder.identity, indexKind: 'flat', indexParams: params });
    try {
      expect(g.syncReport!.action).toBe('loaded');
      expect((await g.indexStats()).live).toBe(24);
      const query = (await encoder.embed(readFileSync(join(folder, 'c', '3.jpg')))).vector;
      expect((await g.search(query, { k: 1 }))[0]!.source).toBe('c/3.jpg');
    } finally {
      await g.close();
      await encoder.dispose();
    }
  });

  it('refuses a data folder of another model with a way out', async () => {
    const folder = join(root, 'small');
    await writeImageFolder(folder, ['x'], 2);
    const data = join(root, 'small-data');
    expect((await runScript('scripts/index.ts', [folder, '--data', data], env())).code).toBe(0);
    const other = { ...env(), LOOKALIKE_MAX_TOKENS: '128' }; // other token limits: other vectors, another model id
    const refused = await runScript('scripts/index.ts', [folder, '--data', data], other);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/never mixed.*--switch-model/s);
    const switched = await runScript('scripts/index.ts', [folder, '--data', data, '--switch-model'], other);
    expect(switched.code).toBe(0);
    expect(switched.stdout).toMatch(/2 added/);
  });

  it('exits 2 on bad usage and lists every option with its default in --help', async () => {
    expect((await runScript('scripts/index.ts', [])).code).toBe(2);
    expect((await runScript('scripts/index.ts', ['x', '--nope'])).code).toBe(2);
    const typo = await runScript('scripts/index.ts', ['x', '--lables', 'l.csv']);
    expect(typo.code).toBe(2);
    expect(typo.stderr).toMatch(/unknown option --lables \(did you mean --labels\?\)/);
    const threads = await runScript('scripts/index.ts', ['x', '--threads', 'many']);
    expect(threads.code).toBe(2);
    expect(threads.stderr).toMatch(/--threads "many": expected auto or a whole number from 1 to 256/);
    const help = await runScript('scripts/index.ts', ['--help']);
    expect(help.code).toBe(0);
    for (const opt of [
      '--labels-from-folders',
      '--labels',
      '--force',
      '--switch-model',
      '--data',
      '--mmproj',
      '--index-kind',
      '--threads',
    ])
      expect(help.stdout).toContain(opt);
    expect(help.stdout).toMatch(/--index-kind.*default: auto/);
  });

  it('the README shows the real --help of npm run index, npm run evaluate and npm run search', async () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    for (const script of ['index', 'evaluate', 'search']) {
      const help = await runScript(`scripts/${script}.ts`, ['--help']);
      expect(help.code).toBe(0);
      expect(readme, script).toContain(`$ npm run ${script} -- --help\n${help.stdout}\`\`\``);
    }
  });

  it('relabels images already indexed when their folder or list label changed, and says how many', async () => {
    const folder = join(root, 'relabel');
    await writeImageFolder(folder, ['cats', 'dogs'], 2);
    const data = join(root, 'relabel-data');
    expect((await runScript('scripts/index.ts', [folder, '--labels-from-folders', '--data', data], env())).code).toBe(
      0,
    );
    renameSync(join(folder, 'dogs'), join(folder, 'wolves'));
    const again = await runScript('scripts/index.ts', [folder, '--labels-from-folders', '--data', data], env());
    expect(again.stdout).toMatch(/0 added, 4 already indexed, 2 relabelled/);
    const forced = await runScript(
      'scripts/index.ts',
      [folder, '--labels-from-folders', '--force', '--data', data],
      env(),
    );
    expect(forced.stdout).toMatch(/0 added, 4 re-embedded, 0 already indexed, 0 relabelled/);
    expect(forced.stderr).toMatch(/re-embedded 4/);
    const encoder = await VisionEncoder.load(TINY_MMPROJ, { minTokens: 16, maxTokens: 256 });
    const g = await Gallery.open({ dataDir: data, identity: encoder.identity, indexKind: 'flat', indexParams: params });
    try {
      expect(g.labels()).toEqual([
        { label: 'cats', count: 2 },
        { label: 'wolves', count: 2 },
      ]);
      // KNN reads labels from SQLite: a relabel is seen by the next classification
      const query = (await encoder.embed(readFileSync(join(folder, 'wolves', '1.jpg')))).vector;
      const knn = { k: 4, temperature: 0.07, minSimilarity: 0, minConfidence: 0 };
      expect((await g.classify(query, knn)).label).toBe('wolves');
      for (const hit of await g.search(query, { k: 4 })) g.relabel(hit.id, 'foxes');
      expect((await g.classify(query, knn)).label).toBe('foxes');
    } finally {
      await g.close();
      await encoder.dispose();
    }
  });

  it('checks its arguments before it creates anything, and names what the user typed', async () => {
    const data = join(root, 'never-made');
    const missing = await runScript('scripts/index.ts', [join(root, 'no-such-folder'), '--data', data], env());
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/no-such-folder is not a folder/);
    expect(missing.stderr).not.toMatch(/ENOENT|scandir/);
    const noLabels = await runScript(
      'scripts/index.ts',
      [root, '--labels', join(root, 'nope.csv'), '--data', data],
      env(),
    );
    expect(noLabels.code).toBe(2);
    expect(noLabels.stderr).toMatch(/the labels file .*nope\.csv does not exist/);
    const kind = await runScript('scripts/index.ts', [root, '--index-kind', 'foo', '--data', data], env());
    expect(kind.code).toBe(2);
    expect(kind.stderr).toMatch(/--index-kind "foo"/);
    expect(kind.stderr).not.toMatch(/LOOKALIKE_INDEX_KIND/);
    writeFileSync(join(root, 'bad.csv'), 'one.png,cat\nno comma on this line\n');
    const badList = await runScript(
      'scripts/index.ts',
      [root, '--labels', join(root, 'bad.csv'), '--data', data],
      env(),
    );
    expect(badList.code).toBe(2);
    expect(badList.stderr).toMatch(/the labels file .*bad\.csv: line 2: expected "path,label"/);
    expect(existsSync(data)).toBe(false);
    writeFileSync(join(root, 'config.json'), JSON.stringify({ LOOKALIKE_MAX_TOKEN: 128 }));
    const typo = await runScript('scripts/index.ts', [root, '--data', data], {
      ...env(),
      LOOKALIKE_CONFIG: join(root, 'config.json'),
    });
    expect(typo.code).toBe(2);
    expect(typo.stderr).toMatch(
      /LOOKALIKE_MAX_TOKEN in .*config\.json: not a setting \(did you mean LOOKALIKE_MAX_TOKENS\?\)/,
    );
    expect(existsSync(data)).toBe(false);
  });

  it("indexes with no model of one's own only when told to (--demo), and says how to choose one", async () => {
    const folder = join(root, 'pictures');
    await writeImageFolder(folder, ['a'], 2);
    const data = join(root, 'pictures-data');
    const none = { LOOKALIKE_MMPROJ: '', LOOKALIKE_EMBED_MODEL: '', LOOKALIKE_DATA_DIR: data };
    const refused = await runScript('scripts/index.ts', [folder], none);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(
      /no model chosen: set LOOKALIKE_MMPROJ \(or --mmproj\).*LOOKALIKE_EMBED_MODEL.*or give --demo/s,
    );
    expect(refused.stderr).toContain(join(data, 'demo'));
    expect(existsSync(data)).toBe(false);
    const halfEmbed = await runScript('scripts/index.ts', [folder, '--embed-model', join(root, 'embed.gguf')], none);
    expect(halfEmbed.code).toBe(2);
    expect(halfEmbed.stderr).toMatch(/LOOKALIKE_EMBED_MODEL \(--embed-model\) needs its mmproj: set LOOKALIKE_MMPROJ/);
    const both = await runScript('scripts/index.ts', [folder, '--demo', '--mmproj', TINY_MMPROJ], none);
    expect(both.code).toBe(2);
    expect(both.stderr).toMatch(/--demo indexes with the demo models: give it without LOOKALIKE_MMPROJ/);
    expect(existsSync(data)).toBe(false);
    const demo = await runScript('scripts/index.ts', [folder, '--demo'], none);
    expect(demo.code, demo.stderr).toBe(0);
    expect(demo.stdout).toMatch(/2 added/);
    expect(Gallery.exists(join(data, 'demo'))).toBe(true);
  });

  it('takes the embedding model as --embed-model, as the other commands do, and words then find its images', async () => {
    const folder = join(root, 'embed');
    await writeImageFolder(folder, ['a'], 2);
    const data = join(root, 'embed-data');
    const env = {
      LOOKALIKE_MMPROJ: '',
      LOOKALIKE_EMBED_MODEL: '',
      LOOKALIKE_DATA_DIR: data,
      LOOKALIKE_MODELS_DIR: join(root, 'models'),
    };
    const r = await runScript('scripts/index.ts', [folder, '--embed-model', 'demo'], env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/2 added/);
    expect(Gallery.exists(join(data, 'demo-embedding'))).toBe(true);
    const words = await runScript(
      'scripts/search.ts',
      ['a sneaker', '--embed-model', 'demo', '--json', '--k', '2'],
      env,
    );
    expect(words.code, words.stderr).toBe(0);
    expect((JSON.parse(words.stdout) as { source: string }[]).map((h) => h.source).sort()).toEqual([
      'a/0.jpg',
      'a/1.jpg',
    ]);
  });

  it("remembers the data folder's index kind: a run without --index-kind keeps it, another kind replaces it", async () => {
    const folder = join(root, 'kinds');
    await writeImageFolder(folder, ['a'], 3);
    const data = join(root, 'kinds-data');
    const files = () =>
      readdirSync(join(data, 'index'))
        .filter((f) => !f.includes('.tmp'))
        .map((f) => f.split('.')[0])
        .sort();
    expect((await runScript('scripts/index.ts', [folder, '--data', data, '--index-kind', 'hnsw'], env())).code).toBe(0);
    expect(new Set(files())).toEqual(new Set(['hnsw']));
    const again = await runScript('scripts/index.ts', [folder, '--data', data], env()); // no kind given: the folder's
    expect(again.code).toBe(0);
    expect(again.stderr).toMatch(/^index hnsw$/m);
    expect(new Set(files())).toEqual(new Set(['hnsw'])); // no flat index built beside it
    const flat = await runScript('scripts/index.ts', [folder, '--data', data, '--index-kind', 'flat'], env());
    expect(flat.stderr).toMatch(/this data folder holds a hnsw index; LOOKALIKE_INDEX_KIND=flat replaces it/);
    expect(new Set(files())).toEqual(new Set(['flat']));
  });

  it('exits 1 when every image failed, and says so', async () => {
    const folder = join(root, 'all-broken');
    mkdirSync(folder, { recursive: true });
    writeFileSync(join(folder, 'a.jpg'), 'text, not a picture');
    writeFileSync(join(folder, 'b.png'), Buffer.alloc(0));
    const r = await runScript('scripts/index.ts', [folder, '--data', join(root, 'all-broken-data')], env());
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/0 added, 0 already indexed, .* 2 failed/);
    expect(r.stderr).toMatch(/every image failed \(2\): nothing was stored/);
  });

  it('npm run evaluate on a read-only data folder names the file and says it is read-only', async () => {
    const folder = join(root, 'ro-images');
    await writeImageFolder(folder, ['a', 'b'], 2);
    const data = join(root, 'ro-data'),
      mounted = join(root, 'ro-mount');
    expect((await runScript('scripts/index.ts', [folder, '--labels-from-folders', '--data', data], env())).code).toBe(
      0,
    );
    // root writes through file modes, so the folder is made read-only the way a read-only disk is: a read-only mount
    mkdirSync(mounted);
    const asRoot = process.getuid?.() === 0;
    if (asRoot) execFileSync('mount', ['--bind', '-o', 'ro', data, mounted]);
    else {
      rmSync(mounted, { recursive: true });
      renameSync(data, mounted);
      chmodSync(mounted, 0o555);
    }
    try {
      const r = await runScript('scripts/evaluate.ts', ['--data', mounted], env());
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(
        `cannot open ${join(mounted, 'lookalike.db')}: the data folder ${mounted} is read-only`,
      );
      expect(r.stderr).not.toMatch(/unable to open database file/);
    } finally {
      if (asRoot) execFileSync('umount', [mounted]);
      else chmodSync(mounted, 0o755);
    }
  });

  it('reads labels from a list file', async () => {
    const folder = join(root, 'listed');
    mkdirSync(folder, { recursive: true });
    writeFileSync(join(folder, 'p.png'), await scenePng(71));
    writeFileSync(join(folder, 'q.png'), await scenePng(72));
    writeFileSync(
      join(root, 'labels.csv'),
      'path,label\nlisted/p.png,pear\n"listed/q.png",quince\nlisted/gone.png,ghost\n',
    );
    const data = join(root, 'listed-data');
    const r = await runScript(
      'scripts/index.ts',
      [folder, '--labels', join(root, 'labels.csv'), '--data', data],
      env(),
    );
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/the labels file names 1 file\(s\) that do not exist: .*listed\/gone\.png/);
    const db = new Database(join(data, 'lookalike.db'), { readonly: true });
    expect(db.prepare('SELECT source, label FROM images ORDER BY source').all()).toEqual([
      { source: 'p.png', label: 'pear' },
      { source: 'q.png', label: 'quince' },
    ]);
    db.close();
  });
});
