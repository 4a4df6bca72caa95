// npm run search's --copy-to and --link: the matching originals into a folder. The builder stores each source path
// relative to the folder it indexed (which it does not store): --from names that folder. An upload keeps no original
// (its source is the uploaded file's name), so it is found only if a file by that name happens to be there.
import { createHash } from 'node:crypto';
import {
  constants,
  copyFileSync,
  linkSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
} from 'node:fs';
import { basename, dirname, extname, isAbsolute, join, relative, resolve, sep } from 'node:path';

interface Original {
  id: number;
  source: string | null;
  sha256: string;
}

const sha256 = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

/** Why a result's original cannot be taken, or null when `path` is the very file that was embedded. */
function whyNot(r: Original, from: string, path: string | null): string | null {
  if (path === null) return 'no source path was recorded';
  // '..weird/a.jpg' is inside; '../a.jpg' and an absolute path are not (an upload's name is never a path to follow)
  const inside = relative(from, path);
  const outside = inside === '..' || inside.startsWith(`..${sep}`) || isAbsolute(inside);
  if (outside) return `its source "${r.source}" is outside ${from}`;
  if (!statSync(path, { throwIfNoEntry: false })?.isFile()) {
    return (
      `no original at ${path} (an upload keeps none: GET /api/images/${r.id}/thumbnail has its thumbnail; ` +
      'for an indexed folder give --from <that folder>)'
    );
  }
  // the folder may have changed since it was indexed: take only the very file that was embedded
  if (sha256(path) !== r.sha256) return `${path} changed since it was indexed`;
  return null;
}

/** Whether the entry at `target` (followed, when a link) holds the original's content. */
function holdsSame(target: string, source: string, digest: string): boolean {
  const there = statSync(target, { throwIfNoEntry: false }); // a dangling link: nothing the same
  return there !== undefined && there.isFile() && there.size === statSync(source).size && sha256(target) === digest;
}

/** Puts `source` at `target` whole, or throws EEXIST when something is there: a copy goes to a temporary name first and
 *  is hard-linked into place (which, unlike rename, never replaces), so an interrupted run leaves no half file under a
 *  picture's name. A folder without hard links (FAT, some network shares) gets a plain exclusive copy. */
function place(source: string, target: string, link: boolean): void {
  if (link) {
    symlinkSync(source, target);
    return;
  }
  const temp = join(dirname(target), `.lookalike-copy-${process.pid}.tmp`);
  try {
    copyFileSync(source, temp);
    try {
      linkSync(temp, target);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw err;
      copyFileSync(source, target, constants.COPYFILE_EXCL);
    }
  } finally {
    rmSync(temp, { force: true });
  }
}

/** Puts one original into the folder under its own name, or its name with -1, -2, ... when that holds another file. */
function takeOne(path: string, digest: string, to: string, link: boolean): 'copied' | 'renamed' | 'identical' {
  const [stem, ext] = [basename(path, extname(path)), extname(path)];
  for (let n = 0; ; ) {
    const target = join(to, n === 0 ? `${stem}${ext}` : `${stem}-${n}${ext}`);
    if (lstatSync(target, { throwIfNoEntry: false })) {
      if (holdsSame(target, path, digest)) return 'identical';
      n++;
      continue;
    }
    try {
      place(path, target, link);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') continue; // made meanwhile: look at it again
      throw err;
    }
    return n === 0 ? 'copied' : 'renamed';
  }
}

/**
 * Copies (or links) each result's original; one already there with the same content is skipped, so a second run
 * copies nothing new. Says on stderr why one was not taken, and goes on.
 * Exit code: 0 when every result is in the folder (copied now or there already), 1 when not.
 */
export function takeAway(results: Original[], opts: { to: string; from: string; link: boolean }): number {
  mkdirSync(opts.to, { recursive: true });
  const from = resolve(opts.from);
  const count = { copied: 0, renamed: 0, identical: 0, notTaken: 0 };
  for (const r of results) {
    const path = r.source === null ? null : resolve(from, r.source);
    let why: string | null;
    try {
      // its stat can fail too (no access, not a folder): that one is not taken, the rest go on
      why = whyNot(r, from, path);
      if (!why) {
        count[takeOne(path!, r.sha256, opts.to, opts.link)]++;
        continue;
      }
    } catch (err) {
      why = (err as Error).message;
    }
    process.stderr.write(`#${r.id}: not taken: ${why}\n`);
    count.notTaken++;
  }
  const { copied, renamed, identical, notTaken } = count;
  const total = `${results.length} result${results.length === 1 ? '' : 's'}`;
  process.stderr.write(
    `${total} into ${opts.to}: ${copied + renamed} ${opts.link ? 'linked' : 'copied'} ` +
      `(${renamed} of them renamed, as another file had the name), ${identical} skipped as identical (already there), ` +
      `${notTaken} not taken\n`,
  );
  return notTaken === 0 ? 0 : 1;
}
