/** Fault injection of `opnp sensitivity --checkpoint` (see fault-helpers.ts). */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { bytes, KILLS, killRepeatedly, runChild, TIMEOUT } from './fault-helpers.js';
import { cli, MODEL, NORMALISE, tempDir, TRAIN } from './helpers.js';

describe('fault injection: killed 20 times, resumed, equal to an uninterrupted run', () => {
  it('opnp sensitivity --checkpoint', async () => {
    const dir = tempDir();
    const args = ['sensitivity', '--model', MODEL, '--train', TRAIN, '--train-fraction', '0.5', ...NORMALISE, '--batch-size', '50', '--checkpoint-every', '0'];
    expect((await cli([...args, '--out', join(dir, 'ref.npy'), '-q'])).code).toBe(0);
    // SIGTERM (a preempted task) stops like Ctrl-C, writes the checkpoint and exits 143.
    const terminated = await runChild([...args, '--checkpoint', join(dir, 'ckpt.npy'), '--out', join(dir, 's.npy')], 'train', 100, 'SIGTERM');
    expect(terminated.code, terminated.stderr).toBe(143);
    expect(terminated.stderr).toMatch(/checkpoint written to/);
    const run = await killRepeatedly([...args, '--checkpoint', join(dir, 'ckpt.npy'), '--out', join(dir, 's.npy')], 'train', 3000, 12);
    expect(run.kills).toBe(KILLS);
    expect(bytes(join(dir, 's.npy')).equals(bytes(join(dir, 'ref.npy')))).toBe(true);
  }, TIMEOUT);
});
