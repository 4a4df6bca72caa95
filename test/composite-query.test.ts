// Queries built from several parts (rclip's a + b - c, through the API): positive and negative items (words, an
// uploaded image, both in one input, a gallery id) with weights, through the API, with the demo embedding model (images
// and words in one space).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dot } from '../src/core/util/vectors.js';
import { multipart, startTestApp, type TestApp } from './helpers/app.js';
import { scenePng } from './helpers/images.js';
import { fashionPng, readFashion, demoSplit, FASHION_CLASSES } from '../src/engine/demo/fashion-mnist.js';

let emb: TestApp; // the demo embedding model: words, images, both
let vision: TestApp; // the demo vision model: images only
let picture: Buffer; // a held-out sandal

beforeAll(async () => {
  [emb, vision] = await Promise.all([startTestApp({ LOOKALIKE_EMBED_MODEL: 'demo' }), startTestApp()]);
  const test = readFashion('t10k');
  picture = await fashionPng(
    test,
    demoSplit(test.labels).queries.find((q) => FASHION_CLASSES[test.labels[q]!] === 'sandal')!,
  );
});
afterAll(async () => {
  await emb?.close();
  await vision?.close();
});

type Hit = { id: number; score: number; label: string | null };
const json = async (t: TestApp, body: unknown) =>
  t.app.inject({ method: 'POST', url: '/api/search', payload: body as object });
const form = (t: TestApp, fields: Parameters<typeof multipart>[0]) =>
  t.app.inject({ method: 'POST', url: '/api/search', ...multipart(fields) });
const ids = (res: { json(): { results: Hit[] } }) => res.json().results.map((r) => r.id);
const unit = (v: Float32Array) => {
  const n = Math.hypot(...v);
  return v.map((x) => x / n);
};

describe('a query of several parts', () => {
  it('is the weighted sum of its parts, normalised: the scores are the cosines to that vector', async () => {
    const { gallery } = emb.app.runtime.parts();
    const [a, b] = [3, 400];
    const res = await json(emb, { positive: [{ id: a, weight: 2 }, { id: b }], k: 5 });
    expect(res.statusCode, res.body).toBe(200);
    const q = unit(gallery.storedVector(a)!.map((x, i) => 2 * x + gallery.storedVector(b)![i]!));
    for (const r of res.json().results as Hit[]) expect(r.score).toBeCloseTo(dot(q, gallery.storedVector(r.id)!), 4);
  });

  it('a negative term moves a result down', async () => {
    const x = 7;
    const alone = ids(await json(emb, { positive: [{ id: x }], k: 50 }));
    const y = alone[1]!; // its nearest neighbour (alone[0] is x itself)
    const away = ids(await json(emb, { positive: [{ id: x }], negative: [{ id: y, weight: 0.5 }], k: 50 }));
    expect(away[0]).toBe(x);
    const rank = away.indexOf(y);
    expect(rank === -1 || rank > 1, `rank of ${y}: ${rank}`).toBe(true);
    // words too: "shirt" minus the other class most found for it puts that class lower
    const labels = async (body: unknown) => ((await json(emb, body)).json().results as Hit[]).map((r) => r.label);
    const plain = await labels({ positive: [{ text: 'shirt' }], k: 30 });
    const counts = new Map<string, number>();
    for (const l of plain) if (l && l !== 'shirt') counts.set(l, (counts.get(l) ?? 0) + 1);
    const [other, before] = [...counts].sort((p, q) => q[1] - p[1])[0]!;
    const after = (await labels({ positive: [{ text: 'shirt' }], negative: [{ text: other }], k: 30 })).filter(
      (l) => l === other,
    ).length;
    expect(after, `"${other}" in the top 30 of "shirt": ${before}, minus "${other}": ${after}`).toBeLessThan(before);
  });

  it('an uploaded image with words in one item is one input: it differs from the image alone and from the words alone', async () => {
    const { queries } = emb.app.runtime.ready();
    const both = await queries.imageWithText(picture, 'sneaker');
    const image = (await queries.image(picture)).vector;
    const words = await queries.text('sneaker');
    expect(dot(both, image)).toBeLessThan(0.9999);
    expect(dot(both, words)).toBeLessThan(0.9999);
    // through the API: a file part named by an item, with and without words
    const scores = async (item: Record<string, unknown>) => {
      const res = await form(emb, {
        positive: JSON.stringify([item]),
        pic: { filename: 'pic.png', data: picture },
        k: '5',
      });
      expect(res.statusCode, res.body).toBe(200);
      return (res.json().results as Hit[]).map((r) => r.score);
    };
    const withWords = await scores({ file: 'pic', text: 'sneaker' });
    expect(withWords).not.toEqual(await scores({ file: 'pic' }));
    const wordsOnly = ((await json(emb, { positive: [{ text: 'sneaker' }], k: 5 })).json().results as Hit[]).map(
      (r) => r.score,
    );
    expect(withWords).not.toEqual(wordsOnly);
    // its top score is the cosine to the one vector of image and words
    const top = (
      (
        await form(emb, {
          positive: JSON.stringify([{ file: 'pic', text: 'sneaker' }]),
          pic: { filename: 'p.png', data: picture },
          k: '1',
        })
      ).json().results as Hit[]
    )[0]!;
    expect(top.score).toBeCloseTo(dot(both, emb.app.runtime.parts().gallery.storedVector(top.id)!), 4);
  });

  it('answers every bad combination with 400 and a message that says what is wrong', async () => {
    const png = await scenePng(3);
    const cases: [string, () => ReturnType<typeof json>, RegExp][] = [
      [
        'words without the embedding model',
        () => json(vision, { positive: [{ text: 'sandal' }] }),
        /positive\[0\] has words, and this server embeds images only/,
      ],
      [
        'words without the embedding model (negative)',
        () =>
          form(vision, {
            positive: JSON.stringify([{ file: 'a' }]),
            negative: JSON.stringify([{ text: 'x' }]),
            a: { filename: 'a.png', data: png },
          }),
        /negative\[0\] has words/,
      ],
      ['an empty list', () => json(emb, { positive: [] }), /positive: the list is empty/],
      [
        'an empty negative list',
        () => json(emb, { positive: [{ id: 1 }], negative: [] }),
        /negative: the list is empty/,
      ],
      ['an empty list in a form', () => form(emb, { positive: '[]' }), /positive: the list is empty/],
      [
        'an unknown id',
        () => json(emb, { positive: [{ id: 999999 }] }),
        /positive\[0\]: there is no image with id 999999/,
      ],
      [
        'a weight that is not finite (JSON 1e999)',
        () =>
          emb.app.inject({
            method: 'POST',
            url: '/api/search',
            payload: '{"positive":[{"id":1,"weight":1e999}]}',
            headers: { 'content-type': 'application/json' },
          }),
        /positive\.0\.weight: a weight is a finite number/,
      ],
      [
        'a weight that is not a number',
        () => form(emb, { positive: '[{"id":1,"weight":"NaN"}]' }),
        /positive\.0\.weight: a weight is a finite number/,
      ],
      ['a weight of 0', () => json(emb, { positive: [{ id: 1, weight: 0 }] }), /a weight of 0 adds nothing/],
      ['parts that cancel out', () => json(emb, { positive: [{ id: 1 }], negative: [{ id: 1 }] }), /cancel out/],
      ['only negatives', () => json(emb, { negative: [{ id: 1 }] }), /"negative" needs a "positive" list/],
      ['an empty item', () => json(emb, { positive: [{ weight: 2 }] }), /an item needs words/],
      ['an id with words', () => json(emb, { positive: [{ id: 1, text: 'x' }] }), /an id goes alone/],
      [
        'a file in a JSON body',
        () => json(emb, { positive: [{ file: 'pic' }] }),
        /names the file field "pic", and the request has none/,
      ],
      [
        'a file field that is not there',
        () => form(emb, { positive: JSON.stringify([{ file: 'pic' }]), other: { filename: 'o.png', data: png } }),
        /unexpected file field "other"/,
      ],
      ['a list and a text', () => json(emb, { text: 'sandal', positive: [{ id: 1 }] }), /not both/],
      [
        'a list and an image',
        () => form(emb, { image: { filename: 'i.png', data: png }, positive: JSON.stringify([{ id: 1 }]) }),
        /not both/,
      ],
      ['a list that is not JSON', () => form(emb, { positive: '{oops' }), /positive/],
      ['an unknown key in an item', () => json(emb, { positive: [{ id: 1, wieght: 2 }] }), /wieght/],
      ['re-ranking a query of parts', () => json(emb, { positive: [{ id: 1 }], rerank: true }), /re-ranking|re-rank/],
    ];
    for (const [what, send, message] of cases) {
      const res = await send();
      expect(res.statusCode, `${what}: ${res.body}`).toBe(what.startsWith('re-ranking') ? 409 : 400);
      expect(res.json().error.message, what).toMatch(message);
    }
  });
});
