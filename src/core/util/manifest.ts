// The manifest a copy of a gallery carries (a backup, an export): what it holds, each file with its size and sha256,
// and a digest over all of it, so a reader can tell a whole, unaltered copy from a damaged or partial one.
import { createHash } from 'node:crypto';
import {
  closeSync,
  createReadStream,
  createWriteStream,
  existsSync,
  fsyncSync,
  openSync,
  readFileSync,
  renameSync,
  writeFileSync,
} from 'node:fs';
import { isAbsolute, join, relative } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';

export interface FileEntry {
  path: string;
  bytes: number;
  sha256: string;
}

/** The digest of a manifest: sha256 of its JSON without the digest field, keys in the order written. */
export function manifestDigest(manifest: object): string {
  const { digest: _, ...rest } = manifest as { digest?: string };
  return createHash('sha256').update(JSON.stringify(rest)).digest('hex');
}

export function sealManifest<T extends object>(manifest: T): T & { digest: string } {
  return { ...manifest, digest: manifestDigest(manifest) };
}

/** Whether the manifest's digest matches what it says (an edited or cut short manifest does not). */
export function manifestIntact(manifest: { digest?: unknown }): boolean {
  return typeof manifest.digest === 'string' && manifest.digest === manifestDigest(manifest);
}

/** Copies a file (or an open file's contents, by `fd`) and hashes it on the way: one read for both. */
export async function copyHashed(
  from: string | { fd: number },
  to: string,
  onBytes?: (n: number) => void,
): Promise<Omit<FileEntry, 'path'>> {
  const hash = createHash('sha256');
  let bytes = 0;
  const tap = new Transform({
    transform(chunk: Buffer, _enc, done) {
      hash.update(chunk);
      bytes += chunk.length;
      onBytes?.(chunk.length);
      done(null, chunk);
    },
  });
  const source =
    typeof from === 'string'
      ? createReadStream(from, { highWaterMark: 4 << 20 })
      : createReadStream('', { fd: from.fd, autoClose: false, start: 0, highWaterMark: 4 << 20 });
  await pipeline(source, tap, createWriteStream(to, { flags: 'wx' }));
  return { bytes, sha256: hash.digest('hex') };
}

/** The sha256 and size of a file, streamed. */
export async function hashFile(path: string, onBytes?: (n: number) => void): Promise<Omit<FileEntry, 'path'>> {
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of createReadStream(path, { highWaterMark: 4 << 20 })) {
    hash.update(chunk as Buffer);
    bytes += (chunk as Buffer).length;
    onBytes?.((chunk as Buffer).length);
  }
  return { bytes, sha256: hash.digest('hex') };
}

/** Whether `child` is `parent` or lies under it. */
export function isInside(parent: string, child: string): boolean {
  const rel = relative(parent, child);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
}

export function fsyncPath(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Writes the manifest into `dir` last, through a rename, once every file it lists is on disk: a copy without its
 *  manifest is one that did not finish. */
export function writeManifest(dir: string, name: string, manifest: { files: FileEntry[] }): void {
  const tmp = join(dir, `${name}.tmp`);
  writeFileSync(tmp, `${JSON.stringify(manifest, null, 1)}\n`);
  fsyncPath(tmp);
  for (const f of manifest.files) fsyncPath(join(dir, f.path));
  renameSync(tmp, join(dir, name));
  fsyncPath(dir);
}

/**
 * Reads the manifest `name` of the copy in `dir` and checks it is whole: its kind and format, its digest, and every
 * file's size and sha256. `fail` makes the error a caller throws for a copy that is not.
 */
export async function readManifest<T extends { kind: string; format: number; files: FileEntry[]; digest: string }>(
  dir: string,
  name: string,
  expected: { kind: T['kind']; format: number /** backup, export */; what: string },
  fail: (m: string) => Error,
): Promise<T> {
  const path = join(dir, name);
  if (!existsSync(path)) {
    throw fail(`${dir} holds no ${name}: not a lookalike ${expected.what}, or one that did not finish`);
  }
  let manifest: T;
  try {
    manifest = JSON.parse(readFileSync(path, 'utf8')) as T;
  } catch (err) {
    throw fail(`${path} does not parse: ${(err as Error).message}`);
  }
  if (manifest.kind !== expected.kind || manifest.format !== expected.format) {
    throw fail(`${path} is not a lookalike ${expected.what} of format ${expected.format}`);
  }
  if (!manifestIntact(manifest)) throw fail(`${path} does not match its digest: it was changed or cut short`);
  for (const f of manifest.files) {
    const file = join(dir, f.path);
    if (!isInside(dir, file)) throw fail(`${path} names a file outside the ${expected.what}: ${f.path}`);
    if (!existsSync(file)) throw fail(`the ${expected.what} lacks ${f.path}`);
    const got = await hashFile(file);
    if (got.bytes !== f.bytes || got.sha256 !== f.sha256) {
      throw fail(`${f.path} in the ${expected.what} is damaged: its sha256 or size differs from the manifest's`);
    }
  }
  return manifest;
}
