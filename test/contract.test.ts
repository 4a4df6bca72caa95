// The error contract, route by route: every status a route documents in OpenAPI is produced here by a real request,
// with the one error shape; every status produced is documented; the README's API table says the same; and the
// upload routes document their multipart bodies.
import { readFileSync } from 'node:fs';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { multipart, startTestApp, type TestApp } from './helpers/app.js';
import { scenePng } from './helpers/images.js';
import { startRedis, type TestRedis } from './helpers/redis.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Res = { statusCode: number; headers: Record<string, unknown>; json(): any; body: string };
interface Apps { ready: TestApp; vlm: TestApp; cold: TestApp; keyed: TestApp; limited: TestApp; queued: TestApp }

const apps = {} as Apps;
let png: Buffer;
let id: number;
let spec: { paths: Record<string, Record<string, { responses: Record<string, unknown>; requestBody?: { content: Record<string, { schema: { required: string[]; properties: Record<string, unknown> } }> } }>> };

let redis: TestRedis;
beforeAll(async () => {
  redis = await startRedis();
  apps.queued = await startTestApp({ LOOKALIKE_REDIS_URL: redis.url }); // adds become jobs (no worker needed to enqueue)
  [apps.ready, apps.vlm, apps.keyed, apps.limited] = await Promise.all([
    startTestApp(), startTestApp({ LOOKALIKE_TEXT_MODEL: 'demo' }), startTestApp({ LOOKALIKE_API_KEY: 'sesame' }), startTestApp({ LOOKALIKE_RATE_LIMIT: '1' }),
  ]);
  apps.cold = await startTestApp({}, { start: false });
  png = await scenePng(7);
  id = (await upload(apps.ready, 'POST', '/api/images', { image: file(await scenePng(8)) })).json().id;
  spec = (await apps.ready.app.inject('/docs/json')).json();
  await apps.limited.app.inject('/api/health'); // its one request a minute: everything after it is 429
}, 240_000);
afterAll(async () => {
  for (const t of Object.values(apps)) await t?.close();
  await redis?.stop();
});

const file = (data: Buffer) => ({ filename: 'x.png', data, contentType: 'image/png' });
function upload(t: TestApp, method: 'POST', url: string, fields: Parameters<typeof multipart>[0], headers: Record<string, string> = {}): Promise<Res> {
  const body = multipart(fields);
  return t.app.inject({ method, url, payload: body.payload, headers: { ...body.headers, ...headers } }) as never;
}
const get = (t: TestApp, url: string, method: 'GET' | 'DELETE' = 'GET', headers: Record<string, string> = {}) => t.app.inject({ method, url, headers }) as Promise<Res>;
const patch = (t: TestApp, url: string, payload: unknown, headers: Record<string, string> = {}) =>
  t.app.inject({ method: 'PATCH', url, payload: payload as string, headers: { 'content-type': 'application/json', ...headers } }) as Promise<Res>;
const huge = () => sharp({ create: { width: 9000, height: 9000, channels: 3, background: '#888' } }).png({ compressionLevel: 1 }).toBuffer();

// [route as OpenAPI names it, status, error code (for 4xx/5xx), request]
const CASES: [string, number, string | null, () => Promise<Res>][] = [
  ['get /api/health', 200, null, () => get(apps.ready, '/api/health')],
  ['get /api/health', 503, 'loading', () => get(apps.cold, '/api/health')],
  ['post /api/search', 200, null, () => upload(apps.ready, 'POST', '/api/search', { image: file(png) })],
  ['post /api/search', 400, 'missing_image', () => upload(apps.ready, 'POST', '/api/search', { k: '3' })],
  ['post /api/search', 409, 'no_text_model', () => upload(apps.ready, 'POST', '/api/search', { image: file(png), rerank: 'true' })],
  ['post /api/search', 413, 'too_many_files', () => upload(apps.ready, 'POST', '/api/search', { image: file(png), other: file(png) })],
  ['post /api/search', 415, 'not_multipart', () => apps.ready.app.inject({ method: 'POST', url: '/api/search', payload: png, headers: { 'content-type': 'image/jpeg' } }) as Promise<Res>],
  ['post /api/search', 503, 'loading', () => upload(apps.cold, 'POST', '/api/search', { image: file(png) })],
  ['post /api/classify', 200, null, () => upload(apps.ready, 'POST', '/api/classify', { image: file(png) })],
  ['post /api/classify', 400, 'invalid_request', () => upload(apps.ready, 'POST', '/api/classify', { image: file(png), k: 'many' })],
  ['post /api/classify', 409, 'text_search_unavailable', () => upload(apps.ready, 'POST', '/api/classify', { image: file(png), labels: '["cat"]' })],
  ['post /api/classify', 413, 'image_too_large', async () => upload(apps.ready, 'POST', '/api/classify', { image: file(await huge()) })],
  ['post /api/classify', 415, 'bad_image', () => upload(apps.ready, 'POST', '/api/classify', { image: file(Buffer.from('not a picture')) })],
  ['post /api/classify', 503, 'loading', () => upload(apps.cold, 'POST', '/api/classify', { image: file(png) })],
  ['get /api/images/{id}/similar', 200, null, () => get(apps.ready, `/api/images/${id}/similar`)],
  ['get /api/images/{id}/similar', 400, 'invalid_request', () => get(apps.ready, '/api/images/abc/similar')],
  ['get /api/images/{id}/similar', 404, 'not_found', () => get(apps.ready, '/api/images/999999/similar')],
  ['get /api/images/{id}/similar', 503, 'loading', () => get(apps.cold, '/api/images/1/similar')],
  ['post /api/images', 200, null, async () => upload(apps.ready, 'POST', '/api/images', { image: file(await scenePng(8)) })],
  ['post /api/images', 201, null, async () => upload(apps.ready, 'POST', '/api/images', { image: file(await scenePng(9)) })],
  ['post /api/images', 202, null, async () => upload(apps.queued, 'POST', '/api/images', { image: file(await scenePng(11)) })],
  ['get /api/jobs/{id}', 200, null, async () => get(apps.queued, (await upload(apps.queued, 'POST', '/api/images', { image: file(await scenePng(12)) })).json().statusUrl)],
  ['get /api/jobs/{id}', 404, 'not_found', () => get(apps.queued, '/api/jobs/nope.0')],
  ['get /api/jobs/{id}', 409, 'no_job_queue', () => get(apps.ready, '/api/jobs/nope.0')],
  ['get /api/jobs/{id}', 503, 'loading', () => get(apps.cold, '/api/jobs/nope.0')],
  ['post /api/images', 400, 'wrong_field', () => upload(apps.ready, 'POST', '/api/images', { photo: file(png) })],
  ['post /api/images', 401, 'unauthorized', () => upload(apps.keyed, 'POST', '/api/images', { image: file(png) })],
  ['post /api/images', 403, 'forbidden', () => upload(apps.keyed, 'POST', '/api/images', { image: file(png) }, { authorization: 'Bearer wrong' })],
  ['post /api/images', 413, 'image_too_large', async () => upload(apps.ready, 'POST', '/api/images', { image: file(await huge()) })],
  ['post /api/images', 415, 'bad_image', () => upload(apps.ready, 'POST', '/api/images', { image: file(Buffer.alloc(0)) })],
  ['post /api/images', 503, 'loading', () => upload(apps.cold, 'POST', '/api/images', { image: file(png) })],
  ['get /api/images/{id}', 200, null, () => get(apps.ready, `/api/images/${id}`)],
  ['get /api/images/{id}', 400, 'invalid_request', () => get(apps.ready, '/api/images/abc')],
  ['get /api/images/{id}', 404, 'not_found', () => get(apps.ready, '/api/images/999999')],
  ['get /api/images/{id}', 503, 'loading', () => get(apps.cold, '/api/images/1')],
  ['patch /api/images/{id}', 200, null, () => patch(apps.ready, `/api/images/${id}`, { label: 'renamed' })],
  ['patch /api/images/{id}', 400, 'invalid_request', () => patch(apps.ready, `/api/images/${id}`, { label: '' })],
  ['patch /api/images/{id}', 401, 'unauthorized', () => patch(apps.keyed, '/api/images/1', { label: 'x' })],
  ['patch /api/images/{id}', 403, 'forbidden', () => patch(apps.keyed, '/api/images/1', { label: 'x' }, { authorization: 'Bearer wrong' })],
  ['patch /api/images/{id}', 404, 'not_found', () => patch(apps.ready, '/api/images/999999', { label: 'x' })],
  ['patch /api/images/{id}', 415, 'unsupported_media_type', () => apps.ready.app.inject({ method: 'PATCH', url: `/api/images/${id}`, payload: 'label=x', headers: { 'content-type': 'application/x-www-form-urlencoded' } }) as Promise<Res>],
  ['patch /api/images/{id}', 503, 'loading', () => patch(apps.cold, '/api/images/1', { label: 'x' })],
  ['get /api/images/{id}/thumbnail', 200, null, () => get(apps.ready, `/api/images/${id}/thumbnail`)],
  ['get /api/images/{id}/thumbnail', 400, 'invalid_request', () => get(apps.ready, '/api/images/abc/thumbnail')],
  ['get /api/images/{id}/thumbnail', 404, 'not_found', () => get(apps.ready, '/api/images/999999/thumbnail')],
  ['get /api/images/{id}/thumbnail', 503, 'loading', () => get(apps.cold, '/api/images/1/thumbnail')],
  ['delete /api/images/{id}', 204, null, async () => get(apps.ready, `/api/images/${(await upload(apps.ready, 'POST', '/api/images', { image: file(await scenePng(10)) })).json().id}`, 'DELETE')],
  ['delete /api/images/{id}', 400, 'invalid_request', () => get(apps.ready, '/api/images/abc', 'DELETE')],
  ['delete /api/images/{id}', 401, 'unauthorized', () => get(apps.keyed, '/api/images/1', 'DELETE')],
  ['delete /api/images/{id}', 403, 'forbidden', () => get(apps.keyed, '/api/images/1', 'DELETE', { authorization: 'Bearer wrong' })],
  ['delete /api/images/{id}', 404, 'not_found', () => get(apps.ready, '/api/images/999999', 'DELETE')],
  ['delete /api/images/{id}', 503, 'loading', () => get(apps.cold, '/api/images/1', 'DELETE')],
  ['get /api/stats', 200, null, () => get(apps.ready, '/api/stats')],
  ['get /api/stats', 503, 'loading', () => get(apps.cold, '/api/stats')],
  ['post /api/describe', 200, null, () => upload(apps.vlm, 'POST', '/api/describe', { image: file(png), maxTokens: '2' })],
  ['post /api/describe', 400, 'invalid_request', () => upload(apps.vlm, 'POST', '/api/describe', { image: file(png), maxTokens: '0' })],
  ['post /api/describe', 409, 'no_text_model', () => upload(apps.ready, 'POST', '/api/describe', { image: file(png) })],
  ['post /api/describe', 413, 'upload_too_large', async () => {
    const small = await startTestApp({ LOOKALIKE_TEXT_MODEL: 'demo', LOOKALIKE_MAX_UPLOAD_MB: '0.01' });
    try { return await upload(small, 'POST', '/api/describe', { image: file(await huge()) }); } finally { await small.close(); }
  }],
  ['post /api/describe', 415, 'bad_image', () => upload(apps.vlm, 'POST', '/api/describe', { image: file(Buffer.from('text')) })],
  ['post /api/describe', 503, 'loading', () => upload(apps.cold, 'POST', '/api/describe', { image: file(png) })],
];
const ROUTES = [...new Set(CASES.map(([r]) => r))];

describe('the error contract', () => {
  it.each(CASES.map((c, i) => [`${c[0]} ${c[1]}${c[2] ? ` ${c[2]}` : ''}`, i] as const))('%s', async (_name, i) => {
    const [route, status, code, request] = CASES[i]!;
    const res = await request();
    expect(res.statusCode, res.body.slice(0, 300)).toBe(status);
    const [method, path] = route.split(' ') as [string, string];
    expect(Object.keys(spec.paths[path]![method]!.responses)).toContain(String(status));
    if (!code) return;
    const body = res.json() as { error: { code: string; message: string }; status?: string };
    expect(Object.keys(body).filter((k) => k !== 'status')).toEqual(['error']); // health adds its status
    expect(body.error.code).toBe(code);
    expect(body.error.message.length).toBeGreaterThan(10);
    if (status === 503) expect(Number(res.headers['retry-after'])).toBeGreaterThanOrEqual(1);
  });

  it('answers 429 on every route once the rate limit is reached, in the same shape', async () => {
    for (const route of ROUTES) {
      const [method, path] = route.split(' ') as [string, string];
      const res = await apps.limited.app.inject({ method: method.toUpperCase() as 'GET', url: path.replace('{id}', '1') });
      expect(res.statusCode, route).toBe(429);
      expect(res.json().error.code).toBe('rate_limited');
      expect(Object.keys(spec.paths[path]![method]!.responses)).toContain('429');
    }
  });

  it('documents no status that no request above produces, and the README says the same', () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    for (const route of ROUTES) {
      const [method, path] = route.split(' ') as [string, string];
      const documented = Object.keys(spec.paths[path]![method]!.responses).map(Number).filter((s) => s !== 429).sort();
      const produced = [...new Set(CASES.filter(([r]) => r === route).map(([, s]) => s))].sort();
      expect(documented, route).toEqual(produced);
      const row = readme.split('\n').find((l) => l.startsWith(`| \`${method.toUpperCase()} ${path.replace('{id}', ':id')}`));
      expect(row, `README row for ${route}`).toBeDefined();
      expect(row!.split('|').at(-2)!.trim().split(/,\s*/).map(Number), route).toEqual(documented);
    }
    // every route of the API is in the table above
    const all = Object.entries(spec.paths).filter(([p]) => p.startsWith('/api/')).flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m} ${p}`));
    expect(all.sort()).toEqual([...ROUTES].sort());
  });

  it('documents the multipart body of every upload route: the image (optional only for search by words) and the form fields', () => {
    const forms: Record<string, string[]> = {
      'post /api/search': ['text', 'k', 'minScore', 'label', 'rerank', 'classify'], 'post /api/classify': ['k', 'labels'],
      'post /api/images': ['label'], 'post /api/describe': ['prompt', 'maxTokens', 'temperature', 'seed'],
    };
    for (const [route, fields] of Object.entries(forms)) {
      const [method, path] = route.split(' ') as [string, string];
      const schema = spec.paths[path]![method]!.requestBody!.content['multipart/form-data']!.schema;
      expect(schema.required).toEqual(route === 'post /api/search' ? [] : ['image']);
      expect(Object.keys(schema.properties).sort()).toEqual(['image', ...fields].sort());
      expect(schema.properties.image).toMatchObject({ type: 'string', format: 'binary' });
    }
    expect(Object.keys(spec.paths['/api/search']!.post!.requestBody!.content)).toContain('application/json');
  });

  it('health while loading says why in the error shape, with Retry-After', async () => {
    const res = await get(apps.cold, '/api/health');
    expect(res.json()).toEqual({ status: 'loading', error: { code: 'loading', message: expect.stringMatching(/loading/) } });
    expect(res.headers['retry-after']).toBe('5');
  });

  it('states the limit and the setting that raises it when an upload or an image is too large', async () => {
    const small = await startTestApp({ LOOKALIKE_MAX_UPLOAD_MB: '0.01' });
    try {
      const res = await upload(small, 'POST', '/api/search', { image: file(await huge()) });
      expect(res.json().error.message).toMatch(/limit of 0\.01 MB \(LOOKALIKE_MAX_UPLOAD_MB raises it\)/);
    } finally {
      await small.close();
    }
    const res = await upload(apps.ready, 'POST', '/api/search', { image: file(await huge()) });
    expect(res.json().error.message).toMatch(/limit of 50000000 pixels \(LOOKALIKE_MAX_PIXELS raises it\)/);
  });
});
