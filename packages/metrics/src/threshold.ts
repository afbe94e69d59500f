/**
 * The deployment threshold of a detector (docs/numerics.md#fpr95, default convention): the score above which 95% of
 * the ID validation samples lie.
 */
import { OpnpError } from '@opnp/core';
import { minCountForRate } from './fpr95.js';

/**
 * The FPR95 threshold of ID validation scores `[N]`: the largest `tau` with `#{score >= tau} / N >= recall`
 * (default 0.95), i.e. the `k`-th largest score with `k = minCountForRate(N, recall)`. A sample is then
 * flagged OOD when `score < tau`.
 *
 * @throws OpnpError `EMPTY_INPUT` for no scores, `NON_FINITE` when a score is NaN
 *
 * @example
 * ```ts
 * const tau = fpr95Threshold(idValidationScores); // is_ood = score < tau keeps 95% of ID samples
 * ```
 */
export function fpr95Threshold(idScores: ArrayLike<number>, recall = 0.95): number {
  const n = idScores.length;
  if (n === 0) throw new OpnpError('EMPTY_INPUT', 'The ID validation set for the threshold is empty');
  const sorted = Float64Array.from(idScores);
  const nan = sorted.findIndex((v) => Number.isNaN(v));
  if (nan >= 0) throw new OpnpError('NON_FINITE', 'An ID validation score is NaN', { offset: nan });
  sorted.sort();
  return sorted[n - minCountForRate(n, recall)]!;
}
