import { describe, expect, it } from 'vitest';
import { OpnpError, percentile, percentiles } from '@opnp/core';
import { selectOrderStatistics } from '../src/percentile.js';
import { rng, refPercentile } from './helpers.js';

describe('percentile (numpy linear interpolation)', () => {
  it('matches values numpy gives by hand', () => {
    // np.percentile([1,2,3,4], 50) == 2.5; np.percentile([1,2,3,4,5], 10) == 1.4; np.percentile([3,1,2], 100) == 3
    expect(percentile([1, 2, 3, 4], 50)).toBe(2.5);
    expect(percentile([1, 2, 3, 4, 5], 10)).toBeCloseTo(1.4, 14);
    expect(percentile([3, 1, 2], 100)).toBe(3);
    expect(percentile([3, 1, 2], 0)).toBe(1);
    expect(percentile([7], 37)).toBe(7);
  });
  it('matches the definition on random data with ties and fractional q', () => {
    const random = rng(3);
    for (let trial = 0; trial < 50; trial++) {
      const n = 1 + Math.floor(random() * 60);
      const values = Float32Array.from({ length: n }, () => Math.floor(random() * 6));
      const qs = [0, 0.5, 1, 2, 10, 33.3, 50, 90, 99.5, 100];
      const got = percentiles(values, qs);
      qs.forEach((q, i) => expect(got[i]).toBeCloseTo(refPercentile(values, q), 12));
    }
  });
  it('selects the same order statistics as a sort on large inputs: ties, sorted, reversed, constant, infinities', () => {
    const random = rng(11);
    const inputs: Float64Array[] = [];
    for (let trial = 0; trial < 20; trial++) {
      const n = 33 + Math.floor(random() * 5000);
      const levels = 1 + Math.floor(random() * (trial % 2 === 0 ? 4 : 1000));
      inputs.push(Float64Array.from({ length: n }, () => Math.floor(random() * levels) / levels));
    }
    inputs.push(Float64Array.from({ length: 4000 }, (_, i) => i), Float64Array.from({ length: 4000 }, (_, i) => -i), new Float64Array(3000).fill(2));
    inputs.push(Float64Array.from({ length: 999 }, (_, i) => (i % 3 === 0 ? Infinity : i % 3 === 1 ? -Infinity : i)));
    for (const input of inputs) {
      const sorted = input.slice().sort();
      const ranks = [...new Set([0, 1, Math.floor(input.length / 3), Math.floor(input.length / 2), input.length - 2, input.length - 1])].sort((a, b) => a - b);
      const work = input.slice();
      selectOrderStatistics(work, ranks);
      for (const k of ranks) expect(work[k]! === sorted[k]!).toBe(true);
      expect(work.slice().sort()).toEqual(sorted); // a permutation of the input
      if (!input.every(Number.isFinite)) continue; // the reference's lerp gives NaN next to infinities
      const qs = [0, 0.5, 10, 30, 50, 98, 99, 99.5, 100];
      const got = percentiles(input, qs);
      // === rather than toBe: the sign of a zero threshold does not matter (-0 <= 0 <= -0).
      qs.forEach((q, i) => expect(got[i]! === refPercentile(input, q), `q=${q}: ${got[i]} vs ${refPercentile(input, q)}`).toBe(true));
    }
  });
  it('leaves the input unmodified and rejects bad input', () => {
    const values = [3, 1, 2];
    percentile(values, 50);
    expect(values).toEqual([3, 1, 2]);
    expect(() => percentile([], 50)).toThrow(OpnpError);
    expect(() => percentile([1, NaN], 50)).toThrow(/NaN/);
    expect(() => percentile([1, 2], 101)).toThrow(OpnpError);
    expect(() => percentile([1, 2], -1)).toThrow(OpnpError);
  });
  it('accepts infinities', () => {
    expect(percentile([-Infinity, 0, Infinity], 50)).toBe(0);
  });
});
