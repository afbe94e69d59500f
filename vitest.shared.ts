/**
 * Shared vitest settings of every project (packages/*, examples/*, tools/integration).
 *
 * - `sourceConditions`: resolve workspace packages to their TypeScript sources through the `@opnp/source` export
 *   condition, so tests run without a build.
 * - `sharedTestOptions`: the timeouts every project runs with. Projects referenced from the root config as config
 *   files (`projects: ['packages/*', ...]`) do NOT inherit the root config's `test` options in vitest 4 (only inline
 *   project objects do, through `extends`), so each project spreads these into its own `test` block.
 *   `tools/check-vitest-config.mjs` (run by `npm test` before vitest) fails when a project resolves to less.
 */
import { defaultServerConditions } from 'vite';

export const sourceConditions = {
  resolve: { conditions: ['@opnp/source', ...defaultServerConditions] },
  ssr: { resolve: { conditions: ['@opnp/source', ...defaultServerConditions], externalConditions: ['@opnp/source'] } },
};

/**
 * Per-test and per-hook timeouts (ms). The default 5 s is far too short on a loaded 2-core CI machine, where model
 * loading and the end-to-end CLI runs take tens of seconds.
 */
export const sharedTestOptions = {
  testTimeout: 60_000,
  hookTimeout: 120_000,
} as const;
