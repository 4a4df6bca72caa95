// Turning uploaded bytes into the encoder's input with the content hash and size, and, for what the gallery stores,
// the thumbnail.
import sharp from 'sharp';
import { BadImageError } from '../../core/errors.js';
import { sha256 } from '../../core/util/hash.js';
import { span } from '../../core/util/tracing.js';
import type { DecodedImage } from './decode.js';

export const THUMBNAIL_SIZE = 256;

/** An upload decoded for the encoder, with its content hash and size: all a query needs. */
export interface DecodedUpload {
  sha256: string;
  bytes: number;
  width: number; // after EXIF orientation
  height: number;
  decoded: DecodedImage;
}

/** An upload ready to store: its thumbnail too. */
export interface PreparedImage extends DecodedUpload {
  thumbnail: Buffer; // WebP, at most 256 px on its longer side
}

/** Whatever decodes for the encoder (an embedder, or a model's description when workers encode). */
export interface Decoder {
  decode(image: Buffer): Promise<DecodedImage>;
}

/**
 * Decodes an upload asked about (a search, a classification): the encoder's decode validates it (BadImageError /
 * ImageTooLargeError). No thumbnail: nothing is stored. `hash`: the content's sha256 when known.
 */
export function decodeUpload(encoder: Decoder, data: Buffer, hash = sha256(data)): Promise<DecodedUpload> {
  return span('decode', () => decodeOnly(encoder, data, hash), { 'lookalike.bytes': data.length });
}

/**
 * Decodes an upload to store, and makes its thumbnail from the upload itself, not from the encoder's input: that
 * input can be far smaller (64 px for the demo's towers), and words in a picture must stay readable for the captions.
 */
export function prepareImage(encoder: Decoder, data: Buffer, hash = sha256(data)): Promise<PreparedImage> {
  return span(
    'decode',
    async () => {
      const upload = await decodeOnly(encoder, data, hash);
      return { ...upload, thumbnail: await thumbnailOf(data, upload) };
    },
    { 'lookalike.bytes': data.length },
  );
}

async function decodeOnly(encoder: Decoder, data: Buffer, hash: string): Promise<DecodedUpload> {
  const decoded = await encoder.decode(data);
  return { sha256: hash, bytes: data.length, width: decoded.sourceWidth, height: decoded.sourceHeight, decoded };
}

async function thumbnailOf(data: Buffer, { width, height }: DecodedUpload): Promise<Buffer> {
  try {
    return await sharp(data, { limitInputPixels: width * height })
      .rotate() // EXIF orientation, as the encoder sees it
      .flatten({ background: '#ffffff' })
      .resize(THUMBNAIL_SIZE, THUMBNAIL_SIZE, { fit: 'inside', withoutEnlargement: true })
      .webp({ quality: 75 })
      .toBuffer();
  } catch (err) {
    // the encoder's decode took these bytes, so this is not expected; still the upload's fault, never a 500
    throw new BadImageError(`the image could not be made into a thumbnail: ${(err as Error).message}`);
  }
}
