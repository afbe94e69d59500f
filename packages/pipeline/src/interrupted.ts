/**
 * Cancellation: every long stage takes an `AbortSignal`; when it fires the stage stops at the next batch
 * and throws {@link InterruptedError} saying what was saved (or that nothing was).
 */

/** Thrown when a stage stops because its `signal` was aborted. */
export class InterruptedError extends Error {
  override readonly name = 'InterruptedError';
  constructor(message = 'interrupted') {
    super(message);
  }
}

/** Whether `error` comes from an aborted `signal` (the signal's reason, or an `AbortError`). */
export function isAbort(error: unknown, signal: AbortSignal | undefined): boolean {
  return signal?.aborted === true || (error instanceof Error && error.name === 'AbortError');
}
