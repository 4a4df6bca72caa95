// The warm-up after a start: ivf-pq re-scores each query's candidates with their vectors in SQLite, a few hundred
// random pages a query, which after a reboot come from the disk (several times slower than from the page cache). The
// database file is read once, front to back, in the background: the vectors are most of the file, and one sequential
// pass is the cheapest way for the disk to bring them all in. It reads a chunk only while the index has no call in
// flight, so a search never queues behind more than one chunk's read; the reads go through libuv's thread pool, never
// the event loop.
import { open } from 'node:fs/promises';
import { Progress } from '../../core/util/progress.js';

/** One read (1 MiB: the progress counts them): a search arriving meanwhile waits little for the disk. */
const CHUNK = 2 ** 20;

export class WarmUp {
  private stopped = false;
  private wakeOnStop: () => void = () => {};
  /** Resolves on stop(): a wait for the index to be idle ends there too. */
  private readonly stopping = new Promise<void>((resolve) => {
    this.wakeOnStop = resolve;
  });
  readonly done: Promise<void>;
  /** Bytes read so far, and the file's size (0 until known). */
  read = 0;
  total = 0;

  constructor(
    private readonly file: string,
    /** Resolves when the index has no call in flight. */
    private readonly idle: () => Promise<void>,
    private readonly log: (line: string) => void,
  ) {
    this.done = this.run().catch((err: Error) => this.log(`index warm-up stopped: ${err.message}`));
  }

  private async run(): Promise<void> {
    const fh = await open(this.file, 'r');
    try {
      this.total = (await fh.stat()).size;
      const progress = new Progress('index warm-up, MiB', Math.ceil(this.total / CHUNK), this.log);
      const buffer = Buffer.allocUnsafe(CHUNK);
      while (!this.stopped && this.read < this.total) {
        await Promise.race([this.idle(), this.stopping]);
        if (this.stopped) break;
        const { bytesRead } = await fh.read(buffer, 0, CHUNK, this.read);
        if (!bytesRead) break;
        this.read += bytesRead;
        progress.tick();
      }
      if (!this.stopped) progress.draw(true);
    } finally {
      await fh.close();
    }
  }

  /** Stops at the next chunk, and waits for it. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.wakeOnStop();
    await this.done;
  }
}
