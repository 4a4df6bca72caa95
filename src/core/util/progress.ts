// Progress of long work: count, rate, ETA and the other counters. A live line on a terminal, a plain line every
// few seconds otherwise (logs, CI), or a line every few seconds to a log function.
export type ProgressSink = NodeJS.WriteStream | ((line: string) => void);

export class Progress {
  private readonly started = performance.now();
  private lastDraw = 0;
  private drawnAt = -1; // the count the last line showed: the final line is not printed twice
  done = 0;
  readonly counters: Record<string, number> = {};

  constructor(
    private readonly what: string,
    private readonly total: number,
    private readonly sink: ProgressSink = process.stderr,
    private readonly plainEveryMs = 5000,
    /** Told every step, for whoever shows it elsewhere (the page, while the demo gallery builds). */
    private readonly onAdvance?: (done: number, total: number) => void,
  ) {}

  tick(counter?: string): void {
    this.advance(1, counter);
  }

  advance(n: number, counter?: string): void {
    this.done += n;
    if (counter) this.counters[counter] = (this.counters[counter] ?? 0) + n;
    this.onAdvance?.(this.done, this.total);
    this.draw(false);
  }

  line(): string {
    const secs = (performance.now() - this.started) / 1000;
    const rate = secs > 0 ? this.done / secs : 0;
    const left = this.total - this.done;
    const eta = rate > 0 ? formatDuration(left / rate) : '?';
    const extra = Object.entries(this.counters)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ');
    const pct = this.total ? ((100 * this.done) / this.total).toFixed(1) : '100.0';
    return (
      `${this.what} ${this.done}/${this.total} (${pct}%) ${rate.toFixed(2)}/s ` +
      `ETA ${eta}${extra ? ` | ${extra}` : ''}`
    );
  }

  draw(final: boolean): void {
    const now = Date.now();
    const tty = typeof this.sink !== 'function' && this.sink.isTTY;
    if (!final && now - this.lastDraw < (tty ? 200 : this.plainEveryMs)) return;
    if (final && this.drawnAt === this.done) {
      if (tty) (this.sink as NodeJS.WriteStream).write('\n'); // the live line is already the final one: end it
      return;
    }
    this.lastDraw = now;
    this.drawnAt = this.done;
    if (typeof this.sink === 'function') this.sink(this.line());
    else if (tty) this.sink.write(`\r\x1b[K${this.line()}${final ? '\n' : ''}`);
    else this.sink.write(`${this.line()}\n`);
  }

  /** A line of its own between progress lines (what the work is waiting for). */
  say(message: string): void {
    if (typeof this.sink === 'function') this.sink(message);
    else this.sink.write(`${this.sink.isTTY ? '\r\x1b[K' : ''}${message}\n`);
  }

  elapsedSeconds(): number {
    return (performance.now() - this.started) / 1000;
  }
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600),
    m = Math.floor((s % 3600) / 60),
    r = s % 60;
  return h ? `${h}h${String(m).padStart(2, '0')}m` : m ? `${m}m${String(r).padStart(2, '0')}s` : `${r}s`;
}
