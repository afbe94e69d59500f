import { defineProject } from 'vitest/config';
import { sharedTestOptions, sourceConditions } from '../../vitest.shared.js';

export default defineProject({
  ...sourceConditions,
  test: { ...sharedTestOptions, name: 'cli', include: ['test/**/*.test.ts'], globalSetup: ['test/global-setup.ts'] },
});
