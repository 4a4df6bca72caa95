// Captions travel with a gallery: a gallery captioned by the demo Instruct model (`npm run captions`, real generation)
// is exported (jsonl and npy) and imported into new folders, and backed up and restored; in each copy keyword search
// finds the same images in the same order at once, with no captioning again (nothing is pending, and the copies run
// with captions off and no Instruct model at all).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoSplit, fashionPng, readFashion } from '../src/engine/demo/fashion-mnist.js';
import {
  DEMO_EMBED_MMPROJ,
  DEMO_EMBED_MODEL,
  DEMO_TEXT_MMPROJ,
  DEMO_TEXT_MODEL,
} from '../src/application/models/resolve.js';
import { multipart, startTestApp } from './helpers/app.js';
import { runScript } from './helpers/cli.js';
import { MODELS_DIR } from './helpers/models.js';

const PER_CLASS = 2;
/** Class names the demo's English captions say (instruct.json): one keyword query each. */
const QUERIES = ['t-shirt', 'trouser', 'pullover', 'dress', 'coat', 'sandal', 'shirt', 'sneaker', 'bag', 'boot'];

const root = mkdtempSync(join(tmpdir(), 'cap2-export-'));
/** The copies need only the embedding model: the Instruct model is named for the captioning run alone. */
const env = (dataDir: string) => ({
  LOOKALIKE_MMPROJ: DEMO_EMBED_MMPROJ,
  LOOKALIKE_EMBED_MODEL: DEMO_EMBED_MODEL,
  LOOKALIKE_THREADS: '1',
  LOOKALIKE_MODELS_DIR: MODELS_DIR,
  LOOKALIKE_DATA_DIR: dataDir,
});
const captionEnv = (dataDir: string) => ({
  ...env(dataDir),
  LOOKALIKE_TEXT_MODEL: DEMO_TEXT_MODEL,
  LOOKALIKE_TEXT_MMPROJ: DEMO_TEXT_MMPROJ,
  LOOKALIKE_CAPTION_LANGUAGES: 'en',
});

const openServer = async (dataDir: string) =>
  (await startTestApp({ ...env(dataDir), LOOKALIKE_CAPTIONS: 'off' }, { dataDir })).app;

/** Every keyword query's answer (ids and bm25 scores), and the captions count. */
async function keywordAnswers(app: FastifyInstance) {
  const answers: Record<string, { id: number; score: number }[]> = {};
  for (const text of QUERIES) {
    const res = await app.inject({ method: 'POST', url: '/api/search', payload: { text, mode: 'keyword', k: 50 } });
    expect(res.statusCode, `${text}: ${res.body}`).toBe(200);
    answers[text] = res.json().results;
  }
  const captions = (await app.inject('/api/stats')).json().captions as { captioned: number; pending: number };
  return { answers, captions };
}

/** The captions table as stored: what every copy must hold the same of. */
function captionRows(dataDir: string) {
  const db = new Database(join(dataDir, 'lookalike.db'), { readonly: true });
  try {
    return db.prepare('SELECT image_id, model, caption, words, captioned_at FROM captions ORDER BY image_id').all() as {
      image_id: number;
      model: string;
      caption: string;
      words: string;
      captioned_at: string;
    }[];
  } finally {
    db.close();
  }
}

describe('captions in export, import, backup and restore', () => {
  const source = join(root, 'source');
  let want: Awaited<ReturnType<typeof keywordAnswers>>;
  let rows: ReturnType<typeof captionRows>;
  let trashed = 0;

  beforeAll(async () => {
    const fashion = readFashion('t10k');
    const { gallery } = demoSplit(fashion.labels, PER_CLASS, 0);
    const app = await openServer(source);
    const ids: number[] = [];
    for (const [n, i] of gallery.entries()) {
      const body = multipart({ image: { filename: `picture-${n}.png`, data: await fashionPng(fashion, i) } });
      const res = await app.inject({
        method: 'POST',
        url: '/api/images',
        payload: body.payload,
        headers: body.headers,
      });
      expect(res.statusCode, res.body).toBe(201);
      ids.push(res.json().id);
    }
    await app.close();
    const run = await runScript('scripts/captions.ts', [], captionEnv(source));
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toMatch(new RegExp(`captions: ${ids.length} captioned, 0 left`));
    // one image goes to the trash with its caption: an export with the trash carries it too
    const again = await openServer(source);
    trashed = ids[1]!;
    expect((await again.inject({ method: 'DELETE', url: `/api/images/${trashed}` })).statusCode).toBe(204);
    want = await keywordAnswers(again);
    await again.close();
    rows = captionRows(source);
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  /** A copy answers every keyword query as the source did, holds the same caption rows, and has nothing pending. */
  async function expectSameSearch(dataDir: string) {
    expect(captionRows(dataDir)).toEqual(rows);
    const app = await openServer(dataDir);
    try {
      const got = await keywordAnswers(app);
      expect(got.captions).toEqual(want.captions);
      expect(got.captions.pending).toBe(0);
      expect(got.answers).toEqual(want.answers);
    } finally {
      await app.close();
    }
  }

  it('captioned the source, and its keyword search finds images by their captions alone', () => {
    expect(rows.length).toBe(10 * PER_CLASS);
    expect(rows.every((r) => r.model === DEMO_TEXT_MODEL)).toBe(true);
    // the names say nothing of the class: a keyword finds only what a caption says
    const found = Object.values(want.answers).filter((a) => a.length > 0).length;
    expect(found).toBeGreaterThanOrEqual(5);
    expect(want.captions).toEqual({ ...want.captions, captioned: 10 * PER_CLASS - 1, pending: 0 });
  });

  it('exports each image with its caption, words and model, and an import searches them at once', async () => {
    for (const layout of ['jsonl', 'npy']) {
      const out = join(root, `export-${layout}`);
      const flags = ['--format', layout, '--thumbnails', '--include-trash'];
      const run = await runScript('scripts/export.ts', ['--out', out, '--data-dir', source, ...flags], env(source));
      expect(run.code, run.stderr).toBe(0);
      const manifest = JSON.parse(readFileSync(join(out, 'export.json'), 'utf8'));
      expect(manifest.counts.captioned).toBe(rows.length);
      const file = layout === 'jsonl' ? 'images.jsonl' : 'metadata.jsonl';
      const lines = readFileSync(join(out, file), 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l));
      const t = lines.find((l) => l.id === trashed);
      const r = rows.find((x) => x.image_id === trashed)!;
      expect(t).toMatchObject({ caption: r.caption, words: r.words, captionModel: r.model });

      const target = join(root, `imported-${layout}`);
      const imported = await runScript('scripts/import.ts', [out, '--data-dir', target], env(target));
      expect(imported.code, imported.stderr).toBe(0);
      await expectSameSearch(target);
    }
  });

  it('keeps the captions through npm run backup and restore (the database is copied whole)', async () => {
    const backup = join(root, 'backup');
    const run = await runScript('scripts/backup.ts', [backup], env(source));
    expect(run.code, run.stderr).toBe(0);
    const target = join(root, 'restored');
    const restored = await runScript('scripts/restore.ts', [backup, '--data-dir', target], env(target));
    expect(restored.code, restored.stderr).toBe(0);
    await expectSameSearch(target);
  });
});
