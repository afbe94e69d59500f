/**
 * Error messages a new user meets: a model folder, preprocessing flags named as flags, a resumed run refused with
 * what differs, a truncated `.gz` dataset.
 */
import { copyFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { demoAssetPath } from '../src/commands/demo.js';
import { lowerFirstWord } from '../src/message-case.js';
import { writeNpy } from '@opnp/datasets/node';
import { cli, FASHION_VAL, MODEL, NORMALISE, tempDir, TEST, TRAIN } from './helpers.js';

/** Exactly one `opnp: ` line on stderr. */
function oneLine(stderr: string): string {
  const lines = stderr.trimEnd().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]!.startsWith('opnp: ')).toBe(true);
  return lines[0]!;
}

describe('the first word after opnp:', () => {
  it('is lower-case unless it is a name (a flag, an acronym, a word with inner capitals, a proper name)', async () => {
    const cases: [string, string][] = [
      ['The model path is a directory', 'the model path is a directory'],
      ['A labels .npy must be 1-D', 'a labels .npy must be 1-D'],
      ['Shard 2 of 3 is missing', 'shard 2 of 3 is missing'],
      ['Cannot write x.npy: folder y does not exist. Create the folder first', 'cannot write x.npy: folder y does not exist. Create the folder first'],
      ['already lower-case', 'already lower-case'],
      ['IDX file is truncated', 'IDX file is truncated'],
      ['ReAct clip threshold must be a number', 'ReAct clip threshold must be a number'],
      ['TensorFlow.js models need @opnp/backend-tfjs', 'TensorFlow.js models need @opnp/backend-tfjs'],
      ['Dense layer "d" is used more than once', 'Dense layer "d" is used more than once'],
      ['--mean has 2 values', '--mean has 2 values'],
      ['"x" is not a dataset', '"x" is not a dataset'],
      ['', ''],
    ];
    for (const [message, shown] of cases) expect(lowerFirstWord(message), message).toBe(shown);
    // Through the command: a library message (capitalised sentence) after the prefix.
    const missing = await cli(['extract', '--model', '/nonexistent/m.onnx', '--data', TEST, '--out', join(tempDir(), 'f.npy')]);
    expect(oneLine(missing.stderr)).toMatch(/^opnp: model file not found: \/nonexistent\/m\.onnx/);
  });
});

describe('--model naming a folder', () => {
  it('says the path is a directory and which file is expected, not "not found"', async () => {
    const dir = tempDir();
    copyFileSync(MODEL, join(dir, 'mnist-cnn.onnx'));
    const run = await cli(['extract', '--model', dir, '--data', TEST, '--out', join(dir, 'f.npy')]);
    expect(run.code).toBe(1);
    const line = oneLine(run.stderr);
    expect(line).toContain('opnp: the model path is a directory, not a model file');
    expect(line).toContain('expected an ONNX model file (.onnx) or a TensorFlow.js model.json');
    expect(line).toContain(join(dir, 'mnist-cnn.onnx'));
    expect(line).not.toMatch(/not found/);
  });
});

describe('--mean and --std errors name the flags', () => {
  it('extract, eval and export: a wrong count for the model\'s channels, or a zero std', async () => {
    const dir = tempDir();
    const extract = ['extract', '--model', MODEL, '--data', TEST, '--out', join(dir, 'f.npy'), '-q'];
    const count = await cli([...extract, '--mean', '0.1,0.2']);
    expect(count.code).toBe(1);
    // Each fact once (not "give 1 value; expected 1 value, got 2 values [...]").
    expect(oneLine(count.stderr)).toBe("opnp: --mean has 2 values, but the model input's channel count is 1; expected 1 value, got [0.1, 0.2]");
    const zero = await cli([...extract, '--std', '0']);
    expect(oneLine(zero.stderr)).toMatch(/^opnp: --std: standard deviations must be > 0, got 0/);
    const evaluation = await cli(['eval', '--model', MODEL, '--train', TRAIN, '--train-fraction', '0.05', '--test', TEST, '--ood', `f=${FASHION_VAL}`, '--methods', 'energy', '--std', '0.3,0.4', '-q']);
    expect(oneLine(evaluation.stderr)).toMatch(/^opnp: --std has 2 values, but the model input's channel count is 1/);
    const detector = await cli(['export', '--model', MODEL, '--train', TRAIN, '--opnp', 'p_min=10,p_max=1,n_min=10,n_max=1', '--mean', '0.1,0.2,0.3', '--out', join(dir, 'd.onnx'), '-q']);
    expect(oneLine(detector.stderr)).toBe("opnp: --mean has 3 values, but the model input's channel count is 1; expected 1 value, got [0.1, 0.2, 0.3]");
    for (const run of [count, zero, evaluation, detector]) expect(run.stderr).not.toContain('preprocess');
  });
});

describe('a truncated .gz dataset and the partial output it leaves', () => {
  it('says where the compressed stream stops; a rerun with other inputs is refused with the values that differ and how to proceed', async () => {
    const dir = tempDir();
    const gz = readFileSync(demoAssetPath('mnist-test-2500-images-idx3-ubyte.gz'));
    const cut = Math.floor(gz.length * 0.6);
    const data = join(dir, 'cut-images-idx3-ubyte.gz');
    writeFileSync(data, gz.subarray(0, cut));
    const out = join(dir, 'f.npy');
    const base = ['extract', '--model', MODEL, '--data', `idx:${data}#nolabels`, '--out', out, '--batch-size', '100', '-q'];
    const first = await cli([...base, ...NORMALISE]);
    expect(first.code).toBe(1);
    const line = oneLine(first.stderr);
    expect(line).toContain(`opnp: the gzip data ends early: the compressed stream stops at byte ${cut} of the file, whose size is ${cut} bytes, before its end (file: ${data}, offset ${cut}); expected ${16 + 2500 * 784} decompressed bytes`);
    expect(line).not.toMatch(/more bytes/);
    expect(existsSync(`${out}.partial`)).toBe(true);

    const other = await cli(base);
    expect(other.code).toBe(1);
    const refused = oneLine(other.stderr);
    expect(refused).toContain('opnp: the partial output belongs to another run: data.preprocess differs (data.preprocess.mean was [0.1307], now absent; data.preprocess.std was [0.3081], now absent)');
    expect(refused).toContain(`rerun with the inputs it was started with; to start over with these, delete ${out}.partial, ${out}.partial.json or pass --restart`);
  });
});

describe('cached features extracted with other preprocessing', () => {
  it('are refused with each differing field: the value recorded at extraction and the one given now', async () => {
    const dir = tempDir();
    const normalised = join(dir, 'normalised.npy');
    const plain = join(dir, 'plain.npy');
    expect((await cli(['extract', '--model', MODEL, '--data', FASHION_VAL, ...NORMALISE, '--out', normalised, '-q'])).code).toBe(0);
    expect((await cli(['extract', '--model', MODEL, '--data', FASHION_VAL, '--out', plain, '-q'])).code).toBe(0);
    const evaluation = ['eval', '--model', MODEL, '--train', TRAIN, '--train-fraction', '0.05', '--methods', 'energy', '-q'];

    const flags = await cli([...evaluation, '--test', `features:${normalised}`, '--ood', `f=${FASHION_VAL}`, '--mean', '0.5', '--std', '0.3081', '--resize', '32']);
    expect(flags.code).toBe(1);
    expect(oneLine(flags.stderr)).toBe(
      `opnp: the preprocessing flags differ from the preprocessing the cached features features:${normalised} were extracted with: --mean was [0.1307], now [0.5]; --resize was 28, now 32. ` +
        'Drop the preprocessing flags (the recorded preprocessing is used) or extract the features again',
    );

    const two = await cli([...evaluation, '--test', `features:${normalised}`, '--ood', `f=features:${plain}`]);
    expect(two.code).toBe(1);
    expect(oneLine(two.stderr)).toBe(
      `opnp: the cached features features:${normalised} and features:${plain} were extracted with different preprocessing (mean [0.1307] and absent; std [0.3081] and absent). ` +
        'Extract every set with the same --mean/--std/--resize/--crop',
    );
  });
});

describe('refusals of earlier state name the flags that resolve them', () => {
  it('a checkpoint of another run: --restart and --checkpoint; a finished extraction of another run: --restart and --out', async () => {
    const dir = tempDir();
    const checkpoint = join(dir, 'c.npy');
    const sensitivity = ['sensitivity', '--model', MODEL, '--train', TRAIN, ...NORMALISE, '--checkpoint', checkpoint, '--state-out', join(dir, 's.npy'), '-q'];
    expect((await cli([...sensitivity, '--train-fraction', '0.02'])).code).toBe(0);
    const other = await cli([...sensitivity, '--train-fraction', '0.03']);
    expect(other.code).toBe(1);
    expect(oneLine(other.stderr)).toContain(`delete ${checkpoint} and ${checkpoint}.json, pass --restart or use another --checkpoint file`);

    const out = join(dir, 'f.npy');
    const extract = ['extract', '--model', MODEL, '--data', FASHION_VAL, '--out', out, '-q'];
    expect((await cli([...extract, ...NORMALISE])).code).toBe(0);
    const refused = await cli(extract);
    expect(refused.code).toBe(1);
    expect(oneLine(refused.stderr)).toMatch(/\. Pass --restart to overwrite it, or choose another --out$/);
  });
});

describe('inputs that do not fit the model, in user terms', () => {
  it('cached features of another width: the file, its columns, the head\'s features and the flag', async () => {
    const dir = tempDir();
    const features = join(dir, 'f.npy');
    await writeNpy(features, { dtype: 'float32', shape: [40, 512], data: new Float32Array(40 * 512) });
    const run = await cli(['eval', '--model', MODEL, '--train', TRAIN, '--train-fraction', '0.05', '--test', TEST, '--ood', `f=features:${features}`, ...NORMALISE, '--methods', 'energy', '-q']);
    expect(run.code).toBe(1);
    expect(oneLine(run.stderr)).toBe(
      `opnp: ${features} has 512 columns but the model's head takes 128 features (--ood f=features:${features}): these features were not extracted with this model (or were taken from another layer of it). ` +
        'Extract the features again with this model, or evaluate them with the model they were extracted with',
    );
  });

  it('--crop other than the model input: the flag, the crop, the model input and the images\' size', async () => {
    const base = ['eval', '--model', MODEL, '--train', TRAIN, '--train-fraction', '0.05', '--test', TEST, '--ood', `f=${FASHION_VAL}`, ...NORMALISE, '--methods', 'energy', '-q'];
    const train = TRAIN.slice('idx:'.length);
    const larger = await cli([...base, '--crop', '32']);
    expect(larger.code).toBe(1);
    expect(oneLine(larger.stderr)).toBe(`opnp: --crop 32 makes 32 x 32 inputs but the model takes 28 x 28; the crop is larger than the 28 x 28 images of ${train}, so it pads them with zeros. Give --crop 28 (the model input size), or leave the crop out (it defaults to the model input size)`);
    const resized = await cli([...base, '--resize', '30', '--crop', '32']);
    expect(oneLine(resized.stderr)).toContain(`opnp: --crop 32 makes 32 x 32 inputs but the model takes 28 x 28; the crop is larger than the images of ${train}, 28 x 28 resized by --resize 30 to 30 x 30, so it pads them with zeros.`);
    const smaller = await cli([...base, '--crop', '20']);
    expect(oneLine(smaller.stderr)).toContain(`opnp: --crop 20 makes 20 x 20 inputs (cropped from the 28 x 28 images of ${train}) but the model takes 28 x 28.`);
  });
});
