// `npx tsx bench/signals.ts [runs]`: stops `npm start` and `npm run worker` by a signal to
// the process group, to npm and to node, `runs` times each (default 10), and counts the clean closes (one "closing"
// line, the "closed" line, the request in flight answered, exit 0, nothing left running).
import { startRedis } from '../test/helpers/redis.js';
import { stopOnce, TARGETS } from '../test/helpers/signals.js';
import { ensureRandomMmproj, TINY_VISION } from '../test/helpers/random-models.js';
import { TINY_MMPROJ } from '../test/helpers/models.js';

const runs = Number(process.argv[2] ?? 10);
ensureRandomMmproj(TINY_MMPROJ, TINY_VISION, 1);
const redis = await startRedis();
const rows: string[] = [];
try {
  for (const kind of ['server', 'worker'] as const) {
    for (const target of TARGETS) {
      let clean = 0;
      const problems = new Map<string, number>();
      for (let i = 0; i < runs; i++) {
        const r = await stopOnce(kind, target, 120_000, kind === 'worker' ? redis.url : '');
        if (r.clean) clean++;
        for (const p of r.problems) problems.set(p, (problems.get(p) ?? 0) + 1);
        process.stderr.write(`${kind} ${target} ${i + 1}/${runs}: ${r.clean ? 'clean' : r.problems.join('; ')}\n`);
      }
      rows.push(
        `| ${kind} | ${target} | ${clean}/${runs} ` +
          `| ${[...problems].map(([p, n]) => `${p} (${n})`).join(', ') || '-'} |`,
      );
    }
  }
} finally {
  await redis.stop();
}
console.log(['| process | signal sent to | clean closes | problems |', '|---|---|---|---|', ...rows].join('\n'));
