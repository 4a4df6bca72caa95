// The gallery's records as every layer speaks of them: an image, its photo metadata, what a listing keeps and
// where a page ends. Plain types, and the one list of where a date comes from: no layer has to import the database
// to name them.

/** Where the date taken came from: EXIF DateTimeOriginal, the file's mtime (builder), the time of upload, or when a
 *  row from before metadata was added (until `npm run index -- <folder>` backfills it). */
export const TAKEN_FROM = ['exif', 'file', 'upload', 'added'] as const;
export type TakenFrom = (typeof TAKEN_FROM)[number];

export interface PhotoMeta {
  /** ISO 8601; with EXIF's offset (OffsetTimeOriginal) when the camera wrote one, else a local time without one. */
  takenAt: string;
  /** takenAt as milliseconds since 1970 (a local time without offset is read as UTC): what filters and sorting use. */
  takenMs: number;
  takenFrom: TakenFrom;
  cameraMake: string | null;
  cameraModel: string | null;
  lens: string | null;
  latitude: number | null;
  longitude: number | null;
}

/** A stored image as the API shows it: its record and its photo metadata (the date as text, not as ms). */
export interface ImageRecord extends Omit<PhotoMeta, 'takenMs'> {
  id: number;
  sha256: string;
  source: string | null;
  label: string | null;
  width: number;
  height: number;
  bytes: number;
  addedAt: string;
}

/**
 * What a listing or a search may keep: every given field must hold (dates in ms since 1970; after inclusive, before
 * exclusive).
 */
export interface ImageFilter {
  label?: string;
  /**
   * a path prefix of `source`, whole folder names only: "trips/2021" keeps "trips/2021/a.jpg", not "trips/2021b/a.jpg"
   */
  folder?: string;
  takenAfter?: number;
  takenBefore?: number;
  /** part of "make model", any case */
  camera?: string;
}

/** A listing's order, newest first, and the key (value, id) of the last item of the page before. */
export type ListSort = 'date' | 'added';
export interface ListAfter {
  value: number;
  id: number;
}

/** What the Instruct model said of an image: a caption (one line per language), the words it shows ('' for none),
 *  and which model said it. */
export interface Caption {
  caption: string;
  words: string;
  model: string;
}
