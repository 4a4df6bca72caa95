// Weighted KNN: the vote arithmetic, then classification on a small labelled gallery built with the real encoder.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildIndex } from '../src/application/usecases/build-index.js';
import { VisionEncoder } from '../src/engine/encoder/vision-encoder.js';
import { Gallery } from '../src/engine/gallery/gallery.js';
import { classify, summarize, type KnnResult } from '../src/engine/knn/knn.js';
import { formatEvaluation } from '../src/engine/knn/report.js';
import { leaveOneOut } from '../src/engine/knn/evaluate.js';
import { sha256 } from '../src/core/util/hash.js';
import {
  fitTemperature,
  MIN_KNN_SUPPORT,
  PROBE_MIN_PER_CLASS,
  trustedAnswer,
  trustedResult,
  zeroShot,
  type ZeroShotResult,
} from '../src/engine/knn/zero-shot.js';
import type { ProbeAnswer } from '../src/engine/knn/probe.js';
import { scenePng, variant, writeImageFolder } from './helpers/images.js';
import { TINY_MMPROJ } from './helpers/models.js';

describe('classify', () => {
  const opts = { k: 20, temperature: 0.07, minSimilarity: 0.5, minConfidence: 0.5 };

  it('weights votes by exp(sim / T) and normalises them', () => {
    const r = classify(
      [
        { id: 1, score: 0.9, label: 'cat' },
        { id: 2, score: 0.8, label: 'dog' },
        { id: 3, score: 0.7, label: 'cat' },
        { id: 4, score: 0.95, label: null },
      ],
      opts,
    );
    const cat = Math.exp(0.9 / 0.07) + Math.exp(0.7 / 0.07);
    const dog = Math.exp(0.8 / 0.07);
    expect(r.label).toBe('cat');
    expect(r.confidence).toBeCloseTo(cat / (cat + dog), 10);
    expect(r.votes.map((v) => v.label)).toEqual(['cat', 'dog']);
    expect(r.votes.reduce((s, v) => s + v.share, 0)).toBeCloseTo(1, 12);
    expect(r.neighbours).toHaveLength(3); // unlabelled images do not vote
    expect(r.unknown).toBe(false);
  });

  it('answers unknown for a weak best match or a split vote, and keeps the candidate', () => {
    const weak = classify([{ id: 1, score: 0.3, label: 'cat' }], opts);
    expect(weak).toMatchObject({ unknown: true, label: null, candidate: 'cat' });
    expect(weak.reason).toMatch(/similarity/);
    const split = classify(
      [
        { id: 1, score: 0.9, label: 'cat' },
        { id: 2, score: 0.9, label: 'dog' },
        { id: 3, score: 0.9, label: 'owl' },
      ],
      opts,
    );
    expect(split).toMatchObject({ unknown: true, label: null });
    expect(split.reason).toMatch(/confidence/);
    expect(classify([], opts)).toMatchObject({ unknown: true, reason: 'no labelled neighbours' });
  });

  it('uses only the k nearest labelled neighbours', () => {
    const r = classify(
      [
        { id: 1, score: 0.99, label: 'a' },
        { id: 2, score: 0.98, label: 'b' },
        { id: 3, score: 0.97, label: 'b' },
      ],
      { ...opts, k: 1 },
    );
    expect(r.votes).toHaveLength(1);
    expect(r.neighbours.map((n) => n.id)).toEqual([1]);
  });

  it('stays finite at tiny temperatures, where exp(sim / T) alone overflows', () => {
    // exp(0.99 / 0.001) is Infinity in doubles: without care every share is NaN
    const r = classify(
      [
        { id: 1, score: 0.99, label: 'a' },
        { id: 2, score: 0.98, label: 'b' },
        { id: 3, score: 0.97, label: 'b' },
      ],
      { ...opts, k: 3, temperature: 0.001 },
    );
    expect(r.label).toBe('a');
    expect(r.confidence).toBeCloseTo(1 / (1 + Math.exp(-10) + Math.exp(-20)), 12);
    expect(r.votes[1]!.share).toBeCloseTo((Math.exp(-10) + Math.exp(-20)) / (1 + Math.exp(-10) + Math.exp(-20)), 12);
  });

  it('computes the calibration error and the threshold sweep of an evaluation exactly', () => {
    const result = (candidate: string, confidence: number, bestSimilarity: number) => ({
      label: candidate,
      candidate,
      confidence,
      unknown: false,
      reason: null,
      bestSimilarity,
      votes: [],
      neighbours: [],
    });
    // bin 9 (confidence 0.95): 3 of 4 right; bin 5 (0.55): 1 of 2 right
    const e = summarize([
      { truth: 'a', result: result('a', 0.95, 0.9) },
      { truth: 'a', result: result('a', 0.95, 0.8) },
      { truth: 'b', result: result('b', 0.95, 0.7) },
      { truth: 'b', result: result('a', 0.95, 0.3) },
      { truth: 'c', result: result('c', 0.55, 0.6) },
      { truth: 'c', result: result('a', 0.55, 0.2) },
    ]);
    expect(e.ece).toBeCloseTo((4 / 6) * Math.abs(0.75 - 0.95) + (2 / 6) * Math.abs(0.5 - 0.55), 12);
    expect(e.accuracy).toBeCloseTo(4 / 6, 12);
    expect(e.similarity.right).toMatchObject({ min: 0.6, max: 0.9 });
    expect(e.similarity.wrong).toMatchObject({ min: 0.2, max: 0.3 });
    expect(e.sweeps.minSimilarity[0]).toEqual({ threshold: 0.2, answered: 1, accuracy: 4 / 6 });
    expect(e.sweeps.minSimilarity.find((r) => r.threshold === 0.6)).toEqual({
      threshold: 0.6,
      answered: 4 / 6,
      accuracy: 1,
    });
    // answering only above 0.6 leaves the four right ones: the lowest threshold with all answers right
    expect(e.suggested.minSimilarity).toBe(0.6);
  });

  it('suggests no threshold when none makes the answers 95% right, and says so', () => {
    const result = (candidate: string, confidence: number, bestSimilarity: number) => ({
      label: candidate,
      candidate,
      confidence,
      unknown: false,
      reason: null,
      bestSimilarity,
      votes: [],
      neighbours: [],
    });
    // the most similar and the most confident answer is wrong: no threshold leaves only right answers
    const e = summarize([
      { truth: 'a', result: result('b', 0.9, 0.9) },
      { truth: 'a', result: result('a', 0.6, 0.5) },
      { truth: 'b', result: result('a', 0.7, 0.4) },
    ]);
    expect(e.suggested).toEqual({ minSimilarity: null, minConfidence: null, targetAccuracy: 0.95 });
    const text = formatEvaluation(e);
    expect(text).toMatch(/suggested: none: no value of either threshold makes the answers at least 95\.0% right/);
    expect(text).not.toMatch(/LOOKALIKE_KNN_MIN_SIMILARITY=/);
  });
});

describe('zero-shot', () => {
  it('gives a softmax of cosine / T that sums to 1, and unknown under the threshold', () => {
    const img = Float32Array.from([1, 0, 0]);
    const labels = [Float32Array.from([0.6, 0.8, 0]), Float32Array.from([0.8, 0.6, 0]), Float32Array.from([0, 0, 1])];
    const r = zeroShot(img, ['a', 'b', 'c'], labels, { temperature: 0.1, minProbability: 0.5 });
    const e = [Math.exp(0.6 / 0.1), Math.exp(0.8 / 0.1), Math.exp(0)];
    expect(r.scores.map((s) => s.label)).toEqual(['b', 'a', 'c']);
    expect(r.probability).toBeCloseTo(e[1]! / (e[0]! + e[1]! + e[2]!), 6); // cosines of float32 vectors
    expect(r.scores.reduce((s, x) => s + x.probability, 0)).toBeCloseTo(1, 12);
    expect(zeroShot(img, ['a', 'b', 'c'], labels, { temperature: 10, minProbability: 0.5 })).toMatchObject({
      unknown: true,
      label: null,
      candidate: 'b',
    });
  });

  it('trusts KNN only when it answered with at least MIN_KNN_SUPPORT neighbours of its class, else zero-shot', () => {
    expect(MIN_KNN_SUPPORT).toBe(3);
    const knn = (label: string | null, count: number): KnnResult => ({
      label,
      candidate: 'a',
      confidence: 0.9,
      unknown: label === null,
      reason: null,
      bestSimilarity: 0.9,
      votes: [{ label: 'a', count, weight: 1, share: 0.9 }],
      neighbours: [],
    });
    const zs = zeroShot(Float32Array.from([1, 0]), ['a', 'b'], [Float32Array.from([1, 0]), Float32Array.from([0, 1])], {
      temperature: 0.1,
      minProbability: 0.5,
    }) as ZeroShotResult;
    expect(trustedAnswer(knn('a', 3), zs)).toBe('knn'); // enough examples: the gallery's own pictures win
    expect(trustedAnswer(knn('a', 2), zs)).toBe('zero-shot'); // too few neighbours of its class
    expect(trustedAnswer(knn(null, 10), zs)).toBe('zero-shot'); // KNN said unknown (open set)
    expect(trustedAnswer(null, zs)).toBe('zero-shot'); // no labelled gallery
    expect(trustedAnswer(knn('a', 2), null)).toBe('knn'); // without zero-shot, KNN even when weak
    expect(trustedAnswer(knn(null, 1), null)).toBe('knn');
    expect(trustedAnswer(null, null)).toBeNull();
  });

  it(
    'trusts the probe when each of its classes had at least PROBE_MIN_PER_CLASS labelled pictures ' +
      '(bench:quality), else as before',
    () => {
      expect(PROBE_MIN_PER_CLASS).toBe(50);
      const knn: KnnResult = {
        label: 'a',
        candidate: 'a',
        confidence: 0.9,
        unknown: false,
        reason: null,
        bestSimilarity: 0.9,
        votes: [{ label: 'a', count: 5, weight: 1, share: 0.9 }],
        neighbours: [],
      };
      const probe = (fewestPerClass: number): ProbeAnswer => ({
        label: 'b',
        probability: 0.8,
        scores: [
          { label: 'b', probability: 0.8 },
          { label: 'a', probability: 0.2 },
        ],
        trainedOn: 2 * fewestPerClass,
        fewestPerClass,
      });
      expect(trustedAnswer(knn, null, probe(50))).toBe('probe');
      expect(trustedAnswer(null, null, probe(50))).toBe('probe');
      expect(trustedAnswer(knn, null, probe(49))).toBe('knn'); // too few per class: the rule without the probe
      expect(trustedAnswer(null, null, probe(49))).toBeNull();
      expect(trustedAnswer(knn, null, null)).toBe('knn');
    },
  );

  it(
    'answers unknown far from every labelled picture whichever method is trusted (not zero-shot over the ' +
      "request's labels), or when the probe is unsure",
    () => {
      const opts = { minSimilarity: 0.5, minConfidence: 0.5, galleryLabels: true };
      const knn = (bestSimilarity: number): KnnResult =>
        classify(
          [
            { id: 1, score: bestSimilarity, label: 'a' },
            { id: 2, score: bestSimilarity, label: 'a' },
          ],
          { k: 20, temperature: 0.07, minSimilarity: 0.5, minConfidence: 0.3 },
        );
      const probe: ProbeAnswer = {
        label: 'b',
        probability: 0.8,
        scores: [
          { label: 'b', probability: 0.8 },
          { label: 'a', probability: 0.2 },
        ],
        trainedOn: 100,
        fewestPerClass: 50,
      };
      const zs = zeroShot(
        Float32Array.from([1, 0]),
        ['a', 'b'],
        [Float32Array.from([1, 0]), Float32Array.from([0, 1])],
        {
          temperature: 0.1,
          minProbability: 0.5,
        },
      );
      // near: the trusted method's answer
      expect(trustedResult('probe', knn(0.9), zs, probe, opts)).toEqual({
        from: 'probe',
        label: 'b',
        candidate: 'b',
        confidence: 0.8,
        unknown: false,
        reason: null,
      });
      expect(trustedResult('zero-shot', knn(0.9), zs, null, opts)).toMatchObject({
        from: 'zero-shot',
        label: 'a',
        unknown: false,
      });
      expect(trustedResult('knn', knn(0.9), zs, null, opts)).toMatchObject({ from: 'knn', label: 'a', unknown: false });
      // far (best similarity 0.3 < 0.5): unknown, the candidate kept, and the reason is KNN's
      const far = knn(0.3);
      expect(trustedResult('probe', far, zs, probe, opts)).toEqual({
        from: 'probe',
        label: null,
        candidate: 'b',
        confidence: 0.8,
        unknown: true,
        reason: 'best similarity 0.300 is below 0.5',
      });
      expect(trustedResult('zero-shot', far, zs, null, opts)).toMatchObject({
        label: null,
        candidate: 'a',
        unknown: true,
        reason: far.reason,
      });
      expect(trustedResult('knn', far, zs, null, opts)).toMatchObject({
        label: null,
        unknown: true,
        reason: far.reason,
      });
      // zero-shot over labels of the request's own is not judged by the gallery's pictures
      expect(trustedResult('zero-shot', far, zs, null, { ...opts, galleryLabels: false })).toMatchObject({
        label: 'a',
        unknown: false,
      });
      expect(trustedResult(null, far, null, null, opts)).toBeNull();
      // near, and the probe unsure: under KNN's confidence cut its answer is unknown too
      expect(trustedResult('probe', knn(0.9), zs, { ...probe, probability: 0.49 }, opts)).toMatchObject({
        label: null,
        candidate: 'b',
        unknown: true,
        reason: 'probe probability 0.490 is below 0.5',
      });
    },
  );

  it('fits the temperature that makes its probabilities honest', () => {
    // 80% of images closest to their true label by 0.05, 20% closer to another: neither tiny nor huge T fits
    const rows: number[][] = [],
      truth: number[] = [];
    for (let i = 0; i < 50; i++) {
      rows.push(i % 5 === 0 ? [0.25, 0.3, 0.2] : [0.3, 0.25, 0.2]);
      truth.push(0);
    }
    const fit = fitTemperature(rows, truth);
    expect(fit.accuracy).toBeCloseTo(0.8, 12);
    const nll = (t: number) =>
      rows.reduce((s, row, i) => {
        const z = row.reduce((a, c) => a + Math.exp(c / t), 0);
        return s - (row[truth[i]!]! / t - Math.log(z));
      }, 0) / rows.length;
    expect(fit.nll).toBeCloseTo(nll(fit.temperature), 3);
    expect(fit.nll).toBeLessThanOrEqual(nll(fit.temperature * 1.3));
    expect(fit.nll).toBeLessThanOrEqual(nll(fit.temperature / 1.3));
    expect(fit.temperature).toBeGreaterThan(0.005);
    expect(fit.temperature).toBeLessThan(0.5);
  });
});

describe('KNN on a labelled gallery with the real encoder', () => {
  const classes = ['alpha', 'beta', 'gamma', 'delta'];
  // The tiny model has random weights: its similarities are high for everything, so the open-set threshold sits
  // high. With a real model the defaults (0.5) apply.
  const knn = { k: 10, temperature: 0.07, minSimilarity: 0.97, minConfidence: 0.5 };
  let dir: string;
  let encoder: VisionEncoder;
  let gallery: Gallery;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'lookalike-knn-'));
    await writeImageFolder(join(dir, 'images'), classes, 5);
    encoder = await VisionEncoder.load(TINY_MMPROJ, { minTokens: 16, maxTokens: 256 });
    gallery = await Gallery.open({
      dataDir: join(dir, 'data'),
      identity: encoder.identity,
      indexKind: 'flat',
      indexParams: { hnswM: 16, efSearch: 64, nprobe: 4 },
    });
    const summary = await buildIndex(gallery, encoder, {
      folder: join(dir, 'images'),
      labelsFromFolders: true,
      progressStream: process.stderr,
    });
    expect(summary.added).toBe(20);
  });
  afterAll(async () => {
    await gallery?.close();
    await encoder?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  it('returns the right class for unseen variants', async () => {
    for (const [ci, c] of classes.entries()) {
      const unseen = await variant(await scenePng(500 + ci * 13), 5);
      const r = await gallery.classify((await encoder.embed(unseen)).vector, knn);
      expect(r.label).toBe(c);
      expect(r.unknown).toBe(false);
      expect(r.neighbours.length).toBe(10);
    }
  });

  it('answers unknown for an out-of-set image', async () => {
    for (const seed of [999, 4321]) {
      const r = await gallery.classify((await encoder.embed(await scenePng(seed))).vector, knn);
      expect(r.unknown).toBe(true);
      expect(r.label).toBeNull();
    }
  });

  it('evaluates leave-one-out: accuracy, confusion table, calibration error', async () => {
    const e = await leaveOneOut(gallery, knn);
    expect(e.n).toBe(20);
    expect(e.accuracy).toBeGreaterThanOrEqual(0.9);
    expect(Object.keys(e.confusion).sort()).toEqual([...classes].sort());
    expect(
      Object.values(e.confusion)
        .flatMap((r) => Object.values(r))
        .reduce((a, b) => a + b, 0),
    ).toBe(20);
    // the calibration error by hand: leave each image out of its own neighbours, classify, and compare each
    // confidence bin's mean confidence with its accuracy, weighted by the bin's share of the images
    const bins = new Map<number, { n: number; conf: number; right: number }>();
    for (const [ci, c] of classes.entries()) {
      for (let i = 0; i < 5; i++) {
        const source = `${c}/${i}.jpg`;
        // the image's stored vector (F16), as leave-one-out asks with: a fresh encode differs in the last bits
        const id = gallery.embeddedIdBySha(sha256(readFileSync(join(dir, 'images', source))));
        const hits = await gallery.search(gallery.storedVector(id!)!, { k: knn.k + 1 });
        expect(
          hits.some((h) => h.source === source),
          source,
        ).toBe(true);
        const r = classify(hits.filter((h) => h.source !== source).slice(0, knn.k), knn);
        const at = Math.min(9, Math.floor(r.confidence * 10));
        const bin = bins.get(at) ?? { n: 0, conf: 0, right: 0 };
        bins.set(at, {
          n: bin.n + 1,
          conf: bin.conf + r.confidence,
          right: bin.right + (r.candidate === classes[ci] ? 1 : 0),
        });
      }
    }
    const ece = [...bins.values()].reduce((s, b) => s + (b.n / 20) * Math.abs(b.right / b.n - b.conf / b.n), 0);
    expect(e.ece).toBeCloseTo(ece, 6); // FAISS scores a batch and a single query apart in the last float bits
    expect(e.suggested.targetAccuracy).toBe(0.95);
  });
});
