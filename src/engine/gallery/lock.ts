// One writer per data folder (the server or an index run): an exclusive SQLite lock on a small file, `writer.lock`.
// SQLite's locks are POSIX record locks, which the kernel drops when the process's files close: a process that is
// killed or crashes holds none, even while it is still a zombie, so a restart right after a crash is never refused.
// The file stays: deleting a lock file races with a process that has just opened it. The owner must never open and
// close the file itself: closing any descriptor of a file drops all the process's POSIX locks on it.
import Database from 'better-sqlite3';
import { closeSync, openSync, readSync, rmSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { DiskFullError, isDiskFull, LookalikeError } from '../../core/errors.js';

export class DataDirLockedError extends LookalikeError {
  constructor(dir: string, pid: number | null) {
    super(
      'data_dir_locked',
      `the data folder ${dir} is in use by ${pid ? `process ${pid}` : 'another process'}` +
        ' (the server or another index run); stop it first',
    );
  }
}

/** The owner's pid: the header's user_version (4 bytes, big-endian, at 60). Read from the file itself, which SQLite's
 * locks (advisory, on bytes past the first gigabyte) do not stop; null if the owner has not written it yet. */
function ownerPid(path: string): number | null {
  const header = Buffer.alloc(64);
  const fd = openSync(path, 'r');
  try {
    return readSync(fd, header, 0, 64, 0) === 64 ? header.readUInt32BE(60) || null : null;
  } finally {
    closeSync(fd);
  }
}

const heldHere = new Set<string>();

/** Takes the data folder's lock, or throws DataDirLockedError at once; returns its release. */
export function lockDataDir(dir: string): () => void {
  const path = resolve(dir, 'writer.lock');
  if (heldHere.has(path)) throw new DataDirLockedError(dir, process.pid); // not ownerPid(): its close would unlock
  const db = new Database(path, { timeout: 0 }); // another owner: refused at once, not after a wait
  try {
    // EXCLUSIVE: the first write takes the lock, and it is held until the connection closes
    db.pragma('locking_mode = EXCLUSIVE');
    db.pragma(`user_version = ${process.pid}`);
  } catch (err) {
    db.close();
    const code = (err as { code?: string }).code;
    if (code === 'SQLITE_BUSY') throw new DataDirLockedError(dir, ownerPid(path));
    if (isDiskFull(err)) {
      rmSync(`${path}-journal`, { force: true });
      if (statSync(path).size === 0) rmSync(path); // made just now, and never written: no lock file is left behind
      throw new DiskFullError(
        `the disk holding ${dir} is full: its lock file could not be written; ` + 'free some space and start again',
      );
    }
    throw err;
  }
  heldHere.add(path);
  return () => {
    if (!db.open) return;
    db.close();
    heldHere.delete(path);
  };
}
