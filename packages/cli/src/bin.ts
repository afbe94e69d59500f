#!/usr/bin/env node
/**
 * The `opnp` executable: runs {@link main} on the process and exits with its code. The first Ctrl-C
 * asks the running command to stop after the current batch (it then says what it saved, if anything,
 * and exits with 130); a second one exits at once.
 */
import { runCli } from './main.js';

/** Runs the CLI on `process` (argv, streams, environment, SIGINT). */
export async function main(argv: readonly string[]): Promise<number> {
  const controller = new AbortController();
  let interrupts = 0;
  const onSigint = () => {
    interrupts++;
    if (interrupts > 1) process.exit(130);
    process.stderr.write('\nopnp: interrupting after the current batch (press Ctrl-C again to quit at once)\n');
    controller.abort(Object.assign(new Error('Interrupted'), { name: 'AbortError' }));
  };
  process.on('SIGINT', onSigint);
  try {
    return await runCli(argv, { stdout: process.stdout, stderr: process.stderr, env: process.env, signal: controller.signal });
  } finally {
    process.off('SIGINT', onSigint);
  }
}

process.exitCode = await main(process.argv);
