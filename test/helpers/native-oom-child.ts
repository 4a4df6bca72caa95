// Child of test/native-errors.test.ts: sets up one native call that needs far more memory than the rest of the work,
// says its virtual size, waits until the test has capped its address space (prlimit), makes that call, then a small
// one, and prints what each answered. Modes:
//   vl-sync   VlModel.embed of a 48 MB image: the copy of its pixels made before the call is queued does not fit;
//   vl-async  the same, with room for that copy: mtmd's own copy of the image, on the worker thread, does not fit;
//   pq4       a search of an IVF-PQ 4-bit index whose per-query table (1 MB) does not fit, in the scan's OpenMP loop.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type * as FaissNode from 'faiss-node';
import { loadNative } from '../../src/engine/native/binding.js';
import { TINY_MMPROJ, TINY_TEXT_MODEL } from './models.js';

type Outcome = { ok: true; value?: unknown } | { ok: false; code?: string; message: string };
const outcome = async (call: () => unknown): Promise<Outcome> => {
  try {
    return { ok: true, value: await call() };
  } catch (err) {
    const e = err as { code?: string; message: string };
    return { ok: false, code: e.code, message: e.message };
  }
};
const vsz = () => Number(/VmSize:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))![1]) * 1024;
const capped = async (): Promise<void> => {
  process.stdout.write(`ready ${vsz()}\n`);
  await new Promise((resolve) => process.stdin.once('data', resolve));
};

const mode = process.argv[2];
if (mode === 'vl-sync' || mode === 'vl-async') {
  const model = new (loadNative().VlModel)();
  await model.load(TINY_TEXT_MODEL, TINY_MMPROJ, {
    loraScale: 1,
    nCtx: 512,
    threads: 1,
    minTokens: 16,
    maxTokens: 64,
    gpuLayers: 0,
    maxBatch: 1,
    useGpu: false,
  });
  const small = { rgb: new Uint8Array(64 * 64 * 3).fill(90), width: 64, height: 64 };
  const first = await model.embed([small]); // the compute buffers, sized before the cap
  const side = 4096;
  const large = { rgb: new Uint8Array(side * side * 3).fill(128), width: side, height: side };
  await capped();
  const big = await outcome(() => model.embed([large]));
  const same = (data: Float32Array) => data.every((v, i) => v === first.data[i]);
  const after = await outcome(async () => same((await model.embed([small])).data));
  process.stdout.write(JSON.stringify({ big, after }));
} else if (mode === 'pq4') {
  const faiss = createRequire(import.meta.url)('faiss-node') as typeof FaissNode;
  faiss.Index.setThreads(1); // no OpenMP threads to start under the cap
  const d = 32768,
    n = 16; // as many training points as a sub-quantizer has centroids: faiss takes them as they are
  const data = Float32Array.from({ length: n * d }, (_, i) => Math.sin(i * 0.618));
  // inner product (0); np: no polysemous training (slow)
  const index = faiss.Index.fromFactory(d, `IVF1,PQ${d / 2}x4np`, 0);
  index.train(data);
  index.add(data);
  const small = faiss.Index.fromFactory(8, 'Flat', 0);
  small.add(Float32Array.from({ length: 16 }, (_, i) => i));
  const query = data.slice(0, d);
  await capped();
  const big = await outcome(() => index.search(query, 1));
  const after = await outcome(
    () =>
      small.search(
        Float32Array.from({ length: 8 }, () => 1),
        1,
      ).labels[0],
  );
  process.stdout.write(JSON.stringify({ big, after }));
} else {
  throw new Error(`unknown mode ${mode}`);
}
process.exit(0);
