// Fidelity to the reference implementation: lookalike's vision encoder, embedder and reranker against transformers'
// Qwen3-VL on the same tiny models (built with transformers' own classes, converted by llama.cpp's own converter),
// from the committed fixture of scripts/reference/reference_outputs.py. No Python runs here.
//
// Bounds, from the measured numerics rather than picked to pass:
// - per token: llama.cpp's CPU graph approximates GELU through a half-precision table (tanh form, where transformers'
//   mergers use erf) and builds the patch embedding's im2col in F16. The reference script runs the same model with
//   those approximations emulated and records how far they move the outputs (numericsMaxDiff, 1.5-2e-3 on values up
//   to about 3). lookalike may differ from transformers by at most twice that; every deliberate break below differs
//   by 0.29 or more.
// - pooled: cosine >= 0.999999 on every case, resized or not (measured: 1 - 4e-8 at worst).
// - embedder: cosine >= 0.99999 (measured 1 - 2e-6 at worst: llama.cpp keeps its KV cache in F16);
//   reranker: |P(yes) difference| <= 2e-3 (measured 5e-4 at worst, from the same F16 cache).
import { copyFileSync, mkdtempSync, openSync, readFileSync, readSync, rmSync, writeSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VisionEncoder, l2Normalize, meanPool } from '../src/engine/encoder/vision-encoder.js';
import { VlEmbedder } from '../src/engine/encoder/vl-embedder.js';
import type { DecodedImage } from '../src/engine/image/decode.js';
import { readGgufHeader } from '../src/engine/gguf/reader.js';
import { VisionLanguageModel } from '../src/engine/vlm/vision-language-model.js';
import { qwenRerankerJudge } from '../src/engine/vlm/rerank.js';
import { cosine, loadReference, maxAbsDiff, splitRows, type VisionCase } from './helpers/reference.js';

const { ref, get, path } = loadReference();
const opts = { minTokens: ref.minTokens, maxTokens: ref.maxTokens, threads: 2 };
const DIM = 64,
  DEEPSTACK = 2;
const caseFile = (name: string) => path(ref.vision.find((v) => v.name === name)!.file);
const tmp = mkdtempSync(join(tmpdir(), 'lookalike-fidelity-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** The check every vision case must pass: per-token outputs within the numerics bound, and the pooled cosine. */
function visionCheck(
  c: VisionCase,
  out: { main: Float32Array; deepstack: Float32Array; pooled: Float32Array },
  want = c,
) {
  const bound = 2 * c.numericsMaxDiff;
  const main = maxAbsDiff(out.main, get(want.main)),
    deepstack = maxAbsDiff(out.deepstack, get(want.deepstack));
  return {
    ok: main <= bound && deepstack <= bound && cosine(out.pooled, get(want.pooled)) >= 0.999999,
    main,
    deepstack,
    bound,
  };
}

async function visionOutputs(encoder: VisionEncoder, image: DecodedImage) {
  const { data, nTokens } = await encoder.encodeTokens(image);
  return {
    ...splitRows(data, nTokens, DIM, DEEPSTACK),
    pooled: l2Normalize(meanPool(data, nTokens, DIM * (1 + DEEPSTACK), DIM)),
    nTokens,
  };
}

/** A copy of the vision GGUF with one thing changed, as a porting bug would change it. */
function brokenGguf(name: string, change: (file: number, header: ReturnType<typeof readGgufHeader>) => void): string {
  const out = join(tmp, `${name}.gguf`);
  copyFileSync(path(ref.models.vision), out);
  const fd = openSync(out, 'r+');
  try {
    change(fd, readGgufHeader(out));
  } finally {
    closeSync(fd);
  }
  return out;
}

describe('vision tower against transformers', () => {
  let encoder: VisionEncoder;
  beforeAll(async () => {
    encoder = await VisionEncoder.load(path(ref.models.vision), opts);
  });
  afterAll(() => encoder?.dispose());

  it.each(ref.vision.map((c) => [c.name, c] as const))(
    '%s: the pixels transformers resized, to the grey level',
    async (_name, c) => {
      const image = await encoder.decode(readFileSync(path(c.file)));
      expect([image.width, image.height]).toEqual(c.size);
      const want = await sharp(path(`resized/${c.name}.png`))
        .raw()
        .toBuffer();
      expect(maxAbsDiff(new Float32Array(image.rgb), new Float32Array(want))).toBe(0);
    },
  );

  it.each(ref.vision.map((c) => [c.name, c] as const))(
    '%s: per-token outputs and the pooled vector',
    async (_name, c) => {
      const out = await visionOutputs(encoder, await encoder.decode(readFileSync(path(c.file))));
      expect(out.nTokens).toBe(c.tokens);
      const check = visionCheck(c, out);
      expect(check.main, `main tokens, bound ${check.bound}`).toBeLessThanOrEqual(check.bound);
      expect(check.deepstack, `deepstack tokens, bound ${check.bound}`).toBeLessThanOrEqual(check.bound);
      expect(cosine(out.pooled, get(c.pooled))).toBeGreaterThanOrEqual(0.999999);
    },
  );

  it('fails against the reference with one thing broken on purpose (computed by transformers)', async () => {
    const effective = ref.broken.filter((b) => {
      const c = ref.vision.find((v) => v.name === b.case)!;
      // align_corners is a no-op on the native grid
      return maxAbsDiff(get(b.main), get(c.main)) > 2 * c.numericsMaxDiff;
    });
    expect(effective.map((b) => b.break)).toEqual(
      expect.arrayContaining([
        'swapped RoPE axes',
        'transposed position grid',
        'position interpolation without align_corners',
        'CLIP normalisation instead of 0.5/0.5',
      ]),
    );
    for (const b of effective) {
      const c = ref.vision.find((v) => v.name === b.case)!;
      const out = await visionOutputs(encoder, await encoder.decode(readFileSync(path(c.file))));
      const check = visionCheck(c, out, { ...c, ...b });
      expect(check.ok, `${b.case} with ${b.break}: main ${check.main}, bound ${check.bound}`).toBe(false);
      expect(check.main).toBeGreaterThan(50 * check.bound);
    }
  });

  it('fails when lookalike itself is broken: a transposed position grid, the wrong normalisation, BGR pixels', async () => {
    const c = ref.vision.find((v) => v.name === 'enlarge-300x200')!;
    const transposed = brokenGguf('transposed-grid', (fd, h) => {
      const t = h.tensors.find((x) => x.name === 'v.position_embd.weight')!;
      const [width, n] = t.dims as [number, number];
      const side = Math.sqrt(n),
        bytes = Buffer.alloc(width * n * 4),
        out = Buffer.alloc(width * n * 4);
      readSync(fd, bytes, 0, bytes.length, h.dataOffset + t.offset);
      for (let y = 0; y < side; y++)
        for (let x = 0; x < side; x++)
          bytes.copy(out, (x * side + y) * width * 4, (y * side + x) * width * 4, (y * side + x + 1) * width * 4);
      writeSync(fd, out, 0, out.length, h.dataOffset + t.offset);
    });
    const clipNorm = brokenGguf('clip-normalisation', (fd) => {
      const file = readFileSync(path(ref.models.vision));
      const key = file.indexOf('clip.vision.image_mean');
      const values = Buffer.alloc(12);
      [0.48145466, 0.4578275, 0.40821073].forEach((v, i) => values.writeFloatLE(v, i * 4));
      // value type, element type, count
      writeSync(fd, values, 0, 12, key + 'clip.vision.image_mean'.length + 4 + 4 + 8);
    });
    for (const file of [transposed, clipNorm]) {
      const broken = await VisionEncoder.load(file, opts);
      try {
        const check = visionCheck(c, await visionOutputs(broken, await broken.decode(readFileSync(path(c.file)))));
        expect(check.ok, file).toBe(false);
      } finally {
        await broken.dispose();
      }
    }
    const image = await encoder.decode(readFileSync(path(c.file)));
    const bgr = image.rgb.slice();
    for (let i = 0; i < bgr.length; i += 3) [bgr[i], bgr[i + 2]] = [bgr[i + 2]!, bgr[i]!];
    expect(visionCheck(c, await visionOutputs(encoder, { ...image, rgb: bgr })).ok).toBe(false);
  });
});

describe('Qwen3-VL-Embedding and -Reranker against transformers', () => {
  it("embeds words, images and both as Qwen3-VL-Embedding's own code does", async () => {
    const embedder = await VlEmbedder.load(path(ref.models.embedding[0]), path(ref.models.embedding[1]), opts);
    try {
      for (const e of ref.embedding) {
        const image = e.image ? await embedder.decode(readFileSync(caseFile(e.image))) : undefined;
        const vector = !image
          ? await embedder.embedText(e.text!, e.instruction)
          : !e.text
            ? (await embedder.encode(image)).vector
            : await embedder.embedQuery(e.text, image, e.instruction);
        expect(cosine(vector, get(e.vector)), e.name).toBeGreaterThanOrEqual(0.99999);
      }
      // one break: the item instruction where Qwen's code puts the query's
      const e = ref.embedding.find((x) => x.image && !x.text)!;
      const wrong = await embedder.embedQuery(
        '',
        await embedder.decode(readFileSync(caseFile(e.image!))),
        "Retrieve images or text relevant to the user's query.",
      );
      expect(cosine(wrong, get(e.vector))).toBeLessThan(0.999);
    } finally {
      await embedder.dispose();
    }
  });

  it("scores query-document pairs as Qwen3-VL-Reranker's own code does", async () => {
    const vlm = await VisionLanguageModel.load(path(ref.models.reranker[0]), path(ref.models.reranker[1]), {
      ...opts,
      role: 'rank',
    });
    try {
      const judge = qwenRerankerJudge(vlm, 'Given a search query, retrieve relevant candidates that answer the query.');
      const other = qwenRerankerJudge(vlm, 'Find pictures of something else entirely.');
      for (const r of ref.reranker) {
        const query = r.queryImage
          ? { image: await vlm.decode(readFileSync(caseFile(r.queryImage))), key: r.queryImage }
          : { text: r.queryText!, key: r.queryText! };
        const doc = await vlm.decode(readFileSync(caseFile(r.document)));
        expect(Math.abs((await judge(query, [doc]))[0]! - r.score), `${query.key} / ${r.document}`).toBeLessThanOrEqual(
          2e-3,
        );
        // another instruction is another prompt
        expect(Math.abs((await other(query, [doc]))[0]! - r.score)).toBeGreaterThan(2e-3);
      }
    } finally {
      await vlm.dispose();
    }
  });
});
