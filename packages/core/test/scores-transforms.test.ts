import { describe, expect, it } from 'vitest';
import { linearHead, matrix, OpnpError, type Matrix } from '@opnp/core';
import { resolveDetectorExportOptions } from '@opnp/core/backend';
import { ash, ashKeepCount, react, reactThreshold, scale, type AshVariant } from '../src/scores/transforms.js';
import { roundHalfEven } from '../src/round.js';
import { randomMatrix, rng, rowsOf, refPercentile } from './helpers.js';

/** A seeded matrix of `max(0, u)` for `u` uniform in `[-1, 2)`, or uniform in `[-1, 1)` when `signed`. */
const seededMatrix = (rows: number, cols: number, seed: number, signed = false): Matrix =>
  randomMatrix(rows, cols, rng(seed), (u) => (signed ? u * 2 - 1 : Math.max(0, u * 3 - 1)));


/** Brute-force ASH of one row: stable sort of indices by descending value, keep the first k. */
function bruteAsh(row: number[], variant: AshVariant, p: number): number[] {
  const D = row.length;
  const half = (D * p) / 100;
  const fl = Math.floor(half);
  const rounded = half - fl === 0.5 ? (fl % 2 === 0 ? fl : fl + 1) : Math.round(half);
  const k = D - rounded;
  const order = row.map((v, j) => [v, j] as const).sort((a, b) => b[0] - a[0] || a[1] - b[1]);
  const kept = new Set(order.slice(0, k).map(([, j]) => j));
  const s1 = row.reduce((s, v) => s + v, 0);
  const pruned = row.map((v, j) => (kept.has(j) ? v : 0));
  const s2 = pruned.reduce((s, v) => s + v, 0);
  if (k === 0) return row.map(() => 0);
  if (variant === 'p') return pruned;
  if (variant === 'b') return row.map((_, j) => (kept.has(j) ? s1 / k : 0));
  const factor = s2 === 0 ? 1 : Math.exp(s1 / s2);
  return pruned.map((v) => v * factor);
}

function expectMatrixClose(actual: Matrix, expected: number[][], relTol = 1e-6): void {
  expect([actual.rows, actual.cols]).toEqual([expected.length, expected[0]?.length ?? actual.cols]);
  expected.forEach((row, i) =>
    row.forEach((e, j) => {
      const a = actual.data[i * actual.cols + j]!;
      if (Number.isNaN(e)) expect(a, `(${i}, ${j})`).toBeNaN();
      else expect(Math.abs(a - e), `(${i}, ${j}): ${a} vs ${e}`).toBeLessThanOrEqual(relTol * Math.max(1, Math.abs(e)));
    }),
  );
}


describe('roundHalfEven / ashKeepCount', () => {
  it('rounds halves to even like numpy', () => {
    expect([0.5, 1.5, 2.5, 3.5, -0.5, -1.5, -2.5, 2.4, 2.6, 7].map(roundHalfEven)).toEqual([0, 2, 2, 4, -0, -2, -2, 2, 3, 7]);
  });
  it('computes k = D - round(D p / 100)', () => {
    expect(ashKeepCount(512, 90)).toBe(512 - 461); // 460.8 -> 461
    expect(ashKeepCount(10, 65)).toBe(10 - 6); // 6.5 -> 6 (half to even)
    expect(ashKeepCount(10, 75)).toBe(10 - 8); // 7.5 -> 8
    expect(ashKeepCount(10, 100)).toBe(0);
    expect(ashKeepCount(10, 0)).toBe(10);
    expect(() => ashKeepCount(10, 101)).toThrow(OpnpError);
  });
});

describe('ReAct', () => {
  it('threshold is the numpy-linear percentile of all training entries', () => {
    const h = seededMatrix(20, 7, 1);
    for (const q of [90, 0, 100, 37.5]) expect(reactThreshold(h, q)).toBe(refPercentile(Array.from(h.data), q));
    expect(reactThreshold(h)).toBe(refPercentile(Array.from(h.data), 90));
  });
  it('threshold throws on NaN, empty input and bad q', () => {
    expect(() => reactThreshold(matrix(1, 2, [1, NaN]))).toThrow(OpnpError);
    expect(() => reactThreshold(matrix(0, 2))).toThrow(OpnpError);
    expect(() => reactThreshold(matrix(1, 2, [1, 2]), 120)).toThrow(OpnpError);
  });
  it('clips entry-wise into a new matrix, input unmodified, NaN kept', () => {
    const h = matrix(2, 3, [0.5, 2, -1, NaN, 1, 3]);
    const copy = Float32Array.from(h.data);
    const out = react(h, 1);
    expect(Array.from(out.data)).toEqual([0.5, 1, -1, NaN, 1, 1]);
    expect(h.data).toEqual(copy);
    expect(Array.from(react(h, Infinity).data)).toEqual(Array.from(copy));
    expect(() => react(h, NaN)).toThrow(OpnpError);
    expect(react(matrix(0, 3), 1).rows).toBe(0);
  });
  it('refuses a negative or NaN clip, naming the value (a negative clip would give every ReLU row the same score)', () => {
    const h = matrix(2, 3, [0.5, 2, 0, 0, 1, 3]);
    // Why: min(h, -1) of non-negative features is -1 everywhere, so every sample would score the same.
    expect(Array.from(h.data, (v) => Math.min(v, -1))).toEqual([-1, -1, -1, -1, -1, -1]);
    for (const clip of [-1, -Infinity, -1e-30]) {
      expect(() => react(h, clip), String(clip)).toThrow(
        expect.objectContaining({ code: 'INVALID_ARGUMENT', actual: clip, message: expect.stringMatching(new RegExp(`ReAct clip must be >= 0, got ${clip === -Infinity ? '-Infinity' : '-1'}.*every sample gets the same score.*reactThreshold`)) }),
      );
    }
    expect(() => react(h, NaN)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/ReAct clip must be a number >= 0 \(not NaN\), got NaN/) }));
    expect(() => react(h, '1' as unknown as number)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/got string 1/) }));
    // 0 and -0 are valid clips (a ReLU feature can be 0).
    expect(Array.from(react(h, 0).data)).toEqual([0, 0, 0, 0, 0, 0]);
    expect(Array.from(react(h, -0).data).every((v) => v === 0)).toBe(true);
  });
  it('exportDetector options refuse a negative reactClip as react does', () => {
    const head = linearHead(matrix(2, 3, [1, 0, 0, 0, 1, 0]));
    const options = { prunedWeight: head.weight, outputPath: 'detector.onnx' };
    expect(() => resolveDetectorExportOptions(head, { ...options, reactClip: -1 })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/reactClip must be >= 0, got -1/) }));
    expect(() => resolveDetectorExportOptions(head, { ...options, reactClip: NaN })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/reactClip must be a number/) }));
    expect(resolveDetectorExportOptions(head, { ...options, reactClip: 0 }).reactClip).toBe(0);
    expect(resolveDetectorExportOptions(head, options).reactClip).toBeUndefined();
  });
});

describe('ASH', () => {
  it('matches the brute-force definition for every variant on random ReLU and signed features', () => {
    for (const [seed, signed] of [[2, false], [3, true]] as const) {
      const h = seededMatrix(25, 33, seed, signed);
      const copy = Float32Array.from(h.data);
      for (const variant of ['p', 'b', 's'] as const) {
        for (const p of [90, 65, 50, 0, 100]) {
          expectMatrixClose(ash(h, { variant, percentile: p }), rowsOf(h).map((r) => bruteAsh(r, variant, p)), 1e-6);
        }
      }
      expect(h.data).toEqual(copy);
    }
  });
  it('defaults to p = 90', () => {
    const h = seededMatrix(4, 40, 4);
    expect(ash(h, { variant: 'p' })).toEqual(ash(h, { variant: 'p', percentile: 90 }));
  });
  it('breaks ties at the boundary by lowest index first', () => {
    // D = 5, p = 60 -> k = 2; values [1, 3, 1, 1, 0]: keep index 1 (3) and index 0 (first of the tied 1s).
    const h = matrix(1, 5, [1, 3, 1, 1, 0]);
    expect(Array.from(ash(h, { variant: 'p', percentile: 60 }).data)).toEqual([1, 3, 0, 0, 0]);
    // All equal: keep the first k.
    expect(Array.from(ash(matrix(1, 4, [2, 2, 2, 2]), { variant: 'p', percentile: 50 }).data)).toEqual([2, 2, 0, 0]);
    // -b on ties: kept entries get s1 / k = 8 / 2.
    expect(Array.from(ash(matrix(1, 4, [2, 2, 2, 2]), { variant: 'b', percentile: 50 }).data)).toEqual([4, 4, 0, 0]);
  });
  it('handles s2 == 0, k == 0, NaN rows and empty input without NaN leaking', () => {
    // Signed kept entries summing to zero: left unscaled.
    const h = matrix(1, 4, [1, -1, -3, -5]); // k = 2 at p = 50: keep 1 and -1, s2 = 0
    expect(Array.from(ash(h, { variant: 's', percentile: 50 }).data)).toEqual([1, -1, 0, 0]);
    const zeros = ash(matrix(1, 4), { variant: 's', percentile: 50 });
    expect(Array.from(zeros.data)).toEqual([0, 0, 0, 0]);
    expect(Array.from(ash(matrix(1, 3, [1, 2, 3]), { variant: 'b', percentile: 100 }).data)).toEqual([0, 0, 0]);
    const withNaN = ash(matrix(2, 2, [NaN, 1, 1, 2]), { variant: 'p', percentile: 50 });
    expect(Array.from(withNaN.data)).toEqual([NaN, NaN, 0, 2]);
    expect(ash(matrix(0, 4), { variant: 'b' }).rows).toBe(0);
    expect(() => ash(h, { variant: 'x' as never })).toThrow(OpnpError);
    expect(() => ash(h, { variant: 'p', percentile: -1 })).toThrow(OpnpError);
  });
});

describe('SCALE', () => {
  it('multiplies every entry by exp(s1 / s2), s2 the top-k sum', () => {
    const h = seededMatrix(10, 21, 5);
    const copy = Float32Array.from(h.data);
    for (const p of [85, 50, 0]) {
      const expected = rowsOf(h).map((row) => {
        const D = row.length;
        const k = D - roundHalfEven((D * p) / 100);
        const s1 = row.reduce((s, v) => s + v, 0);
        const s2 = [...row].sort((a, b) => b - a).slice(0, k).reduce((s, v) => s + v, 0);
        const factor = s2 === 0 ? 1 : Math.exp(s1 / s2);
        return row.map((v) => v * factor);
      });
      expectMatrixClose(scale(h, { percentile: p }), expected, 1e-6);
    }
    expect(scale(h)).toEqual(scale(h, { percentile: 85 }));
    expect(h.data).toEqual(copy);
    expect(Array.from(scale(matrix(1, 2), { percentile: 50 }).data)).toEqual([0, 0]);
    expect(Array.from(scale(matrix(1, 2, [1, 2]), { percentile: 100 }).data)).toEqual([1, 2]);
  });
});
