/**
 * The deployment threshold of a detector (docs/numerics.md#fpr95, default convention): the score above which 95% of
 * the ID validation samples lie.
 */
import { OpnpError } from '@opnp/core';
import { minCountForRate } from './fpr95.js';

/**
 * Throws `INVALID_ARGUMENT` unless `recall` is a number in (0, 1]; a value in (1, 100] is named as a likely percentage.
 */
function assertRecall(recall: unknown): asserts recall is number {
  if (typeof recall === 'number' && recall > 0 && recall <= 1) return;
  const percent = typeof recall === 'number' && recall > 1 && recall <= 100;
  throw new OpnpError('INVALID_ARGUMENT', 'fpr95Threshold recall must be a fraction in (0, 1], e.g. 0.95', {
    actual: typeof recall === 'number' ? recall : Array.isArray(recall) ? `an array [${recall.join(', ')}]` : `${typeof recall} ${String(recall)}`,
    hint: percent
      ? `${recall} looks like a percentage: pass ${recall / 100} (the fraction of ID scores to keep at or above the threshold)`
      : 'Pass the fraction of ID scores to keep at or above the threshold, or leave it out for 0.95',
  });
}

/**
 * The FPR95 threshold of ID validation scores `[N]`: the largest `tau` with `#{score >= tau} / N >= recall`
 * (default 0.95), i.e. the `k`-th largest score with `k = minCountForRate(N, recall)`. A sample is then
 * flagged OOD when `score < tau`.
 *
 * @param idScores - ID validation scores `[N]`, higher = more in-distribution.
 * @param recall - the fraction of ID scores to keep, in (0, 1] (a fraction, not a percentage: 0.95, not 95).
 * @throws OpnpError `INVALID_ARGUMENT` when `recall` is not a number in (0, 1] (NaN, an array, a percentage such
 * as 95), `EMPTY_INPUT` for no scores, `NON_FINITE` when a score is NaN
 *
 * @example
 * ```ts
 * const tau = fpr95Threshold(idValidationScores); // is_ood = score < tau keeps 95% of ID samples
 * ```
 */
export function fpr95Threshold(idScores: ArrayLike<number>, recall = 0.95): number {
  assertRecall(recall);
  const n = idScores.length;
  if (n === 0) throw new OpnpError('EMPTY_INPUT', 'The ID validation set for the threshold is empty');
  const sorted = Float64Array.from(idScores);
  const nan = sorted.findIndex((v) => Number.isNaN(v));
  if (nan >= 0) throw new OpnpError('NON_FINITE', 'An ID validation score is NaN', { offset: nan });
  sorted.sort();
  return sorted[n - minCountForRate(n, recall)]!;
}
