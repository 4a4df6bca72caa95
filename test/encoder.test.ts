// The vision encoder through the real native module and llama.cpp, on the tiny random Qwen3-VL mmproj.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dot } from '../src/core/util/vectors.js';
import { VisionEncoder } from '../src/engine/encoder/vision-encoder.js';
import { targetSize } from '../src/engine/image/decode.js';
import { sizeLimits } from '../src/engine/gguf/mmproj.js';
import { loadNative } from '../src/engine/native/binding.js';
import { BadImageError, ImageTooLargeError, ModelFileError } from '../src/core/errors.js';
import { recompressedCopy, scenePng } from './helpers/images.js';
import { MODELS_DIR, TINY_MMPROJ } from './helpers/models.js';

const bytes = (v: Float32Array) => Buffer.from(v.buffer, v.byteOffset, v.byteLength);

let encoder: VisionEncoder;
beforeAll(async () => {
  encoder = await VisionEncoder.load(TINY_MMPROJ, { minTokens: 16, maxTokens: 256 });
});
afterAll(async () => {
  await encoder?.dispose();
});

describe('VisionEncoder', () => {
  it('reports the identity of the model it loaded', () => {
    const id = encoder.identity;
    expect(id.projectorType).toBe('qwen3vl_merger');
    expect(id.fingerprint).toMatch(/^[0-9a-f]{64}$/);
    expect(id.dim).toBe(64);
    expect(id.deepstackLayers).toEqual([0, 1]);
    expect(id.modelId).toContain(id.fingerprint.slice(0, 16));
    expect([id.minTokens, id.maxTokens, id.pooling]).toEqual([16, 256, 'mean']);
  });

  it('gives bit-identical unit vectors of the reported width for the same image', async () => {
    const png = await scenePng(1);
    const a = await encoder.embed(png);
    const b = await encoder.embed(png);
    expect(a.vector.length).toBe(encoder.dim);
    expect(Math.abs(dot(a.vector, a.vector) - 1)).toBeLessThan(1e-5);
    expect(bytes(a.vector).equals(bytes(b.vector))).toBe(true);
    // 320x240 -> 320x256 aligned to 32 px: 10 x 8 tokens after the 2x2 merge
    expect([a.inputWidth, a.inputHeight, a.nTokens]).toEqual([320, 256, 80]);
  });

  it('applies EXIF orientation and flattens alpha onto white', async () => {
    const png = await scenePng(12, 320, 200);
    const turned = await sharp(png).rotate(90).png().toBuffer(); // the pixels, really rotated
    // "rotate 90 on display"
    const tagged = await sharp(png).withMetadata({ orientation: 6 }).jpeg({ quality: 100 }).toBuffer();
    const turnedJpeg = await sharp(turned).jpeg({ quality: 100 }).toBuffer();
    const a = await encoder.embed(turnedJpeg),
      b = await encoder.embed(tagged);
    expect([b.sourceWidth, b.sourceHeight]).toEqual([200, 320]);
    expect(dot(a.vector, b.vector)).toBeGreaterThan(0.999);
    const transparent = await sharp({
      create: { width: 200, height: 200, channels: 4, background: { r: 0, g: 0, b: 0, alpha: 0 } },
    })
      .composite([
        {
          input: Buffer.from(
            '<svg xmlns="http://www.w3.org/2000/svg" width="200" height="200"><circle cx="100" cy="100" r="60" ' +
              'fill="red"/></svg>',
          ),
        },
      ])
      .png()
      .toBuffer();
    const onWhite = await sharp(transparent).flatten({ background: '#ffffff' }).png().toBuffer();
    expect(bytes((await encoder.embed(transparent)).vector).equals(bytes((await encoder.embed(onWhite)).vector))).toBe(
      true,
    );
  });

  it('offers the full width with the deepstack slices as an option', async () => {
    const full = await VisionEncoder.load(TINY_MMPROJ, { minTokens: 16, maxTokens: 256, pooling: 'mean-deepstack' });
    try {
      expect(full.dim).toBe(64 * 3);
      expect(full.identity.modelId).not.toBe(encoder.identity.modelId);
      const v = (await full.embed(await scenePng(1))).vector;
      expect(v.length).toBe(192);
      expect(Math.abs(dot(v, v) - 1)).toBeLessThan(1e-5);
    } finally {
      await full.dispose();
    }
  });

  it('places a resized, re-compressed copy nearer its original than any unrelated image, over 24 images', async () => {
    const n = 24;
    const originals = await Promise.all(Array.from({ length: n }, (_, i) => scenePng(100 + i)));
    const copies = await Promise.all(originals.map((png) => recompressedCopy(png, 0.7, 60)));
    const vo: Float32Array[] = [];
    const vc: Float32Array[] = [];
    for (let i = 0; i < n; i++) {
      vo.push((await encoder.embed(originals[i]!)).vector);
      vc.push((await encoder.embed(copies[i]!)).vector);
    }
    let correct = 0;
    for (let i = 0; i < n; i++) {
      const own = dot(vc[i]!, vo[i]!);
      const bestOther = Math.max(...vo.filter((_, j) => j !== i).map((v) => dot(vc[i]!, v)));
      if (own > bestOther) correct++;
    }
    expect(correct).toBe(n);
  });

  it('gives the same results to concurrent calls as to serial ones', async () => {
    const pngs = await Promise.all([3, 4, 5, 6].map((s) => scenePng(s)));
    const serial: Float32Array[] = [];
    for (const p of pngs) serial.push((await encoder.embed(p)).vector);
    const concurrent = await Promise.all(pngs.map((p) => encoder.embed(p)));
    concurrent.forEach((e, i) => expect(bytes(e.vector).equals(bytes(serial[i]!))).toBe(true));
  });

  it('keeps the event loop running while a large image is encoded', async () => {
    const big = await VisionEncoder.load(TINY_MMPROJ, { minTokens: 16, maxTokens: 1024 });
    try {
      const png = await scenePng(9, 1600, 1600);
      const decoded = await big.decode(png);
      let ticks = 0;
      const timer = setInterval(() => ticks++, 2);
      const started = performance.now();
      const out = await big.encode(decoded);
      const elapsed = performance.now() - started;
      clearInterval(timer);
      expect(out.nTokens).toBe(1024);
      // a blocked loop would tick at most once; a free one about elapsed / 2 times
      expect(ticks).toBeGreaterThan(Math.min(20, elapsed / 8));
    } finally {
      await big.dispose();
    }
  });

  it("picks the image size llama.cpp's own preprocessor picks, as the native side reports it", async () => {
    // raw pixels straight into the native encoder, whose preprocessor resizes them itself and says to what size
    const native = new (loadNative().ClipModel)();
    await native.load(TINY_MMPROJ, { minTokens: 16, maxTokens: 256, useGpu: false });
    try {
      const limits = sizeLimits(encoder.info, 16, 256);
      for (const [w, h] of [
        [448, 448],
        [640, 488],
        [333, 777],
        [1000, 10],
        [31, 31],
        [100, 2000],
        [4000, 3000],
        [257, 129],
      ] as const) {
        const out = await native.encode(new Uint8Array(w * h * 3), w, h, 1);
        expect(targetSize(w, h, limits), `${w}x${h}`).toEqual({ width: out.width, height: out.height });
      }
    } finally {
      native.dispose();
    }
  });
});

describe('VisionEncoder with bad input', () => {
  const dir = join(MODELS_DIR, 'bad');
  beforeAll(() => mkdirSync(dir, { recursive: true }));

  it('refuses a file that is not GGUF', async () => {
    const p = join(dir, 'not-gguf.gguf');
    writeFileSync(p, 'this is plainly not a model file, just some text that is long enough');
    await expect(VisionEncoder.load(p)).rejects.toThrow(ModelFileError);
    await expect(VisionEncoder.load(p)).rejects.toThrow(/no GGUF magic/);
  });

  it('refuses a missing file', async () => {
    await expect(VisionEncoder.load(join(dir, 'nope.gguf'))).rejects.toThrow(/file not found/);
  });

  it('refuses a text model passed as the mmproj', async () => {
    const { writeGguf } = await import('../src/engine/gguf/writer.js');
    const p = join(dir, 'text-model.gguf');
    writeGguf(p, { 'general.architecture': { type: 'str', value: 'qwen3vl' } }, []);
    await expect(VisionEncoder.load(p)).rejects.toThrow(/architecture 'qwen3vl', not an mmproj/);
  });

  it('refuses a truncated GGUF', async () => {
    const p = join(dir, 'truncated.gguf');
    const whole = readFileSync(TINY_MMPROJ);
    writeFileSync(p, whole.subarray(0, Math.floor(whole.length * 0.6)));
    await expect(VisionEncoder.load(p)).rejects.toThrow(/truncated/);
    writeFileSync(p, whole.subarray(0, 100));
    await expect(VisionEncoder.load(p)).rejects.toThrow(ModelFileError);
  });

  it('refuses an mmproj whose tensors do not match its header', async () => {
    const { writeRandomMmproj, TINY_VISION } = await import('./helpers/random-models.js');
    const p = join(dir, 'bad-shape.gguf');
    writeRandomMmproj(p, { ...TINY_VISION, deepstack: [0] }, 2);
    // a consistent file loads; now break the header's claim about the projection width
    const buf = readFileSync(p);
    const key = Buffer.from('clip.vision.projection_dim');
    const at = buf.indexOf(key) + key.length + 4; // skip the value type
    buf.writeUInt32LE(96, at);
    writeFileSync(p, buf);
    await expect(VisionEncoder.load(p)).rejects.toThrow(/mm\.2\.weight has shape/);
  });

  it('rejects empty, non-image, truncated and oversized images, and keeps working', async () => {
    await expect(encoder.embed(Buffer.alloc(0))).rejects.toThrow(BadImageError);
    await expect(encoder.embed(Buffer.from('hello, I am a text file'))).rejects.toThrow(BadImageError);
    const jpeg = await sharp(await scenePng(2))
      .jpeg()
      .toBuffer();
    await expect(encoder.embed(jpeg.subarray(0, jpeg.length >> 1))).rejects.toThrow(BadImageError);
    const small = await VisionEncoder.load(TINY_MMPROJ, { maxInputPixels: 100 * 100 });
    try {
      await expect(small.embed(await scenePng(2, 200, 200))).rejects.toThrow(ImageTooLargeError);
    } finally {
      await small.dispose();
    }
    const ok = await encoder.embed(await scenePng(2));
    expect(ok.vector.length).toBe(64);
  });

  it('validates options before loading', async () => {
    await expect(VisionEncoder.load(TINY_MMPROJ, { threads: 0 })).rejects.toThrow(RangeError);
    await expect(VisionEncoder.load(TINY_MMPROJ, { minTokens: 300, maxTokens: 200 })).rejects.toThrow(
      /larger than maxTokens/,
    );
    await expect(VisionEncoder.load(TINY_MMPROJ, { pooling: 'max' as never })).rejects.toThrow(/pooling/);
  });

  it('refuses calls after dispose', async () => {
    const e = await VisionEncoder.load(TINY_MMPROJ);
    await e.dispose();
    await expect(e.embed(await scenePng(1))).rejects.toThrow(/disposed/);
  });
});
