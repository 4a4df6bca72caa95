// What a photo says about itself (EXIF, read by exifr: never parsed by hand) and, failing that, when its file was
// last changed: the metadata the gallery filters and sorts by.
import exifr from 'exifr';
import type { PhotoMeta } from '../store/store.js';

const EXIF_DATE = /^(\d{4}):(\d{2}):(\d{2})[ T](\d{2}):(\d{2}):(\d{2})$/;
const OFFSET = /^[+-]\d{2}:\d{2}$/;

/** EXIF's "YYYY:MM:DD HH:MM:SS" (+ its offset) as ISO 8601, or null when it is not a real date. */
function exifDate(raw: unknown, offset: unknown): { takenAt: string; takenMs: number } | null {
  const m = typeof raw === 'string' ? EXIF_DATE.exec(raw.trim()) : null;
  if (!m) return null; // absent, or "0000:00:00 00:00:00" and other placeholders cameras write
  const local = `${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}`;
  const zone = typeof offset === 'string' && OFFSET.test(offset.trim()) ? offset.trim() : null;
  const takenMs = Date.parse(`${local}${zone ?? 'Z'}`);
  return Number.isNaN(takenMs) || m[1] === '0000' ? null : { takenAt: `${local}${zone ?? ''}`, takenMs };
}

const text = (v: unknown) => (typeof v === 'string' && v.trim() ? v.trim().replace(/\0+$/, '') : null);
const coordinate = (v: unknown, limit: number) => (typeof v === 'number' && Number.isFinite(v) && Math.abs(v) <= limit ? v : null);

/**
 * The photo's metadata. `fallback` dates it when EXIF has no DateTimeOriginal: the file's mtime for the builder
 * ('file'), the time of upload ('upload'). A file without EXIF, or with broken EXIF, gets the fallback and nulls.
 */
export async function readPhotoMeta(data: Buffer, fallback: { at: Date; from: 'file' | 'upload' }): Promise<PhotoMeta> {
  const tags = (await exifr.parse(data, {
    reviveValues: false, tiff: true, exif: true, gps: true, ifd1: false, xmp: false, icc: false, iptc: false, jfif: false, ihdr: false,
  }).catch(() => undefined) ?? {}) as Record<string, unknown>;
  const taken = exifDate(tags.DateTimeOriginal, tags.OffsetTimeOriginal);
  const latitude = coordinate(tags.latitude, 90);
  const longitude = coordinate(tags.longitude, 180);
  return {
    ...(taken ? { ...taken, takenFrom: 'exif' as const } : { takenAt: fallback.at.toISOString(), takenMs: fallback.at.getTime(), takenFrom: fallback.from }),
    cameraMake: text(tags.Make),
    cameraModel: text(tags.Model),
    lens: text(tags.LensModel),
    latitude: latitude !== null && longitude !== null ? latitude : null,
    longitude: latitude !== null && longitude !== null ? longitude : null,
  };
}
