#!/usr/bin/env node
/**
 * The `opnp` executable: runs {@link main} on the process and exits with its code. The first Ctrl-C
 * (SIGINT) or SIGTERM (a preempted Slurm task, an evicted pod) asks the running command to stop after the
 * current batch: checkpoints are written, it says what it saved, if anything, and exits with 130 (143 after
 * SIGTERM). A second signal exits at once; one after the command returned is ignored. A closed standard output (`opnp --help | head -1`) ends it quietly with
 * 141.
 */
import { exitOnBrokenPipe } from './broken-pipe.js';
import { runCli } from './main.js';
import { PROGRESS_LOCKSTEP_ENV, progressLockstep } from './progress-lockstep.js';
import { CheckpointBoard } from './checkpoint-board.js';
import { handleStopSignals } from './signals.js';

/** Runs the CLI on `process` (argv, streams, environment, SIGINT and SIGTERM: see signals.ts). */
export async function main(argv: readonly string[]): Promise<number> {
  exitOnBrokenPipe(process.stdout, (code) => process.exit(code));
  const checkpoints = new CheckpointBoard();
  const stop = handleStopSignals(process, checkpoints);
  // The test-only progress handshake (progress-lockstep.ts), taken out of the environment so that
  // processes the CLI starts never inherit it.
  const progressAck = progressLockstep(process.env);
  delete process.env[PROGRESS_LOCKSTEP_ENV];
  const code = await runCli(argv, { stdout: process.stdout, stderr: process.stderr, env: process.env, signal: stop.signal, checkpoints, ...(progressAck ? { progressAck } : {}) });
  stop.finish();
  // Stopped by SIGTERM: 143 (128 + 15), as shells and schedulers expect; Ctrl-C gives 130.
  return code === 130 && stop.terminated() ? 143 : code;
}

process.exitCode = await main(process.argv);
