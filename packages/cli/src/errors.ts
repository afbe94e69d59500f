/**
 * CLI errors: user mistakes (bad flags, missing files) end the run with one line and exit code 1;
 * command-line syntax errors (unknown option, missing argument) with exit code 2.
 */
import { OpnpError, type OpnpErrorDetails } from '@opnp/core/base';

/** Exit codes of the `opnp` command. */
export const EXIT = Object.freeze({
  ok: 0,
  /** A user error: bad value, missing file, unreadable data, failed model. */
  error: 1,
  /** A usage error: unknown command or option, missing required option. */
  usage: 2,
  /** Interrupted by Ctrl-C (SIGINT); the message says what, if anything, was saved. */
  interrupted: 130,
});

/** A bad flag value: `INVALID_ARGUMENT` naming the flag. */
export function flagError(flag: string, message: string, details: OpnpErrorDetails = {}): OpnpError {
  return new OpnpError('INVALID_ARGUMENT', `${flag}: ${message}`, details);
}

/** Thrown when a run stops because its signal was aborted (Ctrl-C); the pipeline's own class. */
export { InterruptedError, isInterrupted } from '@opnp/pipeline/interrupted';

/** A command-line usage error (missing or malformed flag): exit code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}
