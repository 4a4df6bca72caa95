// Pillow's bicubic resize of 8-bit RGB, computed the way Pillow computes it (libImaging/Resample.c): the same kernel
// (a = -0.5, widened by the scale when reducing), the same pixel-centre alignment, the same coefficients rounded to
// 22-bit fixed point, a horizontal pass rounded to 8 bits, then a vertical pass. transformers' Qwen-VL processor (its
// PIL backend) and Qwen's qwen-vl-utils resize with it, so the encoder sees the pixels the model was trained on.
// libvips' cubic kernel is the same curve but its enlargement is shifted by half a source pixel (libvips issue
// #4841), which cost up to 0.0055 in pooled cosine (README "Preprocessing").

const PRECISION_BITS = 32 - 8 - 2;
const SUPPORT = 2;

function bicubic(x: number): number {
  const a = -0.5;
  x = Math.abs(x);
  if (x < 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
  if (x < 2) return (((x - 5) * x + 8) * x - 4) * a;
  return 0;
}

interface Coefficients {
  ksize: number;
  /** Per output pixel: the first input pixel and how many follow. */
  bounds: Int32Array;
  /** Per output pixel: ksize fixed-point weights. */
  weights: Int32Array;
}

/** Pillow's precompute_coeffs + normalize_coeffs_8bpc for the whole input range. */
function coefficients(inSize: number, outSize: number): Coefficients {
  const scale = inSize / outSize;
  const filterScale = Math.max(scale, 1);
  const support = SUPPORT * filterScale;
  const ksize = Math.ceil(support) * 2 + 1;
  const bounds = new Int32Array(outSize * 2);
  const weights = new Int32Array(outSize * ksize);
  const k = new Float64Array(ksize);
  for (let xx = 0; xx < outSize; xx++) {
    const center = (xx + 0.5) * scale;
    const xmin = Math.max(0, Math.trunc(center - support + 0.5));
    const count = Math.min(inSize, Math.trunc(center + support + 0.5)) - xmin;
    let sum = 0;
    for (let x = 0; x < count; x++) {
      k[x] = bicubic((x + xmin - center + 0.5) / filterScale);
      sum += k[x]!;
    }
    for (let x = 0; x < count; x++) {
      const w = sum !== 0 ? k[x]! / sum : k[x]!;
      weights[xx * ksize + x] = Math.trunc(w < 0 ? -0.5 + w * (1 << PRECISION_BITS) : 0.5 + w * (1 << PRECISION_BITS));
    }
    bounds[xx * 2] = xmin;
    bounds[xx * 2 + 1] = count;
  }
  return { ksize, bounds, weights };
}

const clip8 = (v: number) => {
  const x = v >> PRECISION_BITS;
  return x < 0 ? 0 : x > 255 ? 255 : x;
};

/**
 * Resizes packed RGB (3 bytes a pixel) from width x height to outWidth x outHeight, as Pillow's Image.resize(BICUBIC).
 */
export function resizeBicubic(
  rgb: Uint8Array,
  width: number,
  height: number,
  outWidth: number,
  outHeight: number,
): Uint8Array {
  if (rgb.length !== width * height * 3)
    throw new RangeError(`expected ${width * height * 3} bytes of RGB, got ${rgb.length}`);
  let src = rgb,
    rows = height,
    top = 0;
  const vertical = coefficients(height, outHeight);
  if (outWidth !== width) {
    // only the rows the vertical pass reads, as Pillow does
    top = vertical.bounds[0]!;
    rows = vertical.bounds[outHeight * 2 - 2]! + vertical.bounds[outHeight * 2 - 1]! - top;
    const { ksize, bounds, weights } = coefficients(width, outWidth);
    const out = new Uint8Array(outWidth * rows * 3);
    for (let y = 0; y < rows; y++) {
      const inRow = (y + top) * width * 3,
        outRow = y * outWidth * 3;
      for (let xx = 0; xx < outWidth; xx++) {
        const xmin = bounds[xx * 2]!,
          count = bounds[xx * 2 + 1]!,
          k = xx * ksize;
        let r = 1 << (PRECISION_BITS - 1),
          g = r,
          b = r;
        for (let x = 0; x < count; x++) {
          const w = weights[k + x]!,
            p = inRow + (xmin + x) * 3;
          r += src[p]! * w;
          g += src[p + 1]! * w;
          b += src[p + 2]! * w;
        }
        const o = outRow + xx * 3;
        out[o] = clip8(r);
        out[o + 1] = clip8(g);
        out[o + 2] = clip8(b);
      }
    }
    src = out;
  }
  if (outHeight === height) return src === rgb ? rgb.slice() : src;
  const { ksize, bounds, weights } = vertical;
  const stride = outWidth * 3;
  const out = new Uint8Array(outWidth * outHeight * 3);
  const acc = new Int32Array(stride); // row by row, so the source is read in order (no int32 overflow: see Pillow)
  for (let yy = 0; yy < outHeight; yy++) {
    const ymin = bounds[yy * 2]! - top,
      count = bounds[yy * 2 + 1]!,
      k = yy * ksize;
    acc.fill(1 << (PRECISION_BITS - 1));
    for (let y = 0; y < count; y++) {
      const w = weights[k + y]!,
        row = (ymin + y) * stride;
      for (let i = 0; i < stride; i++) acc[i]! += src[row + i]! * w;
    }
    for (let i = 0; i < stride; i++) out[yy * stride + i] = clip8(acc[i]!);
  }
  return out;
}
