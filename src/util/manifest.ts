// The manifest a copy of a gallery carries (a backup; an export later): what it holds, each file with its size and
// sha256, and a digest over all of it, so a reader can tell a whole, unaltered copy from a damaged or partial one.
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';

export interface FileEntry { path: string; bytes: number; sha256: string }

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
  from: string | { fd: number }, to: string, onBytes?: (n: number) => void,
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
  const source = typeof from === 'string' ? createReadStream(from, { highWaterMark: 4 << 20 })
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
