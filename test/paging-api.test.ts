// Through the API: cursors bound to the query that gave them (any other use is a 400, only k may change), filter
// dates that must be real dates, composite weights within 1e-6..1e6 in size, and numbers in forms and query strings
// read strictly (an empty value is one left out). The real app on the demo gallery (1000 Fashion-MNIST pictures, the
// demo's embedding model for words), SQLite and FAISS.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { multipart, startTestApp, type TestApp } from './helpers/app.js';
import { scenePng } from './helpers/images.js';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp({ LOOKALIKE_EMBED_MODEL: 'demo' });
});
afterAll(async () => t?.close());

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;
const json = (body: unknown) => t.app.inject({ method: 'POST', url: '/api/search', payload: body as object });
const form = (fields: Parameters<typeof multipart>[0]) =>
  t.app.inject({ method: 'POST', url: '/api/search', ...multipart(fields) });
const get = (url: string) => t.app.inject(url);
const png = (data: Buffer) => ({ filename: 'q.png', data, contentType: 'image/png' });
const ids = (res: { json(): Json }) => res.json().results.map((r: Json) => r.id);
const expect400 = (res: { statusCode: number; body: string; json(): Json }, message: RegExp) => {
  expect(res.statusCode, res.body).toBe(400);
  expect(res.json().error).toMatchObject({ code: 'invalid_request', message: expect.stringMatching(message) });
};
const OTHER = /another query or filters/;

describe('a cursor is bound to its query', () => {
  it('pages on with the same query, and k may change between pages', async () => {
    const whole = await json({ text: 'a bag', k: 9, label: 'bag' });
    const first = await json({ text: 'a bag', k: 3, label: 'bag' });
    const second = await json({ text: '  a bag ', k: 6, label: 'bag', cursor: first.json().next }); // the same words
    expect(second.statusCode, second.body).toBe(200);
    expect([...ids(first), ...ids(second)]).toEqual(ids(whole));
  });

  it('is a 400 with other words, filters, minScore or sort', async () => {
    const { next } = (await json({ text: 'a bag', k: 3, label: 'bag', minScore: 0.1 })).json();
    expect400(await json({ text: 'a shirt', k: 3, label: 'bag', minScore: 0.1, cursor: next }), OTHER);
    expect400(await json({ text: 'a bag', k: 3, label: 'shirt', minScore: 0.1, cursor: next }), OTHER);
    expect400(await json({ text: 'a bag', k: 3, label: 'bag', camera: 'canon', minScore: 0.1, cursor: next }), OTHER);
    expect400(await json({ text: 'a bag', k: 3, label: 'bag', minScore: 0.2, cursor: next }), OTHER);
    expect400(await json({ text: 'a bag', k: 3, label: 'bag', cursor: next }), OTHER);
    const dated = { text: 'a bag', k: 3, label: 'bag', minScore: 0.1, sort: 'date', cursor: next };
    expect400(await json(dated), /sort=score/);
    expect((await json({ text: 'a bag', k: 3, label: 'bag', minScore: 0.1, cursor: next })).statusCode).toBe(200);
  });

  it('is a 400 with another upload or another similar id; the same upload sent again pages on', async () => {
    const [a, b] = [await scenePng(41), await scenePng(42)];
    const { next } = (await form({ image: png(a), k: '4' })).json();
    expect((await form({ image: png(a), k: '4', cursor: next })).statusCode).toBe(200);
    expect400(await form({ image: png(b), k: '4', cursor: next }), OTHER);
    expect400(await form({ text: 'a bag', k: '4', cursor: next }), OTHER);
    const similar = (await get('/api/images/5/similar?k=4')).json().next;
    expect((await get(`/api/images/5/similar?k=4&cursor=${similar}`)).statusCode).toBe(200);
    expect400(await get(`/api/images/6/similar?k=4&cursor=${similar}`), OTHER);
  });

  it('is a 400 with another query of parts (another weight)', async () => {
    const parts = { positive: [{ id: 3 }, { text: 'a bag', weight: 2 }] };
    const { next } = (await json({ ...parts, k: 3 })).json();
    expect((await json({ ...parts, k: 3, cursor: next })).statusCode).toBe(200);
    expect400(await json({ positive: [{ id: 3 }, { text: 'a bag', weight: 3 }], k: 3, cursor: next }), OTHER);
  });

  it("a listing's cursor is bound to its filters", async () => {
    const { next } = (await get('/api/images?limit=5&label=bag')).json();
    expect((await get(`/api/images?limit=7&label=bag&cursor=${next}`)).statusCode).toBe(200);
    expect400(await get(`/api/images?limit=5&label=shirt&cursor=${next}`), OTHER);
  });

  it('a cursor the server did not give (a negative count, a fractional id, made up): 400, never 500', async () => {
    const made = (parts: unknown[]) => Buffer.from(JSON.stringify(parts)).toString('base64url');
    const cursors = [made(['score', 0.5, 3, -5]), made(['score', 0.5, 3.5, 'x']), made(['score', 0.5, 3]), 'bm9wZQ'];
    for (const cursor of cursors) {
      expect400(await json({ text: 'a bag', k: 3, cursor }), /cursor/);
      expect400(await get(`/api/images/5/similar?k=3&cursor=${cursor}`), /cursor/);
    }
  });
});

describe('filter dates are real dates', () => {
  const impossible = [
    '2021-02-30',
    '2023-02-29',
    '2021-13-01',
    '2021-06-15T24:00:00Z',
    '2021-06-15T10:60:00',
    '2021-06-15T10:30:00+25:00',
  ];
  it.each(impossible)('%s is a 400 as a form field, in JSON and in a query string', async (date) => {
    expect400(await json({ text: 'a bag', takenAfter: date }), /takenAfter/);
    expect400(await form({ text: 'a bag', takenBefore: date }), /takenBefore/);
    expect400(await get(`/api/images?takenAfter=${encodeURIComponent(date)}`), /takenAfter/);
  });

  it('a leap day, the last second of a day and an offset are dates', async () => {
    for (const date of ['2024-02-29', '2021-06-15T23:59:59Z', '2021-06-15T10:30:00+02:00', '2000-02-29T00:00']) {
      expect((await get(`/api/images?takenAfter=${encodeURIComponent(date)}`)).statusCode).toBe(200);
    }
  });
});

describe('composite weights', () => {
  it('a weight beyond 1e6 or below 1e-6 in size is a 400 (1e308 made the query NaN: 200 with no results)', async () => {
    for (const weight of [1e308, -1e308, 1.5e6, 1e-7, -1e-30]) {
      expect400(await json({ positive: [{ id: 3, weight }], k: 3 }), /weight/);
    }
  });

  it('weights at the limits search; "cancel out" only when the parts do', async () => {
    for (const weight of [1e6, 1e-6, -1e-6]) {
      const res = await json({
        positive: [
          { id: 3, weight },
          { text: 'a bag', weight: 1e-6 },
        ],
        k: 3,
      });
      expect(res.statusCode, `${weight}: ${res.body}`).toBe(200);
      expect(res.json().results).toHaveLength(3);
    }
    // two small parts that differ: their sum is short, and no shorter than the parts' size says it may be
    const small = await json({ positive: [{ id: 3, weight: 1e-6 }], negative: [{ id: 4, weight: 1e-6 }], k: 3 });
    expect(small.statusCode, small.body).toBe(200);
    expect(small.json().results).toHaveLength(3);
    const cancelling = { positive: [{ id: 3, weight: 1e-6 }], negative: [{ id: 3, weight: 1e-6 }], k: 3 };
    expect400(await json(cancelling), /cancel out/);
  });
});

describe('numbers in forms and query strings', () => {
  it.each(['0x10', '1e1', '+5', '0b11', '5.0', ' 5', '5 ', '0o7', 'Infinity', '5e0'])('k=%s is a 400', async (k) => {
    expect400(await get(`/api/images/5/similar?k=${encodeURIComponent(k)}`), /k: a whole number/);
    expect400(await form({ text: 'a bag', k }), /k: a whole number/);
    expect400(await get(`/api/images?limit=${encodeURIComponent(k)}`), /limit/);
    expect400(await get(`/api/duplicates?limit=${encodeURIComponent(k)}`), /limit/);
  });

  it.each(['1e-1', '.5', '+0.5', '0x1', '0.5.1', '- 0.5'])('a real given as %s is a 400', async (v) => {
    expect400(await get(`/api/images/5/similar?minScore=${encodeURIComponent(v)}`), /minScore/);
    expect400(await form({ text: 'a bag', minScore: v }), /minScore/);
    expect400(await get(`/api/duplicates?threshold=${encodeURIComponent(v)}`), /threshold/);
  });

  it('digits, a minus and a fraction are numbers; an empty value is one left out (its default applies)', async () => {
    expect(ids(await get('/api/images/5/similar?k=7&minScore=-0.5'))).toHaveLength(7);
    expect(ids(await form({ text: 'a bag', k: '7', minScore: '-1.0' }))).toHaveLength(7);
    expect(ids(await get('/api/images/5/similar?k=&minScore='))).toHaveLength(12);
    expect((await get('/api/images?limit=')).json().images).toHaveLength(24);
    // an empty threshold was read as 0, which groups far more of the gallery
    const dups = await get('/api/duplicates?threshold=&limit=');
    expect(dups.statusCode, dups.body).toBe(200);
    const defaults = (await get('/api/duplicates')).json();
    expect(defaults.threshold).toBe(0.99); // LOOKALIKE_DUPLICATE_THRESHOLD's auto, for the demo's models
    expect(dups.json()).toMatchObject({ threshold: defaults.threshold, total: defaults.total });
    expect(dups.json().groups).toHaveLength(defaults.groups.length);
  });
});
