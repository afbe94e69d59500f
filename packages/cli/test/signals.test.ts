import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { CheckpointBoard } from '../src/checkpoint-board.js';
import { handleStopSignals } from '../src/signals.js';

/** A process stand-in: emits signals, records what was written and the exit codes asked for. */
function fakeProcess() {
  const emitter = new EventEmitter();
  const written: string[] = [];
  const exits: number[] = [];
  const target = Object.assign(emitter, { stderr: { write: (text: string) => written.push(text) }, exit: (code: number) => void exits.push(code) });
  return { target, written, exits };
}

describe('handleStopSignals', () => {
  it('the first signal aborts and says so, a second exits at once with 130', () => {
    const { target, written, exits } = fakeProcess();
    const stop = handleStopSignals(target);
    target.emit('SIGINT', 'SIGINT');
    expect(stop.signal.aborted).toBe(true);
    expect(written.join('')).toMatch(/interrupting after the current batch/);
    expect(stop.terminated()).toBe(false);
    expect(exits).toEqual([]);
    target.emit('SIGINT', 'SIGINT');
    expect(exits).toEqual([130]);
    expect(written.at(-1)).toMatch(/^\nopnp: SIGINT again: quitting at once \(resumable outputs keep what their last checkpoint recorded/);
  });

  it('a second signal says how many rows each output\'s last checkpoint keeps', () => {
    const { target, written } = fakeProcess();
    const board = new CheckpointBoard();
    handleStopSignals(target, board);
    board.post('extract', 'f.npy.partial and l.npy.partial hold 120 rows each');
    board.post('extract', 'f.npy.partial and l.npy.partial hold 180 rows each');
    target.emit('SIGINT', 'SIGINT');
    target.emit('SIGINT', 'SIGINT');
    expect(written.at(-1)).toBe('\nopnp: SIGINT again: quitting at once (resumable outputs keep what their last checkpoint recorded: f.npy.partial and l.npy.partial hold 180 rows each; rerun the same command to resume)\n');
  });

  it('remembers SIGTERM (exit code 143), also when a second signal quits at once', () => {
    const { target, written, exits } = fakeProcess();
    const stop = handleStopSignals(target);
    target.emit('SIGTERM', 'SIGTERM');
    expect(stop.terminated()).toBe(true);
    target.emit('SIGTERM', 'SIGTERM');
    expect(exits).toEqual([143]);
    expect(written.at(-1)).toMatch(/SIGTERM again: quitting at once/);
  });

  it('ignores signals after the command returned, and keeps listening so Node does not end the process with 130', () => {
    const { target, written, exits } = fakeProcess();
    const stop = handleStopSignals(target);
    stop.finish();
    target.emit('SIGINT', 'SIGINT');
    target.emit('SIGINT', 'SIGINT');
    target.emit('SIGTERM', 'SIGTERM');
    expect(stop.signal.aborted).toBe(false);
    expect(written).toEqual([]);
    expect(exits).toEqual([]);
    expect(target.listenerCount('SIGINT')).toBe(1);
    expect(target.listenerCount('SIGTERM')).toBe(1);
  });
});
