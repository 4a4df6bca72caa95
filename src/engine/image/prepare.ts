// Turning uploaded bytes into what the gallery stores: content hash, size, thumbnail, and the encoder's input.
import sharp from 'sharp';
import { BadImageError } from '../../core/errors.js';
import { sha256 } from '../../core/util/hash.js';
import { span } from '../../core/util/tracing.js';
import type { DecodedImage } from './decode.js';

export const THUMBNAIL_SIZE = 256;

export interface PreparedImage {
  sha256: string;
  bytes: number;
  width: number; // after EXIF orientation
  height: number;
  thumbnail: Buffer; // WebP, at most 256 px on its longer side
  decoded: DecodedImage;
}

/** Whatever decodes for the encoder (an embedder, or a model's description when workers encode). */
export interface Decoder {
  decode(image: Buffer): Promise<DecodedImage>;
}

/**
 * Decodes for the encoder, which validates the upload (BadImageError / ImageTooLargeError); the thumbnail is then
 * made from the upload itself, not from the encoder's input: that input can be far smaller (64 px for the demo's
 * towers), and words in a picture must stay readable for the captions. `hash`: the content's sha256 when known.
 */
export function prepareImage(encoder: Decoder, data: Buffer, hash = sha256(data)): Promise<PreparedImage> {
  return span('decode', () => decodeAndThumbnail(encoder, data, hash), { 'lookalike.bytes': data.length });
}

async function decodeAndThumbnail(encoder: Decoder, data: Buffer, hash: string): Promise<PreparedImage> {
  const decoded = await encoder.decode(data);
  let thumbnail: Buffer;
  try {
    thumbnail = await sharp(data, { limitInputPixels: decoded.sourceWidth * decoded.sourceHeight })
      .rotate() // EXIF orientation, as the encoder sees it
      .flatten({ background: '#ffffff' })
      .resize(THUMBNAIL_SIZE, THUMBNAIL_SIZE, { fit: 'inside', withoutEnlargement: true })
      .webp({ quality: 75 })
      .toBuffer();
  } catch (err) {
    // the encoder's decode took these bytes, so this is not expected; still the upload's fault, never a 500
    throw new BadImageError(`the image could not be made into a thumbnail: ${(err as Error).message}`);
  }
  return {
    sha256: hash,
    bytes: data.length,
    width: decoded.sourceWidth,
    height: decoded.sourceHeight,
    thumbnail,
    decoded,
  };
}
