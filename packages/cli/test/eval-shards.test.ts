/**
 * The cluster recipe in one process: sharded extractions and sensitivity states are read by eval directly
 * (no merge), a sharded eval's shards merge with `opnp eval merge`, and the report equals the one an
 * unsharded eval computes from the merged files.
 */
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli, MODEL, NORMALISE, tempDir, TEST, TRAIN } from './helpers.js';

const ok = (run: { code: number; stderr: string }) => expect(run.code, run.stderr).toBe(0);

describe('sharded caches, sharded eval and opnp eval merge', () => {
  it('give the report of an unsharded eval over the merged files', async () => {
    const dir = tempDir();
    const at = (name: string) => join(dir, name);
    const extract = (data: string, name: string, shard: string) =>
      cli(['extract', '--model', MODEL, '--data', data, ...NORMALISE, '--out', at(`${name}.npy`), '--logits-out', at(`${name}-logits.npy`), '--labels-out', at(`${name}-labels.npy`), '--batch-size', '128', '--shard', shard, '-q']);
    for (const shard of ['1/2', '2/2']) {
      ok(await extract(TRAIN, 'train', shard));
      ok(await extract(TEST, 'test', shard));
    }
    const train = ['--train', `features:${at('train.npy')}#logits=${at('train-logits.npy')}`, '--train-fraction', '0.25'];
    // The sensitivity shards read the training features from their shards.
    for (const i of [1, 2]) ok(await cli(['sensitivity', '--model', MODEL, ...train, '--state-out', at(`state.shard-00${i}-of-002.npy`), '--shard', `${i}/2`, '-q']));
    const evalArgs = [
      'eval', '--model', MODEL, ...train, '--train-labels', at('train-labels.npy'),
      '--test', `features:${at('test.npy')}#logits=${at('test-logits.npy')}`, '--test-labels', at('test-labels.npy'),
      '--ood', 'noise=noise:150#seed=4', '--val-noise', '100', '--methods', 'msp,energy,mahalanobis,knn,opnp', '--sensitivity-state', at('state.npy'), '--batch-size', '100',
    ];
    for (const shard of ['1/3', '2/3', '3/3']) ok(await cli([...evalArgs, '--shard', shard, '--scores-out', at('scores.npy'), '-q']));
    const merged = await cli(['eval', 'merge', ...['3', '1', '2'].map((i) => at(`scores.shard-00${i}-of-003.npy`)), '--json', '-']);
    ok(merged);
    // The same evaluation over merged files.
    const mergedDir = tempDir();
    const into = (name: string) => join(mergedDir, name);
    for (const name of ['train', 'test']) {
      ok(await cli(['extract', 'merge', at(`${name}.shard-001-of-002.npy`), at(`${name}.shard-002-of-002.npy`), '--out', into(`${name}.npy`), '--logits-out', into(`${name}-logits.npy`), '--labels-out', into(`${name}-labels.npy`), '-q']));
    }
    ok(await cli(['sensitivity', 'merge', at('state.shard-001-of-002.npy'), at('state.shard-002-of-002.npy'), '--state-out', into('state.npy'), '-q']));
    const wholeArgs = evalArgs.map((a) => a.split(dir).join(mergedDir));
    const whole = await cli([...wholeArgs, '--json', '-']);
    ok(whole);
    expect(merged.stdout).toBe(whole.stdout);
    expect((JSON.parse(whole.stdout) as { counts: { train: number; idTest: number } }).counts).toMatchObject({ train: 1500, idTest: 2000 });
    // Nothing was merged on disk in the sharded folder.
    expect(readdirSync(dir).filter((f) => /^(train|test|state)(-\w+)?\.npy$/.test(f))).toEqual([]);
    // With a results folder: the merge writes what eval --save writes.
    const saved = await cli(['eval', 'merge', ...[1, 2, 3].map((i) => at(`scores.shard-00${i}-of-003.npy`)), '--save', at('results'), '--format', 'csv', '-q']);
    ok(saved);
    ok(await cli([...wholeArgs, '--save', into('results'), '-q']));
    // Every file but the manifest (which records when it was written) is the same bytes.
    const files = readdirSync(into('results'), { recursive: true }).map(String).filter((f) => f.includes('.') && f !== 'manifest.json').sort();
    expect(files).toEqual(expect.arrayContaining(['report.json', 'grid.json', 'sensitivity/parameter.npy', 'scores/opnp.id.npy', 'scores/energy.ood.noise.npy', 'calibration/pruned.correct.npy']));
    for (const file of files) expect(readFileSync(at(`results/${file}`)), file).toEqual(readFileSync(into(`results/${file}`)));
    rmSync(dir, { recursive: true, force: true });
    rmSync(mergedDir, { recursive: true, force: true });
  });

  it('checks the shard flags before any work', async () => {
    const base = ['eval', '--model', MODEL, '--train', TRAIN, '--test', TEST, '--ood', 'n=noise:10'];
    expect((await cli([...base, '--shard', '1/2'])).stderr).toMatch(/required option '--scores-out <scores.npy>' not specified/);
    expect((await cli([...base, '--shard', '1/2', '--scores-out', 's.npy', '--json', 'r.json'])).stderr).toMatch(/a shard writes only its scores: pass --json and --save to opnp eval merge/);
    expect((await cli([...base, '--scores-out', 's.npy'])).stderr).toMatch(/--scores-out is the output of a shard/);
    expect((await cli([...base, '--shard', '3/2', '--scores-out', 's.npy'])).stderr).toMatch(/--shard/);
    const missing = await cli(['eval', 'merge', join(tempDir(), 'scores.shard-001-of-002.npy')]);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toMatch(/opnp: eval shard scores not found: .*scores/);
  });
});
