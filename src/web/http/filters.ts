// The filters, sort and page cursor that search, "similar" and the gallery listing share: the same names as form
// fields, in a JSON body or in a query string (all are text, so one schema reads the three).
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { LookalikeError } from '../../core/errors.js';
import type { SearchCursor, SearchSort } from '../../core/domain/search.js';
import type { ImageFilter, ListAfter, ListSort } from '../../core/domain/records.js';

// a date, or a date and time; without an offset it is UTC (as a photo's local time without an offset is stored)
const DATE = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,3})?)?(?:Z|[+-](\d{2}):(\d{2}))?)?$/;
const zoned = (s: string) => (s.length === 10 || /(Z|[+-]\d{2}:\d{2})$/.test(s) ? s : `${s}Z`);
const leap = (year: number) => year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
const daysIn = (year: number, month: number) =>
  month === 2 ? (leap(year) ? 29 : 28) : [4, 6, 9, 11].includes(month) ? 30 : 31;
/** The date in ms, or NaN when it is not a real one: Date.parse rolls 2021-02-30 over to 2 March. */
function realDate(s: string): number {
  const m = DATE.exec(s);
  if (!m) return NaN;
  const [year, month, day, hour = 0, minute = 0, second = 0, offsetHours = 0, offsetMinutes = 0] = m
    .slice(1)
    .map((v) => (v === undefined ? undefined : Number(v)));
  const real =
    month! >= 1 &&
    month! <= 12 &&
    day! >= 1 &&
    day! <= daysIn(year!, month!) &&
    hour <= 23 &&
    minute <= 59 &&
    second <= 59 &&
    offsetHours <= 23 &&
    offsetMinutes <= 59;
  return real ? Date.parse(zoned(s)) : NaN;
}
const takenDate = (what: string) =>
  z
    .string()
    .refine((s) => !Number.isNaN(realDate(s)), `${what} is a real date like 2021-06-15 or 2021-06-15T10:30:00+02:00`)
    .transform(realDate)
    .describe(`${what}: a date (2021-06-15) or date and time (2021-06-15T10:30:00+02:00); without an offset, UTC`);

export const FilterFields = z.object({
  label: z.string().max(200).optional().describe('only images with this label'),
  folder: z
    .string()
    .min(1)
    .max(1000)
    .optional()
    .describe(
      'only images under this folder: a prefix of their path relative to the indexed folder, whole folder names ' +
        '("trips/2021")',
    ),
  takenAfter: takenDate('takenAfter')
    .optional()
    .describe('only images taken at or after this date (UTC without an offset)'),
  takenBefore: takenDate('takenBefore')
    .optional()
    .describe('only images taken before this date (UTC without an offset)'),
  camera: z
    .string()
    .min(1)
    .max(200)
    .optional()
    .describe('only images whose camera "make model" contains this, any case ("canon", "iPhone 12")'),
  cursor: z.string().max(400).optional().describe('the `next` of the page before: the page after it'),
});
type Filters = z.output<typeof FilterFields>;

export function toFilter(f: Filters): ImageFilter {
  return { label: f.label, folder: f.folder, takenAfter: f.takenAfter, takenBefore: f.takenBefore, camera: f.camera };
}

export const SEARCH_SORTS = ['score', 'date'] as const satisfies readonly SearchSort[];
export const LIST_SORTS = ['date', 'added'] as const satisfies readonly ListSort[];

/**
 * What a page's cursor is bound to: the query's inputs (the upload's sha256, the words, the parts, the similar id;
 * never its vector, which an upload encoded again may change in its last bits), the filters, minScore and the sort.
 * `k` may change between pages.
 */
export function pagingDigest(query: unknown, f: Filters & { minScore?: number; sort: string }): string {
  const bound = [query, toFilter(f), f.minScore ?? null, f.sort];
  return createHash('sha256').update(JSON.stringify(bound)).digest('base64url').slice(0, 22);
}

// A cursor is opaque to clients: base64url of [sort, value, id, digest], the key of the last result and the
// digest of the query that gave it.
const encode = (parts: (string | number)[]) => Buffer.from(JSON.stringify(parts)).toString('base64url');
function decode(cursor: string, sorts: readonly string[], sort: string, digest: string): [number, number] {
  let parts: unknown;
  try {
    parts = JSON.parse(Buffer.from(cursor, 'base64url').toString());
  } catch {
    parts = null;
  }
  const ok =
    Array.isArray(parts) &&
    parts.length === 4 &&
    sorts.includes(parts[0]) &&
    typeof parts[1] === 'number' &&
    Number.isFinite(parts[1]) &&
    Number.isSafeInteger(parts[2]) &&
    parts[2] > 0 &&
    typeof parts[3] === 'string';
  if (!ok) {
    throw new LookalikeError(
      'invalid_request',
      'the cursor is not one this server gave: pass the `next` of the page before unchanged',
    );
  }
  const [was, value, id, boundTo] = parts as [string, number, number, string];
  if (was !== sort) {
    throw new LookalikeError('invalid_request', `the cursor is of a sort=${was} page, this one is sort=${sort}`);
  }
  if (boundTo !== digest) {
    throw new LookalikeError(
      'invalid_request',
      'the cursor is of another query or filters: pass it with the query, ' +
        'filters and minScore of the page that gave it (only k may change)',
    );
  }
  return [value, id];
}

export const searchCursorOut = (c: SearchCursor | null, digest: string) =>
  c ? encode([c.sort, c.value, c.id, digest]) : null;
export function searchCursorIn(cursor: string | undefined, sort: SearchSort, digest: string): SearchCursor | undefined {
  if (cursor === undefined) return undefined;
  const [value, id] = decode(cursor, SEARCH_SORTS, sort, digest);
  return { sort, value, id };
}

/** A listing's cursor is bound to its filters and sort. */
type ListQuery = Filters & { sort: ListSort };
export const listCursorOut = (q: ListQuery, after: ListAfter | null) =>
  after ? encode([q.sort, after.value, after.id, pagingDigest('list', q)]) : null;
export function listCursorIn(q: ListQuery): ListAfter | undefined {
  if (q.cursor === undefined) return undefined;
  const [value, id] = decode(q.cursor, LIST_SORTS, q.sort, pagingDigest('list', q));
  return { value, id };
}
