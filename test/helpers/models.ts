// Where the tests' tiny random models live; global-setup.ts writes them once per run.
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

export const MODELS_DIR = fileURLToPath(new URL('../.tmp/models/', import.meta.url));
export const TINY_MMPROJ = join(MODELS_DIR, 'tiny-qwen3vl-mmproj.gguf');
