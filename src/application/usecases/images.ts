// The gallery's images as the API reads and changes them: list, get, relabel, thumbnail, remove (to the trash), the
// trash itself (list, restore, empty), and the selected thumbnails as one ZIP. Thumbnails, because the server keeps
// no originals (an upload is embedded and thumbnailed, then let go; an indexed folder's files stay where they were,
// and only the machine that indexed them knows that folder: npm run search -- --copy-to takes those).
import { basename, extname } from 'node:path';
import type { ImageRecord, ListAfter } from '../../core/domain/records.js';
import type { Gallery, ListOptions, ListPage, TrashPage } from '../../engine/gallery/gallery.js';
import { storeZip } from '../../core/util/zip.js';
import type { Ingest } from './ingest.js';

/** The name an image has in the ZIP: its id, then the name it was added under, as WebP. */
export function entryName(id: number, source: string | null): string {
  const name =
    source === null
      ? ''
      : basename(source.replaceAll('\\', '/'), extname(source))
          .replace(/[\p{Cc}/\\:*?"<>|]/gu, '_')
          .slice(0, 100);
  return `${id}${name ? `-${name}` : ''}.webp`;
}

const DAY_MS = 86_400_000;

export class Images {
  constructor(
    private readonly gallery: Gallery,
    private readonly ingest: Ingest,
  ) {}

  /** A page of the images the filter keeps, newest first (by date taken, or by when added). */
  list(opts: ListOptions): ListPage {
    return this.gallery.list(opts);
  }

  get(id: number): ImageRecord {
    return this.gallery.get(id);
  }

  /** Sets or clears (null) an image's label (through Ingest, which owns labels); the record after. */
  relabel(id: number, label: string | null): ImageRecord {
    this.ingest.relabel(id, label);
    return this.gallery.get(id);
  }

  /** The stored WebP thumbnail of an image in the gallery, or (`inTrash`) in the trash. */
  thumbnail(id: number, inTrash = false): Buffer {
    return this.gallery.thumbnail(id, inTrash);
  }

  /** Moves an image to the trash. */
  remove(id: number): Promise<void> {
    return this.gallery.remove(id);
  }

  /** A page of the trash, the last trashed first, with how many it holds and how many days it keeps an image. */
  trash(limit: number, after?: ListAfter): TrashPage & { total: number; trashDays: number } {
    const page = this.gallery.trashPage(limit, after);
    return { ...page, total: this.gallery.counts().trashed, trashDays: this.gallery.trashMs / DAY_MS };
  }

  /** Brings images back from the trash (all of it without ids); the restored ids. */
  restore(ids?: number[]): Promise<number[]> {
    return this.gallery.restore(ids);
  }

  /** Deletes images in the trash for good (all of it without ids); how many. */
  emptyTrash(ids?: number[]): number {
    return this.gallery.emptyTrash(ids);
  }

  /** The thumbnails of these images as one ZIP; every id is checked (404 for an unknown one) before it is made. */
  thumbnailsZip(ids: number[]): Buffer {
    const records = [...new Set(ids)].map((id) => this.gallery.get(id));
    return storeZip(records.map((r) => ({ name: entryName(r.id, r.source), data: this.gallery.thumbnail(r.id) })));
  }
}
