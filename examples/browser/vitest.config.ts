import { defineProject } from 'vitest/config';
import { sharedTestOptions, sourceConditions } from '../../vitest.shared.js';

export default defineProject({
  ...sourceConditions,
  test: { ...sharedTestOptions, name: 'example-browser', include: ['test/**/*.test.ts'] },
});
