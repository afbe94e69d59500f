/**
 * Builds the packages before the cli tests that start the `opnp` executable as a child process (fault
 * injection, Slurm jobs): the built CLI starts in 0.4 s against 1 s from the TypeScript sources, and those
 * tests start it about eighty times. nx's cache makes this a no-op when the build is up to date (as after
 * `npm ci`, whose `prepare` step builds everything).
 */
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));

export default function setup(): void {
  const nx = createRequire(import.meta.url).resolve('nx/bin/nx.js');
  execFileSync(process.execPath, [nx, 'run-many', '-t', 'build', '--projects=@opnp/cli', '--outputStyle=static'], { cwd: ROOT, stdio: 'pipe', timeout: 600_000, env: { ...process.env, NX_DAEMON: 'false' } });
}
