// Runs the project's scripts as a user would, in a child process.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export function startScript(script: string, args: string[], env: NodeJS.ProcessEnv = {}): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', script, ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

export function runScript(
  script: string,
  args: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }> {
  const child = startScript(script, args, env);
  let stdout = '',
    stderr = '';
  child.stdout!.on('data', (d) => {
    stdout += d;
  });
  child.stderr!.on('data', (d) => {
    stderr += d;
  });
  return new Promise((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })));
}

/** Collects a child's output from the start, so a test can wait for a line whether or not it was printed yet. */
export function watchOutput(child: ChildProcess) {
  let output = '';
  let exit: string | null = null;
  const changed = new Set<() => void>();
  const notify = () => {
    for (const f of changed) f();
  };
  child.stdout!.on('data', (d) => {
    output += d;
    notify();
  });
  child.stderr!.on('data', (d) => {
    output += d;
    notify();
  });
  // 'close', not 'exit': it comes after the child's last output has been read
  child.on('close', (code, signal) => {
    exit = String(code ?? signal);
    notify();
  });
  return {
    /** All it printed so far. */
    get text(): string {
      return output;
    },
    /**
     * The first match of `pattern` in what the child printed. For work whose speed depends on the machine it fails only
     * when the child prints nothing new (its progress) for `stallMs`, however long the whole takes, or exits first.
     */
    waitFor(pattern: RegExp, stallMs: number): Promise<RegExpMatchArray> {
      return new Promise((resolve, reject) => {
        let timer: NodeJS.Timeout;
        const arm = () => {
          clearTimeout(timer);
          timer = setTimeout(() => fail(`no progress towards ${pattern} from the child for ${stallMs} ms`), stallMs);
        };
        const done = () => {
          clearTimeout(timer);
          changed.delete(check);
        };
        const fail = (why: string) => {
          done();
          reject(new Error(`${why}; it printed:\n${output}`));
        };
        let seen = -1;
        const check = () => {
          const match = output.match(pattern);
          if (match) {
            done();
            resolve(match);
          } else if (exit !== null) fail(`the child exited (${exit}) before printing ${pattern}`);
          else if (output.length !== seen) {
            seen = output.length;
            arm();
          }
        };
        changed.add(check);
        check();
      });
    },
  };
}
