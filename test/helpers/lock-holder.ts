// Child of test/gallery.test.ts: takes a data folder's lock and says so; holds it until killed, or with --once
// releases it and exits (a restart that only checks it can take the lock). A refusal is printed, and exits 1.
import { lockDataDir } from '../../src/engine/gallery/lock.js';

try {
  const release = lockDataDir(process.argv[2]!);
  process.stdout.write(`locked by ${process.pid}\n`);
  if (process.argv[3] === '--once') release();
  else setInterval(() => {}, 60_000);
} catch (err) {
  process.stdout.write(`refused: ${(err as Error).message}\n`);
  process.exitCode = 1;
}
