/**
 * Sensitivity state files: a process killed between writing the sidecar and the sums leaves a pair that
 * still reads as the previous state; any other mix is refused.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { SensitivityState } from '@opnp/core';
import { readStateFile, writeStateFile } from '../src/index.js';
import { tempDir } from './helpers.js';

const state = (count: number, value: number): SensitivityState => ({ classes: 2, dim: 3, count, temperature: 1, aggregation: 'sum-of-abs', sum: new Float64Array(6).fill(value) });

describe('state files', () => {
  it('read back what was written', async () => {
    const path = join(tempDir(), 's.npy');
    await writeStateFile(path, state(5, 0.25), { planned: 10, visited: 6 });
    const { state: read, meta } = await readStateFile(path);
    expect(read.count).toBe(5);
    expect(Array.from(read.sum)).toEqual(new Array(6).fill(0.25));
    expect(meta).toMatchObject({ planned: 10, visited: 6 });
  });

  it('a write cut between the sidecar and the sums reads as the previous state', async () => {
    const path = join(tempDir(), 's.npy');
    await writeStateFile(path, state(5, 0.25), { planned: 10, visited: 5 });
    const before = readFileSync(path);
    await writeStateFile(path, state(8, 0.5), { planned: 10, visited: 9 });
    writeFileSync(path, before); // the sums' rename never happened
    const { state: read, meta } = await readStateFile(path);
    expect(read.count).toBe(5);
    expect(meta.visited).toBe(5);
    expect(Array.from(read.sum)).toEqual(new Array(6).fill(0.25));
    // The next write after such a crash still knows what is on disk.
    await writeStateFile(path, state(9, 0.75), { planned: 10, visited: 10 });
    writeFileSync(path, before);
    expect((await readStateFile(path)).state.count).toBe(5);
  });

  it('refuses sums that belong to neither the sidecar nor its previous state', async () => {
    const dir = tempDir();
    await writeStateFile(join(dir, 'a.npy'), state(5, 0.25));
    await writeStateFile(join(dir, 'b.npy'), state(6, 0.5));
    writeFileSync(join(dir, 'a.npy'), readFileSync(join(dir, 'b.npy')));
    await expect(readStateFile(join(dir, 'a.npy'))).rejects.toThrow(/do not belong together/);
  });
});
