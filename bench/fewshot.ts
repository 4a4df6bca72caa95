// bench/fewshot: the cost per image of few-shot classification (`/api/classify` with `method=fewshot`) on the demo
// models (the trained Fashion-MNIST encoder, the tiny random text model), against KNN alone, through the real app
// (app.inject: the upload, its encode, the KNN search, the examples' thumbnails, the VL model's calls). It prints no
// accuracy: the demo text model has random weights, so its answers mean nothing.
//   npx tsx bench/fewshot.ts        (LOOKALIKE_BENCH_QUERIES=20 images per row)
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { multipart, startTestApp } from '../test/helpers/app.js';
import { median, peakRssMiB, table } from './common.js';

const queries = Number(process.env.LOOKALIKE_BENCH_QUERIES ?? 20);
const t = await startTestApp({ LOOKALIKE_TEXT_MODEL: 'demo' });
try {
  const root = join(t.dataDir, 'demo', 'images');
  const classes = readdirSync(root).sort();
  // a spread of gallery pictures, one class after another (each is left out of its own examples)
  const files = Array.from({ length: queries }, (_, i) => {
    const dir = join(root, classes[i % classes.length]!);
    return readFileSync(join(dir, readdirSync(dir).sort()[Math.floor(i / classes.length)]!));
  });
  const classify = async (data: Buffer, fields: Record<string, string>) => {
    const body = multipart({ image: { filename: 'q.png', data, contentType: 'image/png' }, ...fields });
    const started = performance.now();
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/classify',
      payload: body.payload,
      headers: body.headers,
    });
    if (res.statusCode !== 200) throw new Error(`${res.statusCode} ${res.body}`);
    return { ms: performance.now() - started, out: res.json() };
  };
  await classify(files[0]!, { method: 'fewshot' }); // sizes the model's buffers: not counted
  const rows: (string | number)[][] = [];
  for (const [name, fields] of [
    ['KNN only', {}],
    ['few-shot, 5 classes x 1 example', { method: 'fewshot', examples: '1' }],
    ['few-shot, 5 classes x 3 examples', { method: 'fewshot', examples: '3' }],
    ['few-shot, 5 classes x 5 examples', { method: 'fewshot', examples: '5' }],
  ] as const) {
    const ms: number[] = [],
      calls: number[] = [],
      tokens: number[] = [];
    for (const f of files) {
      const { ms: took, out } = await classify(f, fields);
      ms.push(took);
      if (out.fewShot) calls.push(out.fewShot.modelCalls), tokens.push(out.fewShot.promptTokens);
    }
    rows.push([name, median(ms).toFixed(1), calls.length ? median(calls) : '-', tokens.length ? median(tokens) : '-']);
  }
  console.log(table(['request', 'ms per image (median)', 'model calls (median)', 'prompt tokens (median)'], rows));
  console.log(`${queries} images per row, 1 thread, peak RSS ${peakRssMiB()} MiB`);
} finally {
  await t.close();
}
