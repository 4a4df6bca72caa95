// Image decoding for the encoder: sharp decodes any format it knows, applies EXIF orientation and flattens alpha onto
// white (as Qwen's qwen-vl-utils does); the picture is then resized as transformers' processor resizes it (Pillow's
// bicubic, resample.ts) to exactly the size llama.cpp's Qwen-VL preprocessor would choose, so the native side does no
// second resize. The upload's own claims (mimetype, extension) are never trusted.
import sharp, { type Metadata, type OutputInfo } from 'sharp';
import { BadImageError, ImageTooLargeError } from '../../core/errors.js';
import { resizeBicubic } from './resample.js';

export interface SizeLimits {
  align: number; // patch size x spatial merge: one token per align x align pixels
  minPixels: number;
  maxPixels: number;
}

/** llama.cpp's img_tool::calc_size_preserved_ratio (mtmd-image.cpp), in the same float32 arithmetic. */
export function targetSize(
  width: number,
  height: number,
  { align, minPixels, maxPixels }: SizeLimits,
): { width: number; height: number } {
  const f = Math.fround;
  const roundBy = (x: number) => Math.round(f(x / align)) * align; // std::round: half away from zero (x > 0 here)
  const ceilBy = (x: number) => Math.ceil(f(x / align)) * align;
  const floorBy = (x: number) => Math.floor(f(x / align)) * align;
  let w = Math.max(align, roundBy(width));
  let h = Math.max(align, roundBy(height));
  if (maxPixels > 0 && w * h > maxPixels) {
    const beta = f(Math.sqrt(f((f(height) * width) / maxPixels)));
    h = Math.max(align, floorBy(f(height / beta)));
    w = Math.max(align, floorBy(f(width / beta)));
  } else if (minPixels > 0 && w * h < minPixels) {
    const beta = f(Math.sqrt(f(minPixels / f(f(height) * width))));
    h = ceilBy(f(height * beta));
    w = ceilBy(f(width * beta));
  }
  return { width: w, height: h };
}

export interface DecodedImage {
  rgb: Uint8Array;
  width: number;
  height: number;
  sourceWidth: number; // after EXIF orientation
  sourceHeight: number;
  /** Where the picture sits in rgb when an extreme shape was padded (white) to fit the encoder; else all of it. */
  content: { left: number; top: number; width: number; height: number };
}

/** The longest side the native encoder takes (src/engine/native). */
export const MAX_SIDE = 16384;

/**
 * The encoder's input for a source image: `size` as targetSize() picks it, and the part of it the picture fills.
 * A shape too extreme for the token limits (a 20000x1 strip: its short side cannot shrink below one 32 px row) is
 * padded on its short side to an aspect ratio of at most half the maximum token count, then sized as usual.
 */
export function encoderFrame(
  width: number,
  height: number,
  limits: SizeLimits,
): { size: { width: number; height: number }; content: DecodedImage['content'] } {
  // too many pixels only when the short side was held at one row of tokens while shrinking; growing a small image to
  // the minimum may round a little past the maximum, as llama.cpp's own preprocessor does
  const fits = (s: { width: number; height: number }) =>
    s.width <= MAX_SIDE &&
    s.height <= MAX_SIDE &&
    (s.width * s.height <= limits.maxPixels || Math.min(s.width, s.height) > limits.align);
  const direct = targetSize(width, height, limits);
  if (fits(direct)) return { size: direct, content: { left: 0, top: 0, ...direct } };
  const maxAspect = Math.max(1, Math.floor(limits.maxPixels / limits.align ** 2 / 2));
  const short = Math.ceil(Math.max(width, height) / maxAspect);
  const canvas =
    width >= height ? { width, height: Math.max(height, short) } : { width: Math.max(width, short), height };
  const size = targetSize(canvas.width, canvas.height, limits);
  if (!fits(size))
    throw new ImageTooLargeError(`an image of ${width}x${height} cannot be fitted to the encoder's limits`);
  const cw = Math.max(1, Math.round((width * size.width) / canvas.width));
  const ch = Math.max(1, Math.round((height * size.height) / canvas.height));
  return {
    size,
    content: {
      left: Math.floor((size.width - cw) / 2),
      top: Math.floor((size.height - ch) / 2),
      width: cw,
      height: ch,
    },
  };
}

export interface DecodeOptions {
  maxInputPixels: number;
}

function sharpInput(data: Buffer, { maxInputPixels }: DecodeOptions) {
  // failOn 'warning': a truncated or corrupt file is refused rather than decoded as a partial grey image
  return sharp(data, { failOn: 'warning', limitInputPixels: maxInputPixels, sequentialRead: true });
}

export function translateSharpError(err: unknown, { maxInputPixels }: DecodeOptions): Error {
  const message = err instanceof Error ? err.message : String(err);
  if (/pixel limit/i.test(message))
    return new ImageTooLargeError(
      `the image has more pixels than the limit of ${maxInputPixels} pixels (LOOKALIKE_MAX_PIXELS raises it)`,
    );
  return new BadImageError(`the file could not be decoded as an image: ${message}`);
}

/** Width and height after EXIF orientation; throws BadImageError / ImageTooLargeError. */
export async function probeImage(
  data: Buffer,
  options: DecodeOptions,
): Promise<{ width: number; height: number; format: string }> {
  if (data.length === 0) throw new BadImageError('the file is empty (0 bytes)');
  let meta: Metadata;
  try {
    meta = await sharpInput(data, options).metadata();
  } catch (err) {
    throw translateSharpError(err, options);
  }
  if (!meta.width || !meta.height) throw new BadImageError('the file has no image dimensions');
  if (meta.width * meta.height > options.maxInputPixels) {
    throw new ImageTooLargeError(
      `the image is ${meta.width}x${meta.height}, more than the limit of ${options.maxInputPixels} pixels ` +
        `(LOOKALIKE_MAX_PIXELS raises it)`,
    );
  }
  const rotated = (meta.orientation ?? 1) >= 5;
  return {
    width: rotated ? meta.height : meta.width,
    height: rotated ? meta.width : meta.height,
    format: meta.format ?? 'unknown',
  };
}

/** Decodes, orients, flattens and resizes to the encoder's input size as packed RGB. */
export async function decodeForEncoder(
  data: Buffer,
  limits: SizeLimits,
  options: DecodeOptions,
): Promise<DecodedImage> {
  const source = await probeImage(data, options);
  const { size, content } = encoderFrame(source.width, source.height, limits);
  let decoded: { data: Buffer; info: OutputInfo };
  try {
    // sharp decodes at full size; the resize is Pillow's (resample.ts), as transformers' processor does it
    decoded = await sharpInput(data, options)
      .rotate()
      .flatten({ background: '#ffffff' })
      .toColourspace('srgb')
      .removeAlpha()
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
  } catch (err) {
    throw translateSharpError(err, options);
  }
  const { info } = decoded;
  if (info.channels !== 3 || info.width !== source.width || info.height !== source.height) {
    throw new BadImageError(`unexpected decoded layout ${info.width}x${info.height}x${info.channels}`);
  }
  const pixels = new Uint8Array(decoded.data.buffer, decoded.data.byteOffset, decoded.data.byteLength);
  const picture = resizeBicubic(pixels, info.width, info.height, content.width, content.height);
  return {
    rgb: placeOnWhite(picture, content, size),
    ...size,
    sourceWidth: source.width,
    sourceHeight: source.height,
    content,
  };
}

/** The picture at `content` within a white frame of `size` (only an extreme shape is padded; else it is all of it). */
function placeOnWhite(
  picture: Uint8Array,
  content: DecodedImage['content'],
  size: { width: number; height: number },
): Uint8Array {
  if (content.width === size.width && content.height === size.height) return picture;
  const out = new Uint8Array(size.width * size.height * 3).fill(255);
  for (let y = 0; y < content.height; y++) {
    out.set(
      picture.subarray(y * content.width * 3, (y + 1) * content.width * 3),
      ((content.top + y) * size.width + content.left) * 3,
    );
  }
  return out;
}
