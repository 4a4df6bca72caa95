// Builds the real app (real models, SQLite, FAISS) on a temporary data folder, in demo mode unless told otherwise.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/web/app.js';
import { loadConfig } from '../../src/core/config.js';
import { MODELS_DIR } from './models.js';

export interface TestApp {
  app: FastifyInstance;
  dataDir: string;
  close(): Promise<void>;
}

/** `dataDir`: a folder of the test's own, kept on close (to open it again); else a temporary one, removed on close. */
export async function startTestApp(
  env: Record<string, string> = {},
  { start = true, dataDir: given }: { start?: boolean; dataDir?: string } = {},
): Promise<TestApp> {
  const dataDir = given ?? mkdtempSync(join(tmpdir(), 'lookalike-app-'));
  // one thread: the tiny models' encodes are shorter than a second thread's wake-up (see LOOKALIKE_THREADS)
  const config = loadConfig({
    LOOKALIKE_DATA_DIR: dataDir,
    LOOKALIKE_MODELS_DIR: MODELS_DIR,
    LOOKALIKE_LOG_LEVEL: 'warn',
    LOOKALIKE_THREADS: '1',
    ...env,
  });
  const app = await buildApp(config, { logger: false, startRuntime: false });
  await app.ready();
  if (start) {
    await app.runtime.start();
    if (app.runtime.state.status !== 'ready')
      throw new Error(`the runtime did not start: ${JSON.stringify(app.runtime.state)}`);
  }
  return {
    app,
    dataDir,
    close: async () => {
      await app.close();
      if (!given) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export interface FilePart {
  filename: string;
  data: Buffer;
  contentType?: string;
}

/**
 * A multipart/form-data body for inject() and fetch(): a list repeats the field; `{ json }` is a part sent as
 * application/json.
 */
export function multipart(fields: Record<string, string | string[] | FilePart | { json: unknown }>): {
  payload: Buffer;
  headers: Record<string, string>;
} {
  const boundary = `----lookalike${Math.random().toString(16).slice(2)}`;
  const chunks: Buffer[] = [];
  const text = (name: string, value: string, type = '') =>
    chunks.push(
      Buffer.from(
        `--${boundary}\r\nContent-Disposition: form-data; ` +
          `name="${name}"\r\n${type && `Content-Type: ${type}\r\n`}\r\n${value}\r\n`,
      ),
    );
  for (const [name, value] of Object.entries(fields)) {
    if (typeof value === 'string') text(name, value);
    else if (Array.isArray(value)) for (const v of value) text(name, v);
    else if ('json' in value) text(name, JSON.stringify(value.json), 'application/json');
    else {
      chunks.push(
        Buffer.from(
          `--${boundary}\r\nContent-Disposition: form-data; name="${name}"; ` +
            `filename="${value.filename}"\r\nContent-Type: ${value.contentType ?? 'application/octet-stream'}\r\n\r\n`,
        ),
        value.data,
        Buffer.from('\r\n'),
      );
    }
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return { payload: Buffer.concat(chunks), headers: { 'content-type': `multipart/form-data; boundary=${boundary}` } };
}

/** POSTs a multipart form to the app through inject(). */
export function postForm(
  t: TestApp,
  url: string,
  fields: Parameters<typeof multipart>[0],
  headers: Record<string, string> = {},
) {
  const body = multipart(fields);
  return t.app.inject({ method: 'POST', url, payload: body.payload, headers: { ...body.headers, ...headers } });
}
