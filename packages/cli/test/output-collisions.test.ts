/**
 * Outputs that would overwrite the run's own inputs, or the files written beside another output, are refused before
 * anything is read, and the advice never leads to overwriting the model or the data.
 */
import { copyFileSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { demoAssetPath } from '../src/commands/demo.js';
import { cli, MODEL, NORMALISE, tempDir } from './helpers.js';

describe('outputs on inputs or on companion files', () => {
  it('extract refuses --out on the model, the data or the --labels file, even with --restart, and leaves them as they were', async () => {
    const dir = tempDir();
    const model = join(dir, 'm.onnx');
    const data = join(dir, 'images-idx3-ubyte.gz');
    copyFileSync(MODEL, model);
    copyFileSync(demoAssetPath('fashion-val-images-idx3-ubyte.gz'), data);
    const labels = join(dir, 'labels-idx1-ubyte.gz');
    copyFileSync(demoAssetPath('fashion-val-labels-idx1-ubyte.gz'), labels);
    const before = [readFileSync(model), readFileSync(data), readFileSync(labels)];
    const cases: [string[], RegExp][] = [
      [['--out', model], /the features \(--out\) would overwrite the model \(--model\)/],
      [['--out', data], /the features \(--out\) would overwrite the dataset \(--data\)/],
      [['--out', join(dir, 'f.npy'), '--logits-out', join(dir, '..', 'x', '..', dir.split('/').pop()!, 'm.onnx')], /the logits \(--logits-out\) would overwrite the model/],
      [['--out', join(dir, 'f.npy'), '--labels', labels, '--labels-out', labels], /the labels \(--labels-out\) would overwrite the labels \(--labels\)/],
    ];
    for (const [flags, message] of cases) {
      const run = await cli(['extract', '--model', model, '--data', `idx:${data}`, ...NORMALISE, ...flags, '--restart']);
      expect(run.code, flags.join(' ')).toBe(1);
      expect(run.stderr, flags.join(' ')).toMatch(message);
    }
    expect([readFileSync(model), readFileSync(data), readFileSync(labels)]).toEqual(before);
    expect(readdirSync(dir).sort()).toEqual(['images-idx3-ubyte.gz', 'labels-idx1-ubyte.gz', 'm.onnx']);
  });

  it('extract refuses an output on the sidecar or partial file of another output', async () => {
    const dir = tempDir();
    const out = join(dir, 's.npy');
    for (const [flag, path, what] of [['--labels-out', `${out}.json`, 'the labels (--labels-out)'], ['--indices-out', `${out}.partial`, 'the indices (--indices-out)'], ['--logits-out', `${out}.partial.json`, 'the logits (--logits-out)']] as const) {
      const run = await cli(['extract', '--model', MODEL, '--data', `idx:${demoAssetPath('fashion-val-images-idx3-ubyte.gz')}`, ...NORMALISE, '--out', out, flag, path]);
      expect(run.code, flag).toBe(1);
      expect(run.stderr, flag).toBe(`opnp: ${what} would overwrite a file the features (--out) writes beside it: ${path}. Give each output its own file\n`);
    }
    // A companion of a later output on an earlier output: the logits' partial file on the features.
    const run = await cli(['extract', '--model', MODEL, '--data', `idx:${demoAssetPath('fashion-val-images-idx3-ubyte.gz')}`, ...NORMALISE, '--out', `${out}.l.partial`, '--logits-out', `${out}.l`]);
    expect(run.stderr).toBe(`opnp: the logits (--logits-out) writes a file beside it that would overwrite the features (--out): ${out}.l.partial. Give each output its own file\n`);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('export refuses a detector written over the model', async () => {
    const dir = tempDir();
    const model = join(dir, 'm.onnx');
    copyFileSync(MODEL, model);
    const run = await cli(['export', '--model', model, '--train', `idx:${demoAssetPath('mnist-train-6k-images-idx3-ubyte.gz')}`, ...NORMALISE, '--opnp', 'p_min=10,p_max=1,n_min=10,n_max=1', '--out', model]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/the detector \(--out\) would overwrite the model \(--model\)/);
    expect(readFileSync(model)).toEqual(readFileSync(MODEL));
  });
});
