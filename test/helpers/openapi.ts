// The OpenAPI document exactly as a server built from the default settings serves it, and the TypeScript types
// openapi-typescript generates from it.
import openapiTS, { astToString } from 'openapi-typescript';
import { buildApp } from '../../src/web/app.js';
import { loadConfig } from '../../src/core/config.js';

export async function apiDocument(): Promise<Record<string, unknown>> {
  const app = await buildApp(loadConfig({ LOOKALIKE_DATA_DIR: '/nonexistent-never-created' }), {
    logger: false,
    startRuntime: false,
  });
  try {
    await app.ready();
    return (await app.inject('/docs/json')).json();
  } finally {
    await app.close();
  }
}

export async function apiTypes(document: Record<string, unknown>): Promise<string> {
  return astToString(await openapiTS(document as never));
}
