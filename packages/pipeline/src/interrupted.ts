/**
 * @packageDocumentation
 * `@opnp/pipeline/interrupted`: cancellation. Every long stage takes an `AbortSignal`; when it fires the stage stops at
 * the next batch and throws {@link InterruptedError} saying what was saved (or that nothing was). This entry imports
 * nothing, so a program can recognise an interruption without loading the pipeline.
 */

/** Thrown when a stage stops because its `signal` was aborted. */
export class InterruptedError extends Error {
  override readonly name = 'InterruptedError';
  /**
   * True when nothing was saved but a checkpoint option (`CheckpointOptions`) would have made the stage resumable: a
   * program whose command has such an option says so; the message itself names no flag, since not every command has one.
   */
  readonly checkpointable: boolean;
  constructor(message = 'interrupted', options: { checkpointable?: boolean } = {}) {
    super(message);
    this.checkpointable = options.checkpointable === true;
  }
}

/** Whether `error` comes from an aborted `signal` (the signal's reason, or an `AbortError`). */
export function isAbort(error: unknown, signal: AbortSignal | undefined): boolean {
  return signal?.aborted === true || (error instanceof Error && error.name === 'AbortError');
}

/**
 * Whether `error` is an {@link InterruptedError}, compared by name rather than by class: a process can hold more than
 * one instance of this module (two installed copies of `@opnp/pipeline`, or one reached by two paths), and
 * `instanceof` against the other instance's class would miss it (a saved checkpoint reported as "nothing was saved").
 */
export function isInterrupted(error: unknown): error is InterruptedError {
  return error instanceof Error && error.name === 'InterruptedError';
}
