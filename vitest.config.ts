import { defineConfig } from 'vitest/config';
import { sharedTestOptions } from './vitest.shared.js';

export default defineConfig({
  test: {
    projects: ['packages/*', 'tools/integration'],
    // Projects are config files, which do not inherit these: each spreads `sharedTestOptions` itself
    // (see vitest.shared.ts; tools/check-vitest-config.mjs verifies the resolved values).
    ...sharedTestOptions,
  },
});
