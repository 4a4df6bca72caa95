// The upload page in a real browser (Debian's chromium, driven by playwright-core) against the real server.
import { existsSync, mkdirSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from './helpers/app.js';
import { MODELS_DIR } from './helpers/models.js';
import { startRedis } from './helpers/redis.js';
import { ROOT, startScript, watchOutput } from './helpers/cli.js';
import { recompressedCopy, scenePng } from './helpers/images.js';
import sharp from 'sharp';
import { multipart } from './helpers/app.js';
import { fakeImage } from './helpers/vectors.js';
import { l2Normalize } from '../src/engine/encoder/vision-encoder.js';
import { DEMO_MMPROJ } from '../src/application/models/resolve.js';
import {
  DEMO_WORDS_FLOOR,
  FASHION_CLASSES,
  FASHION_CLASSES_ZH,
  demoSplit,
  fashionName,
  fashionPng,
  readFashion,
} from '../src/engine/demo/fashion-mnist.js';
import { namesIn } from '../bench/instruct-quality.js';

const CHROMIUM = '/usr/bin/chromium';

/** The images matching `selector` (loaded) that are shown cropped or distorted: their content overflows the box they
 *  are drawn in, or is stretched to it. */
function misdrawn(page: Page, selector: string): Promise<string[]> {
  return page.locator(selector).evaluateAll((imgs) =>
    imgs.flatMap((el) => {
      const img = el as HTMLImageElement;
      const [bw, bh, nw, nh] = [img.clientWidth, img.clientHeight, img.naturalWidth, img.naturalHeight];
      const fit = getComputedStyle(img).objectFit;
      if (fit === 'fill') return Math.abs(bw / bh - nw / nh) > 0.01 ? [`${img.alt}: stretched`] : [];
      const scale =
        fit === 'cover'
          ? Math.max(bw / nw, bh / nh)
          : fit === 'none'
            ? 1
            : fit === 'scale-down'
              ? Math.min(1, bw / nw, bh / nh)
              : Math.min(bw / nw, bh / nh);
      return nw * scale > bw + 0.5 || nh * scale > bh + 0.5
        ? [`${img.alt}: ${nw}x${nh} cropped to ${bw}x${bh} (${fit})`]
        : [];
    }),
  );
}

/** Waits until the first `n` images matching `selector` have loaded. */
async function loaded(page: Page, selector: string, n: number): Promise<void> {
  await page.waitForFunction(
    ([s, k]) =>
      Array.from(document.querySelectorAll<HTMLImageElement>(s as string))
        .slice(0, k as number)
        .every((i) => i.complete && i.naturalWidth > 0),
    [selector, n] as const,
  );
}
let t: TestApp;
let browser: Browser;
let base: string;

beforeAll(async () => {
  if (!existsSync(CHROMIUM))
    throw new Error(`${CHROMIUM} is missing: apt-get install chromium (scripts/setup.sh does)`);
  t = await startTestApp();
  base = await t.app.listen({ port: 0, host: '127.0.0.1' });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--no-sandbox',
      '--headless',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--disable-quic',
    ],
  });
});
afterAll(async () => {
  await browser?.close();
  await t?.close();
});

describe('the search page', () => {
  for (const viewport of [
    { name: 'desktop', width: 1280, height: 900 },
    { name: 'phone', width: 390, height: 844 },
  ]) {
    it(`uploads a gallery image, shows it first with score ~1 and a class, and finds similar (${viewport.name})`, async () => {
      const page = await browser.newPage({ viewport });
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      await page.goto(base);
      await page.waitForSelector('body[data-ready="true"]');
      expect(await page.isVisible('#demo-banner')).toBe(true);
      expect(await page.textContent('#status')).toMatch(/1000 images/);
      // no text model: neither the re-rank toggle nor the describe box shows
      expect(await page.isVisible('#rerank-label')).toBe(false);
      expect(await page.isVisible('#describe')).toBe(false);
      expect(await page.isVisible('#words')).toBe(false); // the Instruct mmproj alone cannot embed words
      expect(await page.textContent('#demo-can')).toBe(
        'This demo can: search by a picture. ' +
          'Off: words (start with LOOKALIKE_EMBED_MODEL=demo); describe (start with LOOKALIKE_TEXT_MODEL=demo).',
      );

      const dir = join(t.dataDir, 'demo', 'images', 'sneaker');
      const file = join(dir, readdirSync(dir).sort()[2]!);
      await page.setInputFiles('#file', file);
      await page.waitForSelector('#results .card');
      const first = page.locator('#results .card').first();
      expect(Number(await first.locator('.score').textContent())).toBeGreaterThan(0.999);
      expect(await first.locator('.lbl').textContent()).toBe('sneaker');
      expect(await page.textContent('[data-testid="predicted-label"]')).toBe('sneaker');
      expect(await page.locator('#results .card').count()).toBe(12);
      if (viewport.name === 'phone') {
        // the results are below the query's controls: brought into view
        const top = await page.locator('#results-title').evaluate((h) => h.getBoundingClientRect().top);
        expect(top).toBeGreaterThan(-1); // at the top, to a subpixel
        expect(top).toBeLessThan(viewport.height / 2);
      }
      // the demo's square pictures are shown whole, in the results and the gallery
      await loaded(page, '#results .card img', 2);
      await page.locator('#gallery').scrollIntoViewIfNeeded();
      await loaded(page, '#gallery .card img', 2);
      expect(await misdrawn(page, '#results .card img, #gallery .card img')).toEqual([]);

      const shotDir = join(ROOT, 'test', '.tmp');
      mkdirSync(shotDir, { recursive: true });
      await page.screenshot({ path: join(shotDir, `page-${viewport.name}.png`), fullPage: true });

      const secondId = await page.locator('#results .card').nth(1).getAttribute('data-id');
      await page.locator('#results .card').nth(1).getByRole('button', { name: 'Find similar' }).click();
      await page.waitForFunction(() => document.getElementById('results-title')?.textContent?.startsWith('Similar to'));
      const ids = await page
        .locator('#results .card')
        .evaluateAll((cards) => cards.map((c) => (c as HTMLElement).dataset.id));
      expect(ids).toHaveLength(12);
      expect(ids).not.toContain(secondId); // "similar to X" leaves X out
      expect(errors).toEqual([]);
      await page.close();
    });
  }

  it('finds pictures of the same kind for a held-out picture, and names its class (the trained demo)', async () => {
    const test = readFashion('t10k');
    // never in the gallery
    const i = demoSplit(test.labels).queries.find((q) => FASHION_CLASSES[test.labels[q]!] === 'sneaker')!;
    // trained: with 100 labelled pictures a class, the probe is trusted
    await t.app.runtime.ready().classify.probe.settled();
    const page = await browser.newPage();
    await page.goto(base);
    await page.waitForSelector('body[data-ready="true"]');
    await page.setInputFiles('#file', {
      name: fashionName(i),
      mimeType: 'image/png',
      buffer: await fashionPng(test, i),
    });
    await page.waitForSelector('#results .card');
    const labels = await page.locator('#results .card .lbl').allTextContents();
    expect(labels).toHaveLength(12);
    expect(labels.filter((l) => l === 'sneaker').length, labels.join(', ')).toBeGreaterThanOrEqual(9);
    expect(Number(await page.locator('#results .card .score').first().textContent())).toBeLessThan(0.999); // not itself
    expect(await page.textContent('[data-testid="predicted-label"]')).toBe('sneaker');
    // the answer to go by names the method that gave it (not KNN's vote share when another method was trusted)
    expect(await page.textContent('[data-testid="predicted-detail"]')).toMatch(/^linear probe: \d+%$/);
    await page.close();
  });

  it('adds the photo to the gallery with a label and says under which id', async () => {
    const page = await browser.newPage();
    await page.goto(base);
    await page.waitForSelector('body[data-ready="true"]');
    await page.setInputFiles('#file', { name: 'new.png', mimeType: 'image/png', buffer: await scenePng(909) });
    await page.waitForSelector('#results .card');
    await page.fill('#add-label', 'mine');
    await page.click('#add-button');
    await page.waitForFunction(() => /^added as #\d+$/.test(document.getElementById('add-state')?.textContent ?? ''));
    const id = Number((await page.textContent('#add-state'))!.slice('added as #'.length));
    expect((await t.app.inject(`/api/images/${id}`)).json()).toMatchObject({ id, label: 'mine', source: 'new.png' });
    await page.click('#add-button'); // the same again: already there
    await page.waitForFunction(() =>
      /already in the gallery/.test(document.getElementById('add-state')?.textContent ?? ''),
    );
    await page.close();
  });

  it('says so when the upload is not an image', async () => {
    const page = await browser.newPage();
    await page.goto(base);
    await page.waitForSelector('body[data-ready="true"]');
    await page.setInputFiles('#file', {
      name: 'notes.png',
      mimeType: 'image/png',
      buffer: Buffer.from('not a png at all'),
    });
    await page.waitForSelector('#message:not([hidden])');
    expect(await page.textContent('#message')).toMatch(/could not be decoded/);
    await page.close();
  });
});

describe('the gallery on the page', () => {
  it(
    'opens on the gallery newest first, pages with "Load more" without a repeat, filters, and a click shows the ' +
      'metadata and similar pictures',
    async () => {
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      await page.goto(base);
      await page.waitForSelector('body[data-ready="true"]');
      const cards = page.locator('#gallery .card');
      const ids = () => cards.evaluateAll((els) => els.map((c) => Number((c as HTMLElement).dataset.id)));
      expect(await cards.count()).toBe(24); // data-ready is set once the first page is in
      for (const want of [48, 72]) {
        await page.click('#load-more');
        await page.waitForFunction((n) => document.querySelectorAll('#gallery .card').length === n, want);
      }
      const shown = await ids();
      expect(new Set(shown).size).toBe(72);
      const newest = (await t.app.inject('/api/images?limit=72')).json().images.map((r: { id: number }) => r.id);
      expect(shown).toEqual(newest);

      await page.selectOption('#f-label', 'bag');
      await page.click('#f-apply');
      await page.waitForFunction(() =>
        Array.from(document.querySelectorAll('#gallery .card .lbl'), (l) => l.textContent).every((l) => l === 'bag'),
      );
      expect(await cards.count()).toBe(24);

      const clicked = (await ids())[3]!;
      const record = (await t.app.inject(`/api/images/${clicked}`)).json();
      await cards.nth(3).click();
      await page.waitForFunction(() => document.getElementById('results-title')?.textContent?.startsWith('Similar to'));
      expect(await page.textContent('#details dd[data-field="file"]')).toBe(record.source);
      expect(await page.textContent('#details dd[data-field="taken"]')).toContain(record.takenAt);
      const similar = await page
        .locator('#results .card')
        .evaluateAll((els) => els.map((c) => Number((c as HTMLElement).dataset.id)));
      expect(similar).toHaveLength(12);
      expect(similar).not.toContain(clicked);
      const want = (await t.app.inject(`/api/images/${clicked}/similar?k=12`))
        .json()
        .results.map((r: { id: number }) => r.id);
      expect(similar).toEqual(want);
      await page.screenshot({ path: join(ROOT, 'test', '.tmp', 'page-gallery.png'), fullPage: true });
      expect(errors).toEqual([]);
      await page.close();
    },
  );
});

describe('the page with an API key (LOOKALIKE_API_KEY)', () => {
  it('asks for the key when an add answers 401, sends it, and keeps it for the tab only', async () => {
    const keyed = await startTestApp({ LOOKALIKE_API_KEY: 'sesame' });
    const page = await browser.newPage();
    try {
      await page.goto(await keyed.app.listen({ port: 0, host: '127.0.0.1' }));
      await page.waitForSelector('body[data-ready="true"]');
      expect(await page.isVisible('#api-key')).toBe(false);
      await page.setInputFiles('#file', { name: 'keyed.png', mimeType: 'image/png', buffer: await scenePng(919) });
      await page.waitForSelector('#results .card');
      await page.click('#add-button');
      await page.waitForSelector('#api-key:not([hidden])');
      expect(await page.textContent('#message')).toMatch(/needs its API key/);
      await page.fill('#api-key', 'wrong');
      await page.click('#add-button');
      await page.waitForFunction(() => /refused/.test(document.getElementById('message')?.textContent ?? ''));
      await page.fill('#api-key', 'sesame');
      await page.click('#add-button');
      await page.waitForFunction(() => /^added as #\d+$/.test(document.getElementById('add-state')?.textContent ?? ''));
      expect(await page.evaluate(() => [sessionStorage.getItem('lookalike-api-key'), localStorage.length])).toEqual([
        'sesame',
        0,
      ]);
      const id = Number((await page.textContent('#add-state'))!.slice('added as #'.length));
      expect((await keyed.app.inject(`/api/images/${id}`)).json()).toMatchObject({ id, source: 'keyed.png' });
    } finally {
      await page.close();
      await keyed.close();
    }
  });
});

describe('the page with the VL model loaded', () => {
  it('re-ranks with the toggle and streams a description into the page', async () => {
    const vl = await startTestApp({ LOOKALIKE_TEXT_MODEL: 'demo' });
    try {
      const vlBase = await vl.app.listen({ port: 0, host: '127.0.0.1' });
      const page = await browser.newPage();
      await page.goto(vlBase);
      await page.waitForSelector('body[data-ready="true"]');
      expect(await page.isVisible('#rerank-label')).toBe(true);
      expect(await page.isVisible('#describe')).toBe(true);
      expect(await page.textContent('#demo-can')).toMatch(
        /^This demo can: search by a picture; describe a picture, in English or Chinese.*; re-rank results\. Off: words/,
      );
      await page.check('#rerank');
      const dir = join(vl.dataDir, 'demo', 'images', 'bag');
      await page.setInputFiles('#file', join(dir, readdirSync(dir).sort()[0]!));
      await page.waitForSelector('#results .card .rerank');
      expect(await page.textContent('#results-title')).toMatch(/10 re-ranked by the Instruct model/);
      const badges = await page.locator('#results .card .rerank').allTextContents();
      expect(badges).toHaveLength(10);
      for (const b of badges) expect(b).toMatch(/^Instruct [01]\.\d\d$/);
      expect(await page.getAttribute('#results .card .rerank >> nth=0', 'title')).toMatch(
        /Instruct VL model \(LOOKALIKE_TEXT_MODEL\)/,
      );

      // every change while the answer streams: what the progress line says, and where the box is
      const top = () => page.locator('#describe').evaluate((f) => f.getBoundingClientRect().top + window.scrollY);
      const before = await top();
      await page.evaluate(() => {
        const seen: { progress: string; top: number; done: boolean }[] = [];
        (window as unknown as { seen: typeof seen }).seen = seen;
        const box = document.getElementById('describe')!;
        new MutationObserver(() =>
          seen.push({
            progress: document.getElementById('describe-progress')!.textContent ?? '',
            top: box.getBoundingClientRect().top + window.scrollY,
            done: 'done' in document.getElementById('description')!.dataset,
          }),
        ).observe(document.body, { subtree: true, childList: true, characterData: true, attributes: true });
      });
      await page.fill('#describe-prompt', 'What is in this picture?');
      await page.click('#describe-button');
      await page.waitForSelector('#description[data-done]');
      expect((await page.textContent('#description'))!.length).toBeGreaterThan(0);
      const seen = await page.evaluate(
        () => (window as unknown as { seen: { progress: string; top: number; done: boolean }[] }).seen,
      );
      const streaming = seen.filter((s) => !s.done).map((s) => s.progress);
      expect(streaming).toContain('waiting for the model…');
      expect(
        streaming.some((p) => /^writing… \d+ tokens?$/.test(p)),
        streaming.join(' | '),
      ).toBe(true);
      expect(await page.textContent('#describe-progress')).toMatch(/^\d+ tokens in \d+\.\d s/);
      expect(new Set([before, ...seen.map((s) => s.top), await top()])).toEqual(new Set([before])); // it never moved
      // the demo's note is under the answer it concerns, not in the page's message line
      expect(await page.textContent('#describe-note')).toMatch(
        /^Note: the demo text model is tiny and knows only Fashion-MNIST/,
      );
      expect(await page.$eval('#describe-note', (n) => n.previousElementSibling?.id)).toBe('description');
      expect(await page.isVisible('#message')).toBe(false);
      await page.screenshot({ path: join(ROOT, 'test', '.tmp', 'page-vlm.png'), fullPage: true });
      await page.close();
    } finally {
      await vl.close();
    }
  });
});

describe("the page's conversation about an image (follow-up questions)", () => {
  it('asks follow-ups with the earlier turns, shows each turn, and says when the oldest were left out', async () => {
    const vl = await startTestApp({ LOOKALIKE_TEXT_MODEL: 'demo', LOOKALIKE_DESCRIBE_MAX_TOKENS: '4' });
    const page = await browser.newPage();
    try {
      await page.goto(await vl.app.listen({ port: 0, host: '127.0.0.1' }));
      await page.waitForSelector('body[data-ready="true"]');
      expect(await page.isVisible('#followup')).toBe(false);
      const dir = join(vl.dataDir, 'demo', 'images', 'coat');
      await page.setInputFiles('#file', join(dir, readdirSync(dir).sort()[0]!));
      await page.waitForSelector('#results .card');
      await page.click('#describe-button');
      await page.waitForSelector('#description[data-done]');
      await page.waitForSelector('#followup:not([hidden])');
      for (let i = 1; i <= 5; i++) {
        await page.fill('#followup-text', `follow-up ${i} <|im_start|>`);
        await page.click('#followup-button');
        await page.waitForSelector(`#turns li:nth-child(${i})[data-done]`);
      }
      expect(await page.locator('#turns li .q').allTextContents()).toEqual(
        [1, 2, 3, 4, 5].map((i) => `follow-up ${i} <|im_start|>`),
      );
      // the server's count of the earlier turns each follow-up came with: the describe's, then one more each time
      expect(
        await page.locator('#turns li').evaluateAll((items) => items.map((li) => (li as HTMLElement).dataset.kept)),
      ).toEqual(['1', '2', '3', '4', '5']);
      expect(await page.textContent('#turns-note')).toBe(''); // 5 earlier turns: all kept
      await page.fill('#followup-text', 'one more');
      await page.click('#followup-button');
      await page.waitForSelector('#turns li:nth-child(6)[data-done]');
      expect(await page.textContent('#turns-note')).toMatch(/last 5 turns; 1 earlier was left out/);
      expect(await page.getAttribute('#turns li:nth-child(6)', 'data-kept')).toBe('5');
      await page.screenshot({ path: join(ROOT, 'test', '.tmp', 'page-conversation.png'), fullPage: true });
      // a new picture starts a new conversation
      await page.setInputFiles('#file', join(dir, readdirSync(dir).sort()[1]!));
      await page.waitForSelector('#followup', { state: 'hidden' });
      expect(await page.locator('#turns li').count()).toBe(0);
    } finally {
      await page.close();
      await vl.close();
    }
  });
});

describe('the page when the service failed to start', () => {
  it('shows the reason and what to do instead of "loading" forever', async () => {
    const broken = await startTestApp({ LOOKALIKE_MMPROJ: '/nonexistent/mmproj.gguf' }, { start: false });
    try {
      await broken.app.runtime.start();
      const brokenBase = await broken.app.listen({ port: 0, host: '127.0.0.1' });
      const page = await browser.newPage();
      await page.goto(brokenBase);
      await page.waitForFunction(() => document.getElementById('status')?.textContent?.startsWith('failed to start'));
      expect(await page.textContent('#status')).toMatch(
        /failed to start: model file not found: \/nonexistent\/mmproj\.gguf.*restart/,
      );
      await page.close();
    } finally {
      await broken.close();
    }
  });
});

describe('the page with workers (Redis)', () => {
  it("shows the job's state after an add until the worker's result is stored", async () => {
    const redis = await startRedis();
    const env = { LOOKALIKE_REDIS_URL: redis.url, LOOKALIKE_MODELS_DIR: MODELS_DIR, LOOKALIKE_THREADS: '1' };
    const worker = startScript('scripts/worker.ts', [], env);
    const queued = await startTestApp({ LOOKALIKE_REDIS_URL: redis.url });
    try {
      await watchOutput(worker).waitFor(/waiting for jobs/, 60_000);
      const page = await browser.newPage();
      await page.goto(await queued.app.listen({ port: 0, host: '127.0.0.1' }));
      await page.waitForSelector('body[data-ready="true"]');
      await page.setInputFiles('#file', { name: 'queued.png', mimeType: 'image/png', buffer: await scenePng(910) });
      await page.waitForSelector('#results .card');
      await page.click('#add-button');
      await page.waitForFunction(
        () => /^added as #\d+$/.test(document.getElementById('add-state')?.textContent ?? ''),
        null,
        { timeout: 30_000 },
      );
      expect(await page.getAttribute('#add-state', 'data-state')).toBe('done'); // it went through the job's states
      await page.close();
    } finally {
      worker.kill('SIGTERM');
      await queued.close();
      await redis.stop();
    }
  });
});

describe('the page with an embedding model (and the demo reranker)', () => {
  let emb: TestApp;
  let embBase: string;
  beforeAll(async () => {
    emb = await startTestApp({ LOOKALIKE_EMBED_MODEL: 'demo', LOOKALIKE_RERANK_MODEL: 'demo' });
    embBase = await emb.app.listen({ port: 0, host: '127.0.0.1' });
  });
  afterAll(async () => emb?.close());
  const best = async (text: string, label?: string) =>
    (
      await emb.app.inject({ method: 'POST', url: '/api/search', payload: { text, k: 1, ...(label ? { label } : {}) } })
    ).json().results[0].score as number;
  const searchWords = async (page: Page, text: string) => {
    await page.fill('#words-text', text);
    await page.click('#words-button');
    await page.waitForFunction(
      (t) => document.getElementById('results-title')?.textContent?.startsWith(`Matching "${t}"`),
      text,
    );
  };

  it('shows the "search by words" box and the results for the words typed', async () => {
    const page = await browser.newPage();
    try {
      await page.goto(embBase);
      await page.waitForSelector('body[data-ready="true"]');
      expect(await page.isVisible('#words')).toBe(true);
      expect(await page.textContent('#demo-can')).toBe(
        'This demo can: search by a picture; search by words, in English or Chinese; ' +
          're-rank results. Off: describe (start with LOOKALIKE_TEXT_MODEL=demo).',
      );
      await searchWords(page, '运动鞋');
      const labels = await page.locator('#results .card .lbl').allTextContents();
      expect(labels).toHaveLength(12);
      // Chinese for "sneakers"
      expect(labels.filter((l) => l === 'sneaker').length, labels.join(', ')).toBeGreaterThanOrEqual(8);
      expect(await page.isVisible('#results-note')).toBe(false); // close to its class
    } finally {
      await page.close();
    }
  });

  it('measures the words floor: the least a class name, English or Chinese, reaches on a picture of its own class', async () => {
    const reached = [];
    for (const [i, label] of FASHION_CLASSES.entries()) {
      for (const name of [label, FASHION_CLASSES_ZH[i]!]) reached.push({ name, score: await best(name, label) });
    }
    const least = reached.reduce((a, b) => (b.score < a.score ? b : a));
    console.log(
      `words floor: ${least.score.toFixed(4)} ` +
        `(${least.name}); ${reached.map((r) => `${r.name} ${r.score.toFixed(3)}`).join(', ')}`,
    );
    expect(least.score).toBeCloseTo(DEMO_WORDS_FLOOR, 3);
    expect((await emb.app.inject('/api/health')).json().wordsFloor).toBe(DEMO_WORDS_FLOOR);
    expect((await t.app.inject('/api/health')).json().wordsFloor).toBeNull(); // no embedding model: nothing measured
  });

  it('says so when the words are far from everything', async () => {
    // 0.849. The demo's text side learnt clothes only, so most words land near some: of 43 off-topic phrases tried,
    // 4 fell under the floor ("a red sports car on a highway" reaches 0.898)
    const far = 'stock market crash';
    expect(await best(far)).toBeLessThan(DEMO_WORDS_FLOOR);
    const page = await browser.newPage();
    try {
      await page.goto(embBase);
      await page.waitForSelector('body[data-ready="true"]');
      await searchWords(page, far);
      expect(await page.textContent('#results-note')).toMatch(
        new RegExp(
          `^Nothing here is close to "${far}": its best score, 0\\.\\d{3}, is below ${DEMO_WORDS_FLOOR}, the least ` +
            `a class name`,
        ),
      );
      await searchWords(page, 'sneaker');
      expect(await page.isVisible('#results-note')).toBe(false);
    } finally {
      await page.close();
    }
  });

  it('re-ranks words with the reranker, and each badge names it', async () => {
    const page = await browser.newPage();
    try {
      await page.goto(embBase);
      await page.waitForSelector('body[data-ready="true"]');
      await page.check('#rerank');
      await searchWords(page, 'ankle boot');
      expect(await page.textContent('#results-title')).toMatch(/re-ranked by the reranker\)$/);
      const badges = await page.locator('#results .card .rerank').allTextContents();
      expect(badges.length).toBeGreaterThan(0);
      for (const b of badges) expect(b).toMatch(/^Reranker [01]\.\d\d$/);
      expect(await page.getAttribute('#results .card .rerank >> nth=0', 'title')).toMatch(
        /the reranker \(LOOKALIKE_RERANK_MODEL\)/,
      );
    } finally {
      await page.close();
    }
  });
});

describe('the page while the demo gallery is built on the first start', () => {
  it("shows the build's count, as the terminal does, then the gallery", async () => {
    const fresh = await startTestApp({}, { start: false });
    const page = await browser.newPage();
    try {
      const url = await fresh.app.listen({ port: 0, host: '127.0.0.1' });
      await page.addInitScript(() => {
        // every text the status line shows
        const seen: string[] = [];
        (window as unknown as { statuses: string[] }).statuses = seen;
        new MutationObserver(() => {
          const text = document.getElementById('status')?.textContent ?? '';
          if (text !== seen.at(-1)) seen.push(text);
        }).observe(document, { subtree: true, childList: true, characterData: true });
      });
      await page.goto(url);
      await page.waitForFunction(
        () => document.getElementById('status')?.textContent === 'loading the model and gallery…',
      );
      const started = fresh.app.runtime.start();
      await page.waitForSelector('body[data-ready="true"]', { timeout: 300_000 });
      await started;
      const statuses = await page.evaluate(() => (window as unknown as { statuses: string[] }).statuses);
      const counts = statuses
        .flatMap((s) => /^building the demo gallery: (\d+) of 1000 pictures \(\d+%\)$/.exec(s)?.[1] ?? [])
        .map(Number);
      expect(counts.length, statuses.join(' | ')).toBeGreaterThan(0);
      expect(counts).toEqual([...counts].sort((a, b) => a - b)); // it only goes up
      expect(await page.textContent('#status')).toMatch(/^1000 images/);
    } finally {
      await page.close();
      await fresh.close();
    }
  });
});

describe('the gallery\'s "Load more" after a new search', () => {
  it('starts again from the first page of the new filters, and never appends a page of the old ones', async () => {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    try {
      await page.goto(base);
      await page.waitForSelector('body[data-ready="true"]');
      const cards = page.locator('#gallery .card');
      const shown = () => cards.evaluateAll((els) => els.map((c) => Number((c as HTMLElement).dataset.id)));
      const first = async (n: number, label: string) =>
        (await t.app.inject(`/api/images?limit=${n}&label=${encodeURIComponent(label)}`))
          .json()
          .images.map((r: { id: number }) => r.id);
      const allOf = (label: string, n: number) =>
        page.waitForFunction(
          ([l, k]) => {
            const labels = Array.from(document.querySelectorAll('#gallery .card .lbl'), (e) => e.textContent);
            return labels.length === k && labels.every((x) => x === l);
          },
          [label, n] as const,
        );
      await page.click('#load-more');
      await page.waitForFunction(() => document.querySelectorAll('#gallery .card').length === 48);

      // a next page of the unfiltered gallery is held on its way until the filtered first page is in
      let release!: () => void;
      const held = new Promise<void>((r) => {
        release = r;
      });
      const nextPage = (url: URL) => url.pathname === '/api/images' && url.searchParams.has('cursor');
      await page.route(nextPage, async (route) => {
        await held;
        await route.continue();
      });
      const late = page.waitForResponse((r) => nextPage(new URL(r.url())));
      await page.click('#load-more');
      await page.selectOption('#f-label', 'bag');
      await page.click('#f-apply');
      await allOf('bag', 24);
      release();
      await (await late).finished();
      await page.waitForSelector('#gallery[aria-busy="false"]');
      expect(await shown()).toEqual(await first(24, 'bag')); // the late page was dropped
      await page.unroute(nextPage);

      // the cursor is the new filters': the next page follows the first
      await page.click('#load-more');
      await allOf('bag', 48);
      expect(await shown()).toEqual(await first(48, 'bag'));

      // filters changed without "Apply": "Load more" starts from their first page
      await page.selectOption('#f-label', 'coat');
      await page.click('#load-more');
      await allOf('coat', 24);
      expect(await shown()).toEqual(await first(24, 'coat'));
      expect(await page.isVisible('#message')).toBe(false);
      expect(errors).toEqual([]);
    } finally {
      await page.close();
    }
  });
});

describe('the Duplicates view', () => {
  it('reviews a group, keeps the one picked, deletes the others, and they are gone from search', async () => {
    const original = await scenePng(960);
    const add = async (name: string, data: Buffer) =>
      (
        await t.app.inject({ method: 'POST', url: '/api/images', ...multipart({ image: { filename: name, data } }) })
      ).json().id as number;
    const ids = {
      original: await add('dup-original.png', original),
      small: await add('dup-small.jpg', await recompressedCopy(original, 0.75, 70)),
      // the same pixels in other bytes
      copy: await add('dup-copy.png', await sharp(original).png({ compressionLevel: 2 }).toBuffer()),
    };
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(base);
    await page.waitForSelector('body[data-ready="true"]');
    await page.click('#view-duplicates');
    await page.waitForFunction(() => (document.getElementById('dup-threshold') as HTMLInputElement).value !== '');
    // the server's default (auto: 0.99 for the demo's models), as it answered
    expect(await page.inputValue('#dup-threshold')).toBe('0.99');
    expect(await page.isVisible('#drop')).toBe(false);
    await page.fill('#dup-threshold', '0.999'); // the demo's Fashion-MNIST pictures have no pair this close
    await page.click('#dup-find');
    await page.waitForFunction(() => !(document.getElementById('dup-find') as HTMLButtonElement).disabled); // answered
    const group = page.locator('.dup-group', { has: page.locator(`.card[data-id="${ids.original}"]`) });
    await group.waitFor();
    const members = await group
      .locator('.card')
      .evaluateAll((cards) => cards.map((c) => Number((c as HTMLElement).dataset.id)));
    expect(members.sort((a, b) => a - b)).toEqual([ids.original, ids.small, ids.copy].sort((a, b) => a - b));
    // the suggestion: most pixels, then oldest
    expect(await group.getAttribute('data-keep')).toBe(String(ids.original));
    await group.locator(`.card[data-id="${ids.copy}"] input[type="radio"]`).check();
    expect(await group.locator('.card.keep').getAttribute('data-id')).toBe(String(ids.copy));
    await group.getByLabel('what to do with the others').selectOption('delete');
    page.once('dialog', (d) => {
      void d.accept();
    });
    await group.getByRole('button', { name: 'Apply' }).click();
    await group.waitFor({ state: 'detached' });
    expect(await page.textContent('#dup-summary')).toBe(
      `kept #${ids.copy}; deleted ${[ids.original, ids.small].map((i) => `#${i}`).join(', ')}`,
    );

    await page.click('#view-search');
    await page.setInputFiles('#file', { name: 'again.png', mimeType: 'image/png', buffer: original });
    await page.waitForSelector('#results .card');
    const found = await page
      .locator('#results .card')
      .evaluateAll((cards) => cards.map((c) => Number((c as HTMLElement).dataset.id)));
    expect(found[0]).toBe(ids.copy); // the kept copy: the same pixels
    expect(found).not.toContain(ids.original);
    expect(found).not.toContain(ids.small);
    expect(errors).toEqual([]);
    await page.close();
  });
});

describe("the Duplicates view's choices", () => {
  it('keeps everything by default, asks before a delete, and leaves alone a member not alike to another keeper', async () => {
    const made = await startTestApp({ LOOKALIKE_MMPROJ: DEMO_MMPROJ });
    const page = await browser.newPage();
    try {
      // a keeper with two members at 0.98 to it that are 0.92 to each other
      const step = Math.acos(0.98);
      const at = (angle: number) =>
        l2Normalize(
          Float32Array.from({ length: 64 }, (_, i) => (i === 0 ? Math.cos(angle) : i === 1 ? Math.sin(angle) : 0)),
        );
      const g = made.app.runtime.parts().gallery;
      const add = async (i: number, angle: number, width: number) =>
        (await g.add({ ...fakeImage(i), width }, at(angle), { source: null, label: null })).id;
      const [a, b, c] = [await add(1, 0, 128), await add(2, step, 64), await add(3, -step, 64)];
      const url = await made.app.listen({ port: 0, host: '127.0.0.1' });
      const open = async () => {
        await page.goto(url);
        await page.waitForSelector('body[data-ready="true"]');
        await page.click('#view-duplicates');
        const group = page.locator('.dup-group', { has: page.locator(`.card[data-id="${a}"]`) });
        await group.waitFor();
        return group;
      };
      let group = await open();
      const choice = group.getByLabel('what to do with the others');
      const apply = group.getByRole('button', { name: 'Apply' });
      expect(await choice.inputValue()).toBe('keep');
      expect(await apply.isDisabled()).toBe(true);
      await choice.selectOption('delete');
      expect(await apply.isDisabled()).toBe(false);

      group = await open(); // a choice is not remembered
      expect(await group.getByLabel('what to do with the others').inputValue()).toBe('keep');

      // another keeper: the scores are against it, and c (0.92 to b) stays
      await group.locator(`.card[data-id="${b}"] input[type="radio"]`).check();
      expect(await group.locator(`.card[data-id="${a}"] .score`).textContent()).toBe('0.980');
      expect(await group.locator(`.card[data-id="${c}"] .score`).textContent()).toBe('0.921');
      expect(await group.locator(`.card[data-id="${c}"]`).getAttribute('class')).toMatch(/\bbelow\b/);
      expect(await group.locator(`.card[data-id="${c}"] .stays`).isVisible()).toBe(true);
      await group.getByLabel('what to do with the others').selectOption('delete');
      const asked: string[] = [];
      page.once('dialog', (d) => {
        asked.push(d.message());
        void d.dismiss();
      });
      await group.getByRole('button', { name: 'Apply' }).click();
      await expect.poll(() => asked.length).toBe(1);
      expect(asked[0]).toBe(`Delete 1 picture (#${a}) and keep #${b}?`);
      expect((await made.app.inject(`/api/images/${a}`)).statusCode).toBe(200); // dismissed: nothing changed
      page.once('dialog', (d) => {
        void d.accept();
      });
      await group.getByRole('button', { name: 'Apply' }).click();
      await group.waitFor({ state: 'detached' });
      expect((await made.app.inject(`/api/images/${a}`)).statusCode).toBe(404);
      expect((await made.app.inject(`/api/images/${c}`)).statusCode).toBe(200);
      expect((await made.app.inject(`/api/images/${b}`)).statusCode).toBe(200);
    } finally {
      await page.close();
      await made.close();
    }
  });
});

describe('the Duplicates view with an API key (LOOKALIKE_API_KEY)', () => {
  it('asks for the key when Apply answers 401, then applies with it', async () => {
    const keyed = await startTestApp({ LOOKALIKE_API_KEY: 'sesame' });
    const page = await browser.newPage();
    try {
      const original = await scenePng(962);
      const add = async (name: string, data: Buffer) => {
        const body = multipart({ image: { filename: name, data } });
        const res = await keyed.app.inject({
          method: 'POST',
          url: '/api/images',
          headers: { authorization: 'Bearer sesame', ...body.headers },
          payload: body.payload,
        });
        expect(res.statusCode, res.body).toBe(201);
        return res.json().id as number;
      };
      const [a, b] = [await add('k-a.png', original), await add('k-b.jpg', await recompressedCopy(original, 0.75, 70))];
      await page.goto(await keyed.app.listen({ port: 0, host: '127.0.0.1' }));
      await page.waitForSelector('body[data-ready="true"]');
      await page.click('#view-duplicates');
      await page.fill('#dup-threshold', '0.999');
      await page.click('#dup-find');
      await page.waitForFunction(() => !(document.getElementById('dup-find') as HTMLButtonElement).disabled);
      const group = page.locator('.dup-group', { has: page.locator(`.card[data-id="${a}"]`) });
      await group.getByLabel('what to do with the others').selectOption('delete');
      page.on('dialog', (d) => {
        void d.accept();
      });
      await group.getByRole('button', { name: 'Apply' }).click();
      await page.waitForSelector('#duplicates #api-key:not([hidden])');
      expect(await page.textContent('#message')).toMatch(/needs its API key to change the gallery/);
      await page.fill('#api-key', 'sesame');
      await group.getByRole('button', { name: 'Apply' }).click();
      await group.waitFor({ state: 'detached' });
      expect((await keyed.app.inject(`/api/images/${b}`)).statusCode).toBe(404);
      await page.click('#view-search');
      expect(await page.locator('#add #api-key').count()).toBe(1); // the key box went back to the add form
    } finally {
      await page.close();
      await keyed.close();
    }
  });
});

describe('taking results away', () => {
  it('downloads the selected results as a ZIP of their thumbnails', async () => {
    const page = await browser.newPage();
    await page.goto(base);
    await page.waitForSelector('body[data-ready="true"]');
    await page.setInputFiles('#file', { name: 'q.png', mimeType: 'image/png', buffer: await scenePng(961) });
    await page.waitForSelector('#results .card');
    expect(await page.isVisible('#download-zip')).toBe(false);
    const cards = page.locator('#results .card');
    const picked = [await cards.nth(0).getAttribute('data-id'), await cards.nth(2).getAttribute('data-id')];
    await cards.nth(0).locator('.pick input').check();
    await cards.nth(2).locator('.pick input').check();
    expect(await page.textContent('#download-zip')).toBe('Download 2 selected (zip of thumbnails)');
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download-zip')]);
    const zip = readFileSync((await download.path())!);
    // two central-directory entries, named "<id>-<name>.webp" for the two ticked
    expect(zip.toString('latin1').split('PK\x01\x02').length - 1).toBe(2);
    for (const id of picked) expect(zip.includes(Buffer.from(`${id}-`))).toBe(true);
    expect(zip.readUInt32LE(zip.length - 22)).toBe(0x06054b50); // ends with the end-of-directory record
    await page.close();
  });
});

describe('the page describes a held-out picture with the trained demo text model (LOOKALIKE_TEXT_MODEL=demo)', () => {
  let vl: TestApp;
  let vlBase: string;
  const test = readFashion('t10k');
  // a held-out ankle boot (never in the demo gallery, never trained on): the first of the 20 queries (t10k-01045),
  // which the model names in both languages (it named 18 of the 20 in English, all 20 in Chinese)
  const boot = demoSplit(test.labels).queries.filter((q) => FASHION_CLASSES[test.labels[q]!] === 'ankle boot')[0]!;
  beforeAll(async () => {
    vl = await startTestApp({ LOOKALIKE_TEXT_MODEL: 'demo' });
    vlBase = await vl.app.listen({ port: 0, host: '127.0.0.1' });
  });
  afterAll(async () => vl?.close());

  it.each([
    ['zh', '请用中文描述这张图片', '短靴', /^[\p{Script=Han}\p{P}]+$/u],
    ['en', 'Describe this image.', 'ankle boot', /^[A-Z][a-z -]+\.$/],
  ] as const)('%s: asked "%s", it answers with a sentence naming it (%s)', async (lang, prompt, name, sentence) => {
    const page = await browser.newPage();
    try {
      await page.goto(vlBase);
      await page.waitForSelector('body[data-ready="true"]');
      await page.setInputFiles('#file', {
        name: fashionName(boot),
        mimeType: 'image/png',
        buffer: await fashionPng(test, boot),
      });
      await page.waitForSelector('#results .card');
      await page.fill('#describe-prompt', prompt);
      await page.click('#describe-button');
      await page.waitForSelector('#description[data-done]');
      const text = (await page.textContent('#description'))!.trim();
      expect(text).toMatch(sentence);
      const names = lang === 'zh' ? FASHION_CLASSES_ZH : FASHION_CLASSES;
      expect(
        namesIn(text, names, lang).map((c) => names[c]),
        text,
      ).toEqual([name]); // it, and no other class
      await page.screenshot({ path: join(ROOT, 'test', '.tmp', `page-describe-${lang}.png`), fullPage: true });
    } finally {
      await page.close();
    }
  });
});
