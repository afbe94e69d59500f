/**
 * The CLI's view of the outside world: output streams, environment and cancellation, passed in
 * explicitly so tests can run the CLI in-process.
 */

import type { CheckpointBoard } from './checkpoint-board.js';

/** A writable text stream (process.stdout, or a test buffer). */
export interface TextSink {
  write(text: string): unknown;
  /** True when the stream is a terminal (progress bars are drawn only then). */
  readonly isTTY?: boolean;
}

/** What {@link runCli} needs from its environment. */
export interface CliIo {
  readonly stdout: TextSink;
  readonly stderr: TextSink;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Aborted on Ctrl-C: long passes checkpoint and stop. */
  readonly signal?: AbortSignal;
  /** Milliseconds clock of the progress display (default `performance.now`; tests inject one). */
  readonly now?: () => number;
  /**
   * @internal Test-only: called after each plain progress line; blocks until the driving test acknowledges
   * it. The `opnp` executable sets it from `OPNP_PROGRESS_LOCKSTEP=1` with stdin a pipe (see
   * progress-lockstep.ts); in-process runs never read stdin unless a caller passes this.
   */
  readonly progressAck?: () => void;
  /** Where a command posts what its resumable outputs keep, for the message of a second Ctrl-C (see signals.ts). */
  readonly checkpoints?: CheckpointBoard;
}

/** Writes one line to a sink. */
export function writeLine(sink: TextSink, line = ''): void {
  sink.write(`${line}\n`);
}
