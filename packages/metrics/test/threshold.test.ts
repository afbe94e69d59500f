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

  it('refuses a recall that is not a fraction in (0, 1], naming the value and the fix', () => {
    const id = [9.1, 8.7, 8.2, 7.9, 7.5];
    const invalid = (actual: string, hint: RegExp) =>
      expect.objectContaining({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(new RegExp(`recall must be a fraction in \\(0, 1\\], e\\.g\\. 0\\.95.*got ${actual}.*${hint.source}`)) });
    expect(() => fpr95Threshold(id, 95)).toThrow(invalid('95', /looks like a percentage: pass 0\.95/));
    expect(() => fpr95Threshold(id, NaN)).toThrow(invalid('NaN', /leave it out for 0\.95/));
    expect(() => fpr95Threshold(id, [1, 2] as unknown as number)).toThrow(invalid('an array \\[1, 2\\]', /Pass the fraction/));
    expect(() => fpr95Threshold(id, '0.95' as unknown as number)).toThrow(invalid('string 0\\.95', /Pass the fraction/));
    for (const recall of [0, -0.5, 1.5, Infinity]) expect(() => fpr95Threshold(id, recall), String(recall)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    // The bounds of (0, 1]: the smallest positive recall keeps one score (the maximum), 1 keeps them all.
    expect(fpr95Threshold(id, Number.MIN_VALUE)).toBe(bruteThreshold(id, Number.MIN_VALUE));
    expect(fpr95Threshold(id, 1)).toBe(7.5);
    expect(fpr95Threshold(id, undefined)).toBe(bruteThreshold(id, 0.95));
  });
});
