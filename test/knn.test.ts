// Weighted KNN: the vote arithmetic, then classification on a small labelled gallery built with the real encoder.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildIndex } from '../src/builder/build-index.js';
import { VisionEncoder } from '../src/encoder/vision-encoder.js';
import { Gallery } from '../src/gallery/gallery.js';
import { classify } from '../src/knn/knn.js';
import { scenePng, variant, writeImageFolder } from './helpers/images.js';
import { TINY_MMPROJ } from './helpers/models.js';

describe('classify', () => {
  const opts = { k: 20, temperature: 0.07, minSimilarity: 0.5, minConfidence: 0.5 };

  it('weights votes by exp(sim / T) and normalises them', () => {
    const r = classify([
      { id: 1, score: 0.9, label: 'cat' }, { id: 2, score: 0.8, label: 'dog' }, { id: 3, score: 0.7, label: 'cat' }, { id: 4, score: 0.95, label: null },
    ], opts);
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
    const split = classify([{ id: 1, score: 0.9, label: 'cat' }, { id: 2, score: 0.9, label: 'dog' }, { id: 3, score: 0.9, label: 'owl' }], opts);
    expect(split).toMatchObject({ unknown: true, label: null });
    expect(split.reason).toMatch(/confidence/);
    expect(classify([], opts)).toMatchObject({ unknown: true, reason: 'no labelled neighbours' });
  });

  it('uses only the k nearest labelled neighbours and stays finite at tiny temperatures', () => {
    const r = classify([{ id: 1, score: 0.99, label: 'a' }, { id: 2, score: 0.98, label: 'b' }, { id: 3, score: 0.97, label: 'b' }], { ...opts, k: 1, temperature: 0.001 });
    expect(r.votes).toHaveLength(1);
    expect(r.confidence).toBe(1);
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
    gallery = await Gallery.open({ dataDir: join(dir, 'data'), identity: encoder.identity, indexKind: 'flat', indexParams: { hnswM: 16, efSearch: 64, nprobe: 4 } });
    const summary = await buildIndex(gallery, encoder, { folder: join(dir, 'images'), labelsFromFolders: true, progressStream: process.stderr });
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
    const e = await gallery.evaluate(knn);
    expect(e.n).toBe(20);
    expect(e.accuracy).toBeGreaterThanOrEqual(0.9);
    expect(Object.keys(e.confusion).sort()).toEqual([...classes].sort());
    expect(Object.values(e.confusion).flatMap((r) => Object.values(r)).reduce((a, b) => a + b, 0)).toBe(20);
    expect(e.ece).toBeGreaterThanOrEqual(0);
    expect(e.ece).toBeLessThanOrEqual(1);
  });
});
