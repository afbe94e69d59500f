import { describe, expect, it } from 'vitest';
import { fpr95, oodMetrics } from '@opnp/metrics';

/**
 * Functional O(n log n) check: a million scores per side would take ~10^12 steps on any quadratic path, so
 * merely finishing (within the suite's default timeout) shows there is none. No timing assertions.
 */
describe('large inputs', () => {
  it('handles 10^6 scores per side with analytically known results', () => {
    const n = 1_000_000;
    const id = new Float32Array(n);
    const ood = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      const v = (i * 7919) % n; // a permutation of 0..n-1 (7919 is prime and does not divide 10^6)
      id[i] = v + 1; // 1..n, exactly representable in float32
      ood[i] = v + 0.5; // 0.5..n-0.5
    }
    const m = oodMetrics(id, ood);
    // id j+1 vs ood i+0.5: ID wins iff j >= i, so n(n+1)/2 of n^2 pairs
    expect(m.auroc).toBeCloseTo((n + 1) / (2 * n), 12);
    // tau = the 950000-th largest ID score = 50001; OOD >= 50001 are 50001.5 .. n-0.5 => n - 50001 values
    expect(m.fpr95).toBe((n - 50_001) / n);
    // t = the 950000-th smallest OOD score = 949999.5; ID <= t are 1 .. 949999
    expect(fpr95(id, ood, { convention: 'ood-positive' })).toBe(949_999 / n);
  });
});
