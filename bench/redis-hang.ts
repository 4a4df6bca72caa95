// `npx tsx bench/redis-hang.ts [tries]`: how soon the Redis link (src/application/jobs/redis-link.ts) reports a Redis
// that hangs (SIGSTOP) as down, and how soon it reports it back after SIGCONT; `tries` times (default 10), at random
// moments between two pings. The README quotes it.
import { execFileSync } from 'node:child_process';
import { RedisLink } from '../src/application/jobs/redis-link.js';
import { startRedis } from '../test/helpers/redis.js';

const tries = Number(process.argv[2] ?? 10);
const redis = await startRedis();
const info = execFileSync('redis-cli', ['-p', new URL(redis.url).port, 'info', 'server'], { encoding: 'utf8' });
const pid = Number(/process_id:(\d+)/.exec(info)![1]);
const link = new RedisLink(redis.url, () => {});
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const until = async (done: () => boolean) => {
  const started = performance.now();
  while (!done()) await sleep(10);
  return performance.now() - started;
};
try {
  if (!(await link.waitUntilUp(10_000))) throw new Error(`no Redis at ${redis.url}`);
  const down: number[] = [],
    back: number[] = [];
  for (let i = 0; i < tries; i++) {
    await sleep(500 + Math.random() * 1000);
    process.kill(pid, 'SIGSTOP');
    down.push(await until(() => !link.reachable));
    process.kill(pid, 'SIGCONT');
    back.push(await until(() => link.reachable));
  }
  const range = (a: number[]) => `${Math.min(...a).toFixed(0)} to ${Math.max(...a).toFixed(0)} ms`;
  console.log(`${tries} tries: a hang reported after ${range(down)}; back after ${range(back)}`);
} finally {
  process.kill(pid, 'SIGCONT');
  await link.close();
  await redis.stop();
}
