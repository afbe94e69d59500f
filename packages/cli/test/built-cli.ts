/**
 * The built `opnp` executable (see global-setup.ts), for tests that run it as a child process.
 */
import { fileURLToPath } from 'node:url';

/** `node <this>` runs the CLI as installed users run it. */
export const OPNP_BIN = fileURLToPath(new URL('../bin/opnp.js', import.meta.url));
