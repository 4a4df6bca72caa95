// Issue 18 parts 1, 2, 3 and 7 through HTTP: metadata on every record, filters as form fields, JSON and query
// strings, cursors that page without a repeat or a gap, and the gallery listing. The real app on the demo gallery
// (1000 Fashion-MNIST pictures, the demo's embedding model for words), SQLite and FAISS.
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type multipart, postForm, startTestApp, type TestApp } from './helpers/app.js';
import { scenePng } from './helpers/images.js';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp({ LOOKALIKE_EMBED_MODEL: 'demo' });
});
afterAll(async () => t?.close());

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;
const post = (url: string, fields: Parameters<typeof multipart>[0]) => postForm(t, url, fields);
const json = (url: string, body: unknown) =>
  t.app.inject({ method: 'POST', url, payload: body as string, headers: { 'content-type': 'application/json' } });
const get = async (url: string) => t.app.inject(url);
const jpeg = (data: Buffer, filename: string) => ({ filename, data, contentType: 'image/jpeg' });

describe('metadata through the API', () => {
  let withExif: number;
  it(
    'an upload with EXIF: its date with offset, camera, lens, GPS, size and file name come back in GET ' +
      '/api/images/:id and in results',
    async () => {
      const data = await sharp(await scenePng(31))
        .jpeg()
        .withExif({
          IFD0: { Make: 'Acme', Model: 'Snap 9' },
          IFD2: { DateTimeOriginal: '2021:06:15 10:30:00', OffsetTimeOriginal: '+02:00', LensModel: 'Zoom 24-70' },
          IFD3: {
            GPSLatitudeRef: 'N',
            GPSLatitude: '48/1 30/1 0/1',
            GPSLongitudeRef: 'E',
            GPSLongitude: '2/1 15/1 0/1',
          },
        })
        .toBuffer();
      const added = await post('/api/images', { image: jpeg(data, 'holiday.jpg') });
      expect(added.statusCode).toBe(201);
      withExif = added.json().id;
      const record = (await get(`/api/images/${withExif}`)).json();
      expect(record).toMatchObject({
        source: 'holiday.jpg',
        width: 320,
        height: 240,
        bytes: data.length,
        takenAt: '2021-06-15T10:30:00+02:00',
        takenFrom: 'exif',
        cameraMake: 'Acme',
        cameraModel: 'Snap 9',
        lens: 'Zoom 24-70',
        latitude: 48.5,
        longitude: 2.25,
      });
      const found = (await post('/api/search', { image: jpeg(data, 'q.jpg'), k: '1' })).json();
      expect(found.results[0]).toMatchObject({
        id: withExif,
        takenAt: '2021-06-15T10:30:00+02:00',
        cameraModel: 'Snap 9',
        score: expect.any(Number),
      });
    },
  );

  it('an upload without EXIF is dated by its upload', async () => {
    const before = Date.now();
    const added = await post('/api/images', {
      image: { filename: 'plain.png', data: await scenePng(32), contentType: 'image/png' },
    });
    const record = (await get(`/api/images/${added.json().id}`)).json();
    expect(record).toMatchObject({ source: 'plain.png', takenFrom: 'upload', cameraMake: null, latitude: null });
    expect(Date.parse(record.takenAt)).toBeGreaterThanOrEqual(before - 1000);
  });

  it('filters by camera and date as form fields, in JSON and on similar', async () => {
    const query = await scenePng(31);
    const byCamera = (await post('/api/search', { image: jpeg(query, 'q.png'), camera: 'acme snap', k: '5' })).json();
    expect(byCamera.results.map((r: Json) => r.id)).toEqual([withExif]);
    const byDate = (
      await json('/api/search', {
        text: 'a sneaker',
        k: 5,
        takenAfter: '2021-06-15T08:00:00Z',
        takenBefore: '2021-06-15T09:00:00Z',
      })
    ).json();
    expect(byDate.results.map((r: Json) => r.id)).toEqual([withExif]); // 08:30 UTC
    const outside = (
      await json('/api/search', {
        text: 'a sneaker',
        k: 5,
        takenAfter: '2021-06-15T08:31:00Z',
        takenBefore: '2021-06-16',
      })
    ).json();
    expect(outside.results).toEqual([]);
    const similar = (await get(`/api/images/1/similar?k=5&camera=acme`)).json();
    expect(similar.results.map((r: Json) => r.id)).toEqual([withExif]);
  });
});

describe('filters, paging and listing through the API', () => {
  it('three pages of a search are the one page of 3k: no repeat, no gap (label and folder filters, form fields)', async () => {
    const sneaker = (await get('/api/images?limit=1&label=sneaker')).json().images[0];
    const folder = sneaker.source.split('/').slice(0, -1).join('/');
    const fields = { text: 'a bag', label: 'sneaker', folder };
    const whole = (await post('/api/search', { ...fields, k: '15' })).json();
    expect(whole.results).toHaveLength(15);
    expect(whole.results.every((r: Json) => r.label === 'sneaker' && r.source.startsWith(`${folder}/`))).toBe(true);
    const paged: Json[] = [];
    let cursor: string | undefined;
    for (let p = 0; p < 3; p++) {
      const page = (await post('/api/search', { ...fields, k: '5', ...(cursor ? { cursor } : {}) })).json();
      expect(page.next).toEqual(expect.any(String));
      paged.push(...page.results);
      cursor = page.next;
    }
    expect(paged.map((r) => r.id)).toEqual(whole.results.map((r: Json) => r.id));
  });

  it('sort=date within minScore pages newest first in JSON; a bad cursor and sort=date without minScore are 400', async () => {
    const all = (await json('/api/search', { text: 'a shirt', k: 100, minScore: 0.3 })).json().results;
    expect(all.length).toBeGreaterThan(9);
    const paged: Json[] = [];
    let cursor: string | null = null;
    do {
      const page: Json = (
        await json('/api/search', { text: 'a shirt', k: 4, minScore: 0.3, sort: 'date', ...(cursor ? { cursor } : {}) })
      ).json();
      paged.push(...page.results);
      cursor = page.next;
    } while (cursor);
    expect(new Set(paged.map((r) => r.id)).size).toBe(paged.length);
    if (all.length < 100) expect(paged.map((r) => r.id).sort()).toEqual(all.map((r: Json) => r.id).sort());
    const dates = paged.map((r) => Date.parse(r.takenAt));
    expect(dates).toEqual([...dates].sort((a, b) => b - a));
    const bad = await json('/api/search', { text: 'a shirt', cursor: 'bm9wZQ' });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error).toMatchObject({ code: 'invalid_request', message: expect.stringMatching(/cursor/) });
    expect((await json('/api/search', { text: 'a shirt', sort: 'date' })).json().error.message).toMatch(
      /give minScore/,
    );
  });

  it('GET /api/images lists newest first with the filters and a cursor: 3 pages, no repeat, no gap', async () => {
    for (const sort of ['date', 'added']) {
      const whole = (await get(`/api/images?sort=${sort}&limit=30&label=bag`)).json().images;
      expect(whole).toHaveLength(30);
      const paged: Json[] = [];
      let next = '';
      for (let p = 0; p < 3; p++) {
        const page = (await get(`/api/images?sort=${sort}&limit=10&label=bag${next ? `&cursor=${next}` : ''}`)).json();
        paged.push(...page.images);
        next = page.next;
      }
      expect(paged.map((r) => r.id)).toEqual(whole.map((r: Json) => r.id));
      expect(paged.every((r) => r.label === 'bag')).toBe(true);
    }
    const wrongSort = await get(
      `/api/images?sort=added&cursor=${(await get('/api/images?sort=date&limit=1')).json().next}`,
    );
    expect(wrongSort.statusCode).toBe(400);
  });
});
