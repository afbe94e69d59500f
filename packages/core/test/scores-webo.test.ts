/** Weighted energy (WEBO) against the brute-force definition of docs/numerics.md#webo, written here in float64. */
import { describe, expect, it } from 'vitest';
import { matrix, OpnpError } from '@opnp/core';
import { energy } from '../src/scores/logit-scores.js';
import { weightedEnergy } from '../src/scores/webo.js';
import { expectClose } from '../src/testing/reference.js';
import { randomMatrix, rng, rowsOf } from './helpers.js';

/** The literal definition `log sum_c relu(v_c) exp(f_c)` (moderate logits: no shift needed); NaN anywhere gives NaN. */
function refWeightedEnergy(f: number[], v: number[]): number {
  if (f.some(Number.isNaN)) return NaN;
  return Math.log(f.reduce((s, fc, c) => s + Math.max(0, v[c]!) * Math.exp(fc), 0));
}

function thrown(fn: () => unknown): OpnpError {
  try {
    fn();
  } catch (e) {
    if (e instanceof OpnpError) return e;
    throw e;
  }
  throw new Error('expected an OpnpError');
}

describe('weightedEnergy', () => {
  it('matches the definition on random logits and weights, with ties, a zero weight, negative weights and NaN rows', () => {
    const r = rng(7);
    const logits = randomMatrix(40, 6, r, (u) => u * 8 - 4);
    logits.data.set([1.5, 1.5, 1.5, 1.5, 1.5, 1.5], 0); // all tied
    logits.data.set([2, 2, -1, 0, 2, 0.5], 6); // tied maximum
    logits.data[3 * 6 + 4] = NaN;
    const weights = Float64Array.of(0.7, 0, -0.3, 2.5, 1, 0.05);
    const expected = rowsOf(logits).map((f) => refWeightedEnergy(f, Array.from(weights)));
    const got = weightedEnergy(logits, weights);
    expect(Number.isNaN(got[3]!)).toBe(true);
    expectClose(got, expected, 1e-6, 'webo');
    expectClose(weightedEnergy(logits, Float32Array.from(weights)), expected, 1e-6, 'webo, float32 weights');
  });

  it('equals energy exactly for unit weights', () => {
    const logits = randomMatrix(30, 5, rng(3), (u) => u * 40 - 20);
    logits.data.set([1000, 1000, -1000, -Infinity, 999], 0);
    logits.data.set([-Infinity, -Infinity, -Infinity, -Infinity, -Infinity], 5);
    logits.data[12] = Infinity;
    logits.data[17] = NaN;
    expect(Array.from(weightedEnergy(logits, new Float32Array(5).fill(1)))).toEqual(Array.from(energy(logits)));
  });

  it('stays exact for huge logits and drops zero-weight classes even at +Infinity', () => {
    const logits = matrix(3, 3, [1000, 1000, 5000, -1000, -1000, -1000, 0, Infinity, -Infinity]);
    const got = weightedEnergy(logits, Float64Array.of(1, 3, 0));
    expectClose(got.subarray(0, 2), [1000 + Math.log(4), -1000 + Math.log(4)], 1e-7);
    expect(got[2]).toBe(Infinity);
    expect(weightedEnergy(matrix(1, 2, [0, Infinity]), Float64Array.of(1, 0))[0]).toBeCloseTo(0, 12);
  });

  it('gives -Infinity when every weighted term is zero', () => {
    const logits = matrix(2, 3, [1, 2, 3, -Infinity, -Infinity, 4]);
    expect(Array.from(weightedEnergy(logits, Float64Array.of(0, -1, 0)))).toEqual([-Infinity, -Infinity]);
    expect(Array.from(weightedEnergy(logits, Float64Array.of(1, 1, 0)))).toEqual([Math.fround(refWeightedEnergy([1, 2, 3], [1, 1, 0])), -Infinity]);
  });

  it('handles one class and empty input', () => {
    const logits = matrix(3, 1, [0.5, -2, NaN]);
    const got = weightedEnergy(logits, Float64Array.of(2));
    expectClose(got, [0.5 + Math.log(2), -2 + Math.log(2), NaN], 1e-7);
    expect(weightedEnergy(matrix(0, 4), new Float64Array(4)).length).toBe(0);
  });

  it('refuses a weight vector of the wrong length, non-finite weights and logits without classes', () => {
    const logits = matrix(2, 3, [1, 2, 3, 4, 5, 6]);
    const wrong = thrown(() => weightedEnergy(logits, Float64Array.of(1, 1)));
    expect(wrong.code).toBe('SHAPE_MISMATCH');
    expect(wrong.message).toMatch(/2 values but the logits have 3 classes/);
    for (const bad of [NaN, Infinity, -Infinity]) {
      const error = thrown(() => weightedEnergy(logits, Float64Array.of(1, bad, 1)));
      expect(error.code).toBe('NON_FINITE');
      expect(error.offset).toBe(1);
    }
    expect(thrown(() => weightedEnergy(matrix(2, 0), new Float64Array(0))).code).toBe('SHAPE_MISMATCH');
  });
});
