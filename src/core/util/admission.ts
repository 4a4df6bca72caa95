// Admission control for the slow step (encoding, generation): at most `capacity` requests wait or run; the next
// one is turned away at once with 503 and a Retry-After estimated from recent durations, never piled up.
import { BusyError } from '../errors.js';

export class Admission {
  private active = 0;
  private avgMs = 1000;

  constructor(
    readonly capacity: number,
    private readonly onReject: () => void = () => {},
  ) {}

  get inUse(): number {
    return this.active;
  }

  /** Throws BusyError when full: lets a route refuse before it reads an upload it could not serve. */
  assertRoom(): void {
    if (this.active >= this.capacity) {
      this.onReject();
      const retryAfter = Math.max(1, Math.ceil((this.avgMs * this.active) / 1000));
      throw new BusyError(
        `the encoder is busy (${this.active} requests queued or running); retry in about ${retryAfter} s`,
        retryAfter,
      );
    }
  }

  async run<T>(task: () => Promise<T>): Promise<T> {
    this.assertRoom();
    this.active++;
    const started = performance.now();
    try {
      return await task();
    } finally {
      this.active--;
      this.avgMs = 0.8 * this.avgMs + 0.2 * (performance.now() - started);
    }
  }
}
