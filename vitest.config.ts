import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Native models in forked processes, one file at a time: a 2-core machine, and a crash stays in its fork.
    pool: 'forks',
    fileParallelism: false,
    globalSetup: ['test/helpers/global-setup.ts'],
    reporters: ['default', './test/helpers/summary-reporter.ts'],
    // backstops, not budgets: a test waits on progress (a child's output, a job's state), and these only end one that
    // is stuck; machines of this kind differ in speed by 2x or more
    testTimeout: 15 * 60_000,
    hookTimeout: 15 * 60_000,
  },
});
