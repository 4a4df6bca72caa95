// npm run export and npm run import, as a user runs them: an export beside a running server (jsonl and npy, float32
// and float16, with thumbnails and the trash), read back by numpy (Debian's python3-numpy) and checked against the
// gallery's own rows; then imported into new folders, where a server answers the same queries with the same ids in
// the same order and the same scores; and the imports that must be refused.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../src/web/app.js';
import { loadConfig } from '../src/core/config.js';
import { blobToVector } from '../src/core/util/vector-format.js';
import { multipart } from './helpers/app.js';
import { runScript } from './helpers/cli.js';
import { scenePng } from './helpers/images.js';
import { MODELS_DIR, TINY_EMBED_MODEL, TINY_MMPROJ, WIDE_MMPROJ } from './helpers/models.js';

/** Debian's python3 with python3-numpy (scripts/setup.sh installs it), not whatever python3 comes first on PATH. */
const PYTHON = '/usr/bin/python3';

const root = mkdtempSync(join(tmpdir(), 'lookalike-export-'));
/** The tiny embedding model (image and words in one space: a query by words too), or another model. */
const env = (dataDir: string, mmproj = TINY_MMPROJ, embedModel = TINY_EMBED_MODEL) => ({
  LOOKALIKE_MMPROJ: mmproj,
  LOOKALIKE_EMBED_MODEL: embedModel,
  LOOKALIKE_MODELS_DIR: MODELS_DIR,
  LOOKALIKE_THREADS: '1',
  LOOKALIKE_DATA_DIR: dataDir,
});

async function openServer(dataDir: string) {
  const app = await buildApp(loadConfig({ ...env(dataDir), LOOKALIKE_LOG_LEVEL: 'warn' }), { logger: false });
  await app.ready();
  await app.runtime.start();
  if (app.runtime.state.status !== 'ready') throw new Error(`not ready: ${JSON.stringify(app.runtime.state)}`);
  return app;
}
type App = Awaited<ReturnType<typeof openServer>>;

/** The gallery's own rows, read from its database: what every export is checked against. */
function galleryRows(dataDir: string) {
  const db = new Database(join(dataDir, 'lookalike.db'), { readonly: true });
  try {
    const model = db
      .prepare(`SELECT model_id AS modelId, fingerprint, file_name AS fileName, projector_type AS
      projectorType, dim, pooling, min_tokens AS minTokens, max_tokens AS maxTokens FROM models WHERE active = 1`)
      .get() as { dim: number };
    const dim = model.dim;
    const rows = db
      .prepare(`SELECT i.id, i.label, i.trashed_ms AS trashedMs, COALESCE(e.vector, t.vector) AS vector
      FROM images i LEFT JOIN embeddings e ON e.image_id = i.id LEFT JOIN trashed_embeddings t ON t.image_id = i.id
      ORDER BY i.id`)
      .all() as { id: number; label: string | null; trashedMs: number | null; vector: Buffer }[];
    return { model, dim, rows: rows.map((r) => ({ ...r, vector: Array.from(blobToVector(r.vector, dim)) })) };
  } finally {
    db.close();
  }
}

/** What numpy reads from an export: ids, the vectors' shape, dtype and values (as float64), and the labels. */
function readWithNumpy(dir: string): {
  ids: number[];
  shape: number[];
  dtype: string;
  vectors: number[][];
  labels: (string | null)[];
  idsDtype: string;
} {
  const script = `
import json, sys, os
import numpy as np
d = sys.argv[1]
if os.path.exists(os.path.join(d, 'vectors.npy')):
    v = np.load(os.path.join(d, 'vectors.npy'))
    ids = np.load(os.path.join(d, 'ids.npy'))
    meta = [json.loads(l) for l in open(os.path.join(d, 'metadata.jsonl'))]
    assert [m['id'] for m in meta] == ids.tolist()
else:
    meta = [json.loads(l) for l in open(os.path.join(d, 'images.jsonl'))]
    v = np.array([m['vector'] for m in meta], dtype=np.float32)
    ids = np.array([m['id'] for m in meta], dtype=np.int64)
print(json.dumps({'ids': ids.tolist(), 'idsDtype': str(ids.dtype), 'shape': list(v.shape), 'dtype': str(v.dtype),
                  'vectors': v.astype(np.float64).tolist(), 'labels': [m['label'] for m in meta]}))
`;
  return JSON.parse(execFileSync(PYTHON, ['-c', script, dir], { encoding: 'utf8' }));
}

/** A multipart body as inject() takes it. */
const upload = (body: { payload: Buffer; headers: Record<string, string> }) => ({
  payload: body.payload,
  headers: body.headers,
});

const exportArgs = (dataDir: string, out: string, ...flags: string[]) =>
  runScript('scripts/export.ts', ['--out', out, '--data-dir', dataDir, ...flags], env(dataDir));

/** The answers a user compares: an image upload, words, similar-to-id for every image, the trash, the records. */
async function answers(app: App, query: Buffer, ids: number[]) {
  const body = multipart({ image: { filename: 'q.png', data: query, contentType: 'image/png' }, k: '8' });
  const search = (await app.inject({ method: 'POST', url: '/api/search', ...upload(body) })).json() as {
    results: { id: number; score: number }[];
  };
  const words = (
    await app.inject({ method: 'POST', url: '/api/search', payload: { text: 'a red square', k: 8 } })
  ).json() as { results: { id: number; score: number }[] };
  const similar: { id: number; score: number }[][] = [];
  for (const id of ids) {
    const res = await app.inject({ method: 'GET', url: `/api/images/${id}/similar?k=8` });
    similar.push((res.json() as { results: { id: number; score: number }[] }).results);
  }
  const trash = (await app.inject({ method: 'GET', url: '/api/trash' })).json() as { images: { id: number }[] };
  const images = (await app.inject({ method: 'GET', url: '/api/images?sort=added&limit=100' })).json() as {
    images: { id: number; label: string | null; sha256: string; takenAt: string }[];
  };
  const trashIds = trash.images.map((i) => i.id);
  return { search: search.results, words: words.results, similar, trash: trashIds, images: images.images };
}

function expectSameAnswers(got: Awaited<ReturnType<typeof answers>>, want: typeof got, tolerance: number) {
  const ids = (r: { id: number }[]) => r.map((x) => x.id);
  expect(want.search.length).toBeGreaterThan(3);
  expect(ids(got.search)).toEqual(ids(want.search));
  got.search.forEach((r, i) => expect(Math.abs(r.score - want.search[i]!.score)).toBeLessThanOrEqual(tolerance));
  expect(want.words.length).toBeGreaterThan(3);
  expect(ids(got.words)).toEqual(ids(want.words));
  got.words.forEach((r, i) => expect(Math.abs(r.score - want.words[i]!.score)).toBeLessThanOrEqual(tolerance));
  expect(got.similar.map(ids)).toEqual(want.similar.map(ids));
  got.similar.forEach((list, j) =>
    list.forEach((r, i) => expect(Math.abs(r.score - want.similar[j]![i]!.score)).toBeLessThanOrEqual(tolerance)),
  );
  expect(got.trash).toEqual(want.trash);
  expect(got.images).toEqual(want.images);
}

describe('export and import', () => {
  const source = join(root, 'source');
  let app: App;
  let live: number[] = [];
  let trashed: number[] = [];
  let lastGiven = 0;

  beforeAll(async () => {
    app = await openServer(source);
    const ids: number[] = [];
    for (let seed = 1; seed <= 14; seed++) {
      const label: Record<string, string> = seed % 3 === 0 ? { label: `class-${seed % 2}` } : {};
      const body = multipart({ image: { filename: `s${seed}.png`, data: await scenePng(seed) }, ...label });
      const res = await app.inject({ method: 'POST', url: '/api/images', ...upload(body) });
      expect(res.statusCode).toBe(201);
      ids.push((res.json() as { id: number }).id);
    }
    trashed = [ids[2]!, ids[7]!];
    for (const id of trashed) {
      expect((await app.inject({ method: 'DELETE', url: `/api/images/${id}` })).statusCode).toBe(204);
    }
    // the last id given is then deleted for good: an import must not give it again
    const last = ids[ids.length - 1]!;
    expect((await app.inject({ method: 'DELETE', url: `/api/images/${last}` })).statusCode).toBe(204);
    const emptied = await app.inject({ method: 'POST', url: '/api/trash/empty', payload: { ids: [last] } });
    expect(emptied.json()).toEqual({ deleted: 1 });
    lastGiven = last;
    live = ids.filter((id) => !trashed.includes(id) && id !== last);
  });
  afterAll(async () => {
    await app?.close();
    rmSync(root, { recursive: true, force: true });
  });

  it("exports beside the running server; numpy reads back the gallery's ids, shapes, dtypes and values", async () => {
    const { model, dim, rows } = galleryRows(source);
    const liveRows = rows.filter((r) => r.trashedMs === null);
    const all = ['--thumbnails', '--include-trash'];
    const cases = [
      { name: 'npy-f32', flags: ['--format', 'npy'], dtype: 'float32', want: liveRows },
      { name: 'npy-f16', flags: ['--format', 'npy', '--f16', ...all], dtype: 'float16', want: rows },
      { name: 'jsonl-f32', flags: ['--format', 'jsonl', ...all], dtype: 'float32', want: rows },
    ];
    for (const c of cases) {
      const out = join(root, c.name);
      const run = await exportArgs(source, out, ...c.flags);
      expect(run.code, run.stderr).toBe(0);
      expect(run.stderr).toMatch(/export: images \d+\/\d+ \(100\.0%\) [\d.]+\/s ETA/);
      const got = readWithNumpy(out);
      expect(got.ids).toEqual(c.want.map((r) => r.id));
      expect(got.idsDtype).toBe('int64');
      expect(got.shape).toEqual([c.want.length, dim]);
      expect(got.dtype).toBe(c.dtype);
      // the store keeps float16: both dtypes hold its values exactly
      expect(got.vectors).toEqual(c.want.map((r) => r.vector));
      expect(got.labels).toEqual(c.want.map((r) => r.label));
      const manifest = JSON.parse(readFileSync(join(out, 'export.json'), 'utf8'));
      expect(manifest.model).toEqual(model);
      expect(manifest.model.pooling).toBe('last-token');
      expect(manifest.digest).toMatch(/^[0-9a-f]{64}$/);
      if (c.flags.includes('--thumbnails')) {
        expect(readdirSync(join(out, 'thumbnails')).sort()).toEqual(c.want.map((r) => `${r.id}.webp`).sort());
        const thumb = await app.inject({ method: 'GET', url: `/api/images/${live[0]}/thumbnail` });
        expect(readFileSync(join(out, 'thumbnails', `${live[0]}.webp`)).equals(thumb.rawPayload)).toBe(true);
      }
    }
    expect(live.length + trashed.length).toBe(rows.length);
  });

  it('imports an export into a new folder: the same queries give the same ids in order, same scores', async () => {
    const query = await scenePng(1000);
    const want = await answers(app, query, live);
    for (const [name, tolerance] of [
      ['npy-f16', 1e-3],
      ['jsonl-f32', 1e-6],
    ] as const) {
      const target = join(root, `imported-${name}`);
      const run = await runScript('scripts/import.ts', [join(root, name), '--data-dir', target], env(target));
      expect(run.code, run.stderr).toBe(0);
      expect(run.stderr).toMatch(/import: images \d+\/\d+ \(100\.0%\)/);
      const imported = await openServer(target);
      try {
        expectSameAnswers(await answers(imported, query, live), want, tolerance);
        // a new image gets an id above every id the source gave, the deleted ones too
        const body = multipart({ image: { filename: 'new.png', data: await scenePng(2000) } });
        const res = await imported.inject({ method: 'POST', url: '/api/images', ...upload(body) });
        expect((res.json() as { id: number }).id).toBe(lastGiven + 1);
      } finally {
        await imported.close();
      }
    }
  });

  it("refuses another model's export, a folder with a gallery, an export lacking thumbnails, damage", async () => {
    const wide = join(root, 'wide');
    const otherEnv = env(wide, WIDE_MMPROJ, '');
    const other = await runScript('scripts/import.ts', [join(root, 'npy-f16'), '--data-dir', wide], otherEnv);
    expect(other.code).toBe(1);
    expect(other.stderr).toMatch(
      new RegExp(
        'this export holds vectors of model .*tiny-qwen3vl-embedding\\.gguf, ' +
          '64 dims, last-token pooling\\), but the configured encoder is .*wide-qwen3vl-mmproj\\.gguf, 96 dims',
      ),
    );
    expect(readdirSync(root)).not.toContain('wide');

    // the running server's folder: its lock refuses the import before anything is read into it
    const busy = await runScript('scripts/import.ts', [join(root, 'jsonl-f32'), '--data-dir', source], env(source));
    expect(busy.code).toBe(1);
    expect(busy.stderr).toMatch(/is in use by process/);

    const full = join(root, 'imported-npy-f16');
    const held = await runScript('scripts/import.ts', [join(root, 'jsonl-f32'), '--data-dir', full], env(full));
    expect(held.code).toBe(1);
    expect(held.stderr).toMatch(/already holds a gallery/);

    const bare = join(root, 'bare');
    const noThumbs = await runScript('scripts/import.ts', [join(root, 'npy-f32'), '--data-dir', bare], env(bare));
    expect(noThumbs.code).toBe(1);
    expect(noThumbs.stderr).toMatch(/exported without thumbnails/);

    const cut = join(root, 'cut');
    const exported = await exportArgs(source, cut, '--format', 'jsonl', '--thumbnails');
    expect(exported.code).toBe(0);
    const lines = readFileSync(join(cut, 'images.jsonl'), 'utf8');
    execFileSync('truncate', ['-s', String(lines.length - 10), join(cut, 'images.jsonl')]);
    const damaged = await runScript('scripts/import.ts', [cut, '--data-dir', bare], env(bare));
    expect(damaged.code).toBe(1);
    expect(damaged.stderr).toMatch(/images\.jsonl in the export is damaged/);

    const inside = await exportArgs(source, join(source, 'x'), '--format', 'npy');
    expect(inside.code).toBe(2);
    expect(inside.stderr).toMatch(/is inside the data folder/);
  });
});
