// A small real filesystem that can be filled up: a tmpfs, for the disk-full tests. Mounting needs root (these
// machines run the tests as root); where it is not permitted, mountTmpfs() says why and the tests skip.
import { execFileSync } from 'node:child_process';
import {
  closeSync,
  fstatSync,
  ftruncateSync,
  mkdtempSync,
  openSync,
  readdirSync,
  rmSync,
  rmdirSync,
  writeSync,
} from 'node:fs';
import Database from 'better-sqlite3';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Tmpfs {
  dir: string;
  /** Truncates SQLite's write-ahead logs (whose space a write would reuse), then writes a filler file until the
   * filesystem is full (ENOSPC): the next write of any size fails. `leaveBytes`: then frees that much again (a disk
   * nearly full, where a start gets some way before a write fails). */
  fill(leaveBytes?: number): void;
  /** Removes the filler file. */
  free(): void;
  unmount(): void;
}

/** A tmpfs of `sizeMb` on a fresh folder, or the reason it cannot be mounted here. */
export function mountTmpfs(sizeMb: number): Tmpfs | { skip: string } {
  const dir = mkdtempSync(join(tmpdir(), 'lookalike-tmpfs-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeMb}m`, 'tmpfs', dir], { stdio: 'pipe' });
  } catch (err) {
    rmdirSync(dir);
    return {
      skip:
        `mount -t tmpfs is not permitted here ` +
        `(${(err as { stderr?: Buffer }).stderr?.toString().trim() || (err as Error).message}): the disk-full ` +
        `tests need root`,
    };
  }
  const filler = join(dir, 'filler');
  return {
    dir,
    fill(leaveBytes = 0) {
      for (const db of readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.db'))) {
        const conn = new Database(join(dir, db));
        try {
          conn.pragma('wal_checkpoint(TRUNCATE)');
        } finally {
          conn.close();
        }
      }
      const fd = openSync(filler, 'a');
      const chunk = Buffer.alloc(64 * 1024, 1);
      try {
        for (let size = chunk.length; size >= 1; size >>= 1) {
          // big writes, then smaller ones for the last bytes
          try {
            for (;;) writeSync(fd, chunk, 0, size);
          } catch (err) {
            if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
          }
        }
        if (leaveBytes) ftruncateSync(fd, Math.max(0, fstatSync(fd).size - leaveBytes));
      } finally {
        closeSync(fd);
      }
    },
    free() {
      rmSync(filler, { force: true });
    },
    unmount() {
      execFileSync('umount', ['--lazy', dir], { stdio: 'pipe' });
      rmdirSync(dir);
    },
  };
}
