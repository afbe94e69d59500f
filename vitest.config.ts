import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    projects: ['packages/*', 'tools/integration'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
