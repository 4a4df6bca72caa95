// What a photo says about itself (EXIF, read by exifr: never parsed by hand) and, failing that, when its file was
// last changed: the metadata the gallery filters and sorts by.
import exifr from 'exifr';
import type { PhotoMeta } from '../../core/domain/records.js';
import { cleanText } from '../../core/util/text.js';

/** EXIF text fields (make, model, lens) are kept to this many characters; a file can hold megabytes in one. */
export const EXIF_TEXT_MAX = 256;

const EXIF_DATE = /^(\d{4}):(\d{2}):(\d{2})[ T](\d{2}):(\d{2}):(\d{2})$/;
const OFFSET = /^[+-](\d{2}):(\d{2})$/;

/** EXIF's "YYYY:MM:DD HH:MM:SS" (+ its offset) as ISO 8601, or null when it is not a real date. */
function exifDate(raw: unknown, offset: unknown): { takenAt: string; takenMs: number } | null {
  const m = typeof raw === 'string' ? EXIF_DATE.exec(raw.trim()) : null;
  if (!m) return null; // absent, or "0000:00:00 00:00:00" and other placeholders cameras write
  type Fields = [year: number, month: number, day: number, hour: number, minute: number, second: number];
  const [year, month, day, hour, minute, second] = m.slice(1).map(Number) as Fields;
  // Date.parse rolls 2021-02-30 over to 2 March and hour 24 to the next day: such a date is no date
  const utc = new Date(Date.UTC(year, month - 1, day, hour, minute, second));
  const sameDay = utc.getUTCFullYear() === year && utc.getUTCMonth() === month - 1 && utc.getUTCDate() === day;
  const real = year > 0 && sameDay && hour < 24 && minute < 60 && second < 60;
  if (!real) return null;
  const o = typeof offset === 'string' ? OFFSET.exec(offset.trim()) : null;
  const zone = o && Number(o[1]) <= 14 && Number(o[2]) < 60 ? o[0] : null; // real offsets run from -12:00 to +14:00
  const local = `${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}`;
  return { takenAt: `${local}${zone ?? ''}`, takenMs: Date.parse(`${local}${zone ?? 'Z'}`) };
}

const text = (v: unknown) => cleanText(v, EXIF_TEXT_MAX);
const coordinate = (v: unknown, limit: number) =>
  typeof v === 'number' && Number.isFinite(v) && Math.abs(v) <= limit ? v : null;

/**
 * The photo's metadata. `fallback` dates it when EXIF has no DateTimeOriginal: the file's mtime for the builder
 * ('file'), the time of upload ('upload'). A file without EXIF, or with broken EXIF, gets the fallback and nulls.
 */
export async function readPhotoMeta(data: Buffer, fallback: { at: Date; from: 'file' | 'upload' }): Promise<PhotoMeta> {
  const tags = ((await exifr
    .parse(data, {
      reviveValues: false,
      tiff: true,
      exif: true,
      gps: true,
      ifd1: false,
      xmp: false,
      icc: false,
      iptc: false,
      jfif: false,
      ihdr: false,
    })
    .catch(() => undefined)) ?? {}) as Record<string, unknown>;
  const taken = exifDate(tags.DateTimeOriginal, tags.OffsetTimeOriginal);
  const latitude = coordinate(tags.latitude, 90);
  const longitude = coordinate(tags.longitude, 180);
  return {
    ...(taken
      ? { ...taken, takenFrom: 'exif' as const }
      : { takenAt: fallback.at.toISOString(), takenMs: fallback.at.getTime(), takenFrom: fallback.from }),
    cameraMake: text(tags.Make),
    cameraModel: text(tags.Model),
    lens: text(tags.LensModel),
    latitude: latitude !== null && longitude !== null ? latitude : null,
    longitude: latitude !== null && longitude !== null ? longitude : null,
  };
}
