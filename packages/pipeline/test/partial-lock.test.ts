/**
 * One extraction of an output at a time: the lock beside the partial output refuses a second live copy (naming
 * its process and host), is taken over from a dead process on this host or from the same Slurm job, and is left
 * to the user (named in the message) when its holder ran on another host.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { extractFeatures, InterruptedError, readFeaturesMeta } from '../src/index.js';
import { lockPartial, partialLockPath } from '../src/partial-lock.js';
import { demoModel, FASHION_VAL, NORMALISE, tempDir } from './helpers.js';

const holder = (fields: Record<string, unknown>) => `${JSON.stringify({ format: 'opnp-partial-lock', version: 1, started: '2026-12-03T07:00:00.000Z', ...fields })}\n`;

describe('lockPartial', () => {
  it('refuses a second holder while the first holds it, naming the process and host; released, it can be taken again', async () => {
    const features = join(tempDir(), 'f.npy');
    const release = await lockPartial(features, {});
    const lock = JSON.parse(readFileSync(partialLockPath(features), 'utf8')) as { pid: number; host: string };
    expect(lock).toMatchObject({ pid: process.pid, host: hostname() });
    await expect(lockPartial(features, {})).rejects.toThrow(new RegExp(`is being extracted by another process \\(process ${process.pid} on ${hostname()}, since `));
    await release();
    expect(existsSync(partialLockPath(features))).toBe(false);
    await (await lockPartial(features, {}))();
  });

  it('takes over the lock of a process that no longer exists on this host', async () => {
    const features = join(tempDir(), 'f.npy');
    const dead = spawnSync(process.execPath, ['-e', '0']).pid;
    writeFileSync(partialLockPath(features), holder({ pid: dead, host: hostname() }));
    const release = await lockPartial(features, {});
    expect(JSON.parse(readFileSync(partialLockPath(features), 'utf8'))).toMatchObject({ pid: process.pid });
    await release();
  });

  it('leaves a lock of another host alone and says how to proceed; the same Slurm job (a requeued task) takes it over', async () => {
    const features = join(tempDir(), 'f.npy');
    writeFileSync(partialLockPath(features), holder({ pid: 4242, host: 'node-elsewhere', job: '77_3' }));
    const refused = lockPartial(features, { SLURM_ARRAY_JOB_ID: '77', SLURM_ARRAY_TASK_ID: '4' });
    await expect(refused).rejects.toThrow(/process 4242 on node-elsewhere \(Slurm job 77_3\), since 2026-12-03T07:00:00\.000Z\): two extractions of one output cannot run at once/);
    await expect(refused).rejects.toMatchObject({ hint: expect.stringContaining(`delete ${partialLockPath(features)}`) });
    const release = await lockPartial(features, { SLURM_ARRAY_JOB_ID: '77', SLURM_ARRAY_TASK_ID: '3' });
    expect(JSON.parse(readFileSync(partialLockPath(features), 'utf8'))).toMatchObject({ pid: process.pid, job: '77_3' });
    await release();
  });

  it('refuses an unreadable lock file instead of guessing', async () => {
    const features = join(tempDir(), 'f.npy');
    writeFileSync(partialLockPath(features), '');
    await expect(lockPartial(features, {})).rejects.toThrow(/being extracted by another process \(a process whose lock file cannot be read\)/);
  });
});

describe('two copies of one extraction at once', () => {
  it('the second is refused before it touches the partial files of the running one, which then resumes to the end', async () => {
    const dir = tempDir();
    const options = { model: await demoModel(), data: FASHION_VAL, preprocess: NORMALISE, outputs: { features: join(dir, 'f.npy'), logits: join(dir, 'l.npy') }, batchSize: 60 };
    const controller = new AbortController();
    let batches = 0;
    await expect(extractFeatures({ ...options, signal: controller.signal, onProgress: (e) => !e.done && ++batches === 2 && controller.abort() })).rejects.toBeInstanceOf(InterruptedError);
    const partial = ['f.npy.partial', 'f.npy.partial.json', 'l.npy.partial', 'l.npy.partial.owner.json'].map((name) => [name, readFileSync(join(dir, name))] as const);
    // The running copy: this process holds the lock (alive, same host), as the first of two submitted tasks does.
    const running = await lockPartial(join(dir, 'f.npy'), {});
    await expect(extractFeatures(options)).rejects.toThrow(new RegExp(`f\\.npy is being extracted by another process \\(process ${process.pid} on `));
    for (const [name, bytes] of partial) expect(readFileSync(join(dir, name)), name).toEqual(bytes);
    await running();
    const result = await extractFeatures(options);
    expect(result.resumedRows).toBeGreaterThan(0);
    expect((await readFeaturesMeta(join(dir, 'f.npy.json')))?.rows).toBe(result.rows);
    expect(existsSync(join(dir, 'f.npy.partial.lock'))).toBe(false);
  });
});
