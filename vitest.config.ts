import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';
import { sharedTestOptions } from './vitest.shared.js';

export default defineConfig({
  test: {
    // vitest's default (one worker less than the cores) leaves a 2-core machine running one file at a time;
    // most files wait on child processes or native threads, so every core gets a worker.
    maxWorkers: Math.max(2, availableParallelism()),
    projects: ['packages/*', 'examples/*', 'tools/integration'],
    // Projects are config files, which do not inherit these: each spreads `sharedTestOptions` itself
    // (see vitest.shared.ts; tools/check-vitest-config.mjs verifies the resolved values).
    ...sharedTestOptions,
  },
});
