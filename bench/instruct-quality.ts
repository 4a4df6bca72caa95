// What the Instruct VL model does on a labelled split, in the figures scripts/reference/train_instruct.py measures in
// PyTorch (src/engine/demo/models/instruct.json): describe accuracy in English and Chinese (the share of queries whose
// greedy answer names the right class and no other), the re-rank judge's mAP@10 before and after re-ranking image
// search's top N and its time, few-shot accuracy at 1, 3 and 5 examples against KNN on the same queries, and reading
// accuracy (exact words) on renders of the queries with words on a price tag and without. Every picture is judged as
// decoded from its file (the pixels PyTorch saw), through lookalike's own prompts and readings: answerFollowUp
// (describe and reading), Reranker with instructJudge, pickExamples and classifyFewShot (method=fewshot).
import { READ_PROMPT } from '../src/engine/vlm/caption.js';
import sharp from 'sharp';
import type { FashionSet } from '../src/engine/demo/fashion-mnist.js';
import type { DecodedImage } from '../src/engine/image/decode.js';
import { resizeBicubic } from '../src/engine/image/resample.js';
import { classify, type KnnOptions } from '../src/engine/knn/knn.js';
import { answerFollowUp } from '../src/engine/vlm/conversation.js';
import { classifyFewShot, pickExamples } from '../src/engine/vlm/few-shot.js';
import { instructJudge, Reranker } from '../src/engine/vlm/rerank.js';
import type { VisionLanguageModel } from '../src/engine/vlm/vision-language-model.js';

/** A picture of the split: its class, its pixels as the VL model takes them, and its search vector. */
export interface Picture {
  label: string;
  image: DecodedImage;
  vector: Float32Array;
}

export const DESCRIBE_PROMPTS = { en: 'Describe this image.', zh: '请用中文描述这张图片' } as const;
export const FEWSHOT_EXAMPLES = [1, 3, 5] as const;
/** How train_instruct.py draws words on pictures (instruct.json's `reading`): a white tag in a corner, one word a
 *  line, in a 5x7 pixel font (7 rows of 5, '#' ink) with each font pixel `scale` x `scale`, on the picture enlarged to
 *  `side` x `side`. Sizes are in font pixels. */
export interface TagStyle {
  tag: { side: number; scale: number; margin: number; padding: number; advance: number; lineHeight: number };
  font: Record<string, string>;
}
/** A held-out render: a test picture, the words on its tag (none: the enlarged picture alone) and the tag's corner
 *  (0-3: top left, top right, bottom left, bottom right). */
export interface Render {
  picture: number;
  words: string[];
  corner: number;
}

/** `words` drawn on a grey picture of the tag's side (in place), as train_instruct.py's draw_tag, pixel for pixel. */
export function drawTag(grey: Uint8Array, words: string[], corner: number, style: TagStyle): Uint8Array {
  const { side, scale: s, margin, padding, advance, lineHeight } = style.tag;
  const w = (2 * padding + Math.max(...words.map((word) => word.length)) * advance - 1) * s;
  const h = (2 * padding + words.length * lineHeight - 1) * s;
  const x0 = corner % 2 === 0 ? margin * s : side - margin * s - w;
  const y0 = corner < 2 ? margin * s : side - margin * s - h;
  const fill = (x: number, y: number, width: number, height: number, v: number) => {
    for (let yy = y; yy < y + height; yy++) grey.fill(v, yy * side + x, yy * side + x + width);
  };
  fill(x0, y0, w, h, 255);
  words.forEach((word, line) =>
    [...word].forEach((ch, k) => {
      const glyph = style.font[ch];
      if (!glyph) throw new Error(`the tag font has no "${ch}"`);
      glyph.split(' ').forEach((row, r) =>
        [...row].forEach((px, c) => {
          if (px === '#')
            fill(x0 + (padding + k * advance + c) * s, y0 + (padding + line * lineHeight + r) * s, s, s, 0);
        }),
      );
    }),
  );
  return grey;
}

/** A render as a PNG: the test picture enlarged as transformers' processor and lookalike do (Pillow's bicubic), then
 *  its tag. It is a size the model takes as it is (its mmproj's token range holds it), so nothing resizes it again. */
export async function renderPng(set: FashionSet, render: Render, style: TagStyle): Promise<Buffer> {
  const n = set.side * set.side,
    side = style.tag.side;
  const rgb = new Uint8Array(n * 3);
  set.images.subarray(render.picture * n, (render.picture + 1) * n).forEach((v, i) => rgb.fill(v, 3 * i, 3 * i + 3));
  const big = resizeBicubic(rgb, set.side, set.side, side, side);
  const grey = Uint8Array.from({ length: side * side }, (_, i) => big[3 * i]!);
  if (render.words.length) drawTag(grey, render.words, render.corner, style);
  return sharp(Buffer.from(grey), { raw: { width: side, height: side, channels: 1 } })
    .png()
    .toBuffer();
}

/** A picture to read and the answer it should get: its words one space apart, or "none". */
export interface ReadItem {
  image: DecodedImage;
  answer: string;
}

/** The classes a text names: in English as whole words ("shirt" is not inside "t-shirt"; a plural s counts). */
export function namesIn(text: string, names: readonly string[], lang: 'en' | 'zh'): number[] {
  const escapeRegex = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return names.flatMap((n, i) =>
    (lang === 'zh' ? text.includes(n) : new RegExp(`(?<![\\w-])${escapeRegex(n)}s?(?![\\w-])`, 'i').test(text))
      ? [i]
      : [],
  );
}

const dot = (a: Float32Array, b: Float32Array) => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
};

/** Average precision of the first 10 results (every class has at least 10 pictures in the gallery). */
const apAt10 = (labels: string[], truth: string) => {
  let hits = 0,
    ap = 0;
  labels.slice(0, 10).forEach((l, i) => {
    if (l === truth) {
      hits++;
      ap += hits / (i + 1);
    }
  });
  return ap / 10;
};

export interface InstructFigures {
  describe: { en: number; zh: number; examples: { en: string[]; zh: string[] } };
  rerank: { topN: number; mapAt10Before: number; mapAt10After: number; msPerQuery: number };
  fewShot: { accuracy: Record<string, number>; knnAccuracy: number; msPerQuery: Record<string, number> };
  /** Exact-match reading accuracy on the renders with words and on those without (answer "none"); null: none given. */
  reading: { withWords: number; without: number; examples: string[] } | null;
}

export async function measureInstruct(
  vlm: VisionLanguageModel,
  gallery: Picture[],
  queries: Picture[],
  opts: {
    classes: readonly string[];
    classesZh: readonly string[];
    knn: KnnOptions;
    topN: number;
    maxClasses: number;
    reads?: ReadItem[];
    progress?: (msg: string) => void;
  },
): Promise<InstructFigures> {
  const say = opts.progress ?? (() => {});
  const ranked = (q: Picture, label?: string) =>
    gallery
      .map((g, id) => ({ id, score: dot(q.vector, g.vector), label: g.label }))
      .filter((n) => label === undefined || n.label === label)
      .sort((a, b) => b.score - a.score);

  const describe = { en: 0, zh: 0, examples: { en: [] as string[], zh: [] as string[] } };
  for (const lang of ['en', 'zh'] as const) {
    const names = lang === 'en' ? opts.classes : opts.classesZh;
    for (const [i, q] of queries.entries()) {
      const { text } = await answerFollowUp(vlm, q.image, [], DESCRIBE_PROMPTS[lang], { maxTokens: 32 });
      const named = namesIn(text, names, lang);
      if (named.length === 1 && opts.classes[named[0]!] === q.label) describe[lang]++;
      if (i < 3) describe.examples[lang].push(text);
      if ((i + 1) % 50 === 0) say(`describe (${lang}): ${i + 1}/${queries.length}`);
    }
    describe[lang] /= queries.length;
  }

  const reranker = new Reranker(instructJudge(vlm), 'bench', opts.topN, 600_000);
  let before = 0,
    after = 0,
    rerankMs = 0;
  for (const [i, q] of queries.entries()) {
    const top = ranked(q).slice(0, Math.max(10, opts.topN));
    const started = performance.now();
    const { results } = await reranker.rerank(
      { image: q.image, key: `query ${i}` },
      top,
      async (r) => gallery[r.id]!.image,
    );
    rerankMs += performance.now() - started;
    before += apAt10(
      top.map((r) => r.label),
      q.label,
    );
    after += apAt10(
      results.map((r) => r.label),
      q.label,
    );
    if ((i + 1) % 50 === 0) say(`re-rank: ${i + 1}/${queries.length}`);
  }

  const fewShot = { accuracy: {} as Record<string, number>, knnAccuracy: 0, msPerQuery: {} as Record<string, number> };
  const labels = [...new Set(gallery.map((g) => g.label))].sort(); // the store's order: by name
  const votes = queries.map((q) => classify(ranked(q), opts.knn));
  fewShot.knnAccuracy = votes.filter((k, i) => k.candidate === queries[i]!.label).length / queries.length;
  for (const examples of FEWSHOT_EXAMPLES) {
    let right = 0;
    const started = performance.now();
    for (const [i, q] of queries.entries()) {
      const voted = votes[i]!.votes.map((v) => v.label);
      const source = {
        labels: () => [...voted, ...labels.filter((l) => !voted.includes(l))],
        nearest: async (label: string, k: number) =>
          ranked(q, label)
            .slice(0, k)
            .map((n) => n.id),
        load: async (id: number) => gallery[id]!.image,
      };
      const classes = await pickExamples(source, undefined, examples, {
        maxClasses: opts.maxClasses,
        maxExamples: examples,
      });
      if ((await classifyFewShot(vlm, q.image, classes)).label === q.label) right++;
      if ((i + 1) % 50 === 0) say(`few-shot (${examples} examples): ${i + 1}/${queries.length}`);
    }
    fewShot.accuracy[examples] = right / queries.length;
    fewShot.msPerQuery[examples] = (performance.now() - started) / queries.length;
  }
  let reading: InstructFigures['reading'] = null;
  if (opts.reads?.length) {
    const right = { words: 0, wordsTotal: 0, none: 0, noneTotal: 0 };
    const examples: string[] = [];
    for (const [i, r] of opts.reads.entries()) {
      const { text } = await answerFollowUp(vlm, r.image, [], READ_PROMPT, { maxTokens: 8 });
      const none = r.answer === 'none';
      right[none ? 'noneTotal' : 'wordsTotal']++;
      if (text.trim() === r.answer) right[none ? 'none' : 'words']++;
      if (examples.length < 3 && !none) examples.push(`${r.answer} -> ${text}`);
      if ((i + 1) % 50 === 0) say(`reading: ${i + 1}/${opts.reads.length}`);
    }
    reading = { withWords: right.words / right.wordsTotal, without: right.none / right.noneTotal, examples };
  }
  return {
    reading,
    describe,
    rerank: {
      topN: opts.topN,
      mapAt10Before: before / queries.length,
      mapAt10After: after / queries.length,
      msPerQuery: rerankMs / queries.length,
    },
    fewShot,
  };
}
