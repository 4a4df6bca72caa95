// Every route through app.inject(), with the real encoder (demo model), SQLite and FAISS.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { multipart, postForm, startTestApp, type TestApp } from './helpers/app.js';
import { scenePng } from './helpers/images.js';
import { FASHION_CLASSES } from '../src/engine/demo/fashion-mnist.js';
import { ERRORS } from '../src/core/errors.js';

let t: TestApp;
let demoImage: Buffer;
let demoImageName: string;

beforeAll(async () => {
  t = await startTestApp();
  const dir = join(t.dataDir, 'demo', 'images', 'sneaker');
  demoImageName = readdirSync(dir).sort()[0]!;
  demoImage = readFileSync(join(dir, demoImageName));
});
afterAll(async () => t?.close());

const post = (url: string, fields: Parameters<typeof multipart>[0], headers: Record<string, string> = {}) =>
  postForm(t, url, fields, headers);
const image = (data: Buffer, filename = 'photo.jpg') => ({ filename, data, contentType: 'image/jpeg' });

function expectError(res: { statusCode: number; json(): unknown }, status: number, code: string | RegExp) {
  expect(res.statusCode).toBe(status);
  const body = res.json() as { error: { code: string; message: string } };
  expect(Object.keys(body)).toEqual(['error']);
  expect(body.error.code).toMatch(code);
  expect(body.error.message.length).toBeGreaterThan(5);
}

describe('service routes', () => {
  it('GET /api/health: ready, with the model identity and gallery size', async () => {
    const res = await t.app.inject('/api/health');
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({
      status: 'ready',
      demo: true,
      model: { projectorType: 'qwen3vl_merger', dim: 64 },
      gallery: { images: 1000, labelled: 1000 },
    });
  });

  it('GET /api/health: 503 loading before the model is loaded', async () => {
    const cold = await startTestApp({}, { start: false });
    try {
      const res = await cold.app.inject('/api/health');
      expect(res.statusCode).toBe(503);
      expect(res.json()).toMatchObject({ status: 'loading' });
      expectError(await cold.app.inject('/api/stats'), 503, 'loading');
    } finally {
      await cold.close();
    }
  });

  it('GET /api/health: 503 closed while the service shuts down, with a code of the registry', async () => {
    const closing = await startTestApp({}, { start: false });
    try {
      await closing.app.runtime.close();
      const res = await closing.app.inject('/api/health');
      expect(res.json()).toMatchObject({ status: 'closed', error: { code: 'closed' } });
      expect(res.statusCode).toBe(ERRORS.closed.status);
    } finally {
      await closing.close();
    }
  });

  it('GET /api/health: 503 with the reason when the model cannot be loaded, and the server stays up', async () => {
    const broken = await startTestApp({ LOOKALIKE_MMPROJ: '/nonexistent/mmproj.gguf' }, { start: false });
    try {
      await broken.app.runtime.start();
      const res = await broken.app.inject('/api/health');
      expect(res.statusCode).toBe(503);
      expect(res.json()).toMatchObject({ status: 'error', error: { code: 'bad_model_file' } });
      expect(res.json().error.message).toMatch(/model file not found/);
      expectError(await broken.app.inject('/api/stats'), 503, 'startup_failed');
    } finally {
      await broken.close();
    }
  });

  it('GET /api/stats: counts, labels, index, model', async () => {
    const res = await t.app.inject('/api/stats');
    expect(res.statusCode).toBe(200);
    const s = res.json();
    expect(s).toMatchObject({
      images: 1000,
      embedded: 1000,
      labelled: 1000,
      demo: true,
      index: { kind: 'flat', live: 1000, dim: 64 },
    });
    expect(s.labels.map((l: { label: string }) => l.label)).toEqual([...FASHION_CLASSES].sort());
  });

  it('serves the page, the OpenAPI document and its UI', async () => {
    const page = await t.app.inject('/');
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toMatch(/text\/html/);
    const spec = (await t.app.inject('/docs/json')).json();
    for (const path of [
      '/api/health',
      '/api/search',
      '/api/classify',
      '/api/images',
      '/api/images/{id}',
      '/api/images/{id}/similar',
      '/api/images/{id}/thumbnail',
      '/api/stats',
    ]) {
      expect(Object.keys(spec.paths)).toContain(path);
    }
    expect((await t.app.inject('/docs')).statusCode).toBeLessThan(400);
  });

  it('serves Prometheus metrics whose counters move with requests', async () => {
    const scrape = async () => {
      const res = await t.app.inject('/metrics');
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
      const samples = new Map<string, number>();
      for (const line of res.body.split('\n')) {
        if (!line || line.startsWith('#')) continue;
        const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{[^}]*\})?) (-?[0-9.e+-]+|NaN|[+-]Inf)$/.exec(line);
        expect(m, line).not.toBeNull(); // every sample line is valid exposition format
        samples.set(m![1]!, Number(m![2]));
      }
      return samples;
    };
    const before = await scrape();
    const key = 'lookalike_http_requests_total{route="/api/stats",method="GET",status="200"}';
    for (let i = 0; i < 3; i++) await t.app.inject('/api/stats');
    await post('/api/search', { image: image(demoImage), k: '1' });
    const after = await scrape();
    expect((after.get(key) ?? 0) - (before.get(key) ?? 0)).toBe(3);
    expect(after.get('lookalike_gallery_images')).toBeGreaterThanOrEqual(1000);
    expect(after.get('lookalike_index_vectors{state="live"}')).toBeGreaterThanOrEqual(1000);
    expect(
      (after.get('lookalike_encode_duration_seconds_count{input="image"}') ?? 0) -
        (before.get('lookalike_encode_duration_seconds_count{input="image"}') ?? 0),
    ).toBe(1);
    expect(after.has('lookalike_process_resident_memory_bytes')).toBe(true);
  });

  it('answers an unknown route with the error shape', async () => {
    expectError(await t.app.inject('/api/nope'), 404, 'not_found');
  });
});

describe('POST /api/search', () => {
  it('finds a gallery image itself first, with score about 1, and classifies it', async () => {
    const encodeSeconds = async () =>
      Number(
        /^lookalike_encode_duration_seconds_sum\{input="image"\} (\S+)$/m.exec(
          (await t.app.inject('/metrics')).body,
        )?.[1] ?? 0,
      );
    const encodedBefore = await encodeSeconds();
    const sent = performance.now();
    const res = await post('/api/search', { image: image(demoImage, demoImageName), classify: 'true' });
    const roundTrip = performance.now() - sent;
    const encodeMs = 1000 * ((await encodeSeconds()) - encodedBefore);
    expect(res.statusCode).toBe(200);
    const out = res.json();
    expect(out.results).toHaveLength(12);
    expect(out.results[0].source).toBe(`sneaker/${demoImageName}`);
    expect(out.results[0].score).toBeGreaterThan(0.999);
    for (let i = 1; i < out.results.length; i++)
      expect(out.results[i - 1].score).toBeGreaterThanOrEqual(out.results[i].score);
    expect(out.results[0].thumbnailUrl).toBe(`/api/images/${out.results[0].id}/thumbnail`);
    expect(out.classification.label).toBe('sneaker');
    // tookMs is the request's own time in milliseconds: it holds the encode and fits in the round trip
    expect(encodeMs).toBeGreaterThan(0);
    expect(out.tookMs).toBeGreaterThanOrEqual(encodeMs);
    expect(out.tookMs).toBeLessThanOrEqual(roundTrip);
  });

  it('takes k, a label filter and a minimum score', async () => {
    const some = (await post('/api/search', { image: image(demoImage), k: '3' })).json();
    expect(some.results).toHaveLength(3);
    const only = (await post('/api/search', { image: image(demoImage), k: '5', label: 'bag' })).json();
    expect(only.results).toHaveLength(5);
    expect(only.results.every((r: { label: string }) => r.label === 'bag')).toBe(true);
    const strict = (await post('/api/search', { image: image(demoImage), k: '48', minScore: '0.99' })).json();
    expect(strict.results.every((r: { score: number }) => r.score >= 0.99)).toBe(true);
    expect(strict.results.length).toBeLessThan(48);
  });

  it('answers bad uploads with a clear 4xx', async () => {
    expectError(await post('/api/search', { k: '3' }), 400, 'missing_image');
    expectError(await post('/api/search', { image: image(Buffer.alloc(0)) }), 415, 'bad_image');
    expectError(
      await post('/api/search', { image: image(Buffer.from('just some text, not a picture'), 'notes.txt') }),
      415,
      'bad_image',
    );
    const jpeg = await sharp(await scenePng(3))
      .jpeg()
      .toBuffer();
    expectError(await post('/api/search', { image: image(jpeg.subarray(0, jpeg.length >> 1)) }), 415, 'bad_image');
    expectError(await post('/api/search', { image: image(hugePng(30000, 30000), 'huge.png') }), 413, 'image_too_large');
    expectError(await post('/api/search', { photo: image(demoImage) }), 400, 'wrong_field');
    expectError(await post('/api/search', { image: image(demoImage), k: 'many' }), 400, 'invalid_request');
    expectError(await post('/api/search', { image: image(demoImage), k: '1000' }), 400, 'invalid_request');
    expectError(await post('/api/search', { image: image(demoImage), minScore: '2' }), 400, 'invalid_request');
    expectError(
      await t.app.inject({ method: 'POST', url: '/api/search', payload: { image: 'x' } }),
      400,
      'invalid_request',
    ); // JSON takes { text }
    expectError(
      await t.app.inject({
        method: 'POST',
        url: '/api/search',
        payload: demoImage,
        headers: { 'content-type': 'image/jpeg' },
      }),
      415,
      'not_multipart',
    );
    // and the service is fine afterwards
    expect((await post('/api/search', { image: image(demoImage), k: '1' })).statusCode).toBe(200);
  });

  it('refuses re-ranking when no text model is loaded, and everything else still works', async () => {
    expectError(await post('/api/search', { image: image(demoImage), rerank: 'true' }), 409, 'no_text_model');
    expect((await post('/api/search', { image: image(demoImage) })).statusCode).toBe(200);
  });
});

describe('POST /api/classify', () => {
  it('returns label, confidence, votes and neighbours', async () => {
    const res = await post('/api/classify', { image: image(demoImage), k: '10' });
    expect(res.statusCode).toBe(200);
    const c = res.json();
    expect(c).toMatchObject({ label: 'sneaker', unknown: false });
    expect(c.neighbours).toHaveLength(10);
    expect(c.votes[0].label).toBe('sneaker');
    expect(c.confidence).toBeGreaterThan(0.5);
    expectError(await post('/api/classify', { image: image(Buffer.from('nope')) }), 415, 'bad_image');
    expectError(await post('/api/classify', { image: image(demoImage), k: '0' }), 400, 'invalid_request');
  });
});

describe('gallery routes', () => {
  it("makes the thumbnail from the upload, not from the encoder's smaller input: fine detail survives", async () => {
    // one-pixel black and white stripes: at the encoder's input size they blur into grey
    const side = 256;
    const stripes = Buffer.alloc(side * side, 0).map((_, i) => (i % 2 ? 255 : 0));
    const png = await sharp(stripes, { raw: { width: side, height: side, channels: 1 } })
      .png()
      .toBuffer();
    const added = await post('/api/images', { image: image(png, 'stripes.png') });
    expect(added.statusCode, added.body).toBe(201);
    const thumb = await t.app.inject(`/api/images/${added.json().id}/thumbnail`);
    const { data, info } = await sharp(thumb.rawPayload).greyscale().raw().toBuffer({ resolveWithObject: true });
    expect([info.width, info.height]).toEqual([side, side]);
    let contrast = 0;
    for (let i = 1; i < data.length; i++) if (i % info.width) contrast += Math.abs(data[i]! - data[i - 1]!);
    expect(contrast / (info.height * (info.width - 1))).toBeGreaterThan(128);
    expect((await t.app.inject({ method: 'DELETE', url: `/api/images/${added.json().id}` })).statusCode).toBe(204);
  });

  it('adds, reads, finds similar, deletes, and never returns the deleted image', async () => {
    const png = await scenePng(4242);
    const added = await post('/api/images', { image: image(png, 'mine.png'), label: 'mine' });
    expect(added.statusCode).toBe(201);
    const { id } = added.json();
    const again = await post('/api/images', { image: image(png, 'mine-again.png') });
    expect(again.statusCode).toBe(200);
    expect(again.json()).toEqual({ id, label: 'mine', duplicate: true, relabelled: false, restored: false });

    const record = (await t.app.inject(`/api/images/${id}`)).json();
    expect(record).toMatchObject({ id, label: 'mine', source: 'mine.png', width: 320, height: 240 });
    const thumb = await t.app.inject(`/api/images/${id}/thumbnail`);
    expect(thumb.statusCode).toBe(200);
    expect(thumb.headers['content-type']).toBe('image/webp');
    expect((await sharp(thumb.rawPayload).metadata()).width).toBe(256);

    const similar = (await t.app.inject(`/api/images/${id}/similar?k=5`)).json();
    expect(similar.results).toHaveLength(5);
    expect(similar.results.map((r: { id: number }) => r.id)).not.toContain(id);

    const found = (await post('/api/search', { image: image(png), k: '1' })).json();
    expect(found.results[0].id).toBe(id);

    expect((await t.app.inject({ method: 'DELETE', url: `/api/images/${id}` })).statusCode).toBe(204);
    expectError(await t.app.inject(`/api/images/${id}`), 404, 'not_found');
    expectError(await t.app.inject(`/api/images/${id}/thumbnail`), 404, 'not_found');
    expectError(await t.app.inject(`/api/images/${id}/similar`), 404, 'not_found');
    expectError(await t.app.inject({ method: 'DELETE', url: `/api/images/${id}` }), 404, 'not_found');
    const after = (await post('/api/search', { image: image(png), k: '48' })).json();
    expect(after.results.map((r: { id: number }) => r.id)).not.toContain(id);
  });

  it('relabels: the same content with a new label, PATCH with a label or null, seen at once by filters', async () => {
    const png = await scenePng(4343);
    const { id } = (await post('/api/images', { image: image(png), label: 'first' })).json();
    const again = (await post('/api/images', { image: image(png), label: 'second' })).json();
    expect(again).toEqual({ id, label: 'second', duplicate: true, relabelled: true, restored: false });
    const patch = (label: string | null) =>
      t.app.inject({ method: 'PATCH', url: `/api/images/${id}`, payload: { label } });
    expect((await patch('third')).json()).toMatchObject({ id, label: 'third' });
    const only = (await post('/api/search', { image: image(png), k: '1', label: 'third' })).json();
    expect(only.results.map((r: { id: number }) => r.id)).toEqual([id]);
    expect((await patch(null)).json()).toMatchObject({ id, label: null });
    expect((await post('/api/search', { image: image(png), k: '1', label: 'third' })).json().results).toEqual([]);
    expectError(
      await t.app.inject({ method: 'PATCH', url: `/api/images/${id}`, payload: { label: 'x', extra: 1 } }),
      400,
      'invalid_request',
    );
    // a label is trimmed; only spaces, or control characters, are refused (they would become zero-shot classes)
    for (const bad of ['   ', 'two\nlines', 'tab\there']) expectError(await patch(bad), 400, 'invalid_request');
    expectError(await post('/api/images', { image: image(png), label: ' \t ' }), 400, 'invalid_request');
    expect((await patch('  spaced  ')).json()).toMatchObject({ id, label: 'spaced' });
    expect((await t.app.inject({ method: 'DELETE', url: `/api/images/${id}` })).statusCode).toBe(204);
  });

  it('encodes images of extreme shape (padded, not refused) on search and classify', async () => {
    for (const [w, h] of [
      [20000, 1],
      [1, 20000],
      [5000, 3],
    ] as const) {
      const strip = await sharp({ create: { width: w, height: h, channels: 3, background: '#3366cc' } })
        .png()
        .toBuffer();
      const search = await post('/api/search', { image: image(strip, 'strip.png'), k: '3' });
      expect(search.statusCode, `${w}x${h}: ${search.body}`).toBe(200);
      expect(search.json().results).toHaveLength(3);
      expect((await post('/api/classify', { image: image(strip, 'strip.png') })).statusCode).toBe(200);
    }
  });

  it('answers unknown and malformed ids with 404 and 400', async () => {
    expectError(await t.app.inject('/api/images/999999'), 404, 'not_found');
    expectError(await t.app.inject('/api/images/abc'), 400, 'invalid_request');
    expectError(await t.app.inject('/api/images/-3/similar'), 400, 'invalid_request');
    expectError(await t.app.inject('/api/images/1/similar?k=0'), 400, 'invalid_request');
  });

  it(
    'takes image ids in decimal digits only (a lenient parse reads 0x20 as image 32): anything else is a 400 on ' +
      'every id route',
    async () => {
      for (const id of ['0x20', '1e0', '%201%20', '+33', '33.0', '1.', '0b1', '%D9%A1']) {
        for (const [method, path] of [
          ['GET', ''],
          ['GET', '/similar'],
          ['GET', '/thumbnail'],
          ['PATCH', ''],
          ['DELETE', ''],
        ] as const) {
          const res = await t.app.inject({
            method,
            url: `/api/images/${id}${path}`,
            ...(method === 'PATCH' ? { payload: { label: 'x' } } : {}),
          });
          expectError(res, 400, 'invalid_request');
          expect(res.json().error.message, `${method} ${id}${path}`).toMatch(/decimal digits/);
        }
      }
      expect((await t.app.inject('/api/images/32')).json()).toMatchObject({ id: 32 }); // still there
      expect((await t.app.inject('/api/images/032')).json()).toMatchObject({ id: 32 }); // digits, leading zero or not
    },
  );

  it("answers a path that is not valid URL encoding (%ZZ) with a 400 in the error shape, not Fastify's own", async () => {
    for (const url of ['/api/images/%ZZ', '/api/%ZZ/x', '/%ZZ'])
      expectError(await t.app.inject(url), 400, 'invalid_request');
  });

  it('reads media types case-insensitively, and PATCH takes JSON only (415 otherwise)', async () => {
    const { id } = (await post('/api/images', { image: image(await scenePng(4545)) })).json();
    const patch = (payload: string | Buffer, contentType: string) =>
      t.app.inject({ method: 'PATCH', url: `/api/images/${id}`, payload, headers: { 'content-type': contentType } });
    expect((await patch('{"label":"upper"}', 'APPLICATION/JSON; charset=UTF-8')).json()).toMatchObject({
      id,
      label: 'upper',
    });
    // words as a JSON body, however the type is spelled: this server has no embedding model, so a 409 (not a 415)
    expectError(
      await t.app.inject({
        method: 'POST',
        url: '/api/search',
        payload: '{"text":"a cat"}',
        headers: { 'content-type': 'Application/JSON' },
      }),
      409,
      'text_search_unavailable',
    );
    expectError(await patch('label=x', 'text/plain'), 415, 'unsupported_media_type');
    const form = multipart({ label: 'x' });
    expectError(await patch(form.payload, form.headers['content-type']!), 415, 'unsupported_media_type');
    expect((await t.app.inject(`/api/images/${id}`)).json().label).toBe('upper');
    expect((await t.app.inject({ method: 'DELETE', url: `/api/images/${id}` })).statusCode).toBe(204);
  });

  it('treats an empty form field as absent, and a JSON form part that does not parse as invalid_json', async () => {
    const found = await post('/api/search', { image: image(demoImage), k: '', minScore: '', label: '' });
    expect(found.statusCode, found.body).toBe(200);
    expect(found.json().results).toHaveLength(12); // the default k
    expectError(await post('/api/search', { text: '' }), 400, 'missing_image');
    const added = await post('/api/images', { image: image(await scenePng(4646)), label: '' });
    expect(added.statusCode, added.body).toBe(201);
    expect(added.json().label).toBeNull();
    const boundary = 'lookalikeJsonPart';
    const payload = Buffer.concat([
      Buffer.from(
        `--${boundary}\r\nContent-Disposition: form-data; name="labels"\r\nContent-Type: ` +
          `application/json\r\n\r\n["cat",\r\n`,
      ),
      Buffer.from(
        `--${boundary}\r\nContent-Disposition: form-data; name="image"; filename="a.png"\r\nContent-Type: ` +
          `image/png\r\n\r\n`,
      ),
      demoImage,
      Buffer.from(`\r\n--${boundary}--\r\n`),
    ]);
    expectError(
      await t.app.inject({
        method: 'POST',
        url: '/api/classify',
        payload,
        headers: { 'content-type': `multipart/form-data; boundary=${boundary}` },
      }),
      400,
      'invalid_json',
    );
    expect((await t.app.inject({ method: 'DELETE', url: `/api/images/${added.json().id}` })).statusCode).toBe(204);
  });
});

describe('limits and access', () => {
  it('refuses an upload over the size limit with 413', async () => {
    const small = await startTestApp({ LOOKALIKE_MAX_UPLOAD_MB: '0.01' });
    try {
      const body = multipart({ image: image(Buffer.alloc(20_000, 1)) });
      expectError(
        await small.app.inject({ method: 'POST', url: '/api/search', payload: body.payload, headers: body.headers }),
        413,
        'upload_too_large',
      );
    } finally {
      await small.close();
    }
  });

  it('needs the bearer key for changes when one is set', async () => {
    const keyed = await startTestApp({ LOOKALIKE_API_KEY: 'sesame' });
    try {
      const send = (headers: Record<string, string>) => {
        const body = multipart({ image: image(demoImage) });
        return keyed.app.inject({
          method: 'POST',
          url: '/api/images',
          payload: body.payload,
          headers: { ...body.headers, ...headers },
        });
      };
      expectError(await send({}), 401, 'unauthorized');
      expectError(await send({ authorization: 'Bearer wrong' }), 403, 'forbidden');
      expect((await send({ authorization: 'Bearer sesame' })).statusCode).toBe(200); // a demo image: duplicate
      expectError(await keyed.app.inject({ method: 'DELETE', url: '/api/images/1' }), 401, 'unauthorized');
      // reads need no key
      expect((await keyed.app.inject('/api/images/1')).statusCode).toBe(200);
    } finally {
      await keyed.close();
    }
  });

  it('limits the request rate per client when configured, with the same error shape', async () => {
    const limited = await startTestApp({ LOOKALIKE_RATE_LIMIT: '3' });
    try {
      const codes = [];
      for (let i = 0; i < 5; i++) codes.push((await limited.app.inject('/api/stats')).statusCode);
      expect(codes).toEqual([200, 200, 200, 429, 429]);
      expectError(await limited.app.inject('/api/stats'), 429, 'rate_limited');
    } finally {
      await limited.close();
    }
  });

  it('refuses changes when listening beyond loopback without a key', async () => {
    const exposed = await startTestApp({ HOST: '0.0.0.0' });
    try {
      expectError(await exposed.app.inject({ method: 'DELETE', url: '/api/images/1' }), 403, 'writes_disabled');
      // metrics too (they tell about the gallery), with their own code: a read
      expectError(await exposed.app.inject('/metrics'), 403, 'metrics_disabled');
      expect((await exposed.app.inject('/api/images/1')).statusCode).toBe(200);
    } finally {
      await exposed.close();
    }
  });
});

/** A PNG whose header declares width x height, with a token IDAT: decoders refuse it before allocating. */
function hugePng(width: number, height: number): Buffer {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc = (b: Buffer) => {
    let c = 0xffffffff;
    for (const x of b) c = crcTable[(c ^ x) & 0xff]! ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const chunk = (type: string, data: Buffer) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const td = Buffer.concat([Buffer.from(type), data]);
    const c = Buffer.alloc(4);
    c.writeUInt32BE(crc(td));
    return Buffer.concat([len, td, c]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8;
  ihdr[9] = 2;
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', Buffer.from([0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01])),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}
