/**
 * The fast path for plain 8-bit records (`record-block.ts`) writes whole runs of records in one kernel call: the
 * batch must be the same bit for bit as the per-sample path (`writeSample`) and as the written-out definition of
 * docs/numerics.md, `float32(v * (1/255/std[c]) + (-mean[c]/std[c]))` in float64, for 1 and 3 channels, CHW and
 * HWC records, both batch layouts, runs cut by reads and by the block size, partial batches, offsets and subsets.
 */
import { describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { prepareChunk, type RawSample } from '../src/dataset.js';
import { resolvePreprocess, writeSample, type BatchLayout, type PixelImage, type PreprocessOptions, type PreprocessPlan } from '../src/preprocess.js';
import { writeRecordChunk } from '../src/record-block.js';
import { fromIdx, idxDataset } from '../src/index.js';
import { openIdx } from '../src/node/index.js';

/** Deterministic bytes covering 0 and 255. */
function bytes(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  let s = seed >>> 0;
  for (let i = 0; i < length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = i % 97 === 0 ? 255 : i % 89 === 0 ? 0 : s >>> 24;
  }
  return out;
}

const MEAN = [0.485, 0.456, 0.406];
const STD = [0.229, 0.224, 0.225];

/**
 * The definition: sample `n` stored at `records[n*C*H*W ..]` (`'CHW'` or `'HWC'`) written as
 * `v * (1/255/std[c]) + (-mean[c]/std[c])`, rounded to float32, in `layout`.
 */
function definition(records: Uint8Array, N: number, shape: readonly [number, number, number], stored: 'CHW' | 'HWC', layout: BatchLayout, mean: readonly number[], std: readonly number[]): Float32Array {
  const [C, H, W] = shape;
  const out = new Float32Array(N * C * H * W);
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      for (let y = 0; y < H; y++) {
        for (let x = 0; x < W; x++) {
          const v = records[n * C * H * W + (stored === 'CHW' ? (c * H + y) * W + x : (y * W + x) * C + c)]!;
          const o = layout === 'NCHW' ? ((n * C + c) * H + y) * W + x : ((n * H + y) * W + x) * C + c;
          out[o] = v * (1 / 255 / std[c]!) + -mean[c]! / std[c]!;
        }
      }
    }
  }
  return out;
}

/** Samples viewing consecutive records of one buffer (as the IDX reader hands them over). */
function recordViews(records: Uint8Array, N: number, shape: readonly [number, number, number], stored: 'CHW' | 'HWC'): RawSample[] {
  const [C, H, W] = shape;
  const size = C * H * W;
  return Array.from({ length: N }, (_, index) => ({ index, label: -1, pixels: { data: new Uint8Array(records.buffer, records.byteOffset + index * size, size), channels: C, height: H, width: W, layout: stored } }));
}

/** The per-sample path. */
function perSample(chunk: readonly RawSample[], plan: PreprocessPlan): Float32Array {
  const out = new Float32Array(chunk.length * plan.channels * plan.height * plan.width);
  chunk.forEach((s, n) => writeSample(plan, (s as { pixels: PixelImage }).pixels, out, n));
  return out;
}

/** Bit-for-bit equality (float32 bit patterns), with the first difference in the message. */
function expectSameBits(actual: Float32Array, expected: Float32Array): void {
  expect(actual.length).toBe(expected.length);
  const a = new Uint32Array(actual.buffer, actual.byteOffset, actual.length);
  const e = new Uint32Array(expected.buffer, expected.byteOffset, expected.length);
  const at = a.findIndex((v, i) => v !== e[i]);
  expect(at, at < 0 ? '' : `value ${at}: ${actual[at]} instead of ${expected[at]}`).toBe(-1);
}

/** Raw IDX bytes of uint8 `dims`. */
function idxFile(dims: readonly number[], data: Uint8Array): Uint8Array {
  const head = new Uint8Array(4 + 4 * dims.length);
  head.set([0, 0, 8, dims.length]);
  const view = new DataView(head.buffer);
  dims.forEach((d, i) => view.setUint32(4 + 4 * i, d));
  const out = new Uint8Array(head.length + data.length);
  out.set(head);
  out.set(data, head.length);
  return out;
}

describe('writeRecordChunk (whole chunks of 8-bit records)', () => {
  const cases: [string, [number, number, number], 'CHW' | 'HWC', BatchLayout, PreprocessOptions][] = [
    ['grey CHW -> NCHW', [1, 5, 7], 'CHW', 'NCHW', { mean: 0.1307, std: 0.3081 }],
    ['colour HWC -> NCHW', [3, 4, 6], 'HWC', 'NCHW', { mean: MEAN, std: STD }],
    ['colour HWC -> NHWC', [3, 4, 6], 'HWC', 'NHWC', { mean: MEAN, std: STD, layout: 'NHWC' }],
    ['colour CHW -> NHWC', [3, 3, 5], 'CHW', 'NHWC', { mean: MEAN, std: STD, layout: 'NHWC' }],
    ['colour CHW -> NCHW, default mean and std', [3, 2, 2], 'CHW', 'NCHW', {}],
  ];
  for (const [name, shape, stored, layout, options] of cases) {
    it(`${name}: the same bits as the per-sample path and the definition`, () => {
      const N = 9;
      const records = bytes(N * shape[0] * shape[1] * shape[2] + 3, 7).subarray(3); // an unaligned offset
      const plan = resolvePreprocess({ ...options, centerCrop: [shape[1], shape[2]] }, shape, false, true);
      const chunk = recordViews(records, N, shape, stored);
      const out = new Float32Array(N * shape[0] * shape[1] * shape[2]).fill(NaN);
      expect(writeRecordChunk(chunk, plan, out)).toBe(true);
      const mean = options.mean === undefined ? [0, 0, 0] : typeof options.mean === 'number' ? [options.mean] : options.mean;
      const std = options.std === undefined ? [1, 1, 1] : typeof options.std === 'number' ? [options.std] : options.std;
      expectSameBits(out, definition(records, N, shape, stored, layout, mean, std));
      expectSameBits(out, perSample(chunk, plan));
    });
  }

  it('cuts runs where records are not consecutive and at the block size, with the same bits', () => {
    const shape: [number, number, number] = [3, 256, 256]; // 192 KiB a record: 21 records per 4 MiB block
    const records = bytes(25 * 3 * 256 * 256, 3);
    const plan = resolvePreprocess({ mean: MEAN, std: STD }, shape, false, true);
    const views = recordViews(records, 25, shape, 'HWC');
    const last = (views[24] as { pixels: PixelImage }).pixels;
    const chunk: RawSample[] = [...views.slice(0, 24), { index: 24, label: -1, pixels: { ...last, data: (last.data as Uint8Array).slice() } }]; // a copy: a run of its own
    const out = new Float32Array(25 * 3 * 256 * 256);
    expect(writeRecordChunk(chunk, plan, out)).toBe(true);
    expectSameBits(out, definition(records, 25, shape, 'HWC', 'NCHW', MEAN, STD));
  });

  it('leaves resizing, cropping, channel conversion and other value types to the per-sample path', () => {
    const records = bytes(4 * 3 * 4 * 4, 5);
    const chunk = recordViews(records, 4, [3, 4, 4], 'HWC');
    const out = new Float32Array(4 * 3 * 4 * 4);
    const plan = (options: PreprocessOptions) => resolvePreprocess(options, [3, 4, 4], false, true);
    expect(writeRecordChunk(chunk, plan({ resize: 6, centerCrop: 4 }), new Float32Array(4 * 3 * 16))).toBe(false);
    expect(writeRecordChunk(chunk, plan({ centerCrop: 2 }), out)).toBe(false);
    expect(writeRecordChunk(chunk, plan({ channels: 1 }), out)).toBe(false);
    expect(writeRecordChunk(chunk, plan({ scale: 1e308, std: 1e-300 }), out)).toBe(false); // coefficients overflow to Infinity
    const floats = chunk.map((s) => ({ ...s, pixels: { ...(s as { pixels: PixelImage }).pixels, data: Float32Array.from((s as { pixels: PixelImage }).pixels.data) } }));
    expect(writeRecordChunk(floats, plan({}), out)).toBe(false);
    expect(writeRecordChunk([], plan({}), out)).toBe(false);
  });

  it('prepareChunk takes the fast path and reports every sample loaded at the batch size', async () => {
    const records = bytes(5 * 28 * 28, 11);
    const plan = resolvePreprocess({ mean: 0.1307, std: 0.3081 }, [1, 28, 28], false, true);
    const chunk = recordViews(records, 5, [1, 28, 28], 'CHW');
    const prepared = await prepareChunk(chunk, plan, () => {
      throw new Error('the fast path loads nothing');
    });
    expect(prepared.outcomes).toEqual(Array.from({ length: 5 }, () => ({ ok: true, height: 28, width: 28 })));
    expectSameBits(prepared.data, definition(records, 5, [1, 28, 28], 'CHW', 'NCHW', [0.1307], [0.3081]));
  });
});

describe('IDX batches through the fast path', () => {
  const N = 6000; // more than one 4 MiB read of 28 x 28 records: a batch straddles two reads
  const grey = bytes(N * 28 * 28, 13);
  const colour = bytes(50 * 3 * 5 * 4, 17);

  /** Every batch of `dataset`, concatenated, and the indices. */
  async function all(batches: AsyncIterable<{ data: Float32Array; indices: Uint32Array }>): Promise<{ data: Float32Array; indices: number[] }> {
    const parts: Float32Array[] = [];
    const indices: number[] = [];
    for await (const b of batches) {
      parts.push(b.data.slice());
      indices.push(...b.indices);
    }
    const data = new Float32Array(parts.reduce((s, p) => s + p.length, 0));
    let at = 0;
    for (const p of parts) {
      data.set(p, at);
      at += p.length;
    }
    return { data, indices };
  }

  /** The records of `indices`, gathered. */
  const pick = (records: Uint8Array, size: number, indices: readonly number[]) => {
    const out = new Uint8Array(indices.length * size);
    indices.forEach((i, k) => out.set(records.subarray(i * size, (i + 1) * size), k * size));
    return out;
  };

  it('a raw grey file: partial last batch, a resume offset, a subset with gaps, batch size 1', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'opnp-record-block-'));
    try {
      const file = join(dir, 'images-idx3-ubyte');
      writeFileSync(file, idxFile([N, 28, 28], grey));
      const dataset = await openIdx(file, { labels: false });
      const preprocess = { mean: 0.1307, std: 0.3081 };
      const runs: [Uint32Array | undefined, number][] = [
        [undefined, 256],
        [Uint32Array.from({ length: N - 1234 }, (_, i) => 1234 + i), 100],
        [Uint32Array.from({ length: 700 }, (_, i) => 3 * i + (i % 2)), 64],
        [Uint32Array.from({ length: 5 }, (_, i) => 5340 + 3 * i), 1],
      ];
      for (const [subset, batchSize] of runs) {
        const got = await all(dataset.batches({ batchSize, preprocess, ...(subset ? { subset } : {}) }));
        const want = subset ? Array.from(subset) : Array.from({ length: N }, (_, i) => i);
        expect(got.indices).toEqual(want);
        expectSameBits(got.data, definition(pick(grey, 784, want), want.length, [1, 28, 28], 'CHW', 'NCHW', [0.1307], [0.3081]));
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('an in-memory HWC colour array reordered to NCHW and NHWC', async () => {
    const images = fromIdx(idxFile([50, 5, 4, 3], colour));
    const dataset = idxDataset(images);
    for (const layout of ['NCHW', 'NHWC'] as const) {
      const got = await all(dataset.batches({ batchSize: 16, preprocess: { mean: MEAN, std: STD, layout } }));
      expectSameBits(got.data, definition(colour, 50, [3, 5, 4], 'HWC', layout, MEAN, STD));
    }
  });
});
