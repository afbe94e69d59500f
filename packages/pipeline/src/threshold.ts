/**
 * The deployment threshold of an exported detector (docs/numerics.md#fpr95, default convention).
 */
import { OpnpError } from '@opnp/core';

/**
 * Smallest `k` in `[1, n]` with `k / n >= rate` (float64 division, as sklearn's `tps / tps[-1] >= 0.95`;
 * the same rule as @opnp/metrics' FPR95).
 */
export function minCountForRate(n: number, rate: number): number {
  let k = Math.min(n, Math.max(1, Math.ceil(rate * n)));
  while (k > 1 && (k - 1) / n >= rate) k--;
  while (k < n && k / n < rate) k++;
  return k;
}

/**
 * The FPR95 threshold of ID validation scores `[N]`: the largest `tau` with `#{score >= tau} / N >= recall`
 * (default 0.95), i.e. the `k`-th largest score with `k = minCountForRate(N, recall)`. A sample is then
 * flagged OOD when `score < tau`.
 *
 * @throws OpnpError `EMPTY_INPUT` for no scores, `NON_FINITE` when a score is NaN
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
