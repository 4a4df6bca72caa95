// bench/api: the HTTP service under load on loopback, with the demo (tiny) model: POST /api/search at concurrency 1, 8
// and 32, each for a bounded time. The server runs as its own process (`src/web/server.ts`), so its RSS is its own.
//   npm run bench:api        (LOOKALIKE_BENCH_SECONDS=10 per level)
import autocannon from 'autocannon';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { multipart } from '../test/helpers/app.js';
import { table } from './common.js';

const seconds = Number(process.env.LOOKALIKE_BENCH_SECONDS ?? 10);
const root = fileURLToPath(new URL('../', import.meta.url));
const dataDir = mkdtempSync(join(tmpdir(), 'lookalike-bench-api-'));
const port = 20000 + Math.floor(Math.random() * 30000);
const base = `http://127.0.0.1:${port}`;
const server = spawn(process.execPath, ['--import', 'tsx', 'src/web/server.ts'], {
  cwd: root,
  stdio: ['ignore', 'ignore', 'inherit'],
  env: { ...process.env, PORT: String(port), LOOKALIKE_DATA_DIR: dataDir, LOOKALIKE_LOG_LEVEL: 'warn' },
});
const rssMiB = () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${server.pid}/status`, 'utf8'))![1]) / 1024;

try {
  for (let i = 0; ; i++) {
    if (
      await fetch(`${base}/api/health`).then(
        (r) => r.status === 200,
        () => false,
      )
    )
      break;
    // the first start builds the demo gallery (1000 pictures): over a minute on a busy 2-core machine
    if (i > 6000) throw new Error('the server did not become ready within 10 minutes');
    await new Promise((r) => setTimeout(r, 100));
  }
  const dir = join(dataDir, 'demo', 'images', 'sneaker');
  const body = multipart({
    image: { filename: 'q.png', data: readFileSync(join(dir, readdirSync(dir)[0]!)), contentType: 'image/png' },
    k: '12',
  });
  // requests still queued from the previous level would meet the next one: start each level on an idle server
  const drained = async () => {
    while (((await (await fetch(`${base}/api/stats`)).json()) as { queue: { inUse: number } }).queue.inUse > 0)
      await new Promise((r) => setTimeout(r, 50));
  };
  const run = async (connections: number, duration: number) => {
    await drained();
    return autocannon({
      url: `${base}/api/search`,
      method: 'POST',
      body: body.payload,
      headers: body.headers,
      connections,
      duration,
    });
  };
  const rssStart = rssMiB();
  // warm-up at every level: buffers sized, JIT warm, the heap grown to what this concurrency needs
  for (const c of [1, 8, 32]) await run(c, 2);
  const rssWarm = rssMiB();
  const rows: (string | number)[][] = [];
  let unexpected = 0;
  for (const c of [1, 8, 32]) {
    const r = await run(c, seconds);
    const codes = Object.fromEntries(
      Object.entries((r as unknown as { statusCodeStats: Record<string, { count: number }> }).statusCodeStats).map(
        ([k, v]) => [k, v.count],
      ),
    );
    const busy = codes['503'] ?? 0;
    const other = Object.entries(codes)
      .filter(([k]) => k !== '200' && k !== '503')
      .reduce((s, [, n]) => s + n, 0);
    unexpected += other + r.errors + r.timeouts;
    rows.push([
      c,
      r.requests.average.toFixed(1),
      codes['200'] ?? 0,
      busy,
      other,
      r.errors,
      r.timeouts,
      r.latency.p50,
      r.latency.p99,
      rssMiB().toFixed(0),
    ]);
  }
  const rssEnd = rssMiB();
  console.log(
    `\nPOST /api/search on the demo model (1000 Fashion-MNIST pictures), ${seconds} s per level, queue ` +
      `size ${process.env.LOOKALIKE_QUEUE_SIZE ?? 8}\n`,
  );
  console.log(
    table(
      [
        'connections',
        'req/s',
        '200',
        '503 busy',
        'other status',
        'errors',
        'timeouts',
        'p50 (ms)',
        'p99 (ms)',
        'server RSS after (MiB)',
      ],
      rows,
    ),
  );
  console.log(
    `\nserver RSS: ${rssStart.toFixed(0)} MiB at start, ${rssWarm.toFixed(0)} MiB after ` +
      `warm-up, ${rssEnd.toFixed(0)} MiB at the end ` +
      `(growth after warm-up ${((100 * (rssEnd - rssWarm)) / rssWarm).toFixed(1)}%, from ` +
      `start ${((100 * (rssEnd - rssStart)) / rssStart).toFixed(1)}%)`,
  );
  console.log(
    `responses other than 200 and the designed 503, plus socket errors and timeouts: ${unexpected} (target 0)`,
  );
} finally {
  server.kill('SIGTERM');
  await new Promise((r) => server.on('exit', r));
  rmSync(dataDir, { recursive: true, force: true });
}
