// Taking results away from the server: the selected images' stored thumbnails as one ZIP. Thumbnails, because the
// server keeps no originals (an upload is embedded and thumbnailed, then let go; an indexed folder's files stay where
// they were, and only the machine that indexed them knows that folder: npm run search -- --copy-to takes those).
import { basename, extname } from 'node:path';
import type { Gallery } from '../gallery/gallery.js';
import { storeZip } from '../util/zip.js';

/** The name an image has in the ZIP: its id, then the name it was added under, as WebP. */
export function entryName(id: number, source: string | null): string {
  const name = source === null ? '' : basename(source.replaceAll('\\', '/'), extname(source)).replace(/[\p{Cc}/\\:*?"<>|]/gu, '_').slice(0, 100);
  return `${id}${name ? `-${name}` : ''}.webp`;
}

export class TakeAway {
  constructor(private readonly gallery: Gallery) {}

  /** Every id is checked (404 for an unknown one) before the archive is made. */
  thumbnailsZip(ids: number[]): Buffer {
    const unique = [...new Set(ids)];
    const records = unique.map((id) => this.gallery.get(id));
    return storeZip(records.map((r) => ({ name: entryName(r.id, r.source), data: this.gallery.thumbnail(r.id) })));
  }
}
