/** Fault injection of `opnp eval --checkpoint` (see fault-helpers.ts). */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { bytes, KILLS, killRepeatedly, TIMEOUT } from './fault-helpers.js';
import { cli, FASHION_VAL, MODEL, NORMALISE, tempDir, TEST, TRAIN } from './helpers.js';

describe('fault injection: killed 20 times, resumed, equal to an uninterrupted run', () => {
  it('opnp eval --checkpoint', async () => {
    const dir = tempDir();
    const args = ['eval', '--model', MODEL, '--train', TRAIN, '--train-fraction', '0.5', '--test', TEST, '--ood', `fashion=${FASHION_VAL}`, ...NORMALISE, '--methods', 'energy,react,opnp', '--val-noise', '200', '--batch-size', '50', '--checkpoint-every', '0'];
    expect((await cli([...args, '--json', join(dir, 'ref.json'), '-q'])).code).toBe(0);
    const run = await killRepeatedly([...args, '--checkpoint', join(dir, 'ckpt.npy'), '--json', join(dir, 'report.json')], 'train', 3000, 13);
    expect(run.kills).toBe(KILLS);
    expect(bytes(join(dir, 'report.json')).equals(bytes(join(dir, 'ref.json')))).toBe(true);
  }, TIMEOUT);
});
