/**
 * A closed standard output (`opnp ... | head -1`): the reader has what it wanted, so the CLI stops quietly with
 * 141 (128 + SIGPIPE), as a process killed by SIGPIPE would, instead of Node's unhandled `EPIPE` error trace.
 */

/** The exit code after the reader of standard output went away (128 + SIGPIPE's 13). */
export const BROKEN_PIPE_EXIT = 141;

/** The stream events {@link exitOnBrokenPipe} listens to. */
export interface ErrorEmitter {
  on(event: 'error', listener: (error: NodeJS.ErrnoException) => void): unknown;
}

/**
 * Makes `EPIPE` on `stream` end the process with {@link BROKEN_PIPE_EXIT} through `exit`; any other stream error is
 * rethrown (it stays an error the user should see).
 */
export function exitOnBrokenPipe(stream: ErrorEmitter, exit: (code: number) => void): void {
  stream.on('error', (error) => {
    if (error.code === 'EPIPE') {
      exit(BROKEN_PIPE_EXIT);
      return;
    }
    throw error;
  });
}
