// bench/duplicates: precision and recall of duplicate groups over a threshold sweep, for the configured model (the
// demo by default), on pictures Debian ships (gnome-backgrounds) and variants of them made with sharp: JPEG quality
// 20-50, resize, crops, a small rotation, a mirror image, a watermark. Every variant of a picture is a duplicate of it
// and of its other variants; the negatives are every other pair, among them the light and dark versions of one
// background (*-l / *-d), which look alike but are not duplicates. Groups are made as the gallery makes them: around
// keepers (the most pixels, then the first), each taking the images at the threshold or above to it.
//   npm run bench:duplicates                 (LOOKALIKE_* as for npm start)
//   npm run bench:duplicates -- --json
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import sharp, { type Sharp } from 'sharp';
import { groupAroundKeepers } from '../src/engine/gallery/duplicates.js';
import { dot } from '../src/core/util/vectors.js';
import { localEmbedder } from '../src/application/models/model-set.js';
import { parseCli, runCli, UsageError } from '../scripts/cli-common.js';
import { table } from './common.js';

const USAGE = 'usage: npm run bench:duplicates -- [--folder <dir>] [--json]';
const BACKGROUNDS = '/usr/share/backgrounds/gnome';
const SIDE = 768; // originals are rendered at most this wide: the variants' cost stays small, the model sees the same

type Variant = [name: string, make: (png: Buffer, w: number, h: number) => Sharp];
const watermark = (w: number, h: number) =>
  Buffer.from(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}">` +
      `<text x="${w * 0.05}" y="${h * 0.92}" font-size="${Math.round(h / 12)}" font-family="sans-serif" ` +
      `fill="white" fill-opacity="0.7">© lookalike 2026</text></svg>`,
  );
export const VARIANTS: Variant[] = [
  ['jpeg q20', (p) => sharp(p).jpeg({ quality: 20 })],
  ['jpeg q35', (p) => sharp(p).jpeg({ quality: 35 })],
  ['jpeg q50', (p) => sharp(p).jpeg({ quality: 50 })],
  [
    'resize 50%',
    (p, w) =>
      sharp(p)
        .resize(Math.round(w / 2))
        .png(),
  ],
  [
    'crop 90%',
    (p, w, h) =>
      sharp(p)
        .extract({
          left: Math.round(w * 0.05),
          top: Math.round(h * 0.05),
          width: Math.round(w * 0.9),
          height: Math.round(h * 0.9),
        })
        .png(),
  ],
  [
    'crop 75%',
    (p, w, h) =>
      sharp(p)
        .extract({
          left: Math.round(w * 0.125),
          top: Math.round(h * 0.125),
          width: Math.round(w * 0.75),
          height: Math.round(h * 0.75),
        })
        .png(),
  ],
  ['rotate 3°', (p) => sharp(p).rotate(3, { background: '#808080' }).png()],
  ['mirror', (p) => sharp(p).flop().png()],
  [
    'watermark',
    (p, w, h) =>
      sharp(p)
        .composite([{ input: watermark(w, h) }])
        .png(),
  ],
];

interface Item {
  group: number;
  name: string;
  pair: string | null;
  data: Buffer;
  pixels: number;
}

/**
 * The originals (rendered to PNG, at most SIDE wide) and their variants; `pair`: the light/dark family a background
 * belongs to.
 */
async function items(folder: string): Promise<Item[]> {
  const files = readdirSync(folder)
    .filter((f) => /\.(webp|svg|png|jpe?g|jxl)$/i.test(f))
    .sort();
  const out: Item[] = [];
  for (const [group, f] of files.entries()) {
    const png = await sharp(join(folder, f)).resize({ width: SIDE, withoutEnlargement: true }).png().toBuffer();
    const { width, height } = await sharp(png).metadata();
    const pair = /^(.*)-[ld]\.\w+$/.exec(f)?.[1] ?? null;
    out.push({ group, name: f, pair, data: png, pixels: width! * height! });
    for (const [v, make] of VARIANTS) {
      const { data, info } = await make(png, width!, height!).toBuffer({ resolveWithObject: true });
      out.push({ group, name: `${f} ${v}`, pair, data, pixels: info.width * info.height });
    }
  }
  return out;
}

interface Row {
  threshold: number;
  pairPrecision: number;
  pairRecall: number;
  precision: number;
  recall: number;
  f1: number;
  goPrecision: number;
  goRecall: number;
  lightDarkMerged: number;
}

/**
 * Precision and recall over pairs, as scored (pairs at t or above) and as grouped (in one group); and over the images
 * that could go (every member of a group but its keeper): right when the keeper is a variant of the same picture, out
 * of all the images that could go rightly (every image but one of each picture).
 */
function sweep(items: Item[], vectors: Float32Array[], thresholds: number[]): Row[] {
  const n = items.length;
  const sim = items.map((_, i) => items.map((_, j) => dot(vectors[i]!, vectors[j]!)));
  const scores: { i: number; j: number; dup: boolean; lightDark: boolean }[] = [];
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      const [a, b] = [items[i]!, items[j]!];
      scores.push({
        i,
        j,
        dup: a.group === b.group,
        lightDark: a.group !== b.group && a.pair !== null && a.pair === b.pair,
      });
    }
  }
  const positives = scores.filter((p) => p.dup).length;
  const shouldGo = n - new Set(items.map((it) => it.group)).size;
  // keeper order as the gallery's: the most pixels, then the first added (all have the same metadata)
  const order = items.map((_, i) => i).sort((a, b) => items[b]!.pixels - items[a]!.pixels || a - b);
  return thresholds.map((t) => {
    const all = items.map((_, i) => i);
    const groups = groupAroundKeepers(order, (i) => all.filter((j) => j !== i && sim[i]![j]! >= t));
    const groupOf = new Map(groups.flatMap((g, k) => g.map((i) => [i, k] as const)));
    let tp = 0,
      fp = 0,
      rawTp = 0,
      rawFp = 0,
      lightDark = 0;
    for (const p of scores) {
      if (sim[p.i]![p.j]! >= t) {
        if (p.dup) rawTp++;
        else rawFp++;
      }
      if (groupOf.has(p.i) && groupOf.get(p.i) === groupOf.get(p.j)) {
        if (p.dup) tp++;
        else fp++;
        if (p.lightDark) lightDark++;
      }
    }
    const go = groups.flatMap(([keeper, ...others]) => others.map((i) => items[i]!.group === items[keeper!]!.group));
    const goRight = go.filter(Boolean).length;
    const precision = tp + fp ? tp / (tp + fp) : 1,
      recall = tp / positives;
    return {
      threshold: t,
      pairPrecision: rawTp + rawFp ? rawTp / (rawTp + rawFp) : 1,
      pairRecall: rawTp / positives,
      precision,
      recall,
      f1: precision + recall ? (2 * precision * recall) / (precision + recall) : 0,
      goPrecision: go.length ? goRight / go.length : 1,
      goRecall: goRight / shouldGo,
      lightDarkMerged: lightDark,
    };
  });
}

runCli(USAGE, async () => {
  const { values, config } = parseCli(
    process.argv.slice(2),
    {
      folder: {
        type: 'string',
        help: `pictures to make duplicates of (default ${BACKGROUNDS}, from Debian's gnome-backgrounds)`,
      },
      json: { type: 'boolean', help: 'one JSON object instead of the table' },
    },
    USAGE,
  );
  const folder = typeof values.folder === 'string' ? values.folder : BACKGROUNDS;
  if (!existsSync(folder))
    throw new UsageError(
      `${folder} is missing: apt-get install gnome-backgrounds (scripts/setup.sh does), or give --folder`,
    );
  const set = await items(folder);
  const models = await localEmbedder(config);
  try {
    const started = performance.now();
    const vectors: Float32Array[] = [];
    for (const it of set) vectors.push((await models.encoder.embed(it.data)).vector);
    const encodeMs = performance.now() - started;
    const thresholds = [0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.92, 0.94, 0.95, 0.96, 0.97, 0.98, 0.99, 0.995];
    const rows = sweep(set, vectors, thresholds);
    // the default: the best F1 of the groups; of equals, the higher threshold (fewer surprises in a review)
    const best = rows.reduce((a, b) => (b.f1 > a.f1 || (b.f1 === a.f1 && b.threshold > a.threshold) ? b : a));
    // which changes the model still sees as the same picture: each variant's score to its original, at the default
    const originalOf = new Map(set.flatMap((it, i) => (it.name.includes(' ') ? [] : [[it.group, i] as const])));
    const byVariant = VARIANTS.map(([v]) => {
      const s = set.flatMap((it, i) =>
        it.name.endsWith(` ${v}`) ? [dot(vectors[i]!, vectors[originalOf.get(it.group)!]!)] : [],
      );
      return { variant: v, recall: s.filter((x) => x >= best.threshold).length / s.length, lowest: Math.min(...s) };
    });
    const summary = {
      model: models.encoder.identity.modelId,
      originals: set.filter((i) => !i.name.includes(' ')).length,
      images: set.length,
      variants: VARIANTS.map(([v]) => v),
      encodeMsPerImage: encodeMs / set.length,
      best: best.threshold,
      configured: config.duplicateThreshold,
      rows,
      byVariant,
    };
    if (values.json) {
      process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
      return;
    }
    process.stdout.write(
      `model ${summary.model}; ${summary.originals} pictures from ${folder}, ${summary.images} images with their ` +
        `variants ` +
        `(${summary.variants.join(', ')}); ${summary.encodeMsPerImage.toFixed(0)} ms per image\n\n`,
    );
    const f = (x: number) => x.toFixed(3);
    const heads = [
      'threshold',
      'pairs: precision',
      'pairs: recall',
      'groups: precision',
      'groups: recall',
      'groups: F1',
      'could go: precision',
      'could go: recall',
      'light/dark pairs grouped',
    ];
    process.stdout.write(
      `${table(
        heads,
        rows.map((r) => [
          `${r.threshold}${r.threshold === best.threshold ? ' (best F1)' : ''}${r.threshold === summary.configured ? ' (configured)' : ''}`,
          f(r.pairPrecision),
          f(r.pairRecall),
          f(r.precision),
          f(r.recall),
          f(r.f1),
          f(r.goPrecision),
          f(r.goRecall),
          r.lightDarkMerged,
        ]),
      )}\n\n`,
    );
    process.stdout.write(
      `${table(
        [`variant: found at ${best.threshold}`, 'share of originals', 'lowest score'],
        byVariant.map((b) => [b.variant, f(b.recall), f(b.lowest)]),
      )}\n`,
    );
  } finally {
    await models.dispose();
  }
});
