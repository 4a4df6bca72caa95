// lookalike's version, read once from package.json: the one place it is written.
import { readFileSync } from 'node:fs';

const packageFile = new URL('../../../package.json', import.meta.url);
const packageJson = JSON.parse(readFileSync(packageFile, 'utf8')) as { version: string };
export const VERSION = packageJson.version;
