/**
 * SIGINT and SIGTERM for the `opnp` executable: the first asks the running command to stop after the current batch
 * (its `signal` aborts), a second exits at once with 130 (143 when a SIGTERM came), saying so, and a signal that arrives after the command returned is
 * ignored (its outputs and exit code stand; without a listener Node would end the process with 130, and a finished
 * run would look interrupted to its caller).
 */
import type { EventEmitter } from 'node:events';
import type { CheckpointBoard } from './checkpoint-board.js';

/** What {@link handleStopSignals} needs of the process (`process` itself in the executable). */
export interface SignalTarget extends Pick<EventEmitter, 'on'> {
  readonly stderr: { write(text: string): unknown };
  exit(code: number): void;
}

/** The command's stop signal, and what the executable tells the handler. */
export interface StopSignals {
  /** Aborts at the first SIGINT or SIGTERM. */
  readonly signal: AbortSignal;
  /** Whether the first signal was SIGTERM (the exit code is then 143 instead of 130). */
  readonly terminated: () => boolean;
  /** The command has returned: later signals are ignored. */
  finish(): void;
}

/**
 * Listens for SIGINT and SIGTERM on `target` until the process exits (see the module comment); the message of a
 * second signal says what `checkpoints` records the resumable outputs keep.
 */
export function handleStopSignals(target: SignalTarget, checkpoints?: CheckpointBoard): StopSignals {
  const controller = new AbortController();
  let interrupts = 0;
  let terminated = false;
  let finished = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (finished) return;
    interrupts++;
    terminated ||= signal === 'SIGTERM';
    if (interrupts > 1) {
      // said, so that an exit without the command's own "interrupted after ..." line is not a mystery
      const kept = checkpoints?.describe();
      target.stderr.write(`\nopnp: ${signal} again: quitting at once (resumable outputs keep what their last checkpoint recorded${kept === undefined ? '' : `: ${kept}`}; rerun the same command to resume)\n`);
      target.exit(terminated ? 143 : 130);
      return;
    }
    target.stderr.write(`\nopnp: ${signal === 'SIGINT' ? 'interrupting' : `${signal}: stopping`} after the current batch (${signal === 'SIGINT' ? 'press Ctrl-C' : 'send it'} again to quit at once)\n`);
    controller.abort(Object.assign(new Error('Interrupted'), { name: 'AbortError' }));
  };
  target.on('SIGINT', onSignal);
  target.on('SIGTERM', onSignal);
  return { signal: controller.signal, terminated: () => terminated, finish: () => void (finished = true) };
}
