// npm run bench:hybrid: mAP@10 of word queries by keyword, vector and hybrid search (README "Hybrid search"), on the
// demo split: the gallery is the first 100 test pictures of each Fashion-MNIST class, uploaded under names that say
// nothing of their class and without labels, with the demo's 200 held-out reading renders (test pictures with one or
// two words of the reading vocabulary on a tag, src/engine/demo/models/instruct.json), captioned and read by the demo
// Instruct model (en and zh), searched through the API with the demo embedding model. The queries were fixed before
// any tuning: every class name in English and in Chinese, and every word of the reading vocabulary. A picture is
// relevant to a query of its class, and to a word it shows.
//   npm run bench:hybrid   (LOOKALIKE_BENCH_DIR=<folder>: keep the captioned gallery there, and reuse it next time)
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
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
import { multipart } from '../test/helpers/app.js';
import { type Render, renderPng, type TagStyle } from './instruct-quality.js';

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

const kept = process.env.LOOKALIKE_BENCH_DIR;
const dataDir = kept ?? mkdtempSync(join(tmpdir(), 'lookalike-bench-hybrid-'));
if (kept) mkdirSync(kept, { recursive: true });
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
  const reading = JSON.parse(readFileSync(join(DEMO_MODELS_DIR, 'instruct.json'), 'utf8')).reading as TagStyle & {
    renders: Render[];
    vocabulary: string[];
  };
  // what each upload is: its class, and the words it shows (renders only); its name says neither
  const uploads = [
    ...gallery.map((i, n) => ({
      name: `picture-${n}.png`,
      cls: fashion.labels[i]!,
      words: [] as string[],
      make: () => fashionPng(fashion, i),
    })),
    ...reading.renders.map((r, n) => ({
      name: `tag-${n}.png`,
      cls: fashion.labels[r.picture]!,
      words: r.words,
      make: () => renderPng(fashion, r, reading),
    })),
  ];
  const byName = new Map(uploads.map((u) => [u.name, u]));
  const stored = new Map<string, number>(); // a kept gallery's images, by name
  for (let cursor: string | undefined; ; ) {
    const page = (await app.inject(`/api/images?limit=100${cursor ? `&cursor=${cursor}` : ''}`)).json();
    for (const img of page.images as { id: number; source: string }[]) stored.set(img.source, img.id);
    if (!page.next) break;
    cursor = page.next;
  }
  const shown = new Map<number, { cls: number; words: string[] }>();
  const adding = new Progress('uploaded', uploads.length);
  for (const u of uploads) {
    let id = stored.get(u.name);
    if (id === undefined) {
      const body = multipart({ image: { filename: u.name, data: await u.make(), contentType: 'image/png' } });
      const res = await app.inject({
        method: 'POST',
        url: '/api/images',
        payload: body.payload,
        headers: body.headers,
      });
      if (res.statusCode !== 201) throw new Error(`upload ${u.name}: ${res.statusCode} ${res.body}`);
      id = res.json().id as number;
    }
    shown.set(id, byName.get(u.name)!);
    adding.tick();
  }
  adding.draw(true);
  const captioning = new Progress('captioned', uploads.length);
  for (;;) {
    const { captioned, pending } = (await app.inject('/api/stats')).json().captions;
    captioning.advance(captioned - captioning.done);
    if (pending === 0) break;
    await new Promise((r) => setTimeout(r, 500));
  }
  captioning.draw(true);

  const queries = [
    ...FASHION_CLASSES.flatMap((en, c) => [
      { text: en, group: 'en', relevant: (p: { cls: number }) => p.cls === c },
      { text: FASHION_CLASSES_ZH[c]!, group: 'zh', relevant: (p: { cls: number }) => p.cls === c },
    ]),
    ...reading.vocabulary.map((word) => ({
      text: word,
      group: 'words',
      relevant: (p: { words: string[] }) => p.words.includes(word),
    })),
  ];
  const rows: string[] = [];
  const GROUPS = ['en', 'zh', 'words'] as const;
  const byMode: Record<string, { ap: Record<string, number[]>; ms: number[] }> = {};
  for (const mode of MODES) {
    const m = { ap: { en: [], zh: [], words: [] } as Record<string, number[]>, ms: [] as number[] };
    byMode[mode] = m;
    for (const q of queries) {
      const started = performance.now();
      const res = await app.inject({ method: 'POST', url: '/api/search', payload: { text: q.text, mode, k: K } });
      m.ms.push(performance.now() - started);
      if (res.statusCode !== 200) throw new Error(`${mode} "${q.text}": ${res.statusCode} ${res.body}`);
      const ranked = res.json().results.map((r: { id: number }) => r.id) as number[];
      const relevant = new Set([...shown].filter(([, p]) => q.relevant(p)).map(([id]) => id));
      m.ap[q.group]!.push(averagePrecision(ranked, relevant));
    }
  }
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const count = (g: string) => queries.filter((q) => q.group === g).length;
  rows.push(
    `| mode | class names en (${count('en')}) | class names zh (${count('zh')}) | words shown (${count('words')}) | ` +
      `all (${queries.length}) | median ms a query |`,
  );
  rows.push('|---|---|---|---|---|---|');
  for (const mode of MODES) {
    const m = byMode[mode]!;
    const cells = GROUPS.map((g) => mean(m.ap[g]!).toFixed(3));
    rows.push(
      `| ${mode} | ${cells.join(' | ')} | ${mean(GROUPS.flatMap((g) => m.ap[g]!)).toFixed(3)} | ` +
        `${median(m.ms).toFixed(1)} |`,
    );
  }
  process.stdout.write(
    `\nmAP@10 of word queries on the demo split (${gallery.length} pictures and ${reading.renders.length} with words, ` +
      `captioned en+zh and read by the demo Instruct model; k = ${K}, RRF k = 60)\n${rows.join('\n')}\n`,
  );
} finally {
  await app.close();
  if (!kept && existsSync(dataDir)) rmSync(dataDir, { recursive: true, force: true });
}
