import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { datasetInfo, fromCifar, fromMat, openCifar, openDataset, openSvhn } from '../src/node/index.js';
import { collect, expectOpnpError, fixture, pix } from './helpers.js';

/** Pixels [n, 3, 32, 32] of the fixture sample n, as raw values. */
function image(n: number, channels = 3, h = 32, w = 32): number[] {
  const out: number[] = [];
  for (let c = 0; c < channels; c++) for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) out.push(pix(n, c, y, x));
  return out;
}

const label10 = (n: number) => (7 * n + 1) % 10;

describe('CIFAR-10 binary', () => {
  it('reads the training folder (data_batch_1..5) exactly, in order', async () => {
    const ds = await openCifar(fixture('cifar10'), { split: 'train' });
    expect(ds.format).toBe('cifar10');
    expect(ds.count).toBe(15);
    expect(ds.shape).toEqual([3, 32, 32]);
    expect(ds.classes).toBe(10);
    expect(ds.classNames?.[0]).toBe('airplane');
    const { data, labels, indices } = await collect(ds, { batchSize: 4, preprocess: { scale: 1 } });
    expect(indices).toEqual([...Array(15).keys()]);
    expect(labels).toEqual(indices.map(label10));
    expect(Array.from(data)).toEqual(indices.flatMap((n) => image(n)));
    expect(Array.from(await ds.readLabels())).toEqual(indices.map(label10));
  });

  it('reads the test split and single files, with subsets crossing file boundaries', async () => {
    const test = await openDataset(`${fixture('cifar10')}#test`);
    expect(test.count).toBe(4);
    expect((await collect(test)).labels).toEqual([15, 16, 17, 18].map(label10));
    const train = await openDataset(`cifar10:${fixture('cifar10')}#train`);
    const { indices, data } = await collect(train, { subset: Uint32Array.from([1, 2, 3, 9, 14]), preprocess: { scale: 1 } });
    expect(indices).toEqual([1, 2, 3, 9, 14]);
    expect(Array.from(data)).toEqual([1, 2, 3, 9, 14].flatMap((n) => image(n)));
    const single = await openDataset(fixture('cifar10', 'data_batch_2.bin'));
    expect(single.format).toBe('cifar10');
    expect((await collect(single)).labels).toEqual([3, 4, 5].map(label10));
  });

  it('#nolabels reads the same images with labels -1 and no classes (CIFAR-10 and CIFAR-100)', async () => {
    for (const spec of [`cifar10:${fixture('cifar10')}#test`, `cifar100:${fixture('cifar100')}#test,coarse`]) {
      const labelled = await collect(await openDataset(spec), { preprocess: { scale: 1 } });
      const ds = await openDataset(`${spec},nolabels`);
      expect(ds.classes, spec).toBeUndefined();
      expect(ds.classNames, spec).toBeUndefined();
      const unlabelled = await collect(ds, { preprocess: { scale: 1 } });
      expect(Array.from(unlabelled.data), spec).toEqual(Array.from(labelled.data));
      expect(labelled.labels.some((l) => l >= 0), spec).toBe(true);
      expect(unlabelled.labels, spec).toEqual(new Array(ds.count).fill(-1));
      expect(Array.from(await ds.readLabels()), spec).toEqual(new Array(ds.count).fill(-1));
    }
  });

  it('fromCifar parses bytes and rejects truncated data and out-of-range labels', async () => {
    const bytes = readFileSync(fixture('cifar10', 'test_batch.bin'));
    const parsed = fromCifar(bytes);
    expect(parsed.variant).toBe('cifar10');
    expect(Array.from(parsed.images.subarray(3072, 6144))).toEqual(image(16));
    const error = await expectOpnpError(() => fromCifar(bytes.subarray(0, bytes.length - 1), { variant: 'cifar10', file: 't' }), 'DATASET_FORMAT');
    expect(error.offset).toBe(3 * 3073);
    const bad = Uint8Array.from(bytes);
    bad[3073] = 10;
    expect((await expectOpnpError(() => fromCifar(bad), 'DATASET_FORMAT')).offset).toBe(3073);
  });
});

describe('CIFAR-100 binary', () => {
  it('reads fine and coarse labels', async () => {
    const fine = await openDataset(`${fixture('cifar100')}#train`);
    expect(fine.format).toBe('cifar100');
    expect(fine.classes).toBe(100);
    const got = await collect(fine, { preprocess: { scale: 1 } });
    expect(got.labels).toEqual([0, 1, 2, 3, 4].map((n) => (3 * n + 2) % 100));
    expect(Array.from(got.data)).toEqual([0, 1, 2, 3, 4].flatMap((n) => image(n)));
    const coarse = await openDataset(`${fixture('cifar100')}#test,coarse`);
    expect(coarse.classes).toBe(20);
    expect(Array.from(await coarse.readLabels())).toEqual([5, 6, 7]);
    expect((await datasetInfo(coarse)).labels).toEqual({ 5: 1, 6: 1, 7: 1 });
  });
});

describe('SVHN .mat (MATLAB v5)', () => {
  for (const name of ['test_32x32.mat', 'uncompressed_32x32.mat']) {
    it(`reads ${name}: column-major X [32, 32, 3, N] and y with 10 -> 0`, async () => {
      const ds = await openDataset(fixture('svhn', name));
      expect(ds.format).toBe('svhn');
      expect(ds.count).toBe(6);
      expect(ds.shape).toEqual([3, 32, 32]);
      expect(Array.from(ds.labels!)).toEqual([0, 1, 2, 0, 5, 9]);
      const { data, indices } = await collect(ds, { batchSize: 4, preprocess: { scale: 1 } });
      expect(indices).toEqual([0, 1, 2, 3, 4, 5]);
      expect(Array.from(data)).toEqual(indices.flatMap((n) => image(n)));
      const part = await collect(ds, { subset: Uint32Array.from([2, 5]), preprocess: { scale: 1 } });
      expect(Array.from(part.data)).toEqual([2, 5].flatMap((n) => image(n)));
    });
  }

  it('reads a grey [H, W, N] variable stored after y, with uint8 labels', async () => {
    const ds = await openSvhn(fixture('svhn', 'grey.mat'));
    expect(ds.shape).toEqual([1, 8, 6]);
    expect(Array.from(ds.labels!)).toEqual([3, 0]);
    const { data } = await collect(ds, { preprocess: { scale: 1 } });
    expect(Array.from(data)).toEqual([0, 1].flatMap((n) => image(n, 1, 8, 6)));
  });

  it('fromMat parses the compressed variables', () => {
    const vars = fromMat(readFileSync(fixture('svhn', 'test_32x32.mat')));
    const X = vars.find((v) => v.name === 'X')!;
    const y = vars.find((v) => v.name === 'y')!;
    expect(X.className).toBe('uint8');
    expect(X.dims).toEqual([32, 32, 3, 6]);
    // column-major: X(y, x, c, n) at y + 32 x + 1024 c + 3072 n
    expect(X.data[5 + 32 * 7 + 1024 * 2 + 3072 * 4]).toBe(pix(4, 2, 5, 7));
    expect(y.className).toBe('double');
    expect(Array.from(y.data)).toEqual([10, 1, 2, 10, 5, 9]);
  });

  it('rejects label and image counts that disagree, and non-MAT files', async () => {
    const error = await expectOpnpError(() => openSvhn(fixture('svhn', 'mismatch.mat')), 'DATASET_FORMAT');
    expect(error.message).toMatch(/counts disagree/);
    expect(error.offset).toBeGreaterThan(128);
    await expectOpnpError(() => openSvhn(fixture('cifar10', 'test_batch.bin')), 'DATASET_FORMAT');
    await expectOpnpError(() => openSvhn(fixture('svhn', 'test_32x32.mat'), { images: 'Z' }), 'DATASET_NOT_FOUND');
  });
});
