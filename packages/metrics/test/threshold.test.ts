/**
 * fpr95Threshold against its definition written out here: the largest score `tau` (among the scores) with
 * `#{s >= tau} / N >= recall`, found by trying every candidate.
 */
import { describe, expect, it } from 'vitest';
import { mulberry32 } from '@opnp/core';
import { settledCode } from '@opnp/core/testing';
import { fpr95, fpr95Threshold } from '../src/index.js';

/** Brute force: every score is a candidate; keep the largest that keeps at least `recall` of the scores. */
function bruteThreshold(scores: readonly number[], recall: number): number {
  let best = -Infinity;
  for (const tau of scores) {
    const kept = scores.filter((s) => s >= tau).length;
    if (kept / scores.length >= recall && tau > best) best = tau;
  }
  return best;
}

describe('fpr95Threshold', () => {
  it('is the largest score keeping 95% (or another recall) of the ID scores, with ties and small N', () => {
    const random = mulberry32(3);
    const cases: number[][] = [[1], [2, 1], [3, 3, 3], [5, 1, 4, 1, 5, 9, 2, 6], Array.from({ length: 20 }, (_, i) => i), Array.from({ length: 20 }, (_, i) => Math.floor(i / 4))];
    for (let t = 0; t < 30; t++) cases.push(Array.from({ length: 1 + Math.floor(random() * 60) }, () => Math.round(random() * 10) / 2));
    for (const scores of cases) {
      for (const recall of [0.95, 0.5, 1]) expect(fpr95Threshold(scores, recall), `${scores} @ ${recall}`).toBe(bruteThreshold(scores, recall));
    }
  });

  it('agrees with fpr95: the OOD scores at or above it are the false positives', () => {
    const random = mulberry32(8);
    const id = Array.from({ length: 57 }, () => random());
    const ood = Array.from({ length: 31 }, () => random() - 0.3);
    const tau = fpr95Threshold(id);
    expect(fpr95(id, ood)).toBe(ood.filter((s) => s >= tau).length / ood.length);
  });

  it('rejects empty input and NaN with typed errors; infinities are scores', async () => {
    expect(await settledCode(Promise.resolve().then(() => fpr95Threshold([])))).toBe('EMPTY_INPUT');
    expect(await settledCode(Promise.resolve().then(() => fpr95Threshold([1, NaN])))).toBe('NON_FINITE');
    expect(fpr95Threshold([-Infinity, ...Array.from({ length: 19 }, () => 1)])).toBe(1);
  });
});
