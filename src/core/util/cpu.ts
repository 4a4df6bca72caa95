import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';

/**
 * Physical cores, counted as llama.cpp's cpu_get_num_physical_cores does on Linux (distinct thread-sibling sets), so
 * hyper-threads are not counted twice; elsewhere, as it does, all logical CPUs up to 4 and half of them above.
 */
export function physicalCores(): number {
  try {
    const base = '/sys/devices/system/cpu';
    const siblings = new Set<string>();
    for (const cpu of readdirSync(base).filter((d) => /^cpu\d+$/.test(d))) {
      const file = join(base, cpu, 'topology', 'thread_siblings');
      if (existsSync(file)) siblings.add(readFileSync(file, 'utf8').trim());
    }
    if (siblings.size > 0) return siblings.size;
  } catch {
    /* not Linux, or no sysfs */
  }
  const n = availableParallelism();
  return n <= 4 ? n : Math.floor(n / 2);
}
