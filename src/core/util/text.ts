// Text a file brings with it (EXIF strings, a file name or path): stored, and answered on every page that shows the
// picture, so it is kept short and printable whatever the file says.

// C0 and C1 controls and DEL: line breaks, escapes, the NULs that pad EXIF strings
const CONTROLS = /\p{Cc}+/gu;

/** Control characters removed, trimmed, at most `max` UTF-16 units (a surrogate pair is never cut); null when empty. */
export function cleanText(value: unknown, max: number): string | null {
  if (typeof value !== 'string') return null;
  let s = value.replace(CONTROLS, '').trim();
  if (s.length > max) s = s.slice(0, /[\uD800-\uDBFF]/.test(s[max - 1]!) ? max - 1 : max).trimEnd();
  return s || null;
}
