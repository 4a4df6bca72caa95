// The filters, sort and page cursor that search, "similar" and the gallery listing share: the same names as form
// fields, in a JSON body or in a query string (all are text, so one schema reads the three).
import { z } from 'zod';
import { LookalikeError } from '../errors.js';
import type { SearchCursor, SearchSort } from '../gallery/gallery.js';
import type { ImageFilter, ListAfter, ListSort } from '../store/store.js';

// a date, or a date and time; without an offset it is UTC (as a photo's local time without an offset is stored)
const DATE = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2})?)?$/;
const takenDate = (what: string) => z.string()
  .refine((s) => DATE.test(s) && !Number.isNaN(Date.parse(zoned(s))), `${what} is a date like 2021-06-15 or 2021-06-15T10:30:00+02:00`)
  .transform((s) => Date.parse(zoned(s)))
  .describe(`${what}: a date (2021-06-15) or date and time (2021-06-15T10:30:00+02:00); without an offset, UTC`);
const zoned = (s: string) => (s.length === 10 || /(Z|[+-]\d{2}:\d{2})$/.test(s) ? s : `${s}Z`);

export const FilterFields = z.object({
  label: z.string().max(200).optional().describe('only images with this label'),
  folder: z.string().min(1).max(1000).optional().describe('only images under this folder: a prefix of their path relative to the indexed folder, whole folder names ("trips/2021")'),
  takenAfter: takenDate('takenAfter').optional().describe('only images taken at or after this date (UTC without an offset)'),
  takenBefore: takenDate('takenBefore').optional().describe('only images taken before this date (UTC without an offset)'),
  camera: z.string().min(1).max(200).optional().describe('only images whose camera "make model" contains this, any case ("canon", "iPhone 12")'),
  cursor: z.string().max(400).optional().describe('the `next` of the page before: the page after it'),
});
type Filters = z.output<typeof FilterFields>;

export function toFilter(f: Filters): ImageFilter {
  return { label: f.label, folder: f.folder, takenAfter: f.takenAfter, takenBefore: f.takenBefore, camera: f.camera };
}

export const SEARCH_SORTS = ['score', 'date'] as const satisfies readonly SearchSort[];
export const LIST_SORTS = ['date', 'added'] as const satisfies readonly ListSort[];

// A cursor is opaque to clients: base64url of [sort, value, id, seen].
const encode = (parts: (string | number)[]) => Buffer.from(JSON.stringify(parts)).toString('base64url');
function decode(cursor: string, sorts: readonly string[]): [string, number, number, number] {
  let parts: unknown;
  try { parts = JSON.parse(Buffer.from(cursor, 'base64url').toString()); } catch { parts = null; }
  const ok = Array.isArray(parts) && parts.length === 4 && sorts.includes(parts[0]) && parts.slice(1).every((n) => typeof n === 'number' && Number.isFinite(n));
  if (!ok) throw new LookalikeError('invalid_request', 'the cursor is not one this server gave: pass the `next` of the page before unchanged');
  return parts as [string, number, number, number];
}

export const searchCursorOut = (c: SearchCursor | null) => (c ? encode([c.sort, c.value, c.id, c.seen]) : null);
export function searchCursorIn(cursor: string | undefined): SearchCursor | undefined {
  if (cursor === undefined) return undefined;
  const [sort, value, id, seen] = decode(cursor, SEARCH_SORTS);
  return { sort: sort as SearchSort, value, id, seen };
}

export const listCursorOut = (sort: ListSort, after: ListAfter | null) => (after ? encode([sort, after.value, after.id, 0]) : null);
export function listCursorIn(cursor: string | undefined, sort: ListSort): ListAfter | undefined {
  if (cursor === undefined) return undefined;
  const [was, value, id] = decode(cursor, LIST_SORTS);
  if (was !== sort) throw new LookalikeError('invalid_request', `the cursor is of a sort=${was} listing, this one is sort=${sort}`);
  return { value, id };
}
