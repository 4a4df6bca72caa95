// The sha256 of a model file is part of the model id stored with every vector. Hashing a 1.2 GB mmproj takes 2-3 s
// at every start, so the hash is cached by (path, size, mtime, inode): a restart reads it back, and a file replaced
// (new inode) or rewritten in place (new mtime or size) is hashed again.
import { createHash } from 'node:crypto';
import { createReadStream, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

interface Entry {
  size: number;
  mtimeMs: number;
  ino: number;
  sha256: string;
}

export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 4 << 20 })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

function readCache(cacheFile: string): Record<string, Entry> {
  try {
    return JSON.parse(readFileSync(cacheFile, 'utf8')) as Record<string, Entry>;
  } catch {
    return {}; // missing or unreadable: start over, it is only a cache
  }
}

/** sha256 of the file, from `cacheFile` when the file is unchanged since it was hashed. */
export async function fileFingerprint(path: string, cacheFile?: string): Promise<{ sha256: string; cached: boolean }> {
  if (!cacheFile) return { sha256: await sha256File(path), cached: false };
  const key = resolve(path);
  const st = statSync(key);
  const cache = readCache(cacheFile);
  const hit = cache[key];
  if (hit && hit.size === st.size && hit.mtimeMs === st.mtimeMs && hit.ino === st.ino)
    return { sha256: hit.sha256, cached: true };
  const sha256 = await sha256File(key);
  cache[key] = { size: st.size, mtimeMs: st.mtimeMs, ino: st.ino, sha256 };
  try {
    mkdirSync(dirname(cacheFile), { recursive: true });
    writeFileSync(`${cacheFile}.tmp-${process.pid}`, JSON.stringify(cache, null, 1));
    renameSync(`${cacheFile}.tmp-${process.pid}`, cacheFile);
  } catch {
    /* a read-only folder: hash again next time */
  }
  return { sha256, cached: false };
}
