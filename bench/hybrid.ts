// npm run bench:hybrid: mAP@10 of word queries by keyword, vector and hybrid search (README "Hybrid search"), on the
// demo split: the gallery is the first 100 test pictures of each Fashion-MNIST class, uploaded under names that say
// nothing of their class and without labels, captioned by the demo Instruct model (en and zh), searched through the API
// with the demo embedding model. The queries were fixed before any tuning: every class name in English and in Chinese
// (and each word of the demo's reading vocabulary, once src/engine/demo/models/instruct.json has one and the gallery
// has pictures that show it). A picture is relevant to a query of its class.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildApp } from '../src/web/app.js';
import { loadConfig } from '../src/core/config.js';
import {
  demoSplit,
  FASHION_CLASSES,
  FASHION_CLASSES_ZH,
  fashionPng,
  readFashion,
} from '../src/engine/demo/fashion-mnist.js';
import {
  DEMO_EMBED_MMPROJ,
  DEMO_EMBED_MODEL,
  DEMO_MODELS_DIR,
  DEMO_TEXT_MMPROJ,
  DEMO_TEXT_MODEL,
} from '../src/application/models/resolve.js';
import { Progress } from '../src/core/util/progress.js';

const K = 10;
const MODES = ['keyword', 'vector', 'hybrid'] as const;

/** Average precision at K of a ranking against the relevant set (normalised by min(|relevant|, K)). */
function averagePrecision(ranked: number[], relevant: Set<number>): number {
  let hits = 0,
    sum = 0;
  ranked.slice(0, K).forEach((id, i) => {
    if (relevant.has(id)) sum += ++hits / (i + 1);
  });
  return sum / Math.min(relevant.size, K);
}

const dataDir = mkdtempSync(join(tmpdir(), 'lookalike-bench-hybrid-'));
const config = loadConfig({
  LOOKALIKE_DATA_DIR: dataDir,
  LOOKALIKE_LOG_LEVEL: 'warn',
  LOOKALIKE_THREADS: '1',
  LOOKALIKE_MMPROJ: DEMO_EMBED_MMPROJ,
  LOOKALIKE_EMBED_MODEL: DEMO_EMBED_MODEL,
  LOOKALIKE_TEXT_MODEL: DEMO_TEXT_MODEL,
  LOOKALIKE_TEXT_MMPROJ: DEMO_TEXT_MMPROJ,
  LOOKALIKE_CAPTIONS: 'on',
  LOOKALIKE_CAPTION_LANGUAGES: 'en,zh',
});
const app = await buildApp(config, { logger: false, startRuntime: false });
try {
  await app.ready();
  await app.runtime.start();
  const fashion = readFashion('t10k');
  const { gallery } = demoSplit(fashion.labels);
  const classOf = new Map<number, number>();
  const adding = new Progress('uploaded', gallery.length);
  for (const [n, i] of gallery.entries()) {
    const boundary = `----bench${n}`;
    const png = await fashionPng(fashion, i);
    const payload = Buffer.concat([
      Buffer.from(
        `--${boundary}\r\nContent-Disposition: form-data; name="image"; ` +
          `filename="picture-${n}.png"\r\nContent-Type: image/png\r\n\r\n`,
      ),
      png,
      Buffer.from(`\r\n--${boundary}--\r\n`),
    ]);
    const res = await app.inject({
      method: 'POST',
      url: '/api/images',
      payload,
      headers: { 'content-type': `multipart/form-data; boundary=${boundary}` },
    });
    if (res.statusCode !== 201) throw new Error(`upload ${n}: ${res.statusCode} ${res.body}`);
    classOf.set(res.json().id, fashion.labels[i]!);
    adding.tick();
  }
  adding.draw(true);
  const captioning = new Progress('captioned', gallery.length);
  for (;;) {
    const { captioned, pending } = (await app.inject('/api/stats')).json().captions;
    captioning.advance(captioned - captioning.done);
    if (pending === 0) break;
    await new Promise((r) => setTimeout(r, 500));
  }
  captioning.draw(true);

  const queries = FASHION_CLASSES.flatMap((en, c) => [
    { text: en, lang: 'en', cls: c },
    { text: FASHION_CLASSES_ZH[c]!, lang: 'zh', cls: c },
  ]);
  const instruct = JSON.parse(readFileSync(join(DEMO_MODELS_DIR, 'instruct.json'), 'utf8'));
  const vocabulary = instruct.reading?.vocabulary as string[] | undefined;
  const rows: string[] = [];
  const byMode: Record<string, { en: number[]; zh: number[]; ms: number[] }> = {};
  for (const mode of MODES) {
    const m: { en: number[]; zh: number[]; ms: number[] } = { en: [], zh: [], ms: [] };
    byMode[mode] = m;
    for (const q of queries) {
      const started = performance.now();
      const res = await app.inject({ method: 'POST', url: '/api/search', payload: { text: q.text, mode, k: K } });
      m.ms.push(performance.now() - started);
      if (res.statusCode !== 200) throw new Error(`${mode} "${q.text}": ${res.statusCode} ${res.body}`);
      const ranked = res.json().results.map((r: { id: number }) => r.id) as number[];
      const relevant = new Set([...classOf].filter(([, c]) => c === q.cls).map(([id]) => id));
      m[q.lang as 'en' | 'zh'].push(averagePrecision(ranked, relevant));
    }
  }
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  rows.push('| mode | mAP@10 en (10 queries) | mAP@10 zh (10 queries) | mAP@10 all (20) | median ms a query |');
  rows.push('|---|---|---|---|---|');
  for (const mode of MODES) {
    const m = byMode[mode]!;
    rows.push(
      `| ${mode} | ${mean(m.en).toFixed(3)} | ${mean(m.zh).toFixed(3)} | ${mean([...m.en, ...m.zh]).toFixed(3)} | ` +
        `${median(m.ms).toFixed(1)} |`,
    );
  }
  process.stdout.write(
    `\nword queries on the demo split (${gallery.length} pictures, captioned en+zh by the demo ` +
      `Instruct model; k = ${K}, RRF k = 60)\n${rows.join('\n')}\n`,
  );
  if (vocabulary?.length) {
    process.stdout.write(
      `instruct.json has a reading vocabulary of ${vocabulary.length} words: this gallery has no ` +
        'pictures that show them, so they are not queried here\n',
    );
  } else {
    process.stdout.write('instruct.json has no reading vocabulary yet: class names only\n');
  }
} finally {
  await app.close();
  if (existsSync(dataDir)) rmSync(dataDir, { recursive: true, force: true });
}
