// npm run search's rclip form (terms joined by + and -, weights, #ids) and --copy-to / --link, on real data folders.
import {
  copyFileSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_MMPROJ } from '../src/application/models/resolve.js';
import { multipart, startTestApp, type TestApp } from './helpers/app.js';
import { runScript } from './helpers/cli.js';
import { MODELS_DIR } from './helpers/models.js';
import { scenePng } from './helpers/images.js';

const root = mkdtempSync(join(tmpdir(), 'lookalike-search-cli-'));
const folder = join(root, 'photos');
const data = join(root, 'data');
let t: TestApp;
const search = (args: string[], env: Record<string, string> = {}) =>
  runScript('scripts/search.ts', [...args, '--data', data, '--mmproj', DEMO_MMPROJ], {
    LOOKALIKE_MODELS_DIR: MODELS_DIR,
    LOOKALIKE_EMBED_MODEL: '',
    ...env,
  });

beforeAll(async () => {
  mkdirSync(join(folder, 'sub'), { recursive: true });
  for (let i = 0; i < 6; i++) writeFileSync(join(folder, i < 3 ? '' : 'sub', `scene${i}.png`), await scenePng(700 + i));
  const indexed = await runScript('scripts/index.ts', [folder, '--data', data, '--mmproj', DEMO_MMPROJ], {
    LOOKALIKE_MODELS_DIR: MODELS_DIR,
  });
  expect(indexed.code, indexed.stderr).toBe(0);
  // the server on the same folder: an upload keeps no original
  t = await startTestApp({ LOOKALIKE_DATA_DIR: data, LOOKALIKE_MMPROJ: DEMO_MMPROJ });
  const res = await t.app.inject({
    method: 'POST',
    url: '/api/images',
    ...multipart({ image: { filename: 'upload.png', data: await scenePng(799) } }),
  });
  expect(res.statusCode).toBe(201);
});
afterAll(async () => {
  await t?.close();
  rmSync(root, { recursive: true, force: true });
});

describe('npm run search -- <terms> --copy-to', () => {
  it('copies the matching originals from the indexed folder, by their names, beside the running server', async () => {
    const out = join(root, 'copies');
    const r = await search([
      join(folder, 'sub', 'scene4.png'),
      '--k',
      '6',
      '--json',
      '--copy-to',
      out,
      '--from',
      folder,
    ]);
    const hits = JSON.parse(r.stdout) as { id: number; source: string }[];
    expect(hits[0]!.source).toBe(join('sub', 'scene4.png'));
    expect(hits.map((h) => h.source)).toContain('upload.png');
    // 5 of the 6 have an original; the upload has none: said so, exit 1
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toMatch(/#\d+: not taken: no original at .*upload\.png \(an upload keeps none/);
    expect(r.stderr).toMatch(
      /6 results into .*: 5 copied \(0 of them renamed, as another file had the name\), 0 skipped as identical \(already there\), 1 not taken/,
    );
    const taken = readdirSync(out).sort();
    expect(taken).toHaveLength(5);
    for (const name of taken) {
      const source = hits.find((h) => h.source.endsWith(name))!.source;
      expect(readFileSync(join(out, name)).equals(readFileSync(join(folder, source))), name).toBe(true);
    }
  });

  it(
    'links instead with --link, takes no file that changed since it was indexed, and suffixes a name that holds ' +
      'another file',
    async () => {
      const out = join(root, 'links');
      mkdirSync(out);
      writeFileSync(join(out, 'scene0.png'), 'already here');
      const changed = join(folder, 'scene1.png');
      const before = readFileSync(changed);
      writeFileSync(changed, await scenePng(1234));
      try {
        const r = await search([
          join(folder, 'scene0.png'),
          '--k',
          '7',
          '--json',
          '--copy-to',
          out,
          '--link',
          '--from',
          folder,
        ]);
        expect(r.code).toBe(1);
        expect(r.stderr).toMatch(/scene1\.png changed since it was indexed/);
        const hits = JSON.parse(r.stdout) as { id: number; source: string }[];
        const first = hits.find((h) => h.source === 'scene0.png')!;
        expect(first).toBeDefined();
        const link = join(out, 'scene0-1.png');
        expect(lstatSync(link).isSymbolicLink()).toBe(true);
        expect(readlinkSync(link)).toBe(join(folder, 'scene0.png'));
        expect(r.stderr).toMatch(
          /7 results into .*: 5 linked \(1 of them renamed, as another file had the name\), 0 skipped as identical/,
        );
        // a second run links nothing new: each link there already leads to the same content
        const again = await search([
          join(folder, 'scene0.png'),
          '--k',
          '7',
          '--copy-to',
          out,
          '--link',
          '--from',
          folder,
        ]);
        expect(again.stderr).toMatch(
          /7 results into .*: 0 linked \(0 of them renamed, as another file had the name\), 5 skipped as identical/,
        );
        expect(readdirSync(out)).toHaveLength(6);
      } finally {
        writeFileSync(changed, before);
      }
    },
  );

  it(
    'goes on past names that are taken: skips the same content, suffixes the rest, and a second run copies ' +
      'nothing new',
    async () => {
      const out = join(root, 'clashes');
      mkdirSync(out);
      writeFileSync(join(out, 'scene0.png'), 'another picture of this name');
      writeFileSync(join(out, 'scene0-1.png'), 'and another');
      copyFileSync(join(folder, 'scene2.png'), join(out, 'scene2.png'));
      const before = readdirSync(out);
      const r = await search([join(folder, 'scene0.png'), '--k', '7', '--json', '--copy-to', out, '--from', folder]);
      expect(r.code, r.stderr).toBe(1); // the upload has no original
      expect(r.stderr).toMatch(
        /7 results into .*: 5 copied \(1 of them renamed, as another file had the name\), 1 skipped as identical \(already there\), 1 not taken\n/,
      );
      expect(readFileSync(join(out, 'scene0-2.png')).equals(readFileSync(join(folder, 'scene0.png')))).toBe(true);
      expect(readFileSync(join(out, 'scene0.png'), 'utf8')).toBe('another picture of this name');
      const after = readdirSync(out).sort();
      expect(after.filter((f) => !before.includes(f))).toEqual([
        'scene0-2.png',
        'scene1.png',
        'scene3.png',
        'scene4.png',
        'scene5.png',
      ]);
      const again = await search([join(folder, 'scene0.png'), '--k', '7', '--copy-to', out, '--from', folder]);
      expect(again.code, again.stderr).toBe(1);
      expect(again.stderr).toMatch(
        /7 results into .*: 0 copied \(0 of them renamed, as another file had the name\), 6 skipped as identical/,
      );
      expect(readdirSync(out).sort()).toEqual(after);
    },
  );

  it('takes a file from a folder whose name only begins with two dots', async () => {
    const photos = join(root, 'dots');
    const dotted = join(photos, '..weird');
    mkdirSync(dotted, { recursive: true });
    writeFileSync(join(dotted, 'odd.png'), await scenePng(900));
    const dotsData = join(root, 'dots-data');
    const indexed = await runScript('scripts/index.ts', [photos, '--data', dotsData, '--mmproj', DEMO_MMPROJ], {
      LOOKALIKE_MODELS_DIR: MODELS_DIR,
    });
    expect(indexed.code, indexed.stderr).toBe(0);
    const out = join(root, 'dots-out');
    const r = await runScript(
      'scripts/search.ts',
      [
        join(dotted, 'odd.png'),
        '--k',
        '1',
        '--data',
        dotsData,
        '--mmproj',
        DEMO_MMPROJ,
        '--copy-to',
        out,
        '--from',
        photos,
      ],
      { LOOKALIKE_MODELS_DIR: MODELS_DIR, LOOKALIKE_EMBED_MODEL: '' },
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/1 result into .*: 1 copied/);
    expect(readFileSync(join(out, 'odd.png')).equals(readFileSync(join(dotted, 'odd.png')))).toBe(true);
  });
});

describe("npm run search -- a + b - c (rclip's form)", () => {
  it('adds and subtracts terms: images, #ids and weights', async () => {
    const top = async (args: string[]) =>
      JSON.parse((await search([...args, '--json', '--k', '7'])).stdout) as {
        id: number;
        score: number;
        source: string;
      }[];
    const alone = await top([join(folder, 'scene0.png')]);
    const neighbour = alone[1]!;
    const away = await top([join(folder, 'scene0.png'), '-', `0.5:#${neighbour.id}`]);
    expect(away[0]!.id).toBe(alone[0]!.id);
    expect(away.findIndex((h) => h.id === neighbour.id)).toBeGreaterThan(1);
    // the same query through the API gives the same results: one rule for both
    const api = await t.app.inject({
      method: 'POST',
      url: '/api/search',
      payload: { positive: [{ id: alone[0]!.id }], negative: [{ id: neighbour.id, weight: 0.5 }], k: 7 },
    });
    const viaIds = await top([`#${alone[0]!.id}`, '-', `0.5:#${neighbour.id}`]);
    expect(viaIds.map((h) => h.id)).toEqual(api.json().results.map((h: { id: number }) => h.id));
  });

  it('refuses a malformed query with exit 2 and says why', async () => {
    const cases: [string[], RegExp][] = [
      [['#1', '#2'], /two terms in a row/],
      [['#1', '+'], /at the end: a term must follow it/],
      [['#1', '+', '-', '#2'], /where a term should be/],
      [['0:#1'], /a weight is a finite number other than 0/],
      [['#1', '-', 'fruit'], /"fruit" is not a file, and words need an embedding model/],
      [['#999999'], /#999999: there is no image with id 999999 in the gallery/],
      [['#1', '--link'], /--link goes with --copy-to/],
    ];
    for (const [args, message] of cases) {
      const r = await search(args);
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(2);
      expect(r.stderr, args.join(' ')).toMatch(message);
    }
  });
});

describe('GET /api/thumbnails.zip', () => {
  it("answers the selected images' thumbnails as a ZIP that Python's zipfile reads back byte for byte", async () => {
    const ids = [1, 3, 7]; // 7: the upload
    const res = await t.app.inject(`/api/thumbnails.zip?ids=${ids.join(',')},3`);
    expect(res.statusCode, res.body).toBe(200);
    expect(res.headers['content-type']).toBe('application/zip');
    expect(res.headers['content-disposition']).toMatch(/attachment; filename="lookalike-thumbnails\.zip"/);
    const zipPath = join(root, 'thumbs.zip');
    writeFileSync(zipPath, res.rawPayload);
    const read = spawnSync(
      'python3',
      [
        '-c',
        `
import json, sys, zipfile, hashlib
z = zipfile.ZipFile(sys.argv[1])
assert z.testzip() is None
print(json.dumps({i.filename: [i.compress_type, hashlib.sha256(z.read(i)).hexdigest()] for i in z.infolist()}))`,
        zipPath,
      ],
      { encoding: 'utf8' },
    );
    expect(read.status, read.stderr).toBe(0);
    const entries = JSON.parse(read.stdout) as Record<string, [number, string]>;
    const { createHash } = await import('node:crypto');
    const expected = Object.fromEntries(
      await Promise.all(
        ids.map(async (id) => {
          const thumb = (await t.app.inject(`/api/images/${id}/thumbnail`)).rawPayload;
          const source = (await t.app.inject(`/api/images/${id}`)).json().source as string;
          return [
            `${id}-${source
              .split('/')
              .at(-1)!
              .replace(/\.png$/, '')}.webp`,
            [0, createHash('sha256').update(thumb).digest('hex')],
          ];
        }),
      ),
    );
    expect(entries).toEqual(expected); // each once, stored (method 0), named <id>-<name>.webp
    expect(Object.keys(entries)).toContain('7-upload.webp');
  });

  it('refuses unknown and malformed ids before making anything', async () => {
    expect((await t.app.inject('/api/thumbnails.zip?ids=1,999999')).json().error.code).toBe('not_found');
    for (const q of ['ids=', 'ids=1,x', 'ids=0', '']) {
      const res = await t.app.inject(`/api/thumbnails.zip?${q}`);
      expect(res.statusCode, q).toBe(400);
      expect(res.json().error.code).toBe('invalid_request');
    }
  });
});
