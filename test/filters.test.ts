// Issue 18 parts 1-3 on the gallery: metadata read from JPEGs made here with known EXIF, filters that give exactly the
// k best images that pass them (checked against brute force over SQLite), and pages without a repeat or a gap.
// Real SQLite, real FAISS in its worker thread; vectors made by the test.
import Database from 'better-sqlite3';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { EXACT_SCAN_MAX } from '../src/engine/gallery/filtered-search.js';
import type { SearchCursor, SearchOptions, SearchResult } from '../src/core/domain/search.js';
import type { Gallery } from '../src/engine/gallery/gallery.js';
import type { IndexKind } from '../src/engine/index/kinds.js';
import type { ImageFilter, PhotoMeta } from '../src/core/domain/records.js';
import { Store } from '../src/engine/store/store.js';
import { blobToVector } from '../src/core/util/vector-format.js';
import { MIGRATIONS } from '../src/engine/store/migrations.js';
import { readPhotoMeta } from '../src/application/usecases/photo-meta.js';
import { clusteredVectors, fakeImage, identity } from './helpers/vectors.js';
import { TestGalleries } from './helpers/galleries.js';

const DIM = 32;
const params = { hnswM: 16, efSearch: 64, nprobe: 8 };
const galleries = new TestGalleries('filters', { identity: identity(DIM), indexParams: params });
const tempDir = () => galleries.tempDir();
const openGallery = (dataDir: string, kind: IndexKind = 'flat') => galleries.open(dataDir, { indexKind: kind });
afterAll(() => galleries.cleanUp());

/** A JPEG with the EXIF given (sharp writes it; exifr reads it back in the code under test). */
function jpegWithExif(exif: Record<string, Record<string, string>>): Promise<Buffer> {
  return sharp({ create: { width: 40, height: 30, channels: 3, background: '#3a6' } })
    .jpeg()
    .withExif(exif)
    .toBuffer();
}

describe('metadata at ingest', () => {
  it('reads the date taken with its offset, camera, lens and GPS from EXIF', async () => {
    const jpg = await jpegWithExif({
      IFD0: { Make: 'Acme', Model: 'Snap 9' },
      IFD2: { DateTimeOriginal: '2021:06:15 10:30:00', OffsetTimeOriginal: '+02:00', LensModel: 'Zoom 24-70' },
      IFD3: {
        GPSLatitudeRef: 'S',
        GPSLatitude: '33/1 52/1 0/1',
        GPSLongitudeRef: 'E',
        GPSLongitude: '151/1 12/1 36/1',
      },
    });
    const meta = await readPhotoMeta(jpg, { at: new Date('2030-01-01T00:00:00Z'), from: 'file' });
    expect(meta).toEqual({
      takenAt: '2021-06-15T10:30:00+02:00',
      takenMs: Date.parse('2021-06-15T08:30:00Z'),
      takenFrom: 'exif',
      cameraMake: 'Acme',
      cameraModel: 'Snap 9',
      lens: 'Zoom 24-70',
      latitude: expect.closeTo(-(33 + 52 / 60), 6),
      longitude: expect.closeTo(151 + 12 / 60 + 36 / 3600, 6),
    });
  });

  it('keeps a date without an offset as a local time (read as UTC to sort), and falls back to the file or the upload', async () => {
    const local = await readPhotoMeta(await jpegWithExif({ IFD2: { DateTimeOriginal: '2019:12:31 23:59:58' } }), {
      at: new Date(0),
      from: 'upload',
    });
    expect(local).toMatchObject({
      takenAt: '2019-12-31T23:59:58',
      takenMs: Date.parse('2019-12-31T23:59:58Z'),
      takenFrom: 'exif',
      cameraMake: null,
      latitude: null,
    });
    const png = await sharp({ create: { width: 8, height: 8, channels: 3, background: '#000' } })
      .png()
      .toBuffer();
    const mtime = new Date('2018-03-04T05:06:07Z');
    expect(await readPhotoMeta(png, { at: mtime, from: 'file' })).toMatchObject({
      takenAt: mtime.toISOString(),
      takenMs: mtime.getTime(),
      takenFrom: 'file',
      cameraModel: null,
    });
    // a placeholder date ("0000:00:00 00:00:00") is no date
    const zero = await readPhotoMeta(await jpegWithExif({ IFD2: { DateTimeOriginal: '0000:00:00 00:00:00' } }), {
      at: mtime,
      from: 'upload',
    });
    expect(zero.takenFrom).toBe('upload');
  });

  it(
    'migrates a data folder from before metadata: old rows dated when added, marked for the backfill, which fills ' +
      'them once',
    async () => {
      const dir = tempDir();
      const path = join(dir, 'lookalike.db');
      const v1 = new Database(path);
      v1.exec(MIGRATIONS[0]!);
      v1.pragma('user_version = 1');
      v1.prepare(
        "INSERT INTO images (sha256, source, label, width, height, bytes, added_at, thumbnail) VALUES ('ab', " +
          "'a/b.jpg', NULL, 4, 3, 10, '2022-02-02T02:02:02.000Z', x'00')",
      ).run();
      v1.close();
      const store = new Store(path);
      try {
        const row = store.get(1)!;
        expect(row).toMatchObject({ takenAt: '2022-02-02T02:02:02.000Z', takenFrom: 'added', cameraMake: null });
        expect(store.takenMsOf([1]).get(1)).toBe(Date.parse('2022-02-02T02:02:02.000Z'));
        expect(store.lacksMetadata('ab')).toBe(true);
        const photo: PhotoMeta = {
          takenAt: '2020-01-01T00:00:00',
          takenMs: Date.parse('2020-01-01T00:00:00Z'),
          takenFrom: 'exif',
          cameraMake: 'A',
          cameraModel: 'B',
          lens: null,
          latitude: null,
          longitude: null,
        };
        expect(store.fillMetadata(1, photo)).toBe(true);
        expect(store.get(1)).toMatchObject({ takenAt: '2020-01-01T00:00:00', takenFrom: 'exif', cameraMake: 'A' });
        expect(store.fillMetadata(1, { ...photo, cameraMake: 'C' })).toBe(false); // metadata once read is kept
        expect(store.lacksMetadata('ab')).toBe(false);
      } finally {
        store.close();
      }
    },
  );
});

// --- filters, against brute force over SQLite -------------------------------------------------------------------

const N = 10_000;
const DAY = 86_400_000;
const T0 = Date.parse('2020-01-01T00:00:00Z');
const photoOf = (i: number): PhotoMeta => ({
  // a tenth of the images share their date with another (ties the date order must break the same way on every page)
  takenAt: new Date(T0 + Math.floor(i * 0.9) * DAY).toISOString(),
  takenMs: T0 + Math.floor(i * 0.9) * DAY,
  takenFrom: 'exif',
  cameraMake: i % 3 === 0 ? 'Canon' : 'Nikon',
  cameraModel: i % 3 === 0 ? 'EOS R6' : 'Z6',
  lens: null,
  latitude: null,
  longitude: null,
});
/** 0.1% of the images (10) sit under rare/, as many under rarely/ and Rare/ (which folder=rare must not keep), the rest
 *  under common/<n>/. */
const sourceOf = (i: number) =>
  ({ 7: `rare/${i}.jpg`, 8: `rarely/${i}.jpg`, 9: `Rare/${i}.jpg` })[i % 1000] ?? `common/${i % 10}/${i}.jpg`;

interface Row {
  id: number;
  vector: Float32Array;
  label: string | null;
  source: string;
  takenMs: number;
  make: string;
  model: string;
}

/** Every row with its vector, read straight from SQLite (not through the code under test). */
function readAll(dataDir: string): Row[] {
  const db = new Database(join(dataDir, 'lookalike.db'), { readonly: true });
  try {
    return (
      db
        .prepare(`SELECT i.id, e.vector, i.label, i.source, i.taken_ms AS takenMs, i.camera_make AS make, i.camera_model AS model
      FROM images i JOIN embeddings e ON e.image_id = i.id`)
        .all() as (Omit<Row, 'vector'> & { vector: Buffer })[]
    ).map((r) => ({ ...r, vector: blobToVector(r.vector, DIM) }));
  } finally {
    db.close();
  }
}

function passes(r: Row, f: ImageFilter): boolean {
  return (
    (f.label === undefined || r.label === f.label) &&
    (f.folder === undefined || r.source.startsWith(`${f.folder}/`)) &&
    (f.takenAfter === undefined || r.takenMs >= f.takenAfter) &&
    (f.takenBefore === undefined || r.takenMs < f.takenBefore) &&
    (f.camera === undefined || `${r.make} ${r.model}`.toLowerCase().includes(f.camera.toLowerCase()))
  );
}

/** Brute force: every row's cosine (kept to [-1, 1], as served scores are), the filter applied in JS, best first. */
function bruteForce(rows: Row[], q: Float32Array, f: ImageFilter, exclude?: number): { id: number; score: number }[] {
  return rows
    .filter((r) => r.id !== exclude && passes(r, f))
    .map((r) => ({
      id: r.id,
      score: Math.min(
        1,
        Math.max(
          -1,
          r.vector.reduce((s, v, j) => s + v * q[j]!, 0),
        ),
      ),
    }))
    .sort((a, b) => b.score - a.score || a.id - b.id);
}

/** The answer is the k best: same length, the same score at each rank (ties may swap ids), each id passing. */
function expectKBest(
  got: SearchResult[],
  want: { id: number; score: number }[],
  k: number,
  rows: Map<number, Row>,
  f: ImageFilter,
) {
  expect(got).toHaveLength(Math.min(k, want.length));
  got.forEach((h, i) => {
    expect(h.score).toBeCloseTo(want[i]!.score, 5);
    expect(passes(rows.get(h.id)!, f)).toBe(true);
  });
  expect(new Set(got.map((h) => h.id)).size).toBe(got.length);
}

describe.each(['flat', 'hnsw'] as IndexKind[])('filters with a %s index (10000 images)', (kind) => {
  let g: Gallery;
  let rows: Row[];
  let byId: Map<number, Row>;
  let vectors: Float32Array[];
  const queries = () => [vectors[3]!, vectors[4321]!, vectors[9999]!];

  it('builds the gallery', async () => {
    const dir = tempDir();
    g = await openGallery(dir, kind);
    vectors = clusteredVectors(N, DIM, 40, 11, 0.6);
    for (let i = 0; i < N; i++) {
      await g.add(fakeImage(i), vectors[i]!, {
        source: sourceOf(i),
        label: Math.floor(i / 40) % 10 === 0 ? 'rest' : 'most',
        photo: photoOf(i),
      });
    }
    rows = readAll(dir);
    byId = new Map(rows.map((r) => [r.id, r]));
    expect(rows).toHaveLength(N);
  }, 600_000);

  const k = 10;
  const cases: [string, ImageFilter, number][] = [
    // share kept, and whether it is scanned exactly (<= EXACT_SCAN_MAX) or searched in the index with the allow-list
    ['90% (label)', { label: 'most' }, 0.9],
    ['90% (camera and date)', { camera: 'nikon z', takenAfter: T0 }, 0.667],
    ['0.1% (folder)', { folder: 'rare' }, 0.001],
    ['0.1% (folder, camera, date)', { folder: 'rare', camera: 'nikon', takenBefore: T0 + 9000 * DAY }, 0.0006],
  ];
  it.each(cases)('keeps %s: exactly the k best that pass', async (_name, filter, share) => {
    const kept = rows.filter((r) => passes(r, filter)).length;
    expect(kept / N).toBeCloseTo(share, 2);
    for (const q of queries()) {
      const want = bruteForce(rows, q, filter);
      const got = await g.search(q, { k, filter });
      if (kind === 'flat' || kept <= EXACT_SCAN_MAX) expectKBest(got, want, k, byId, filter);
      else expect(got).toHaveLength(k); // an approximate index: k that pass, however selective the filter
    }
  });

  it('does the same for "similar" (the image itself left out) with minScore', async () => {
    const id = rows[50]!.id;
    const filter = { folder: 'common/0' };
    const want = bruteForce(rows, byId.get(id)!.vector, filter, id).filter((h) => h.score >= 0.2);
    const got = await g.similar(id, { k: 50, filter, minScore: 0.2 });
    expect(got.map((h) => h.id)).not.toContain(id);
    if (kind === 'flat') expectKBest(got, want, 50, byId, filter);
    expect(got.every((h) => h.score >= 0.2)).toBe(true);
  });

  /** Pages until `pages` are read or the last: the results in order and the cursors. */
  async function pages(
    q: Float32Array,
    opts: SearchOptions,
    count: number,
  ): Promise<{ all: SearchResult[]; last: SearchCursor | null }> {
    const all: SearchResult[] = [];
    let after: SearchCursor | undefined;
    for (let p = 0; p < count; p++) {
      const page = await g.searchPage(q, { ...opts, after });
      expect(page.results.length).toBeLessThanOrEqual(opts.k);
      all.push(...page.results);
      if (!page.next) return { all, last: null };
      after = page.next;
    }
    return { all, last: after ?? null };
  }

  it.each([
    ['no filter', {}],
    ['90%', { label: 'most' }],
    ['0.1%', { folder: 'rare' }],
  ] as [string, ImageFilter][])('pages by score without a repeat or a gap over 3 pages (%s)', async (_name, filter) => {
    const q = vectors[77]!;
    const { all } = await pages(q, { k: 4, filter }, 3);
    const want = bruteForce(rows, q, filter).slice(0, 12);
    expect(all).toHaveLength(want.length);
    expect(new Set(all.map((h) => h.id)).size).toBe(all.length);
    if (kind === 'flat' || rows.filter((r) => passes(r, filter)).length <= EXACT_SCAN_MAX) {
      all.forEach((h, i) => expect(h.score).toBeCloseTo(want[i]!.score, 5));
    }
  });

  it('pages by date within minScore: every result that reaches it, newest first, once, over 3+ pages', async () => {
    const q = vectors[5]!;
    const filter = { folder: 'common/5' };
    const minScore = 0.35;
    const above = bruteForce(rows, q, filter).filter((h) => h.score >= minScore);
    expect(above.length).toBeGreaterThan(12); // at least 3 pages of 4
    const { all, last } = await pages(q, { k: 4, filter, minScore, sort: 'date' }, 1000);
    expect(last).toBeNull();
    if (kind === 'flat' || rows.filter((r) => passes(r, filter)).length <= EXACT_SCAN_MAX) {
      expect(all.map((h) => h.id).sort((a, b) => a - b)).toEqual(above.map((h) => h.id).sort((a, b) => a - b));
    }
    expect(new Set(all.map((h) => h.id)).size).toBe(all.length);
    const dates = all.map((h) => byId.get(h.id)!.takenMs);
    expect(dates).toEqual([...dates].sort((a, b) => b - a));
  });

  it('lists the gallery by date and by when added, 3 pages, no repeat or gap', async () => {
    for (const sort of ['date', 'added'] as const) {
      const filter = { folder: 'common/3', camera: 'canon' };
      const want = rows
        .filter((r) => passes(r, filter))
        .sort(sort === 'date' ? (a, b) => b.takenMs - a.takenMs || b.id - a.id : (a, b) => b.id - a.id)
        .slice(0, 15);
      const seen: number[] = [];
      let after;
      for (let p = 0; p < 3; p++) {
        const page = g.list({ filter, sort, limit: 5, after });
        seen.push(...page.images.map((r) => r.id));
        after = page.next ?? undefined;
      }
      expect(seen).toEqual(want.map((r) => r.id));
    }
  });
});

describe('a filter that keeps nothing, and a cursor of another sort', () => {
  afterEach(() => galleries.cleanUp());
  it('answers no results; refuses a score cursor on a date search and sort=date without minScore', async () => {
    const g = await openGallery(tempDir());
    const vectors = clusteredVectors(20, DIM, 2);
    for (let i = 0; i < 20; i++)
      await g.add(fakeImage(i), vectors[i]!, { source: `x/${i}.jpg`, label: null, photo: photoOf(i) });
    expect(await g.search(vectors[0]!, { k: 5, filter: { folder: 'y' } })).toEqual([]);
    const first = await g.searchPage(vectors[0]!, { k: 5 });
    await expect(g.searchPage(vectors[0]!, { k: 5, sort: 'date', minScore: 0, after: first.next! })).rejects.toThrow(
      /cursor is of a sort=score/,
    );
    await expect(g.searchPage(vectors[0]!, { k: 5, sort: 'date' })).rejects.toThrow(/give minScore/);
  });
});
