// npm run search's --copy-to and --link: the matching originals into a folder. The builder stores each source path
// relative to the folder it indexed (which it does not store): --from names that folder. An upload keeps no original
// (its source is the uploaded file's name), so it is found only if a file by that name happens to be there.
import { createHash } from 'node:crypto';
import { constants, copyFileSync, existsSync, mkdirSync, readFileSync, symlinkSync } from 'node:fs';
import { basename, extname, join, relative, resolve, isAbsolute } from 'node:path';

interface Original { id: number; source: string | null; sha256: string }

/** Copies (or links) each result's original; says on stderr why one was not taken. Exit code: 0 all taken, 1 not all. */
export function takeAway(results: Original[], opts: { to: string; from: string; link: boolean }): number {
  mkdirSync(opts.to, { recursive: true });
  const from = resolve(opts.from);
  let taken = 0;
  for (const r of results) {
    const path = r.source === null ? null : resolve(from, r.source);
    const why = (() => {
      if (path === null) return 'no source path was recorded';
      const inside = relative(from, path);
      if (inside.startsWith('..') || isAbsolute(inside)) return `its source "${r.source}" is outside ${from}`; // an upload's name, never a path to follow
      if (!existsSync(path)) return `no original at ${path} (an upload keeps none: GET /api/images/${r.id}/thumbnail has its thumbnail; for an indexed folder give --from <that folder>)`;
      // the folder may have changed since it was indexed: take only the very file that was embedded
      if (createHash('sha256').update(readFileSync(path)).digest('hex') !== r.sha256) return `${path} changed since it was indexed`;
      return null;
    })();
    if (why) {
      process.stderr.write(`#${r.id}: not taken: ${why}\n`);
      continue;
    }
    // the name it had; another file of that name already there gets the id before its extension
    let target = join(opts.to, basename(path!));
    if (existsSync(target)) target = join(opts.to, `${basename(path!, extname(path!))}-${r.id}${extname(path!)}`);
    if (opts.link) symlinkSync(path!, target);
    else copyFileSync(path!, target, constants.COPYFILE_EXCL);
    taken++;
  }
  process.stderr.write(`${opts.link ? 'linked' : 'copied'} ${taken} of ${results.length} originals into ${opts.to}\n`);
  return taken === results.length ? 0 : 1;
}
