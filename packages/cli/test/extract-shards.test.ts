/**
 * `opnp extract --shard i/n|auto` and `opnp extract merge`: the merged files are the bytes of an unsharded
 * `opnp extract` on the demo's MNIST test set (features, logits, labels, indices, sidecar); the merge refuses
 * missing, duplicate, unfinished and foreign shards with one clear line.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli, MODEL, NORMALISE, tempDir, TEST } from './helpers.js';

const outputs = (dir: string) => ['--out', join(dir, 'f.npy'), '--logits-out', join(dir, 'l.npy'), '--labels-out', join(dir, 'y.npy'), '--indices-out', join(dir, 'i.npy')];
const base = ['extract', '--model', MODEL, '--data', TEST, ...NORMALISE, '--batch-size', '100', '-q'];
const shardFiles = (dir: string, count: number) => Array.from({ length: count }, (_, i) => join(dir, `f.shard-${String(i + 1).padStart(3, '0')}-of-${String(count).padStart(3, '0')}.npy`));
const slurmTask = (id: number, count: number) => ({ SLURM_ARRAY_TASK_ID: String(id), SLURM_ARRAY_TASK_MIN: '0', SLURM_ARRAY_TASK_MAX: String(count - 1) });

describe('opnp extract --shard / opnp extract merge', () => {
  it('four --shard auto tasks merge into the bytes of the unsharded run', async () => {
    const whole = tempDir();
    expect((await cli([...base, ...outputs(whole)])).code).toBe(0);
    const dir = tempDir();
    for (let id = 3; id >= 0; id--) {
      const run = await cli([...base.filter((a) => a !== '-q'), ...outputs(dir), '--shard', 'auto'], { env: slurmTask(id, 4) });
      expect(run.code, run.stderr).toBe(0);
      expect(run.stderr).toContain(`shard ${id + 1}/4 (from the array job's environment)`);
      expect(run.stderr).toContain(`samples ${id * 625}-${id * 625 + 624}`);
    }
    expect(existsSync(join(dir, 'f.npy'))).toBe(false);
    const merged = tempDir();
    const merge = await cli(['extract', 'merge', ...shardFiles(dir, 4), ...outputs(merged)]);
    expect(merge.code, merge.stderr).toBe(0);
    expect(merge.stderr).toMatch(/merged 4 shards: 2500 x 128 features of 2500 samples/);
    for (const name of ['f.npy', 'l.npy', 'y.npy', 'i.npy']) expect(readFileSync(join(merged, name)), name).toEqual(readFileSync(join(whole, name)));
    const sidecar = (d: string) => readFileSync(join(d, 'f.npy.json'), 'utf8').split(d).join('<dir>');
    expect(sidecar(merged)).toBe(sidecar(whole));
  });

  it('merge defaults the logits, labels and indices outputs to the shard names without their tag', async () => {
    const dir = tempDir();
    for (const i of [1, 2]) expect((await cli([...base, '--out', join(dir, 'f.npy'), '--logits-out', join(dir, 'l.npy'), '--shard', `${i}/2`])).code).toBe(0);
    const run = await cli(['extract', 'merge', ...shardFiles(dir, 2), '--out', join(dir, 'f.npy')]);
    expect(run.code, run.stderr).toBe(0);
    expect(existsSync(join(dir, 'l.npy'))).toBe(true);
  });

  it('refuses missing, duplicate, unfinished and foreign shards', async () => {
    const dir = tempDir();
    for (const i of [1, 2, 3]) expect((await cli([...base, '--out', join(dir, 'f.npy'), '--shard', `${i}/3`])).code).toBe(0);
    const out = ['--out', join(tempDir(), 'm.npy')];
    const [a, b, c] = shardFiles(dir, 3) as [string, string, string];
    const missing = await cli(['extract', 'merge', a, c, ...out]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^opnp: shard 2 of 3 is missing/);
    expect((await cli(['extract', 'merge', a, b, b, c, ...out])).stderr).toMatch(/are the same shard 2\/3/);
    const other = tempDir();
    expect((await cli([...base.map((x) => (x === '0.1307' ? '0.2' : x)), '--out', join(other, 'f.npy'), '--shard', '2/3'])).code).toBe(0);
    expect((await cli(['extract', 'merge', a, join(other, 'f.shard-002-of-003.npy'), c, ...out])).stderr).toMatch(/belongs to another run than .*: data\.\w+/);
    const unfinished = tempDir();
    const controller = new AbortController();
    const cut = await cli([...base.filter((x) => x !== '-q'), '--out', join(unfinished, 'f.npy'), '--shard', '2/3'], { signal: controller.signal, stderrTTY: true, onStderr: (t) => t.includes('/833') && controller.abort() });
    expect(cut.code).toBe(130);
    expect((await cli(['extract', 'merge', a, join(unfinished, 'f.shard-002-of-003.npy'), c, ...out])).stderr).toMatch(/opnp: shard 2\/3 .* is unfinished: \d+ of 833 samples/);
  });
});
