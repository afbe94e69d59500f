import { describe, expect, it } from 'vitest';
import { WriteBehind } from '../src/write-behind.js';

/** A task that finishes when the test says so. */
function gate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { open, opened };
}

describe('WriteBehind', () => {
  it('runs tasks in order, one at a time, and lets the producer run ahead by at most depth tasks', async () => {
    const writes = new WriteBehind(2);
    const log: string[] = [];
    const gates = [gate(), gate(), gate(), gate()];
    let running = 0;
    let maxRunning = 0;
    const task = (k: number) => async () => {
      running++;
      maxRunning = Math.max(maxRunning, running);
      log.push(`start ${k}`);
      await gates[k]!.opened;
      log.push(`end ${k}`);
      running--;
    };
    await writes.add(task(0));
    await writes.add(task(1));
    let thirdQueued = false;
    const third = writes.add(task(2)).then(() => (thirdQueued = true));
    await Promise.resolve();
    await Promise.resolve();
    expect(thirdQueued).toBe(false); // two tasks wait: the producer pauses
    gates[0]!.open();
    await third;
    expect(thirdQueued).toBe(true);
    const fourth = writes.add(task(3));
    for (const g of gates) g.open();
    await fourth;
    await writes.drain();
    expect(log).toEqual(['start 0', 'end 0', 'start 1', 'end 1', 'start 2', 'end 2', 'start 3', 'end 3']);
    expect(maxRunning).toBe(1);
  });

  it('throws the first failure from the next add or from drain, and runs nothing after it', async () => {
    const writes = new WriteBehind(4);
    const ran: number[] = [];
    await writes.add(async () => void ran.push(0));
    await writes.add(async () => {
      throw new Error('disk full');
    });
    await writes.add(async () => void ran.push(2)).catch(() => undefined);
    await expect(writes.drain()).rejects.toThrow('disk full');
    await expect(writes.add(async () => void ran.push(3))).rejects.toThrow('disk full');
    expect(ran).toEqual([0]);
  });
});
