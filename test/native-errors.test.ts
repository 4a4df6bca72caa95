// Native code that must not stop the server: each failure of a native call (a bad constructor call, an allocation
// refused on the worker thread or inside an OpenMP loop, a JS callback that throws) comes back as a JS error with a
// code, and the process goes on serving. Allocation failures are real ones: a child's address space is capped.
import { execFileSync, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type * as FaissNode from 'faiss-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadNative } from '../src/engine/native/binding.js';
import { VisionLanguageModel } from '../src/engine/vlm/vision-language-model.js';
import { type multipart, postForm, startTestApp, type TestApp } from './helpers/app.js';
import { scenePng } from './helpers/images.js';
import { TINY_MMPROJ, TINY_TEXT_MODEL } from './helpers/models.js';

const faiss = createRequire(import.meta.url)('faiss-node') as typeof FaissNode;

interface Outcome {
  ok: boolean;
  value?: unknown;
  code?: string;
  message?: string;
}

/** Runs test/helpers/native-oom-child.ts in `mode`, caps its address space `headroom` bytes above its size once it is
 *  ready, and returns what it printed; rejects when it does not exit 0 (a native abort is a signal). */
function underCap(mode: string, headroom: number): Promise<{ big: Outcome; after: Outcome }> {
  // a fixed mmap threshold: glibc maps each block over 64 KB on its own (its default threshold rises as blocks are
  // freed, and a large block could then come from free heap space), so the cap decides which allocation fails
  const env = { ...process.env, GLIBC_TUNABLES: 'glibc.malloc.mmap_threshold=65536' };
  const args = ['--import', 'tsx', 'test/helpers/native-oom-child.ts', mode];
  const child = spawn(process.execPath, args, { stdio: ['pipe', 'pipe', 'pipe'], env });
  let out = '',
    err = '';
  child.stderr.on('data', (d: Buffer) => {
    err += d;
  });
  child.stdout.on('data', (d: Buffer) => {
    out += d;
    const ready = /^ready (\d+)\n/.exec(out);
    if (ready && out.length === ready[0].length) {
      execFileSync('prlimit', [`--pid=${child.pid}`, `--as=${Number(ready[1]) + headroom}`]);
      child.stdin.write('go\n');
    }
  });
  return new Promise((resolve, reject) =>
    child.on('close', (code, signal) =>
      code === 0
        ? resolve(JSON.parse(out.split('\n').pop()!) as { big: Outcome; after: Outcome })
        : reject(new Error(`the child exited with ${code ?? signal}: ${err.slice(-2000)}`)),
    ),
  );
}

const MiB = 2 ** 20;

describe('faiss-node', () => {
  it('refuses an index made without a dimension with a TypeError, instead of keeping a null index', () => {
    // as plain JS may call them: the types ask for a dimension
    type AnyArgs = new (...args: unknown[]) => FaissNode.Index;
    const Classes = [faiss.IndexFlatL2, faiss.Index, faiss.IndexFlatIP] as unknown as AnyArgs[];
    for (const make of [() => new Classes[0]!(), () => new Classes[1]!(), () => new Classes[2]!('8')]) {
      let thrown: unknown;
      try {
        make().ntotal(); // on a null index this dereferenced null: a segfault
      } catch (err) {
        thrown = err;
      }
      expect(thrown).toBeInstanceOf(TypeError);
      expect(thrown).toMatchObject({
        code: 'invalid_argument',
        message: expect.stringMatching(/\(dimension: number\)/),
      });
    }
    expect(() => new faiss.IndexFlatL2(0)).toThrow(RangeError);
    expect(() => new faiss.IndexFlatL2(1.5)).toThrow(RangeError);
  });

  it('still makes indexes from a dimension, a factory and a buffer; each failure has a code', () => {
    const floats = (...v: number[]) => Float32Array.from(v);
    const flat = new faiss.IndexFlatIP(4);
    flat.add(floats(1, 0, 0, 0, 0, 1, 0, 0));
    expect(flat.ntotal()).toBe(2);
    const copy = faiss.IndexFlatIP.fromBuffer(flat.toBuffer());
    expect(Array.from(copy.search(floats(0, 1, 0, 0), 1).labels)).toEqual([1]);
    const ivf = faiss.Index.fromFactory(4, 'IVF2,Flat', 0);
    expect(ivf.getDimension()).toBe(4);
    const codeOf = (call: () => unknown) => {
      try {
        call();
      } catch (err) {
        return (err as { code?: string }).code;
      }
      return 'no error';
    };
    expect(codeOf(() => ivf.add(floats(1, 2, 3, 4)))).toBe('faiss_error'); // not trained
    expect(codeOf(() => flat.search(floats(1, 0, 0, 0), 3))).toBe('invalid_argument'); // k over ntotal
    expect(codeOf(() => flat.add(floats(1, 2, 3)))).toBe('invalid_argument');
    expect(codeOf(() => flat.mergeFrom({} as never))).toBe('invalid_argument');
    expect(codeOf(() => faiss.Index.fromFactory(4, 'NoSuchIndex', 0))).toBe('faiss_error');
    expect(flat.ntotal()).toBe(2); // and the index is as it was
  });

  it("turns an allocation refused inside the 4-bit scan's OpenMP loop into an out_of_memory error", async () => {
    // the loop's per-query table is 1 MB here; 512 KB above the child's size leaves room for everything before it
    const { big, after } = await underCap('pq4', 512 * 1024);
    expect(big).toMatchObject({ ok: false, code: 'out_of_memory' });
    expect(after).toEqual({ ok: true, value: expect.any(Number) }); // the process goes on searching
  });
});

describe("the VL model's native calls", () => {
  it('answers an image copy that does not fit in memory with out_of_memory, before queuing the work', async () => {
    const { big, after } = await underCap('vl-sync', 16 * MiB); // the 48 MB pixel copy does not fit
    expect(big).toMatchObject({ ok: false, code: 'out_of_memory' });
    expect(after).toEqual({ ok: true, value: true }); // the model answers the next call, the same as before
  });

  it('answers an allocation refused on the worker thread with out_of_memory, and frees what it held', async () => {
    const { big, after } = await underCap('vl-async', 64 * MiB); // the copy fits; mtmd's own copy of it does not
    expect(big).toMatchObject({ ok: false, code: 'out_of_memory' });
    expect(after).toEqual({ ok: true, value: true });
  });

  it('gives the errors of its own checks a code too', () => {
    const model = new (loadNative().VlModel)();
    const codeOf = (call: () => unknown) => {
      try {
        call();
      } catch (err) {
        return `${(err as Error).name} ${(err as { code?: string }).code}`;
      }
      return 'no error';
    };
    expect(codeOf(() => model.load(1 as never, 2 as never, {} as never))).toBe('TypeError invalid_argument');
    expect(codeOf(() => model.embed([]))).toBe('Error native_error'); // not loaded
  });

  it('rejects a generation whose onText throws, stops it there, and serves the next one', async () => {
    const options = { minTokens: 16, maxTokens: 64, threads: 1 };
    const vlm = await VisionLanguageModel.load(TINY_TEXT_MODEL, TINY_MMPROJ, options);
    try {
      const img = await vlm.decode(await scenePng(3));
      const boom = new Error('the client is gone');
      let calls = 0;
      const onText = () => {
        calls++;
        throw boom;
      };
      const failed = vlm.generate('Describe this image.', [img], { maxTokens: 2000, onText });
      await expect(failed).rejects.toMatchObject({
        code: 'callback_failed',
        cause: boom,
        message: /onText callback threw: the client is gone/,
      });
      expect(calls).toBe(1); // nothing more was passed to a callback that threw
      const text: string[] = [];
      const next = await vlm.generate('Describe this image.', [img], { maxTokens: 3, onText: (t) => text.push(t) });
      expect(next).toMatchObject({ nTokens: 3, stop: 'length' });
      expect(text.join('')).toBe(next.text);
    } finally {
      await vlm.dispose();
    }
  });
});

describe('describe with an onText that throws, on the running app', () => {
  let t: TestApp;
  let query: Buffer;
  beforeAll(async () => {
    t = await startTestApp({ LOOKALIKE_TEXT_MODEL: 'demo' });
    const dir = join(t.dataDir, 'demo', 'images', 'bag');
    query = readFileSync(join(dir, readdirSync(dir).sort()[0]!));
  });
  afterAll(async () => t?.close());

  it('answers that describe with an error and keeps serving describe and search', async () => {
    const { describe: describeCase } = t.app.runtime.ready();
    const run = describeCase.run({
      image: query,
      prompt: 'What is in this picture?',
      maxTokens: 200,
      temperature: 0,
      signal: new AbortController().signal,
      onText: () => {
        throw new Error('write after end');
      },
    });
    await expect(run).rejects.toMatchObject({ code: 'callback_failed' });
    const post = (url: string, fields: Parameters<typeof multipart>[0]) => postForm(t, url, fields);
    const image = { filename: 'q.jpg', data: query, contentType: 'image/jpeg' };
    const described = await post('/api/describe', { image, maxTokens: '3' });
    expect(described.statusCode).toBe(200);
    expect(described.body).toMatch(/event: done/);
    expect((await post('/api/search', { image, k: '3' })).statusCode).toBe(200);
  });
});
