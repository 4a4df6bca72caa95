// The content hash: an image's identity in the gallery, and part of a page cursor's digest.
import { createHash } from 'node:crypto';

export function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}
