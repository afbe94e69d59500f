/**
 * Shared vitest settings: resolve workspace packages to their TypeScript sources through the
 * `@opnp/source` export condition, so tests run without a build.
 */
import { defaultServerConditions } from 'vite';

export const sourceConditions = {
  resolve: { conditions: ['@opnp/source', ...defaultServerConditions] },
  ssr: { resolve: { conditions: ['@opnp/source', ...defaultServerConditions], externalConditions: ['@opnp/source'] } },
};
