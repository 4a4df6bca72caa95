// Whether Redis can be reached, for every process that uses it (server, builder, worker): one small probe connection
// that reconnects every second and logs one line per change ("Redis unreachable at ..., retrying" / "Redis back").
// A Redis that hangs (a stopped process, a frozen host) keeps its connections open and closes none: the probe also
// pings it every second, and one ping unanswered for 2 s counts as down, until it answers. BullMQ's own connections
// wait and reconnect on their own; what they report while Redis is down is the same outage, so it is not logged again.
// Request paths call Redis through `call()`: refused at once while Redis is down, and bounded in time while it is up,
// so a client gets 503 queue_unavailable with Retry-After, never a request that hangs for the whole outage.
import { Redis } from 'ioredis';
import { RETRY_SECONDS } from '../../core/config.js';
import { UnavailableError } from '../../core/errors.js';

/** How long a request may wait on Redis while it looks up. */
export const REDIS_CALL_TIMEOUT_MS = 3000;
/** How often the probe pings, and how long a ping may go unanswered before Redis counts as down (a hang is reported
 * within the sum, 3 s). */
export const REDIS_PING_INTERVAL_MS = 1000;
export const REDIS_PING_TIMEOUT_MS = 2000;

const CONNECTION_ERRORS = new RegExp(
  [
    'ECONNREFUSED',
    'ECONNRESET',
    'ETIMEDOUT',
    'ENOTFOUND',
    'EAI_AGAIN',
    'EHOSTUNREACH',
    'EPIPE',
    'Connection is closed',
    "Stream isn't writeable",
  ].join('|'),
);

export class RedisLink {
  /** null until the first connection attempt ends. */
  private up: boolean | null = null;
  private reason = '';
  private readonly probe: Redis;
  private readonly waiters = new Set<() => void>();
  private readonly pinger: NodeJS.Timeout;
  private pinging = false;
  private closed = false;
  /** The URL without its password, for logs and messages. */
  readonly url: string;

  constructor(
    url: string,
    private readonly log: (msg: string) => void,
  ) {
    const shown = new URL(url);
    if (shown.password) shown.password = '***';
    this.url = shown.toString().replace(/\/$/, '');
    this.probe = new Redis(url, {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      retryStrategy: () => 1000,
      connectionName: 'lookalike-probe',
    });
    this.probe.on('ready', () => this.changed(true, ''));
    this.probe.on('error', (err: Error & { code?: string }) => this.changed(false, err.code ?? err.message));
    this.probe.on('close', () => this.changed(false, 'connection closed'));
    this.pinger = setInterval(() => this.ping(), REDIS_PING_INTERVAL_MS).unref();
  }

  /** One ping at a time: a hung Redis answers the one in flight when it resumes, and that answer says it is back. */
  private ping(): void {
    if (this.pinging || this.probe.status !== 'ready') return;
    this.pinging = true;
    let answered = false;
    // checked after the event loop's poll phase: an answer that came while this process was busy is read first, and
    // not taken for a hang
    const late = setTimeout(
      () =>
        setImmediate(() => {
          if (!answered) this.changed(false, `no answer to a ping within ${REDIS_PING_TIMEOUT_MS} ms`);
        }),
      REDIS_PING_TIMEOUT_MS,
    );
    this.probe
      .ping()
      .then(
        () => this.changed(true, ''),
        () => undefined,
      ) // a failed ping: the connection's events tell
      .finally(() => {
        answered = true;
        clearTimeout(late);
        this.pinging = false;
      });
  }

  private changed(up: boolean, reason: string): void {
    if (up === this.up || this.closed) return;
    const before = this.up;
    this.up = up;
    this.reason = reason;
    if (!up) this.log(`Redis unreachable at ${this.url} (${reason}), retrying`);
    else if (before === false) this.log(`Redis back at ${this.url}`);
    for (const w of this.waiters) w();
  }

  get reachable(): boolean {
    return this.up === true;
  }

  /** Why Redis is unreachable, for health and 503 messages. */
  get problem(): string {
    return this.up === true
      ? ''
      : this.up === null
        ? `connecting to Redis at ${this.url}`
        : `Redis unreachable at ${this.url} (${this.reason})`;
  }

  /** Resolves once connected; false if not within `ms` (a command that must not wait forever: the index builder). */
  waitUntilUp(ms: number): Promise<boolean> {
    if (this.up) return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = () => {
        if (!this.up) return;
        clearTimeout(timer);
        this.waiters.delete(done);
        resolve(true);
      };
      const timer = setTimeout(() => {
        this.waiters.delete(done);
        resolve(false);
      }, ms);
      this.waiters.add(done);
    });
  }

  /**
   * An error a BullMQ object emitted: its connection errors are the outage the probe reports; anything else, a line.
   */
  onError = (err: Error): void => {
    if (!CONNECTION_ERRORS.test(`${(err as { code?: string }).code ?? ''} ${err.message}`))
      this.log(`Redis: ${err.message}`);
  };

  /** Runs a request's Redis call: 503 queue_unavailable at once while Redis is down (nothing was sent), or when it
   * takes too long. What was sent then may still be done once Redis answers: `whenLate` says what the client should
   * know of it, in the 503's message. */
  async call<T>(
    what: string,
    fn: () => Promise<T>,
    { timeoutMs = REDIS_CALL_TIMEOUT_MS, whenLate = '' } = {},
  ): Promise<T> {
    if (this.up === null) await this.waitUntilUp(timeoutMs); // just opened: the first connection is under way
    if (!this.up) throw this.unavailable(what);
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(this.unavailable(what, timeoutMs, whenLate)), timeoutMs);
    });
    try {
      return await Promise.race([fn(), late]);
    } finally {
      clearTimeout(timer);
    }
  }

  private unavailable(what: string, timeoutMs?: number, whenLate = ''): UnavailableError {
    const why = timeoutMs ? `Redis at ${this.url} did not answer within ${timeoutMs} ms` : this.problem;
    const message = `${what} needs the job queue: ${why}; ${whenLate || 'retry shortly'}`;
    return new UnavailableError('queue_unavailable', message, RETRY_SECONDS.queueUnavailable);
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.pinger);
    this.probe.disconnect();
  }
}
