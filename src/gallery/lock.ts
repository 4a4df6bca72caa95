// One writer per data folder (the server or an index run): a lock file holding the owner's pid.
// A lock whose process is gone (killed, crashed) is taken over.
import { closeSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { DiskFullError, LookalikeError } from '../errors.js';

export class DataDirLockedError extends LookalikeError {
  constructor(dir: string, pid: number) {
    super('data_dir_locked', `the data folder ${dir} is in use by process ${pid} (the server or another index run); stop it first`);
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

const heldHere = new Set<string>();

export function lockDataDir(dir: string): () => void {
  const path = join(dir, 'lock');
  if (heldHere.has(path)) throw new DataDirLockedError(dir, process.pid);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(path, 'wx');
      try { writeSync(fd, String(process.pid)); } finally { closeSync(fd); }
      heldHere.add(path);
      let released = false;
      const release = () => {
        if (released) return;
        released = true;
        process.removeListener('exit', release);
        heldHere.delete(path);
        try {
          if (readFileSync(path, 'utf8') === String(process.pid)) rmSync(path);
        } catch { /* already gone */ }
      };
      process.once('exit', release);
      return release;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOSPC') {
        rmSync(path, { force: true }); // an empty lock would only be taken over as stale
        throw new DiskFullError(`the disk holding ${dir} is full: its lock file could not be written; free some space and start again`);
      }
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const pid = Number(readFileSync(path, 'utf8'));
      // our own pid in a lock we do not hold: left by an earlier process that had the same pid (a container restart)
      if (pid && pid !== process.pid && alive(pid)) throw new DataDirLockedError(dir, pid);
      rmSync(path, { force: true }); // stale: its owner is gone
    }
  }
  throw new Error(`could not lock ${dir}`);
}
