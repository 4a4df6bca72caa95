// The committed fixture of transformers' outputs (scripts/reference/reference_outputs.py) and the comparisons the
// fidelity test makes with it.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

export const REFERENCE_DIR = fileURLToPath(new URL('../fixtures/reference/', import.meta.url));

interface Blob {
  offset: number;
  shape: number[];
}
export interface VisionCase {
  name: string;
  file: string;
  about: string;
  source: [number, number];
  size: [number, number];
  tokens: number;
  main: Blob;
  deepstack: Blob;
  pooled: Blob;
  ggml: { main: Blob; deepstack: Blob };
  numericsMaxDiff: number;
  maxAbs: number;
}
export interface Reference {
  minTokens: number;
  maxTokens: number;
  models: { vision: string; embedding: [string, string]; reranker: [string, string] };
  vision: VisionCase[];
  broken: { case: string; break: string; main: Blob; deepstack: Blob; pooled: Blob }[];
  embedding: {
    name: string;
    instruction: string;
    text: string | null;
    image: string | null;
    promptTokens: number;
    vector: Blob;
  }[];
  reranker: { queryText: string | null; queryImage: string | null; document: string; score: number }[];
}

export function loadReference(): { ref: Reference; get: (b: Blob) => Float32Array; path: (p: string) => string } {
  const ref = JSON.parse(readFileSync(join(REFERENCE_DIR, 'reference.json'), 'utf8')) as Reference;
  const bin = readFileSync(join(REFERENCE_DIR, 'reference.bin'));
  const all = new Float32Array(bin.buffer, bin.byteOffset, bin.byteLength / 4);
  const get = (b: Blob) => all.subarray(b.offset, b.offset + b.shape.reduce((a, c) => a * c, 1));
  return { ref, get, path: (p) => join(REFERENCE_DIR, p) };
}

/**
 * llama.cpp's rows are [main | deepstack 1 | deepstack 2 ...] per token; the fixture keeps main and deepstack apart.
 */
export function splitRows(
  rows: Float32Array,
  nTokens: number,
  dim: number,
  nDeep: number,
): { main: Float32Array; deepstack: Float32Array } {
  const main = new Float32Array(nTokens * dim),
    deepstack = new Float32Array(nDeep * nTokens * dim);
  const width = dim * (1 + nDeep);
  for (let t = 0; t < nTokens; t++) {
    main.set(rows.subarray(t * width, t * width + dim), t * dim);
    for (let d = 0; d < nDeep; d++)
      deepstack.set(rows.subarray(t * width + (d + 1) * dim, t * width + (d + 2) * dim), (d * nTokens + t) * dim);
  }
  return { main, deepstack };
}

export function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} against ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

export function cosine(a: Float32Array, b: Float32Array): number {
  let ab = 0,
    aa = 0,
    bb = 0;
  for (let i = 0; i < a.length; i++) {
    ab += a[i]! * b[i]!;
    aa += a[i]! * a[i]!;
    bb += b[i]! * b[i]!;
  }
  return ab / Math.sqrt(aa * bb);
}
