// The OpenAPI document serves real clients: Redocly's recommended rules find nothing in it, the types generated
// from it are the committed ones, and a client made from those types (openapi-fetch) drives the real server: a
// route that drifts from its document fails here (the types) or at type-check (the calls below).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import createClient from 'openapi-fetch';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { paths } from './helpers/api-types.js';
import { startTestApp, type TestApp } from './helpers/app.js';
import { ROOT } from './helpers/cli.js';
import { scenePng } from './helpers/images.js';
import { apiDocument, apiTypes } from './helpers/openapi.js';

let document: Record<string, unknown>;
beforeAll(async () => {
  document = await apiDocument();
});

describe('the OpenAPI document', () => {
  it("passes Redocly's recommended rules (redocly.yaml) without an error or a warning", () => {
    const dir = mkdtempSync(join(tmpdir(), 'lookalike-openapi-'));
    try {
      writeFileSync(join(dir, 'openapi.json'), JSON.stringify(document));
      const run = spawnSync(
        join(ROOT, 'node_modules', '.bin', 'redocly'),
        ['lint', join(dir, 'openapi.json'), '--format=stylish', '--config', join(ROOT, 'redocly.yaml')],
        { encoding: 'utf8' },
      );
      const out = run.stdout + run.stderr; // redocly reports on stderr
      expect(run.status, out).toBe(0);
      expect(out).toMatch(/Your API description is valid/);
      expect(out).not.toMatch(/You have \d+ warnings?/); // (its Node-version banner aside)
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('says the defaults of the fields parsed strictly (query strings and forms)', () => {
    type Op = {
      parameters?: { name: string; schema: { default?: unknown } }[];
      requestBody?: { content: Record<string, { schema: { properties: Record<string, { default?: unknown }> } }> };
    };
    const op = (method: string, path: string) => (document.paths as Record<string, Record<string, Op>>)[path]![method]!;
    const param = (o: Op, name: string) => o.parameters!.find((p) => p.name === name)!.schema.default;
    expect(param(op('get', '/api/duplicates'), 'limit')).toBe(100);
    const form = op('post', '/api/search').requestBody!.content['multipart/form-data']!.schema.properties;
    expect(form.rerank!.default).toBe('false'); // on the wire a yes/no field is text
    expect(form.k!.default).toBeTypeOf('number');
  });

  it('generates the committed client types (else: npm run openapi:types)', async () => {
    expect(await apiTypes(document)).toBe(readFileSync(join(ROOT, 'test', 'helpers', 'api-types.ts'), 'utf8'));
  });
});

describe('a client generated from the document', () => {
  let t: TestApp;
  let client: ReturnType<typeof createClient<paths>>;
  beforeAll(async () => {
    t = await startTestApp();
    client = createClient<paths>({ baseUrl: await t.app.listen({ port: 0, host: '127.0.0.1' }) });
  });
  afterAll(async () => t?.close());

  it('reads health and stats, adds, relabels, finds similar and searches with typed calls', async () => {
    const health = await client.GET('/api/health');
    expect(health.data?.gallery.images).toBe(1000);
    const stats = await client.GET('/api/stats');
    expect(stats.data?.index.kind).toBe('flat');

    const png = await scenePng(2024);
    const form = () => {
      const f = new FormData();
      f.append('image', new Blob([new Uint8Array(png)], { type: 'image/png' }), 'typed.png');
      return f;
    };
    const added = await client.POST('/api/images', {
      body: form() as never,
      bodySerializer: (b) => b as unknown as FormData,
    });
    expect(added.response.status).toBe(201);
    const id = (added.data as { id: number }).id;
    const relabelled = await client.PATCH('/api/images/{id}', { params: { path: { id } }, body: { label: 'typed' } });
    expect(relabelled.data?.label).toBe('typed');
    const similar = await client.GET('/api/images/{id}/similar', { params: { path: { id }, query: { k: 3 } } });
    expect(similar.data?.results).toHaveLength(3);
    const search = await client.POST('/api/search', {
      body: form() as never,
      bodySerializer: (b) => b as unknown as FormData,
    });
    expect(search.data?.results[0]?.id).toBe(id);
    const listed = await client.GET('/api/images', { params: { query: { limit: 2, sort: 'added', label: 'typed' } } });
    expect(listed.data?.images.map((r) => [r.id, r.takenFrom, r.source])).toEqual([[id, 'upload', 'typed.png']]);
    const filtered = await client.GET('/api/images/{id}/similar', {
      params: { path: { id }, query: { k: 3, folder: 'nowhere' } },
    });
    expect(filtered.data).toMatchObject({ results: [], next: null });
    const missing = await client.GET('/api/images/{id}', { params: { path: { id: 999999 } } });
    expect(missing.response.status).toBe(404);
    expect(missing.error).toMatchObject({ error: { code: 'not_found' } });
  });
});
