// Small helpers shared by the benchmark scripts.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

export function percentile(values: number[], p: number): number {
  const s = [...values].sort((a, b) => a - b);
  if (!s.length) return NaN;
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}
export const median = (v: number[]) => percentile(v, 50);
export const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(0);
export const peakRssMiB = () => (process.resourceUsage().maxRSS / 1024).toFixed(0);

export function table(headers: string[], rows: (string | number)[][]): string {
  const cells = [headers, ...rows.map((r) => r.map(String))];
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => r[i]!.length)));
  const line = (r: string[]) => `| ${r.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [line(cells[0]!), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...cells.slice(1).map(line)].join(
    '\n',
  );
}

export async function timed<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const t = performance.now();
  const out = await fn();
  return [out, performance.now() - t];
}

/** Drops the data folder's files from the page cache (GNU dd's advice to the kernel), as after a reboot. */
export function evictFromPageCache(dataDir: string): void {
  spawnSync('sync');
  for (const folder of [dataDir, join(dataDir, 'index')]) {
    for (const f of readdirSync(folder)
      .map((name) => join(folder, name))
      .filter((p) => statSync(p).isFile())) {
      spawnSync('dd', [`if=${f}`, 'iflag=nocache', 'count=0', 'status=none']);
    }
  }
}
