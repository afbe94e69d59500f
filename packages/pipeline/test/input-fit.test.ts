/**
 * Inputs that do not fit the model are refused in the caller's terms before any work: cached features of another
 * width name the file, its columns, the head's features and the argument; a centre crop other than the model input
 * names the option, the crop, the model input and the images' size. Library callers see the library's names.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeNpy } from '@opnp/datasets/node';
import { evaluate, openFeatureSource } from '../src/index.js';
import { demoEvaluation, demoModel, NORMALISE, tempDir, TRAIN } from './helpers.js';

const trainFile = TRAIN.slice('idx:'.length);

describe('cached features of another width', () => {
  it('name the file, its columns and the head\'s features; the spec, or the argument evaluate() names it by', async () => {
    const features = join(tempDir(), 'f.npy');
    await writeNpy(features, { dtype: 'float32', shape: [40, 512], data: new Float32Array(40 * 512) });
    const why = 'these features were not extracted with this model (or were taken from another layer of it)';
    await expect(openFeatureSource(`features:${features}`, { model: await demoModel() })).rejects.toThrow(`${features} has 512 columns but the model's head takes 128 features (features:${features}): ${why}`);
    const config = { ...(await demoEvaluation(250)), test: `features:${features}`, methods: ['energy'] };
    await expect(evaluate(config)).rejects.toThrow(`${features} has 512 columns but the model's head takes 128 features (test features:${features}): ${why}`);
  });

  it('logits of another class count or row count are refused as not this model\'s, or not these features\'', async () => {
    const dir = tempDir();
    const [features, logits7, logits10] = [join(dir, 'f.npy'), join(dir, 'l7.npy'), join(dir, 'l10.npy')];
    await writeNpy(features, { dtype: 'float32', shape: [40, 128], data: new Float32Array(40 * 128) });
    await writeNpy(logits7, { dtype: 'float32', shape: [40, 7], data: new Float32Array(40 * 7) });
    await writeNpy(logits10, { dtype: 'float32', shape: [30, 10], data: new Float32Array(30 * 10) });
    const model = await demoModel();
    await expect(openFeatureSource(`features:${features}#logits=${logits7}`, { model })).rejects.toThrow(`${logits7} has 7 columns but the model's head gives 10 logits (classes)`);
    await expect(openFeatureSource(`features:${features}#logits=${logits10}`, { model })).rejects.toThrow(`${logits10} has 30 rows but its features have 40`);
  });
});

describe('a centre crop other than the model input', () => {
  it('names preprocess.centerCrop, the crop, the model input and the images (resized) for a library caller', async () => {
    const model = await demoModel();
    const open = (preprocess: object) => openFeatureSource(TRAIN, { model, preprocess: { ...NORMALISE, ...preprocess } });
    await expect(open({ centerCrop: 32 })).rejects.toThrow(
      `preprocess.centerCrop: 32 makes 32 x 32 inputs but the model takes 28 x 28; the crop is larger than the 28 x 28 images of ${trainFile}, so it pads them with zeros. Give preprocess.centerCrop: 28 (the model input size), or leave the crop out`,
    );
    await expect(open({ resize: 30, centerCrop: [32, 30] })).rejects.toThrow(`preprocess.centerCrop: [32,30] makes 32 x 30 inputs but the model takes 28 x 28; the crop is larger than the images of ${trainFile}, 28 x 28 resized by preprocess.resize: 30 to 30 x 30`);
    await expect(open({ resize: 40, centerCrop: 30 })).rejects.toThrow(`makes 30 x 30 inputs (cropped from the images of ${trainFile}, 28 x 28 resized by preprocess.resize: 40 to 40 x 40) but the model takes 28 x 28`);
    // the model input size, and an invalid crop (refused by the preprocessing under its own name), pass this check
    await expect(open({ centerCrop: 28 })).resolves.toMatchObject({ count: 6000 });
    await expect(open({ centerCrop: 0 }).then((s) => s.batches({ batchSize: 10 })[Symbol.asyncIterator]().next())).rejects.toThrow('preprocess.centerCrop must be a positive integer');
  });
});
