import { describe, expect, it } from 'vitest';
import { linearHead, matrix, type ExtractResult } from '@opnp/core';
import { assertBatchMatchesInput, compareHead, extractInFixedBatches, SerialQueue } from '@opnp/core/backend';

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
    expect(exact).toEqual({ maxAbsDiff: 0, maxRelDiff: 0, withinTolerance: true, samples: 2 });
    const off = compareHead(head, { features, logits: matrix(2, 2, [1.5, 3, 3.5, 7.5]) });
    expect(off.maxAbsDiff).toBe(0.5);
    expect(off.maxRelDiff).toBeCloseTo(0.5 / 7.5, 12);
    expect(off.withinTolerance).toBe(false);
    expect(compareHead(head, { features, logits: matrix(2, 2, [1.5, 3, 3.5, 7.5]) }, { atol: 0.6 }).withinTolerance).toBe(true);
    expect(Number.isNaN(compareHead(head, { features, logits: matrix(2, 2, [NaN, 3, 3.5, 7]) }).maxAbsDiff)).toBe(true);
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
