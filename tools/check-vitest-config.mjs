#!/usr/bin/env node
/**
 * Fails when a vitest project would run with timeouts below the repository's minimum.
 *
 * Projects referenced from the root vitest.config.ts as config files do not inherit the root's `test` options in
 * vitest 4, so a project that forgets to spread `sharedTestOptions` (vitest.shared.ts) silently runs every test under
 * vitest's 5 s default, which fails on a loaded CI machine. This loads the root config through vitest's node API,
 * exactly as `vitest run` resolves it, and checks every project's resolved `testTimeout` and `hookTimeout`.
 *
 * Usage: node tools/check-vitest-config.mjs [root]   (run by `npm test` before vitest; exit 1 on a violation;
 *        `root` defaults to the repository root)
 */
import { fileURLToPath } from 'node:url';
import { createVitest } from 'vitest/node';

const MIN_TEST_TIMEOUT = 60_000;
const MIN_HOOK_TIMEOUT = 60_000;

const root = process.argv[2] ?? fileURLToPath(new URL('..', import.meta.url));
const vitest = await createVitest('test', { root, watch: false, run: true }, {}, {});
let failures = 0;
try {
  const projects = vitest.projects;
  if (projects.length === 0) {
    console.error('check-vitest-config: vitest resolved no projects from vitest.config.ts');
    failures++;
  }
  for (const project of projects) {
    const { testTimeout, hookTimeout } = project.config;
    const problems = [];
    if (!(testTimeout >= MIN_TEST_TIMEOUT)) problems.push(`testTimeout ${testTimeout} < ${MIN_TEST_TIMEOUT}`);
    if (!(hookTimeout >= MIN_HOOK_TIMEOUT)) problems.push(`hookTimeout ${hookTimeout} < ${MIN_HOOK_TIMEOUT}`);
    if (problems.length > 0) {
      failures++;
      console.error(
        `check-vitest-config: project '${project.name}' (${project.config.root}): ${problems.join(', ')}; ` +
          "spread `sharedTestOptions` from vitest.shared.ts into its `test` block",
      );
    }
  }
  if (failures === 0) {
    console.log(
      `check-vitest-config: ${projects.length} projects, timeouts ok (${projects
        .map((p) => `${p.name} ${p.config.testTimeout}/${p.config.hookTimeout}`)
        .join(', ')})`,
    );
  }
} finally {
  await vitest.close();
}
process.exitCode = failures > 0 ? 1 : 0;
