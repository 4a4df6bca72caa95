// Settings validation, and model resolution: local paths, and hf: URIs whose file is already in the models folder
// (resolved by node-llama-cpp's downloader without touching the network).
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, settingsTable } from '../src/config.js';
import { ModelFileError } from '../src/errors.js';
import { resolveModelFile } from '../src/models/resolve.js';
import { TINY_MMPROJ } from './helpers/models.js';

const dir = mkdtempSync(join(tmpdir(), 'lookalike-models-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('configuration', () => {
  it('has defaults for everything, and reads the environment', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({ PORT: 7860, HOST: '127.0.0.1', LOOKALIKE_INDEX_KIND: 'flat', LOOKALIKE_KNN_K: 20, LOOKALIKE_QUEUE_SIZE: 8 });
    expect(loadConfig({ PORT: '8080', LOOKALIKE_INDEX_KIND: 'hnsw' })).toMatchObject({ PORT: 8080, LOOKALIKE_INDEX_KIND: 'hnsw' });
  });

  it('names every bad setting at once', () => {
    expect(() => loadConfig({ PORT: 'eighty', LOOKALIKE_INDEX_KIND: 'ivf' })).toThrow(ConfigError);
    expect(() => loadConfig({ PORT: 'eighty', LOOKALIKE_INDEX_KIND: 'ivf' })).toThrow(/PORT=.*\n.*LOOKALIKE_INDEX_KIND/s);
    expect(() => loadConfig({ LOOKALIKE_MIN_TOKENS: '300', LOOKALIKE_MAX_TOKENS: '200' })).toThrow(/MIN_TOKENS is larger/);
  });

  it('prints the README table from the same definitions', () => {
    expect(settingsTable()).toMatch(/\| `LOOKALIKE_DATA_DIR` \| `index-data` \|/);
  });
});

describe('model resolution', () => {
  it('takes a local path, and refuses a missing one', async () => {
    expect(await resolveModelFile(TINY_MMPROJ, dir)).toBe(TINY_MMPROJ);
    await expect(resolveModelFile(join(dir, 'missing.gguf'), dir)).rejects.toThrow(ModelFileError);
  });

  it('resolves an hf: URI to the file already in the models folder, offline', async () => {
    copyFileSync(TINY_MMPROJ, join(dir, 'hf_lookalike_tiny_tiny-qwen3vl-mmproj.gguf'));
    const started = performance.now();
    expect(await resolveModelFile('hf:lookalike/tiny/tiny-qwen3vl-mmproj.gguf', dir, () => {}, 5000)).toBe(join(dir, 'hf_lookalike_tiny_tiny-qwen3vl-mmproj.gguf'));
    expect(performance.now() - started).toBeLessThan(5000);
  });
});
