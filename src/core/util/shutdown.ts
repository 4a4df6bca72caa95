// Stopping a long-running process (the server, a worker) once, cleanly, whoever sends the signal. A signal often
// arrives more than once: sent to the process group (Ctrl-C, systemd's default KillMode), node gets it from the kernel
// and again from npm, which forwards what it gets. So the handlers stay installed for the whole close (a signal with
// no listener has its default action and kills the process mid-close), a repeat is logged and not acted on, and a
// close that outlasts `graceMs` exits 1. An uncaught error closes the same way, then exits 1.
export interface ShutdownLog {
  info(msg: string): void;
  error(err: unknown, msg: string): void;
}

export function closeOnSignal(log: ShutdownLog, close: () => Promise<void>, graceMs = 30_000): void {
  let closing = false;
  const run = (why: string, err?: unknown) => {
    if (closing) {
      if (err) log.error(err, 'error while closing');
      else log.info(`${why} again: already closing (at most ${graceMs / 1000} s)`);
      return;
    }
    closing = true;
    if (err) log.error(err, 'closing after an error');
    else log.info(`${why}: closing`);
    setTimeout(() => {
      log.info(`the close did not finish within ${graceMs / 1000} s: exiting`);
      process.exit(1);
    }, graceMs).unref();
    close().then(
      () => process.exit(err ? 1 : 0),
      (e: unknown) => {
        log.error(e, 'closing failed');
        process.exit(1);
      },
    );
  };
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => run(signal));
  process.on('uncaughtException', (err) => run('uncaught exception', err));
  process.on('unhandledRejection', (err) => run('unhandled rejection', err));
}
