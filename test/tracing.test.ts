// OpenTelemetry tracing through real processes: an OTLP/HTTP receiver of the test's own (a plain HTTP server that
// decodes the JSON the exporters send), a real Redis, a real worker and a real server. An upload in queue mode is one
// trace across both processes, its worker's encode inside it; a search shows the index, the re-scoring, the database
// and the re-ranking; a query sent to the worker holds its encode. With the variables unset (or
// OTEL_SDK_DISABLED=true), the server loads no OpenTelemetry module (beyond the no-op API that prom-client requires).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { multipart } from './helpers/app.js';
import { ROOT, startScript, watchOutput } from './helpers/cli.js';
import { scenePng } from './helpers/images.js';
import { MODELS_DIR, TINY_MMPROJ, TINY_TEXT_MODEL } from './helpers/models.js';
import { startRedis, type TestRedis } from './helpers/redis.js';

/** A start, an encode or an export that shows no progress for this long is stuck (a backstop, not a budget). */
const STALL_MS = 120_000;
const BACKSTOP_MS = 20 * 60_000;

const root = mkdtempSync(join(tmpdir(), 'lookalike-tracing-'));
const children: ChildProcess[] = [];
const redises: TestRedis[] = [];
const receivers: Server[] = [];
afterEach(async () => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  for (const r of redises.splice(0)) await r.stop();
  for (const s of receivers.splice(0)) s.close();
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

const base = {
  LOOKALIKE_MMPROJ: TINY_MMPROJ,
  LOOKALIKE_MODELS_DIR: MODELS_DIR,
  LOOKALIKE_THREADS: '1',
  LOOKALIKE_LOG_LEVEL: 'info',
  LOOKALIKE_MIN_TOKENS: '16',
  LOOKALIKE_MAX_TOKENS: '256',
};
/** Spans sent a tenth of a second after they end, so the test sees them soon (the default is 5 s). */
const exportSoon = { OTEL_BSP_SCHEDULE_DELAY: '100', OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' };

interface ReceivedSpan {
  service: string;
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  start: bigint;
  ms: number;
  attributes: Record<string, unknown>;
}

type AnyValue = { stringValue?: string; intValue?: string | number; boolValue?: boolean; doubleValue?: number };
const attributeValue = (v: AnyValue) =>
  v.stringValue ?? (v.intValue !== undefined ? Number(v.intValue) : (v.boolValue ?? v.doubleValue));
const attributesOf = (list: { key: string; value: AnyValue }[] = []) =>
  Object.fromEntries(list.map((a) => [a.key, attributeValue(a.value)]));

/** An OTLP/HTTP receiver: decodes the JSON export requests sent to /v1/traces and keeps their spans. */
async function otlpReceiver() {
  const spans: ReceivedSpan[] = [];
  const changed = new Set<() => void>();
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => {
      body += d;
    });
    req.on('end', () => {
      if (req.method !== 'POST' || req.url !== '/v1/traces') return res.writeHead(404).end();
      expect(req.headers['content-type']).toMatch(/^application\/json/);
      const sent = JSON.parse(body) as {
        resourceSpans: {
          resource: { attributes: { key: string; value: AnyValue }[] };
          scopeSpans: {
            spans: {
              traceId: string;
              spanId: string;
              parentSpanId?: string;
              name: string;
              startTimeUnixNano: string;
              endTimeUnixNano: string;
              attributes?: { key: string; value: AnyValue }[];
            }[];
          }[];
        }[];
      };
      for (const rs of sent.resourceSpans) {
        const service = String(attributesOf(rs.resource.attributes)['service.name']);
        for (const s of rs.scopeSpans.flatMap((ss) => ss.spans)) {
          spans.push({
            service,
            traceId: s.traceId,
            spanId: s.spanId,
            parentSpanId: s.parentSpanId ?? '',
            name: s.name,
            start: BigInt(s.startTimeUnixNano),
            ms: Number(BigInt(s.endTimeUnixNano) - BigInt(s.startTimeUnixNano)) / 1e6,
            attributes: attributesOf(s.attributes),
          });
        }
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      for (const f of changed) f();
    });
  });
  receivers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    spans,
    /** Resolves once `found` returns a value; fails when no span arrives for STALL_MS meanwhile. */
    waitFor<T>(found: () => T | undefined): Promise<T> {
      return new Promise((resolve, reject) => {
        let timer: NodeJS.Timeout;
        const arm = () => {
          clearTimeout(timer);
          timer = setTimeout(() => {
            changed.delete(check);
            reject(new Error(`no awaited span after ${spans.length} spans`));
          }, STALL_MS);
        };
        const check = () => {
          const value = found();
          if (value === undefined) return arm();
          clearTimeout(timer);
          changed.delete(check);
          resolve(value);
        };
        changed.add(check);
        check();
      });
    },
  };
}

async function startServer(env: Record<string, string>, preload: string[] = []) {
  const args = ['--import', 'tsx', ...preload.flatMap((p) => ['--import', p]), 'src/web/server.ts'];
  const dataDir = mkdtempSync(join(root, 'data-'));
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    env: { ...process.env, ...base, PORT: '0', LOOKALIKE_DATA_DIR: dataDir, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  const output = watchOutput(child);
  const closed = new Promise((resolve) => child.on('close', resolve));
  const url = (await output.waitFor(/lookalike on (http:\/\/[\d.:]+)\//, STALL_MS))[1]!;
  await output.waitFor(/gallery ready/, STALL_MS);
  return {
    url,
    output,
    stop: async () => {
      child.kill('SIGTERM');
      await closed;
    },
  };
}

async function post(url: string, fields: Parameters<typeof multipart>[0]) {
  const body = multipart(fields);
  const res = await fetch(url, { method: 'POST', body: new Uint8Array(body.payload), headers: body.headers });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

/** The span tree of one trace, indented, children in the order they started, with each span's duration, the ms from
 *  the root's start to its own, and its service where it differs from its parent's. */
function formatTree(spans: ReceivedSpan[], rootSpan: ReceivedSpan): string {
  const lines: string[] = [];
  const walk = (s: ReceivedSpan, depth: number, parentService: string) => {
    const where = s.service === parentService ? '' : `  [${s.service}]`;
    const at = Number(s.start - rootSpan.start) / 1e6;
    lines.push(`${'  '.repeat(depth)}${s.name}  ${s.ms.toFixed(1)} ms (at ${at.toFixed(1)} ms)${where}`);
    const children = spans.filter((x) => x.parentSpanId === s.spanId).sort((a, b) => (a.start < b.start ? -1 : 1));
    for (const c of children) walk(c, depth + 1, s.service);
  };
  walk(rootSpan, 0, '');
  return lines.join('\n');
}

describe('tracing', () => {
  it(
    'follows an upload in queue mode through the worker in one trace, and searches through index and database',
    async () => {
      const receiver = await otlpReceiver();
      const redis = await startRedis();
      redises.push(redis);
      // with the tiny VL model: searches can be re-ranked
      const tracing = {
        ...exportSoon,
        OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
        LOOKALIKE_REDIS_URL: redis.url,
        LOOKALIKE_TEXT_MODEL: TINY_TEXT_MODEL,
      };
      const worker = startScript('scripts/worker.ts', [], { ...base, ...tracing });
      children.push(worker);
      await watchOutput(worker).waitFor(/waiting for jobs/, STALL_MS);
      const server = await startServer(tracing);

      const image = { filename: 'scene.png', data: await scenePng(7), contentType: 'image/png' };
      const added = await post(`${server.url}/api/images`, { image, label: 'scene' });
      expect(added.status).toBe(202);
      let state: Record<string, unknown> = {};
      const pause = () => new Promise((r) => setTimeout(r, 50));
      for (let changedAt = Date.now(), last = ''; Date.now() - changedAt < STALL_MS; await pause()) {
        state = (await (await fetch(`${server.url}${String(added.json.statusUrl)}`)).json()) as Record<string, unknown>;
        if (state.state !== last) {
          last = String(state.state);
          changedAt = Date.now();
        }
        if (state.state === 'done' || state.state === 'failed') break;
      }
      expect(state).toMatchObject({ state: 'done', imageId: expect.any(Number) });
      const found = await post(`${server.url}/api/search`, { image, k: '1', rerank: 'true' });
      expect(found.status).toBe(200);
      // a narrow filter: its few images are scored exactly, without the index
      const filtered = await post(`${server.url}/api/search`, { image, k: '1', label: 'scene' });
      expect(filtered.status).toBe(200);

      const spans = receiver.spans;
      const request = (route: string) =>
        spans.find((s) => s.name === 'request' && s.attributes['http.route'] === route);
      const inTrace = (traceId: string, name: string) => spans.find((s) => s.traceId === traceId && s.name === name);
      // the upload's trace is complete once the worker's encode (which the worker exports itself, in its own batches)
      // and the writer's store of its result, with its inner spans, arrived
      const upload = await receiver.waitFor(() => {
        const r = request('/api/images');
        const complete = ['encode', 'jobs.store', 'db.add', 'index.add'].every((name) =>
          inTrace(r?.traceId ?? '', name),
        );
        return r && complete ? r : undefined;
      });
      const search = await receiver.waitFor(() => {
        const r = request('/api/search');
        return r && inTrace(r.traceId, 'rerank') ? r : undefined;
      });
      const exact = await receiver.waitFor(() => spans.find((s) => s.name === 'search.exact'));
      const byId = (id: string) => spans.find((s) => s.spanId === id);
      const ancestors = (s: ReceivedSpan) => {
        const out: ReceivedSpan[] = [];
        for (let p = byId(s.parentSpanId); p; p = byId(p.parentSpanId)) out.push(p);
        return out;
      };
      const names = (list: ReceivedSpan[]) => list.map((s) => s.name);

      expect(upload).toMatchObject({
        service: 'lookalike',
        parentSpanId: '',
        attributes: { 'http.request.method': 'POST' },
      });
      const one = (name: string, traceId = upload.traceId) => {
        const matching = spans.filter((s) => s.traceId === traceId && s.name === name);
        expect(matching, name).toHaveLength(1);
        return matching[0]!;
      };
      // in the server: the duplicate check, decode and the enqueue inside the request
      expect(ancestors(one('db.lookup')).at(-1)).toBe(upload);
      expect(ancestors(one('decode')).at(-1)).toBe(upload);
      const enqueue = one('jobs.enqueue');
      expect(ancestors(enqueue).at(-1)).toBe(upload);
      expect(enqueue.attributes['lookalike.job_id']).toBe(added.json.jobId);
      // on the worker, in another process: its encode is a child of the enqueue, in the request's trace
      const encode = one('encode');
      expect(encode).toMatchObject({ service: 'lookalike-worker', parentSpanId: enqueue.spanId });
      expect(encode.attributes).toMatchObject({ 'lookalike.input': 'image', 'lookalike.job_id': added.json.jobId });
      // back in the server: the store of its result follows the worker's encode; the database and the index inside it
      const store = one('jobs.store');
      expect(store).toMatchObject({ service: 'lookalike', parentSpanId: encode.spanId });
      expect(names(ancestors(one('db.add')))).toEqual([
        'jobs.store',
        'encode',
        'jobs.enqueue',
        ...names(ancestors(enqueue)),
      ]);
      expect(one('index.add').parentSpanId).toBe(store.spanId);
      // the search: encode here (this server has the model), the index, the re-scoring, the records, the re-ranking
      for (const name of ['encode', 'index.search', 'rescore', 'db.read', 'rerank']) {
        expect(ancestors(one(name, search.traceId)).at(-1), name).toBe(search);
        expect(one(name, search.traceId).service).toBe('lookalike');
      }
      const filteredRequest = ancestors(exact).at(-1)!;
      expect(filteredRequest).toMatchObject({ name: 'request', attributes: { 'http.route': '/api/search' } });
      expect(spans.filter((s) => s.traceId === filteredRequest.traceId && s.name === 'index.search')).toEqual([]);
      // probes are not traced
      await fetch(`${server.url}/livez`);
      await server.stop();
      expect(spans.filter((s) => s.attributes['url.path'] === '/livez')).toEqual([]);

      // a server that loads no model: its query goes to the worker, whose encode is a span of the query's trace
      const remote = await startServer({ ...tracing, LOOKALIKE_TEXT_MODEL: '', LOOKALIKE_QUERY_ENCODER: 'queue' });
      expect((await post(`${remote.url}/api/search`, { image, k: '1' })).status).toBe(200);
      await remote.stop();
      const query = await receiver.waitFor(() => spans.find((s) => s.name === 'jobs.query'));
      // the worker exports its spans itself, in its own batches: they may arrive after the server's
      const queryEncode = await receiver.waitFor(() => spans.find((s) => s.parentSpanId === query.spanId));
      expect(queryEncode).toMatchObject({
        name: 'encode',
        service: 'lookalike-worker',
        attributes: { 'lookalike.input': 'image' },
      });
      expect(ancestors(query).at(-1)).toMatchObject({ name: 'request', attributes: { 'http.route': '/api/search' } });
      console.log(
        `an upload through a worker (queue mode), as the receiver got it:\n${formatTree(spans, upload)}\n\n` +
          `a search:\n${formatTree(spans, search)}`,
      );
    },
    BACKSTOP_MS,
  );

  it(
    'loads no OpenTelemetry module when the variables are unset or OTEL_SDK_DISABLED=true, and loads it when set',
    async () => {
      const receiver = await otlpReceiver();
      const loaded = async (name: string, env: Record<string, string>) => {
        const log = join(root, `${name}.modules`);
        const server = await startServer({ ...env, LOOKALIKE_MODULE_LOG: log }, ['./test/helpers/module-log.mjs']);
        const image = { filename: 'scene.png', data: await scenePng(3), contentType: 'image/png' };
        expect((await post(`${server.url}/api/images`, { image })).status).toBe(201);
        expect((await post(`${server.url}/api/search`, { image, k: '1' })).status).toBe(200);
        await server.stop();
        const modules = readFileSync(log, 'utf8').split('\n');
        expect(modules.some((m) => m.includes('/src/web/server.ts'))).toBe(true); // the log saw the server's own modules
        // prom-client (the metrics) requires @opentelemetry/api itself, tracing or not: the API alone, recording
        // nothing
        return modules.filter((m) => /@opentelemetry\/(?!api\/)|@fastify\/otel/.test(m));
      };
      const noOtel = Object.fromEntries(
        Object.keys(process.env)
          .filter((k) => k.startsWith('OTEL_'))
          .map((k) => [k, '']),
      );
      expect(await loaded('unset', noOtel)).toEqual([]);
      const disabled = { ...noOtel, OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_SDK_DISABLED: 'true' };
      expect(await loaded('disabled', disabled)).toEqual([]);
      // the same check sees them when tracing is on (here by the traces' own endpoint, under a service name of its own)
      const on = await loaded('on', {
        ...noOtel,
        ...exportSoon,
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${receiver.url}/v1/traces`,
        OTEL_SERVICE_NAME: 'gallery-1',
      });
      expect(on.some((m) => m.includes('@opentelemetry/sdk-trace-node'))).toBe(true);
      expect(on.some((m) => m.includes('@fastify/otel'))).toBe(true);
      const named = await receiver.waitFor(() => receiver.spans.find((s) => s.name === 'request'));
      expect(named.service).toBe('gallery-1');
      expect(receiver.spans.map((s) => s.service).filter((name) => name !== 'gallery-1')).toEqual([]);
    },
    BACKSTOP_MS,
  );
});
