/** Fault injection of `opnp extract` (see fault-helpers.ts). */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { bytes, KILLS, killRepeatedly, TIMEOUT } from './fault-helpers.js';
import { cli, MODEL, NORMALISE, tempDir, TEST,  } from './helpers.js';

describe('fault injection: killed 20 times, resumed, equal to an uninterrupted run', () => {
  it('opnp extract', async () => {
    const dir = tempDir();
    const outputs = (prefix: string) => ['--out', join(dir, `${prefix}f.npy`), '--logits-out', join(dir, `${prefix}l.npy`), '--labels-out', join(dir, `${prefix}y.npy`), '--indices-out', join(dir, `${prefix}i.npy`)];
    // Small batches: many progress lines, so the kill points (lines of the lockstep, see fault-helpers.ts) fall all over the work.
    const args = ['extract', '--model', MODEL, '--data', TEST, ...NORMALISE, '--batch-size', '20'];
    expect((await cli([...args, ...outputs('ref-'), '-q'])).code).toBe(0);
    const run = await killRepeatedly([...args, ...outputs('')], 'extract', 2500, 11);
    expect(run.kills).toBe(KILLS);
    for (const name of ['f.npy', 'l.npy', 'y.npy', 'i.npy']) expect(bytes(join(dir, name)).equals(bytes(join(dir, `ref-${name}`))), name).toBe(true);
  }, TIMEOUT);
});
