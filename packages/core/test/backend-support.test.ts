import { describe, expect, it } from 'vitest';
import { linearHead, matrix, type ExtractResult } from '@opnp/core';
import { AUTO_HEAD_CHECK_ROWS, assertBatchMatchesInput, compareHead, extractInFixedBatches, SerialQueue } from '@opnp/core/backend';

describe('extractInFixedBatches', () => {
  // A "model" with a fixed batch of 4: features = the inputs (D = 2), logits = row sums (C = 1).
  const calls: number[][] = [];
  const runOnce = async (data: Float32Array, shape: readonly number[]): Promise<ExtractResult> => {
    calls.push([...shape]);
    expect(shape[0]).toBe(4);
    const n = shape[0]!;
    const logits = new Float32Array(n);
    for (let i = 0; i < n; i++) logits[i] = data[2 * i]! + data[2 * i + 1]!;
    return { features: matrix(n, 2, data.slice()), logits: matrix(n, 1, logits) };
  };

  it('splits, zero-pads the last chunk and stitches rows back in order', async () => {
    calls.length = 0;
    const data = Float32Array.from({ length: 18 }, (_, i) => i); // 9 samples of 2 values
    const out = await extractInFixedBatches({ data, shape: [9, 2] }, { fixedBatch: 4, classes: 1, dim: 2 }, runOnce);
    expect(calls).toEqual([[4, 2], [4, 2], [4, 2]]);
    expect(Array.from(out.features.data)).toEqual(Array.from(data));
    expect(Array.from(out.logits.data)).toEqual([1, 5, 9, 13, 17, 21, 25, 29, 33]);
    expect(Array.from(data)).toEqual(Array.from({ length: 18 }, (_, i) => i));
  });

  it('passes a batch through unchanged when it fits and returns empty matrices for N = 0', async () => {
    calls.length = 0;
    const out = await extractInFixedBatches({ data: new Float32Array(8), shape: [4, 2] }, { fixedBatch: 4, classes: 1, dim: 2 }, runOnce);
    expect(out.features.rows).toBe(4);
    const empty = await extractInFixedBatches({ data: new Float32Array(0), shape: [0, 2] }, { fixedBatch: 4, classes: 1, dim: 2 }, runOnce);
    expect([empty.features.rows, empty.features.cols, empty.logits.cols]).toEqual([0, 2, 1]);
    expect(calls).toEqual([[4, 2]]);
  });
});

describe('SerialQueue', () => {
  it('runs tasks one at a time in submission order, and a failure does not stop later tasks', async () => {
    const queue = new SerialQueue();
    const log: string[] = [];
    let running = 0;
    const task = (name: string, fail = false) => async () => {
      running++;
      expect(running).toBe(1);
      await new Promise((r) => setTimeout(r, 5));
      log.push(name);
      running--;
      if (fail) throw new Error(name);
      return name;
    };
    const results = [queue.run(task('a')), queue.run(task('b', true)), queue.run(task('c'))];
    await expect(results[0]).resolves.toBe('a');
    await expect(results[1]).rejects.toThrow('b');
    await expect(results[2]).resolves.toBe('c');
    await queue.idle();
    expect(log).toEqual(['a', 'b', 'c']);
  });
});

describe('compareHead', () => {
  const head = linearHead(matrix(2, 2, [1, 0, 0, 2]), [0.5, -1]);
  const features = matrix(2, 2, [1, 2, 3, 4]);
  it('is exact for the logits W h + b and reports the largest difference otherwise', () => {
    // W h + b: [1.5, 3], [3.5, 7]
    const exact = compareHead(head, { features, logits: matrix(2, 2, [1.5, 3, 3.5, 7]) });
    expect(exact).toEqual({ maxAbsDiff: 0, maxRelDiff: 0, withinTolerance: true, samples: 2, worst: { row: 0, column: 0, got: 1.5, expected: 1.5 } });
    const off = compareHead(head, { features, logits: matrix(2, 2, [1.5, 3, 3.5, 7.5]) });
    expect(off.maxAbsDiff).toBe(0.5);
    expect(off.worst).toEqual({ row: 1, column: 1, got: 7.5, expected: 7 });
    expect(off.maxRelDiff).toBeCloseTo(0.5 / 7.5, 12);
    expect(off.withinTolerance).toBe(false);
    expect(compareHead(head, { features, logits: matrix(2, 2, [1.5, 3, 3.5, 7.5]) }, { atol: 0.6 }).withinTolerance).toBe(true);
    expect(Number.isNaN(compareHead(head, { features, logits: matrix(2, 2, [NaN, 3, 3.5, 7]) }).maxAbsDiff)).toBe(true);
  });

  it('matches the written-out definition in float64 on the first maxRows rows only', () => {
    // C = 3, D = 5, N = 7 with values whose float32 products are inexact; logits off by a known amount per row.
    const [C, D, N] = [3, 5, 7];
    const w = Array.from({ length: C * D }, (_, i) => Math.fround(Math.sin(i + 1) * 3.3));
    const b = [0.1, -0.7, 2.25].map(Math.fround); // the head stores float32
    const h = Array.from({ length: N * D }, (_, i) => Math.fround(Math.cos(i * 1.7) * 5.1));
    const definition = (n: number, c: number) => {
      let sum = b[c]!;
      for (let d = 0; d < D; d++) sum += w[c * D + d]! * h[n * D + d]!;
      return sum;
    };
    const offset = (n: number) => (n + 1) * 1e-3; // row n is off by (n + 1) / 1000
    const logits = Float32Array.from({ length: N * C }, (_, i) => definition(Math.floor(i / C), i % C) + offset(Math.floor(i / C)));
    const expectedMax = (rows: number) => {
      let max = 0;
      for (let n = 0; n < rows; n++) for (let c = 0; c < C; c++) max = Math.max(max, Math.abs(definition(n, c) - logits[n * C + c]!));
      return max;
    };
    const result = { features: matrix(N, D, h), logits: matrix(N, C, logits) };
    const h3 = linearHead(matrix(C, D, w), b);
    for (const rows of [1, 3, N]) {
      const check = compareHead(h3, result, {}, rows);
      expect(check.samples).toBe(rows);
      expect(check.maxAbsDiff).toBe(expectedMax(rows));
    }
    expect(compareHead(h3, result).samples).toBe(N);
    expect(compareHead(h3, result, {}, 100).maxAbsDiff).toBe(expectedMax(N));
  });

  it('ignores rows past maxRows (a NaN there included), reports 0 rows as a pass and refuses mismatched shapes', () => {
    const rows = AUTO_HEAD_CHECK_ROWS + 1;
    const big = { features: matrix(rows, 2, Array.from({ length: rows * 2 }, (_, i) => i)), logits: matrix(rows, 2, new Float32Array(rows * 2)) };
    for (let n = 0; n < rows; n++) big.logits.data.set([big.features.data[2 * n]! + 0.5, 2 * big.features.data[2 * n + 1]! - 1], 2 * n);
    big.logits.data[2 * AUTO_HEAD_CHECK_ROWS] = NaN;
    expect(compareHead(head, big, {}, AUTO_HEAD_CHECK_ROWS)).toMatchObject({ maxAbsDiff: 0, maxRelDiff: 0, withinTolerance: true, samples: AUTO_HEAD_CHECK_ROWS });
    expect(Number.isNaN(compareHead(head, big).maxAbsDiff)).toBe(true);
    expect(compareHead(head, { features: matrix(0, 2, []), logits: matrix(0, 2, []) })).toEqual({ maxAbsDiff: 0, maxRelDiff: 0, withinTolerance: true, samples: 0 });
    expect(() => compareHead(head, { features: matrix(2, 3, new Float32Array(6)), logits: matrix(2, 2, new Float32Array(4)) })).toThrow(expect.objectContaining({ code: 'SHAPE_MISMATCH' }));
  });
});

describe('assertBatchMatchesInput', () => {
  const spec = { name: 'image', shape: [null, 1, 2, 2] as (number | null)[], layout: 'NCHW' as const };
  it('accepts any batch size with the static dimensions, up to maxBatchSize', () => {
    expect(() => assertBatchMatchesInput({ data: new Float32Array(12), shape: [3, 1, 2, 2] }, spec)).not.toThrow();
    expect(() => assertBatchMatchesInput({ data: new Float32Array(0), shape: [0, 1, 2, 2] }, spec)).not.toThrow();
    expect(() => assertBatchMatchesInput({ data: new Float32Array(12), shape: [3, 1, 2, 2] }, spec, 3)).not.toThrow();
  });
  it('says what the model expects for wrong rank, dimensions, data length or too many rows', () => {
    const cases: [Float32Array, number[], number | undefined][] = [
      [new Float32Array(4), [1, 4], undefined],
      [new Float32Array(6), [1, 1, 2, 3], undefined],
      [new Float32Array(5), [1, 1, 2, 2], undefined],
      [new Float32Array(16), [4, 1, 2, 2], 3],
    ];
    for (const [data, shape, max] of cases) {
      expect(() => assertBatchMatchesInput({ data, shape }, spec, max), JSON.stringify(shape)).toThrow(expect.objectContaining({ code: 'SHAPE_MISMATCH' }));
    }
    expect(() => assertBatchMatchesInput({ data: new Float32Array(6), shape: [1, 1, 2, 3] }, spec)).toThrow(/\[N, 1, 2, 2\].*NCHW/);
  });
});
