import { describe, expect, it } from 'vitest';
import { OpnpError, percentile, percentiles } from '@opnp/core';
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
