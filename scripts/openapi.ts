// npm run openapi:types: writes the TypeScript types that openapi-typescript generates from the OpenAPI document the
// server serves (test/helpers/api-types.ts), which the tests' openapi-fetch client uses. test/openapi.test.ts fails
// when they differ from what the routes produce: run this after changing a route.
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { apiDocument, apiTypes } from '../test/helpers/openapi.js';

writeFileSync(
  fileURLToPath(new URL('../test/helpers/api-types.ts', import.meta.url)),
  await apiTypes(await apiDocument()),
);
process.stdout.write('wrote test/helpers/api-types.ts\n');
