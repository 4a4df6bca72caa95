// bench/quality: how well the configured model finds and names pictures, in the figures immich and Towhee publish: kNN
// accuracy, mAP@10 of image search, zero-shot top-1 (with an embedding model), open-set rejection (two classes left out
// of the labelled set: AUROC, and accuracy at the configured thresholds) and the time per image. A second table puts
// the classifiers side by side on the held-out queries: KNN, the linear probe (trained on the gallery's vectors) and
// zero-shot, each with its accuracy and calibration (ECE), and the `trusted` answer of trustedAnswer(). With a text
// model (LOOKALIKE_TEXT_MODEL), a third: describe accuracy, re-rank mAP@10 and few-shot accuracy
// (bench/instruct-quality.ts). With a reranker (LOOKALIKE_RERANK_MODEL), another table: re-ranking's mAP@10 before and
// after, for image queries and (with an embedding model) the class names in English and Chinese, and the time it takes
// (rerankSection).
//   npm run bench:quality                          (the configured model, LOOKALIKE_* as for npm start; the demo by default)
//   npm run bench:quality -- --folder <dir>        (a labelled folder, one sub-folder per class, instead of Fashion-MNIST)
//   npm run bench:quality -- --json                (one JSON object instead of the table)
//   LOOKALIKE_EMBED_MODEL=demo LOOKALIKE_RERANK_MODEL=demo npm run bench:quality -- --rerank-depths 10,20,50
// Fashion-MNIST: the gallery is the first --gallery-per-class test images of each class, the queries the next
// --queries-per-class (defaults 100 and 20: the demo's split, on which scripts/reference/train.py measured PyTorch). A
// folder: per class, the files in name order, the first 80% gallery and the rest queries.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { VlEmbedder } from '../src/engine/encoder/vl-embedder.js';
import {
  FASHION_CLASSES,
  FASHION_CLASSES_ZH,
  GALLERY_PER_CLASS,
  QUERIES_PER_CLASS,
  demoSplit,
  fashionPng,
  readFashion,
} from '../src/engine/demo/fashion-mnist.js';
import { classify, expectedCalibrationError, type KnnResult } from '../src/engine/knn/knn.js';
import { predictProbe, toProbeData, trainProbe, type ProbeAnswer } from '../src/engine/knn/probe.js';
import {
  MIN_KNN_SUPPORT,
  trustedAnswer,
  zeroShot as zeroShotOf,
  type ZeroShotResult,
} from '../src/engine/knn/zero-shot.js';
import { serverModels, type ModelSet } from '../src/application/models/model-set.js';
import { DEMO_MODELS_DIR } from '../src/application/models/resolve.js';
import { Reranker, type Query } from '../src/engine/vlm/rerank.js';
import type { Config } from '../src/core/config.js';
import { parseCli, runCli, UsageError } from '../scripts/cli-common.js';
import { table } from './common.js';
import {
  measureInstruct,
  renderPng,
  type InstructFigures,
  type Picture,
  type ReadItem,
  type Render,
} from './instruct-quality.js';

const USAGE =
  'usage: npm run bench:quality -- [--folder <dir>] [--gallery-per-class N] [--queries-per-class N] ' +
  '[--rerank-depths 10,20] [--json]';
interface Item {
  label: string;
  load: () => Promise<Buffer>;
}

function fashionItems(
  galleryPer: number,
  queriesPer: number,
): { gallery: Item[]; queries: Item[]; names: Record<string, string> } {
  const test = readFashion('t10k');
  const { gallery, queries } = demoSplit(test.labels, galleryPer, queriesPer);
  const item = (i: number): Item => ({ label: FASHION_CLASSES[test.labels[i]!]!, load: () => fashionPng(test, i) });
  return {
    gallery: gallery.map(item),
    queries: queries.map(item),
    names: Object.fromEntries(FASHION_CLASSES.map((c, i) => [c, FASHION_CLASSES_ZH[i]!])),
  };
}

function folderItems(folder: string): { gallery: Item[]; queries: Item[]; names: Record<string, string> } {
  const gallery: Item[] = [],
    queries: Item[] = [];
  for (const label of readdirSync(folder).sort()) {
    if (!statSync(join(folder, label)).isDirectory()) continue;
    const files = readdirSync(join(folder, label)).sort();
    const cut = Math.max(1, Math.floor(files.length * 0.8));
    files.forEach((f, i) =>
      (i < cut ? gallery : queries).push({ label, load: async () => readFileSync(join(folder, label, f)) }),
    );
  }
  if (!gallery.length || !queries.length)
    throw new UsageError(`${folder} needs sub-folders of pictures, one per class, with at least 2 pictures each`);
  return { gallery, queries, names: {} };
}

/** What the demo Instruct model reads: instruct.json's held-out renders (the demo queries with words on a tag), and
 *  the plain queries (answer "none"). */
async function demoReads(decode: (png: Buffer) => Promise<Picture['image']>, queries: Item[]): Promise<ReadItem[]> {
  const style = JSON.parse(readFileSync(join(DEMO_MODELS_DIR, 'instruct.json'), 'utf8')).reading;
  const test = readFashion('t10k');
  const reads: ReadItem[] = [];
  for (const r of style.renders as Render[]) {
    reads.push({ image: await decode(await renderPng(test, r, style)), answer: r.words.join(' ') });
  }
  for (const q of queries) reads.push({ image: await decode(await q.load()), answer: 'none' });
  return reads;
}

const dot = (a: Float32Array, b: Float32Array) => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
};

/**
 * Area under the ROC curve: the probability that a random positive scores above a random negative (ties count half).
 */
export function auroc(positives: number[], negatives: number[]): number {
  let wins = 0;
  for (const p of positives) for (const n of negatives) wins += p > n ? 1 : p === n ? 0.5 : 0;
  return wins / (positives.length * negatives.length);
}

const concat = (vectors: Float32Array[]) => {
  const out = new Float32Array(vectors.length * (vectors[0]?.length ?? 0));
  vectors.forEach((v, i) => out.set(v, i * v.length));
  return out;
};

/**
 * Each classifier's top-1 accuracy and ECE on the held-out queries, split where KNN is trusted by the old rule
 * (answered, with MIN_KNN_SUPPORT neighbours of its class) and elsewhere, and the accuracy of trustedAnswer()'s pick.
 */
function sideBySide(truths: string[], knn: KnnResult[], probe: ProbeAnswer[], zs: ZeroShotResult[] | null) {
  const knnTrusted = knn.map((k) => !k.unknown && (k.votes[0]?.count ?? 0) >= MIN_KNN_SUPPORT);
  const answers: Record<string, { label: string | null; confidence: number }[]> = {
    KNN: knn.map((k) => ({ label: k.candidate, confidence: k.confidence })),
    probe: probe.map((p) => ({ label: p.label, confidence: p.probability })),
  };
  if (zs) answers['zero-shot'] = zs.map((z) => ({ label: z.candidate, confidence: z.probability }));
  answers['trusted (trustedAnswer)'] = truths.map((_, i) => {
    const pick = trustedAnswer(knn[i]!, zs?.[i] ?? null, probe[i]!);
    return pick === 'knn' ? answers.KNN![i]! : pick === 'probe' ? answers.probe![i]! : answers['zero-shot']![i]!;
  });
  const share = (rows: boolean[]) => (rows.length ? rows.filter(Boolean).length / rows.length : null);
  const rows = Object.entries(answers).map(([name, a]) => {
    const right = a.map((x, i) => x.label === truths[i]);
    return {
      name,
      accuracy: share(right),
      ece: expectedCalibrationError(a.map((x, i) => ({ confidence: x.confidence, right: right[i]! }))),
      whereKnnTrusted: share(right.filter((_, i) => knnTrusted[i])),
      elsewhere: share(right.filter((_, i) => !knnTrusted[i])),
    };
  });
  return { rows, knnTrusted: knnTrusted.filter(Boolean).length, probe: rows.find((r) => r.name === 'probe')! };
}

/** mAP@10's term for one query: precision at each hit of the first 10, over min(10, pictures of its class). */
function averagePrecision(labels: string[], truth: string, relevant: number): number {
  let hits = 0,
    ap = 0;
  labels.slice(0, 10).forEach((l, i) => {
    if (l === truth) {
      hits++;
      ap += hits / (i + 1);
    }
  });
  return ap / Math.min(10, relevant);
}

interface RerankRow {
  queries: string;
  count: number;
  before: number;
  after: Record<number, number>;
  msPerQuery: number;
}

/**
 * Re-ranking with the configured reranker: for image queries and for the class names as words (English and, on
 * Fashion-MNIST, Chinese), mAP@10 in the embedding's order and after the reranker re-scored its top `depth`
 * (src/engine/vlm/rerank.ts Reranker, as search runs it, on pictures decoded as search decodes them), and the time one
 * query's re-rank took at the largest depth. The demo reranker's rows sit beside PyTorch's figures on the same split
 * (src/engine/demo/models/reranker.json).
 */
async function rerankSection(
  models: ModelSet,
  data: { gallery: Item[]; queries: Item[]; names: Record<string, string> },
  gallery: Float32Array[],
  queries: Float32Array[],
  depths: number[],
): Promise<RerankRow[]> {
  const { encoder, judge } = models;
  if (!models.rerankModel || !judge) return [];
  const deepest = Math.max(...depths);
  // the reranker's own decode: search decodes with the encoder's, to the same token limits in the demo
  const decode = (image: Buffer) => models.rerankModel!.decode(image);
  const images = await Promise.all(data.gallery.map(async (g) => g.load()));
  const relevant = (label: string) => data.gallery.filter((g) => g.label === label).length;
  const cases: { name: string; query: (i: number) => Promise<Query>; vectors: Float32Array[]; truths: string[] }[] = [
    {
      name: 'image',
      vectors: queries,
      truths: data.queries.map((q) => q.label),
      query: async (i) => ({ image: await decode(await data.queries[i]!.load()), key: `image:${i}` }),
    },
  ];
  const labels = [...new Set(data.gallery.map((g) => g.label))].sort();
  const wordSets: [string, string[]][] = [['words (en)', labels]];
  if (Object.keys(data.names).length) wordSets.push(['words (zh)', labels.map((l) => data.names[l]!)]);
  for (const [name, words] of encoder instanceof VlEmbedder ? wordSets : []) {
    const vectors: Float32Array[] = [];
    for (const w of words) vectors.push(await (encoder as VlEmbedder).embedText(w));
    cases.push({ name, vectors, truths: labels, query: async (i) => ({ text: words[i]!, key: `text:${words[i]}` }) });
  }
  const rows: RerankRow[] = [];
  for (const c of cases) {
    const reranker = new Reranker(judge.judge, judge.key, deepest, 3_600_000);
    const before: number[] = [],
      after: Record<number, number[]> = Object.fromEntries(depths.map((d) => [d, []]));
    let ms = 0;
    for (const [qi, vector] of c.vectors.entries()) {
      const truth = c.truths[qi]!;
      const ranked = gallery
        .map((g, i) => ({ id: i, score: dot(vector, g) }))
        .sort((a, b) => b.score - a.score)
        .slice(0, deepest);
      before.push(
        averagePrecision(
          ranked.map((r) => data.gallery[r.id]!.label),
          truth,
          relevant(truth),
        ),
      );
      const query = await c.query(qi);
      const started = performance.now();
      const { results } = await reranker.rerank(query, ranked, (r) => decode(images[r.id]!));
      ms += performance.now() - started;
      const score = new Map(results.map((r) => [r.id, r.rerankScore!]));
      for (const d of depths) {
        // the top d re-scored (ties keep the embedding's order, as Reranker sorts), the rest after them
        const head = ranked
          .slice(0, d)
          .map((r, i) => ({ ...r, i }))
          .sort((a, b) => score.get(b.id)! - score.get(a.id)! || a.i - b.i);
        after[d]!.push(
          averagePrecision(
            [...head, ...ranked.slice(d)].map((r) => data.gallery[r.id]!.label),
            truth,
            relevant(truth),
          ),
        );
      }
    }
    const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
    rows.push({
      queries: c.name,
      count: c.vectors.length,
      before: mean(before),
      after: Object.fromEntries(depths.map((d) => [d, mean(after[d]!)])),
      msPerQuery: ms / c.vectors.length,
    });
    process.stderr.write(`re-rank: ${c.name} done (${c.vectors.length} queries)\n`);
  }
  return rows;
}

/** PyTorch's figures for the demo reranker beside the embedding demo (image queries and the class names in its order),
 *  on the demo split, by the rows' names; null for any other setup. */
function pytorchRerank(config: Config, demoSplit: boolean): Record<string, Record<string, number>> | null {
  if (
    config.LOOKALIKE_RERANK_MODEL !== 'demo' ||
    config.LOOKALIKE_EMBED_MODEL !== 'demo' ||
    config.LOOKALIKE_MMPROJ !== '' ||
    config.LOOKALIKE_RERANK_MMPROJ !== '' ||
    !demoSplit
  )
    return null;
  const { trained } = JSON.parse(readFileSync(join(DEMO_MODELS_DIR, 'reranker.json'), 'utf8'));
  return { image: trained.image, 'words (en)': trained.words_en, 'words (zh)': trained.words_zh };
}

runCli(USAGE, async () => {
  const { values, config } = parseCli(
    process.argv.slice(2),
    {
      folder: { type: 'string', help: 'a labelled folder (one sub-folder per class) instead of Fashion-MNIST' },
      'gallery-per-class': {
        type: 'string',
        help: `Fashion-MNIST gallery pictures per class (default ${GALLERY_PER_CLASS})`,
      },
      'queries-per-class': {
        type: 'string',
        help: `Fashion-MNIST held-out queries per class (default ${QUERIES_PER_CLASS})`,
      },
      'rerank-depths': {
        type: 'string',
        help:
          "with a reranker: how many of the embedding's top candidates it re-scores, a list (default " +
          'LOOKALIKE_RERANK_TOP_N)',
      },
      json: { type: 'boolean', help: 'print one JSON object' },
    },
    USAGE,
  );
  const depths = String(values['rerank-depths'] ?? config.LOOKALIKE_RERANK_TOP_N)
    .split(',')
    .map(Number);
  if (depths.some((d) => !Number.isInteger(d) || d < 1 || d > 100))
    throw new UsageError('--rerank-depths takes whole numbers from 1 to 100, comma-separated');
  const data = values.folder
    ? folderItems(String(values.folder))
    : fashionItems(
        Number(values['gallery-per-class'] ?? GALLERY_PER_CLASS),
        Number(values['queries-per-class'] ?? QUERIES_PER_CLASS),
      );
  const models = await serverModels(config, (m) => process.stderr.write(`${m}\n`));
  const { encoder } = models;
  try {
    const started = performance.now();
    const embed = async (items: Item[]) => {
      const out: Float32Array[] = [];
      for (const it of items) out.push((await encoder.embed(await it.load())).vector);
      return out;
    };
    const gallery = await embed(data.gallery);
    const queries = await embed(data.queries);
    const msPerImage = (performance.now() - started) / (gallery.length + queries.length);
    const knnOpts = {
      k: config.LOOKALIKE_KNN_K,
      temperature: config.LOOKALIKE_KNN_TEMPERATURE,
      minSimilarity: config.LOOKALIKE_KNN_MIN_SIMILARITY,
      minConfidence: config.LOOKALIKE_KNN_MIN_CONFIDENCE,
    };
    const ranked = (q: Float32Array, keep: (i: number) => boolean) =>
      gallery
        .map((g, i) => ({ id: i, score: dot(q, g), label: data.gallery[i]!.label }))
        .filter((n) => keep(n.id))
        .sort((a, b) => b.score - a.score);
    // closed set: every class labelled
    let right = 0;
    const aps: number[] = [];
    const knnResults: KnnResult[] = [];
    queries.forEach((q, qi) => {
      const truth = data.queries[qi]!.label;
      const neighbours = ranked(q, () => true);
      const knn = classify(neighbours, knnOpts); // classify() keeps the k nearest
      knnResults.push(knn);
      if (knn.candidate === truth) right++;
      const relevant = data.gallery.filter((g) => g.label === truth).length;
      let hits = 0,
        ap = 0;
      neighbours.slice(0, 10).forEach((n, i) => {
        if (n.label === truth) {
          hits++;
          ap += hits / (i + 1);
        }
      });
      aps.push(ap / Math.min(10, relevant));
    });
    // open set: the last two classes left out of the labelled gallery; their queries should be answered "unknown"
    const labels = [...new Set(data.gallery.map((g) => g.label))].sort();
    const left = values.folder ? labels.slice(-2) : ['bag', 'ankle boot'];
    const known: number[] = [],
      unknownScores: number[] = [];
    let openRight = 0;
    queries.forEach((q, qi) => {
      const truth = data.queries[qi]!.label;
      const k = classify(
        ranked(q, (i) => !left.includes(data.gallery[i]!.label)),
        knnOpts,
      );
      (left.includes(truth) ? unknownScores : known).push(k.bestSimilarity ?? -1);
      if (left.includes(truth) ? k.unknown : k.label === truth) openRight++;
    });
    const figures: Record<string, number | string | null> = {
      model: encoder.identity.fileName,
      images: gallery.length,
      queries: queries.length,
      knnAccuracy: right / queries.length,
      mapAt10: aps.reduce((a, b) => a + b, 0) / aps.length,
      openSetAuroc: auroc(known, unknownScores),
      openSetAccuracy: openRight / queries.length,
      openSetLeftOut: left.join(', '),
      msPerImage,
      zeroShotEn: null,
      zeroShotZh: null,
    };
    // the linear probe, trained on the gallery's vectors as the server trains it (cross-validated lambda)
    const trainStarted = performance.now();
    const probe = trainProbe(
      toProbeData(
        encoder.dim,
        data.gallery.map((g) => g.label),
        concat(gallery),
      ),
      { modelId: encoder.identity.modelId, stamp: '' },
    );
    const probeSeconds = (performance.now() - trainStarted) / 1000;
    const probeAnswers = queries.map((q) => predictProbe(probe, q));
    let zeroShotAnswers: ZeroShotResult[] | null = null;
    if (encoder instanceof VlEmbedder) {
      // one text per label, in label order: English through the template, Chinese names as they are (as PyTorch did)
      const embedAll = async (texts: string[]) => {
        const vectors: Float32Array[] = [];
        for (const text of texts) vectors.push(await encoder.embedText(text));
        return vectors;
      };
      const top1 = (vectors: Float32Array[]) =>
        queries.filter(
          (q, qi) =>
            labels[vectors.map((v) => dot(q, v)).reduce((best, s, i, all) => (s > all[best]! ? i : best), 0)] ===
            data.queries[qi]!.label,
        ).length / queries.length;
      const vectors = await embedAll(labels.map((l) => config.LOOKALIKE_ZEROSHOT_TEMPLATE.replace('{label}', l)));
      figures.zeroShotEn = top1(vectors);
      if (Object.keys(data.names).length) figures.zeroShotZh = top1(await embedAll(labels.map((l) => data.names[l]!)));
      zeroShotAnswers = queries.map((q) =>
        zeroShotOf(q, labels, vectors, {
          temperature: config.LOOKALIKE_ZEROSHOT_TEMPERATURE,
          minProbability: config.LOOKALIKE_ZEROSHOT_MIN_PROBABILITY,
        }),
      );
    }
    const truths = data.queries.map((q) => q.label);
    const side = sideBySide(truths, knnResults, probeAnswers, zeroShotAnswers);
    Object.assign(figures, {
      probeAccuracy: side.probe.accuracy,
      probeEce: side.probe.ece,
      probeLambda: probe.lambda,
      probeTrainSeconds: probeSeconds,
      probeCvAccuracy: probe.crossValidation.accuracy,
    });
    let instruct: InstructFigures | null = null;
    if (models.vlm) {
      const vlm = models.vlm;
      const pictures = async (items: Item[], vectors: Float32Array[]) => {
        const out: Picture[] = [];
        for (const [i, it] of items.entries())
          out.push({ label: it.label, image: await vlm.decode(await it.load()), vector: vectors[i]! });
        return out;
      };
      const classes = values.folder ? labels : [...FASHION_CLASSES];
      instruct = await measureInstruct(
        vlm,
        await pictures(data.gallery, gallery),
        await pictures(data.queries, queries),
        {
          classes,
          classesZh: classes.map((c) => data.names[c] ?? c),
          knn: knnOpts,
          topN: config.LOOKALIKE_RERANK_TOP_N,
          maxClasses: config.LOOKALIKE_FEWSHOT_MAX_CLASSES,
          progress: (m) => process.stderr.write(`${m}\n`),
          reads:
            config.LOOKALIKE_TEXT_MODEL === 'demo' && !values.folder
              ? await demoReads((png) => vlm.decode(png), data.queries)
              : undefined,
        },
      );
    }
    const rerank = await rerankSection(models, data, gallery, queries, depths);
    const demoSplitUsed =
      !values.folder && values['gallery-per-class'] === undefined && values['queries-per-class'] === undefined;
    const pytorch = pytorchRerank(config, demoSplitUsed);
    if (values.json) {
      console.log(JSON.stringify({ ...figures, classifiers: side, instruct, rerank, rerankPytorch: pytorch }));
      return;
    }
    const pct = (x: unknown) => (typeof x === 'number' ? x.toFixed(3) : 'n/a');
    console.log(
      table(
        [
          'model',
          'gallery',
          'queries',
          'kNN accuracy',
          'mAP@10',
          'zero-shot top-1 (en)',
          'zero-shot top-1 (zh)',
          `open set: AUROC (${figures.openSetLeftOut} left out)`,
          'open set: accuracy at the thresholds',
          'ms per image',
        ],
        [
          [
            String(figures.model),
            gallery.length,
            queries.length,
            pct(figures.knnAccuracy),
            pct(figures.mapAt10),
            pct(figures.zeroShotEn),
            pct(figures.zeroShotZh),
            pct(figures.openSetAuroc),
            pct(figures.openSetAccuracy),
            msPerImage.toFixed(1),
          ],
        ],
      ),
    );
    console.log(
      `\nclassifiers on the ${queries.length} held-out queries (probe: lambda ${probe.lambda} ` +
        `by ${probe.crossValidation.folds}-fold cross-validation, ` +
        `trained in ${probeSeconds.toFixed(1)} s; "where KNN is trusted": not unknown, at least ${MIN_KNN_SUPPORT} ` +
        `neighbours of its class, ${side.knnTrusted} queries):`,
    );
    console.log(
      table(
        ['classifier', 'accuracy', 'ECE', 'accuracy where KNN is trusted', 'accuracy elsewhere'],
        side.rows.map((r) => [r.name, pct(r.accuracy), pct(r.ece), pct(r.whereKnnTrusted), pct(r.elsewhere)]),
      ),
    );
    if (instruct) {
      const { describe, rerank, fewShot } = instruct;
      console.log(
        `\nthe text model on the ${queries.length} held-out queries (describe: greedy, the answer names the right ` +
          `class and no other; ` +
          `re-rank: the Instruct judge on image search's top ${rerank.topN}; few-shot: method=fewshot's ` +
          `prompt, ${config.LOOKALIKE_FEWSHOT_MAX_CLASSES} classes from the KNN vote):`,
      );
      console.log(
        table(
          ['describe (en)', 'describe (zh)', 'mAP@10 before re-rank', 'mAP@10 after', 'ms per re-ranked query'],
          [
            [
              pct(describe.en),
              pct(describe.zh),
              pct(rerank.mapAt10Before),
              pct(rerank.mapAt10After),
              rerank.msPerQuery.toFixed(0),
            ],
          ],
        ),
      );
      console.log(
        table(
          ['few-shot examples per class', 'few-shot accuracy', 'KNN accuracy', 'ms per query'],
          Object.entries(fewShot.accuracy).map(([n, acc]) => [
            n,
            pct(acc),
            pct(fewShot.knnAccuracy),
            fewShot.msPerQuery[n]!.toFixed(0),
          ]),
        ),
      );
      console.log(
        `describe, for ` +
          `example: ${[...describe.examples.en, ...describe.examples.zh].map((t) => JSON.stringify(t)).join(', ')}`,
      );
      if (instruct.reading) {
        console.log(
          table(
            ['reading: renders with words, exact', 'plain pictures, "none"', 'for example'],
            [[pct(instruct.reading.withWords), pct(instruct.reading.without), instruct.reading.examples.join('; ')]],
          ),
        );
      }
    }
    if (rerank.length) {
      console.log(
        `\nre-ranking ` +
          `with ${config.LOOKALIKE_RERANK_MODEL === 'demo' ? 'the demo reranker' : basename(config.LOOKALIKE_RERANK_MODEL)}: ` +
          `mAP@10 in the search's order and after the reranker ` +
          `re-scored its top N (PyTorch: the same model and split in ` +
          `transformers${
            pytorch ? '' : ': only for the ' + 'demo reranker beside the embedding demo on the demo split'
          }):`,
      );
      const py = (row: string, key: string) => pct(pytorch?.[row]?.[key]);
      console.log(
        table(
          [
            'queries',
            'count',
            'mAP@10 before',
            'PyTorch',
            ...depths.flatMap((d) => [`after, N = ${d}`, 'PyTorch']),
            `ms per query (N = ${Math.max(...depths)})`,
          ],
          rerank.map((r) => [
            r.queries,
            r.count,
            pct(r.before),
            py(r.queries, 'before'),
            ...depths.flatMap((d) => [pct(r.after[d]), py(r.queries, `after@${d}`)]),
            r.msPerQuery.toFixed(0),
          ]),
        ),
      );
    }
  } finally {
    await models.dispose();
  }
});
