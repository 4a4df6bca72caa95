// Settings validation, and model resolution: local paths, and hf: URIs whose file is already in the models folder
// (resolved by node-llama-cpp's downloader without touching the network).
import { copyFileSync, mkdtempSync, readFileSync, renameSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, settingsTable } from '../src/core/config.js';
import { fileFingerprint, sha256File } from '../src/engine/encoder/fingerprint.js';
import { ModelFileError } from '../src/core/errors.js';
import { serverModels } from '../src/application/models/model-set.js';
import { resolveModelFile } from '../src/application/models/resolve.js';
import { ROOT } from './helpers/cli.js';
import { apiDocument } from './helpers/openapi.js';
import { TINY_MMPROJ } from './helpers/models.js';

const dir = mkdtempSync(join(tmpdir(), 'lookalike-models-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('configuration', () => {
  it('has defaults for everything, and reads the environment', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({
      PORT: 7860,
      HOST: '127.0.0.1',
      LOOKALIKE_INDEX_KIND: 'auto',
      LOOKALIKE_KNN_K: 20,
      LOOKALIKE_QUEUE_SIZE: 8,
    });
    expect(loadConfig({ PORT: '8080', LOOKALIKE_INDEX_KIND: 'hnsw' })).toMatchObject({
      PORT: 8080,
      LOOKALIKE_INDEX_KIND: 'hnsw',
    });
  });

  it('names every bad setting at once', () => {
    expect(() => loadConfig({ PORT: 'eighty', LOOKALIKE_INDEX_KIND: 'ivf' })).toThrow(ConfigError);
    expect(() => loadConfig({ PORT: 'eighty', LOOKALIKE_INDEX_KIND: 'ivf' })).toThrow(
      /PORT=.*\n.*LOOKALIKE_INDEX_KIND/s,
    );
    expect(() => loadConfig({ LOOKALIKE_MIN_TOKENS: '300', LOOKALIKE_MAX_TOKENS: '200' })).toThrow(
      /MIN_TOKENS is larger/,
    );
  });

  it("bounds describe's maxTokens once: its default setting takes exactly what a request may ask for", async () => {
    type Doc = {
      paths: Record<
        string,
        {
          post: {
            requestBody: { content: Record<string, { schema: { properties: Record<string, { maximum: number }> } }> };
          };
        }
      >;
    };
    const doc = (await apiDocument()) as unknown as Doc;
    const max =
      doc.paths['/api/describe']!.post.requestBody.content['multipart/form-data']!.schema.properties.maxTokens!.maximum;
    expect(loadConfig({ LOOKALIKE_DESCRIBE_MAX_TOKENS: String(max) }).LOOKALIKE_DESCRIBE_MAX_TOKENS).toBe(max);
    // once 8192 was a valid default while a request could ask for 2048 at most: a default the API refused if asked
    expect(() => loadConfig({ LOOKALIKE_DESCRIBE_MAX_TOKENS: String(max + 1) })).toThrow(
      /LOOKALIKE_DESCRIBE_MAX_TOKENS=/,
    );
    expect(() => loadConfig({ LOOKALIKE_DESCRIBE_MAX_TOKENS: '4096' })).toThrow(ConfigError);
  });

  it('prints the README table from the same definitions', () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    expect(readme).toContain(`${settingsTable()}\n`);
  });

  it(
    "resolves LOOKALIKE_THREADS=auto to the physical cores (1 for the demo's tiny models), takes a number, and " +
      'refuses anything else',
    () => {
      // counted independently of the code under test: distinct (physical id, core id) pairs in /proc/cpuinfo
      const cores = new Set(
        readFileSync('/proc/cpuinfo', 'utf8')
          .split('\n\n')
          .filter((b) => b.trim())
          .map((b) => `${/physical id\s*: (\d+)/.exec(b)?.[1]}:${/core id\s*: (\d+)/.exec(b)?.[1]}`),
      );
      const real = { LOOKALIKE_MMPROJ: '/models/mmproj.gguf' };
      expect(loadConfig(real).threads).toBe(cores.size);
      expect(loadConfig({ ...real, LOOKALIKE_THREADS: 'auto' }).threads).toBe(cores.size);
      expect(loadConfig({}).threads).toBe(1); // the demo
      expect(loadConfig({ LOOKALIKE_THREADS: '3' }).threads).toBe(3);
      for (const bad of ['many', '0', '1.5', '-2'])
        expect(() => loadConfig({ LOOKALIKE_THREADS: bad })).toThrow(/LOOKALIKE_THREADS/);
      expect(loadConfig({ LOOKALIKE_GPU_LAYERS: '7' }).gpuLayers).toBe(7);
      expect(loadConfig({}).gpuLayers).toBe(-1);
      expect(() => loadConfig({ LOOKALIKE_GPU: 'opencl' })).toThrow(/LOOKALIKE_GPU/);
    },
  );
});

describe('the native build at every start', () => {
  it('says nothing when everything is up to date (npm start runs it with --quiet), and says so when asked', () => {
    const quiet = spawnSync(process.execPath, ['scripts/build-native.mjs', '--quiet'], { cwd: ROOT, encoding: 'utf8' });
    expect(quiet.status).toBe(0);
    expect(quiet.stdout + quiet.stderr).toBe('');
    const plain = spawnSync(process.execPath, ['scripts/build-native.mjs'], { cwd: ROOT, encoding: 'utf8' });
    expect(plain.stderr).toMatch(/faiss-node: up to date\n.*lookalike native module: up to date/s);
  });
});

describe('model fingerprints', () => {
  it('hashes a model once: a restart reads the cache, a file changed in place or replaced is hashed again', async () => {
    const model = join(dir, 'model.gguf');
    const cache = join(dir, 'fingerprints.json');
    const whole = 1_700_000_000; // a whole-second mtime, which utimes can set back exactly
    writeFileSync(model, Buffer.alloc(1 << 20, 1));
    utimesSync(model, whole, whole);
    const first = await fileFingerprint(model, cache);
    expect(first).toEqual({ sha256: await sha256File(model), cached: false });
    expect(await fileFingerprint(model, cache)).toEqual({ sha256: first.sha256, cached: true });
    // the cache is trusted while path, size, mtime and inode hold: bytes changed behind its back (mtime put back)
    // still give the cached hash, which shows that the file was not read again
    writeFileSync(model, Buffer.alloc(1 << 20, 2));
    utimesSync(model, whole, whole);
    expect(await fileFingerprint(model, cache)).toEqual({ sha256: first.sha256, cached: true });
    // changed in place (new mtime): hashed again
    writeFileSync(model, Buffer.alloc(1 << 20, 3));
    const changed = await fileFingerprint(model, cache);
    expect(changed).toEqual({ sha256: await sha256File(model), cached: false });
    expect(changed.sha256).not.toBe(first.sha256);
    // replaced by another file with the same size and mtime (new inode): hashed again
    const other = join(dir, 'other.gguf');
    writeFileSync(other, Buffer.alloc(1 << 20, 4));
    utimesSync(model, whole, whole);
    await fileFingerprint(model, cache);
    utimesSync(other, whole, whole);
    renameSync(other, model);
    expect(await fileFingerprint(model, cache)).toEqual({ sha256: await sha256File(model), cached: false });
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
    expect(await resolveModelFile('hf:lookalike/tiny/tiny-qwen3vl-mmproj.gguf', dir, () => {}, 5000)).toBe(
      join(dir, 'hf_lookalike_tiny_tiny-qwen3vl-mmproj.gguf'),
    );
    expect(performance.now() - started).toBeLessThan(5000);
  });
});

describe('model sets', () => {
  it('with LOOKALIKE_QUERY_ENCODER=queue loads no model here: a reranker is refused before anything loads', async () => {
    const cfg = loadConfig({
      LOOKALIKE_QUERY_ENCODER: 'queue',
      LOOKALIKE_REDIS_URL: 'redis://127.0.0.1:1',
      LOOKALIKE_RERANK_MODEL: 'demo',
      LOOKALIKE_MODELS_DIR: dir,
    });
    // should a set come back, it is freed before the test fails
    const outcome = await serverModels(cfg).then(
      async (set) => {
        await set.dispose();
        return set.rerankModel ? 'a reranker loaded here' : 'loaded';
      },
      (err: Error) => err,
    );
    expect(outcome).toBeInstanceOf(ModelFileError);
    expect((outcome as Error).message).toMatch(/queue loads no model here, but re-ranking \(LOOKALIKE_RERANK_MODEL\)/);
  });

  it("with LOOKALIKE_QUERY_ENCODER=queue, LOOKALIKE_TEXT_MODEL is refused, unless it names the workers' captions", async () => {
    const env = {
      LOOKALIKE_QUERY_ENCODER: 'queue',
      LOOKALIKE_REDIS_URL: 'redis://127.0.0.1:1',
      LOOKALIKE_TEXT_MODEL: 'demo',
      LOOKALIKE_MODELS_DIR: dir,
    };
    const refused = await serverModels(loadConfig(env)).then(
      async (set) => {
        await set.dispose();
        return 'loaded';
      },
      (err: Error) => err,
    );
    expect(refused).toBeInstanceOf(ModelFileError);
    expect((refused as Error).message).toMatch(/describe \(LOOKALIKE_TEXT_MODEL\) needs the VL model in this process/);
    // with captions on, the workers caption: nothing is loaded here
    const set = await serverModels(loadConfig({ ...env, LOOKALIKE_CAPTIONS: 'on' }));
    try {
      expect(set.vlm).toBeNull();
      expect(set.judge).toBeNull();
    } finally {
      await set.dispose();
    }
  });
});
