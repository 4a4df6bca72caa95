// Turning uploaded bytes into what the gallery stores: content hash, size, thumbnail, and the encoder's input.
import sharp from 'sharp';
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
 * Decodes once, for the encoder; the thumbnail is made from that decoded image. Throws BadImageError /
 * ImageTooLargeError. `hash`: the content's sha256 when the caller has it already.
 */
export function prepareImage(encoder: Decoder, data: Buffer, hash = sha256(data)): Promise<PreparedImage> {
  return span('decode', () => decodeAndThumbnail(encoder, data, hash), { 'lookalike.bytes': data.length });
}

async function decodeAndThumbnail(encoder: Decoder, data: Buffer, hash: string): Promise<PreparedImage> {
  const decoded = await encoder.decode(data); // validates: refuses non-images, truncated and oversized files
  // the encoder's input is stretched to a 32 px grid: the thumbnail gets the source's aspect ratio back
  const scale = Math.min(1, THUMBNAIL_SIZE / Math.max(decoded.sourceWidth, decoded.sourceHeight));
  const thumbnail = await sharp(Buffer.from(decoded.rgb.buffer, decoded.rgb.byteOffset, decoded.rgb.byteLength), {
    raw: { width: decoded.width, height: decoded.height, channels: 3 },
  })
    .extract(decoded.content) // without the padding of an extreme shape
    .resize(
      Math.max(1, Math.round(decoded.sourceWidth * scale)),
      Math.max(1, Math.round(decoded.sourceHeight * scale)),
      { fit: 'fill' },
    )
    .webp({ quality: 75 })
    .toBuffer();
  return {
    sha256: hash,
    bytes: data.length,
    width: decoded.sourceWidth,
    height: decoded.sourceHeight,
    thumbnail,
    decoded,
  };
}
