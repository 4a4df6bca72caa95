// What the Instruct VL model does on a labelled split, in the figures scripts/reference/train_instruct.py measures in
// PyTorch (src/demo/models/instruct.json): describe accuracy in English and Chinese (the share of queries whose greedy
// answer names the right class and no other), the re-rank judge's mAP@10 before and after re-ranking image search's
// top N and its time, and few-shot accuracy at 1, 3 and 5 examples against KNN on the same queries. Every picture is
// judged as decoded from its original file (the pixels PyTorch saw), through lookalike's own prompts and readings:
// answerFollowUp (describe), Reranker with instructJudge, pickExamples and classifyFewShot (method=fewshot).
import type { DecodedImage } from '../src/image/decode.js';
import { classify, type KnnOptions } from '../src/knn/knn.js';
import { answerFollowUp } from '../src/vlm/conversation.js';
import { classifyFewShot, pickExamples } from '../src/vlm/few-shot.js';
import { instructJudge, Reranker } from '../src/vlm/rerank.js';
import type { VisionLanguageModel } from '../src/vlm/vision-language-model.js';

/** A picture of the split: its class, its pixels as the VL model takes them, and its search vector. */
export interface Picture { label: string; image: DecodedImage; vector: Float32Array }

export const DESCRIBE_PROMPTS = { en: 'Describe this image.', zh: '请用中文描述这张图片' } as const;
export const FEWSHOT_EXAMPLES = [1, 3, 5] as const;

/** The classes a text names: in English as whole words ("shirt" is not inside "t-shirt"; a plural s counts). */
export function namesIn(text: string, names: readonly string[], lang: 'en' | 'zh'): number[] {
  const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return names.flatMap((n, i) => (lang === 'zh' ? text.includes(n)
    : new RegExp(`(?<![\\w-])${escape(n)}s?(?![\\w-])`, 'i').test(text)) ? [i] : []);
}

const dot = (a: Float32Array, b: Float32Array) => { let s = 0; for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!; return s; };

/** Average precision of the first 10 results (every class has at least 10 pictures in the gallery). */
const apAt10 = (labels: string[], truth: string) => {
  let hits = 0, ap = 0;
  labels.slice(0, 10).forEach((l, i) => { if (l === truth) { hits++; ap += hits / (i + 1); } });
  return ap / 10;
};

export interface InstructFigures {
  describe: { en: number; zh: number; examples: { en: string[]; zh: string[] } };
  rerank: { topN: number; mapAt10Before: number; mapAt10After: number; msPerQuery: number };
  fewShot: { accuracy: Record<string, number>; knnAccuracy: number; msPerQuery: Record<string, number> };
}

export async function measureInstruct(vlm: VisionLanguageModel, gallery: Picture[], queries: Picture[],
  opts: { classes: readonly string[]; classesZh: readonly string[]; knn: KnnOptions; topN: number; maxClasses: number;
    progress?: (msg: string) => void }): Promise<InstructFigures> {
  const say = opts.progress ?? (() => {});
  const ranked = (q: Picture, label?: string) => gallery.map((g, id) => ({ id, score: dot(q.vector, g.vector), label: g.label }))
    .filter((n) => label === undefined || n.label === label).sort((a, b) => b.score - a.score);

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
  let before = 0, after = 0, rerankMs = 0;
  for (const [i, q] of queries.entries()) {
    const top = ranked(q).slice(0, Math.max(10, opts.topN));
    const started = performance.now();
    const { results } = await reranker.rerank({ image: q.image, key: `query ${i}` }, top, async (r) => gallery[r.id]!.image);
    rerankMs += performance.now() - started;
    before += apAt10(top.map((r) => r.label), q.label);
    after += apAt10(results.map((r) => r.label), q.label);
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
        nearest: async (label: string, k: number) => ranked(q, label).slice(0, k).map((n) => n.id),
        load: async (id: number) => gallery[id]!.image,
      };
      const classes = await pickExamples(source, undefined, examples, { maxClasses: opts.maxClasses, maxExamples: examples });
      if ((await classifyFewShot(vlm, q.image, classes)).label === q.label) right++;
      if ((i + 1) % 50 === 0) say(`few-shot (${examples} examples): ${i + 1}/${queries.length}`);
    }
    fewShot.accuracy[examples] = right / queries.length;
    fewShot.msPerQuery[examples] = (performance.now() - started) / queries.length;
  }
  return {
    describe,
    rerank: { topN: opts.topN, mapAt10Before: before / queries.length, mapAt10After: after / queries.length, msPerQuery: rerankMs / queries.length },
    fewShot,
  };
}
