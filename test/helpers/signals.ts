// Stops `npm start` or `npm run worker` with a signal sent to one part of its real process tree (npm -> node, the
// script execs node): the whole process group (Ctrl-C, systemd's default), the npm process (Docker), or node itself,
// and reports what a clean close needs: one "closing" line, the final "closed" line, the request in flight answered,
// exit code 0, nothing left running (the data folder's lock goes with the process: src/engine/gallery/lock.ts).
// test/server.test.ts runs each once;
// bench/signals.ts runs each 10 times.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { multipart } from './app.js';
import { ROOT, watchOutput } from './cli.js';
import { scenePng } from './images.js';
import { TINY_MMPROJ } from './models.js';

export type Target = 'group' | 'npm' | 'node';
export const TARGETS: Target[] = ['group', 'npm', 'node'];
/** What each target gets: Ctrl-C for the group, a supervisor's SIGTERM for npm or node. */
const SIGNAL: Record<Target, NodeJS.Signals> = { group: 'SIGINT', npm: 'SIGTERM', node: 'SIGTERM' };

export interface StopResult {
  clean: boolean;
  /** Why not clean, and what the process tree printed. */
  problems: string[];
  output: string;
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/**
 * Stops a server (`npm start`) or a worker (`npm run worker`, with `redisUrl`) once, as `target` is sent the signal.
 */
export async function stopOnce(
  kind: 'server' | 'worker',
  target: Target,
  stallMs: number,
  redisUrl = '',
): Promise<StopResult> {
  const dataDir = mkdtempSync(join(tmpdir(), `lookalike-stop-${kind}-`));
  // slow encodes (1024 tokens) so that the add is still in flight when the signal comes
  const env = {
    ...process.env,
    LOOKALIKE_MMPROJ: TINY_MMPROJ,
    LOOKALIKE_MIN_TOKENS: '1024',
    LOOKALIKE_MAX_TOKENS: '1024',
    LOOKALIKE_THREADS: '1',
    PORT: '0',
    LOOKALIKE_DATA_DIR: dataDir,
    LOOKALIKE_LOG_LEVEL: 'debug',
    LOOKALIKE_REDIS_URL: redisUrl,
  };
  // its own process group, as a terminal or systemd gives it
  const npm = spawn('npm', kind === 'server' ? ['start'] : ['run', 'worker'], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  const exited = new Promise<number | null>((resolve) => npm.on('close', (code) => resolve(code)));
  const output = watchOutput(npm);
  const problems: string[] = [];
  let nodePid = 0;
  try {
    let inFlight: Promise<Response> | null = null;
    if (kind === 'server') {
      const base = (await output.waitFor(/lookalike on (http:\/\/[\d.:]+)\//, stallMs))[1]!;
      await output.waitFor(/gallery ready/, stallMs);
      const body = multipart({ image: { filename: 'x.png', data: await scenePng(4), contentType: 'image/png' } });
      inFlight = fetch(`${base}/api/images`, {
        method: 'POST',
        body: new Uint8Array(body.payload),
        headers: body.headers,
      });
      await output.waitFor(/incoming POST \/api\/images/, stallMs);
    } else {
      await output.waitFor(/waiting for jobs/, stallMs);
    }
    nodePid = Number(
      execFileSync('pgrep', ['-P', String(npm.pid)], { encoding: 'utf8' })
        .trim()
        .split('\n')[0],
    );
    if (target === 'group') process.kill(-npm.pid!, SIGNAL[target]);
    else process.kill(target === 'npm' ? npm.pid! : nodePid, SIGNAL[target]);
    if (inFlight) {
      const res = await inFlight.catch((err: Error) => ({ status: `failed (${err.message})` }));
      if (res.status !== 201) problems.push(`the add in flight answered ${res.status}, not 201`);
    }
    await output
      .waitFor(kind === 'server' ? /closed: requests finished, index saved/ : /worker \S+: closed/, stallMs)
      .catch(() => problems.push('no "closed" line'));
    const code = await exited;
    if (code !== 0) problems.push(`npm exited ${code}`);
  } catch (err) {
    problems.push((err as Error).message.split('\n')[0]!);
  } finally {
    if (nodePid && alive(nodePid)) {
      problems.push('node still running after npm exited');
      process.kill(nodePid, 'SIGKILL');
    }
    if (npm.exitCode === null && npm.signalCode === null) process.kill(-npm.pid!, 'SIGKILL');
  }
  const printed = output.text;
  const closing = (printed.match(/(SIGINT|SIGTERM): closing/g) ?? []).length;
  if (closing !== 1) problems.push(`${closing} "closing" lines`);
  if (/second SIG|killed by timeout/.test(printed)) problems.push('a forced exit');
  rmSync(dataDir, { recursive: true, force: true });
  return { clean: problems.length === 0, problems, output: printed };
}
