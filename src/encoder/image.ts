// Image decoding for the encoder: sharp decodes any format it knows, applies EXIF orientation, flattens alpha
// onto white and resizes to exactly the size llama.cpp's Qwen-VL preprocessor would choose, so the native side
// does no second resize. The upload's own claims (mimetype, extension) are never trusted.
import sharp, { type Metadata } from 'sharp';
import { BadImageError, ImageTooLargeError } from '../errors.js';

export interface SizeLimits {
  align: number; // patch size x spatial merge: one token per align x align pixels
  minPixels: number;
  maxPixels: number;
}

/** llama.cpp's img_tool::calc_size_preserved_ratio (mtmd-image.cpp), in the same float32 arithmetic. */
export function targetSize(width: number, height: number, { align, minPixels, maxPixels }: SizeLimits): { width: number; height: number } {
  const f = Math.fround;
  const roundBy = (x: number) => Math.round(f(x / align)) * align; // std::round: half away from zero (x > 0 here)
  const ceilBy = (x: number) => Math.ceil(f(x / align)) * align;
  const floorBy = (x: number) => Math.floor(f(x / align)) * align;
  let w = Math.max(align, roundBy(width));
  let h = Math.max(align, roundBy(height));
  if (maxPixels > 0 && w * h > maxPixels) {
    const beta = f(Math.sqrt(f(f(height) * width / maxPixels)));
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

/** The longest side the native encoder takes (src/native). */
export const MAX_SIDE = 16384;

/**
 * The encoder's input for a source image: `size` as targetSize() picks it, and the part of it the picture fills.
 * A shape too extreme for the token limits (a 20000x1 strip: its short side cannot shrink below one 32 px row) is
 * padded on its short side to an aspect ratio of at most half the maximum token count, then sized as usual.
 */
export function encoderFrame(width: number, height: number, limits: SizeLimits): { size: { width: number; height: number }; content: DecodedImage['content'] } {
  // too many pixels only when the short side was held at one row of tokens while shrinking; growing a small image to
  // the minimum may round a little past the maximum, as llama.cpp's own preprocessor does
  const fits = (s: { width: number; height: number }) => s.width <= MAX_SIDE && s.height <= MAX_SIDE &&
    (s.width * s.height <= limits.maxPixels || Math.min(s.width, s.height) > limits.align);
  const direct = targetSize(width, height, limits);
  if (fits(direct)) return { size: direct, content: { left: 0, top: 0, ...direct } };
  const maxAspect = Math.max(1, Math.floor(limits.maxPixels / limits.align ** 2 / 2));
  const short = Math.ceil(Math.max(width, height) / maxAspect);
  const canvas = width >= height ? { width, height: Math.max(height, short) } : { width: Math.max(width, short), height };
  const size = targetSize(canvas.width, canvas.height, limits);
  if (!fits(size)) throw new ImageTooLargeError(`an image of ${width}x${height} cannot be fitted to the encoder's limits`);
  const cw = Math.max(1, Math.round((width * size.width) / canvas.width));
  const ch = Math.max(1, Math.round((height * size.height) / canvas.height));
  return { size, content: { left: Math.floor((size.width - cw) / 2), top: Math.floor((size.height - ch) / 2), width: cw, height: ch } };
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
  if (/pixel limit/i.test(message)) return new ImageTooLargeError(`the image has more pixels than the limit of ${maxInputPixels} pixels (LOOKALIKE_MAX_PIXELS raises it)`);
  return new BadImageError(`the file could not be decoded as an image: ${message}`);
}

/** Width and height after EXIF orientation; throws BadImageError / ImageTooLargeError. */
export async function probeImage(data: Buffer, options: DecodeOptions): Promise<{ width: number; height: number; format: string }> {
  if (data.length === 0) throw new BadImageError('the file is empty (0 bytes)');
  let meta: Metadata;
  try {
    meta = await sharpInput(data, options).metadata();
  } catch (err) {
    throw translateSharpError(err, options);
  }
  if (!meta.width || !meta.height) throw new BadImageError('the file has no image dimensions');
  if (meta.width * meta.height > options.maxInputPixels) {
    throw new ImageTooLargeError(`the image is ${meta.width}x${meta.height}, more than the limit of ${options.maxInputPixels} pixels (LOOKALIKE_MAX_PIXELS raises it)`);
  }
  const rotated = (meta.orientation ?? 1) >= 5;
  return { width: rotated ? meta.height : meta.width, height: rotated ? meta.width : meta.height, format: meta.format ?? 'unknown' };
}

/** Decodes, orients, flattens and resizes to the encoder's input size as packed RGB. */
export async function decodeForEncoder(data: Buffer, limits: SizeLimits, options: DecodeOptions): Promise<DecodedImage> {
  const source = await probeImage(data, options);
  const { size, content } = encoderFrame(source.width, source.height, limits);
  try {
    const { data: rgb, info } = await sharpInput(data, options)
      .rotate()
      .flatten({ background: '#ffffff' })
      .toColourspace('srgb')
      .resize(content.width, content.height, { fit: 'fill', kernel: 'cubic' })
      .extend({ // sharp pads after resizing; nothing to pad unless the shape was extreme
        left: content.left, top: content.top, right: size.width - content.width - content.left,
        bottom: size.height - content.height - content.top, background: '#ffffff',
      })
      .removeAlpha()
      .raw()
      .toBuffer({ resolveWithObject: true });
    if (info.channels !== 3 || info.width !== size.width || info.height !== size.height) {
      throw new BadImageError(`unexpected decoded layout ${info.width}x${info.height}x${info.channels}`);
    }
    return { rgb: new Uint8Array(rgb.buffer, rgb.byteOffset, rgb.byteLength), ...size, sourceWidth: source.width, sourceHeight: source.height, content };
  } catch (err) {
    throw err instanceof BadImageError ? err : translateSharpError(err, options);
  }
}
