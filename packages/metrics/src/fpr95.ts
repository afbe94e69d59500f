/**
 * FPR at 95% TPR in the three conventions found in the OOD literature.
 */
import { OpnpError, roundHalfEven } from '@opnp/core';
import { finiteFloat64Copy } from './internal/validate.js';
import { lowerBound, sortedAscending, upperBound } from './internal/ranking.js';

/** Which FPR95 definition to compute; see {@link fpr95}. */
export type Fpr95Convention = 'default' | 'dice' | 'ood-positive';

/** Options of {@link fpr95}. */
export interface Fpr95Options {
  /** Definition to use; `'default'` (sklearn `roc_curve`, ID positive) unless given. */
  convention?: Fpr95Convention;
}

/** The recall level of FPR95. */
const RECALL = 0.95;

/** The conventions {@link fpr95} accepts. */
export const FPR95_CONVENTIONS: readonly Fpr95Convention[] = ['default', 'dice', 'ood-positive'];

/**
 * Smallest count `k` in [1, n] with `k / n >= rate`, evaluated with the same float64 division as
 * `tps / tps[-1] >= 0.95` in sklearn (so e.g. `19 / 20 >= 0.95` holds).
 */
export function minCountForRate(n: number, rate: number): number {
  let k = Math.min(n, Math.max(1, Math.ceil(rate * n)));
  while (k > 1 && (k - 1) / n >= rate) k--;
  while (k < n && k / n < rate) k++;
  return k;
}

/** Kernel, `'default'`: tau = k-th largest ID score with `k = minCountForRate(N_id)`; `#{OOD >= tau} / N_ood`. */
export function fpr95Default(idSorted: Float64Array, oodSorted: Float64Array): number {
  const nId = idSorted.length;
  const tau = idSorted[nId - minCountForRate(nId, RECALL)]!;
  return (oodSorted.length - lowerBound(oodSorted, tau)) / oodSorted.length;
}

/** Kernel, `'dice'`: threshold `idSorted[round(0.05 * N_id)]` (half to even), `#{OOD > threshold} / N_ood`. */
export function fpr95Dice(idSorted: Float64Array, oodSorted: Float64Array): number {
  // The literal 0.05, as in the DICE code: (1 - 0.95) is 0.050000000000000044 and would round 0.5 up.
  const threshold = idSorted[roundHalfEven(0.05 * idSorted.length)]!;
  return (oodSorted.length - upperBound(oodSorted, threshold)) / oodSorted.length;
}

/**
 * Kernel, `'ood-positive'`: on negated scores, tau' = the k-th largest `-s_ood` (k = minCountForRate(N_ood));
 * in original scores `t = -tau'` is the k-th smallest OOD score, and the result is `#{ID <= t} / N_id`.
 */
export function fpr95OodPositive(idSorted: Float64Array, oodSorted: Float64Array): number {
  const t = oodSorted[minCountForRate(oodSorted.length, RECALL) - 1]!;
  return upperBound(idSorted, t) / idSorted.length;
}

/** Kernel dispatch on sorted (ascending) scores. */
export function fpr95FromSorted(idSorted: Float64Array, oodSorted: Float64Array, convention: Fpr95Convention): number {
  switch (convention) {
    case 'default':
      return fpr95Default(idSorted, oodSorted);
    case 'dice':
      return fpr95Dice(idSorted, oodSorted);
    case 'ood-positive':
      return fpr95OodPositive(idSorted, oodSorted);
  }
}

/** Throws `INVALID_ARGUMENT` unless `convention` is one of {@link FPR95_CONVENTIONS}. */
export function assertFpr95Convention(convention: unknown): asserts convention is Fpr95Convention {
  if (!FPR95_CONVENTIONS.includes(convention as Fpr95Convention)) {
    throw new OpnpError('INVALID_ARGUMENT', 'Unknown FPR95 convention', {
      expected: FPR95_CONVENTIONS.map((c) => `'${c}'`).join(' | '),
      actual: String(convention),
    });
  }
}

/**
 * False positive rate at 95% true positive rate; ID is the positive class, higher score = more
 * in-distribution.
 *
 * - `'default'` (sklearn): `tau` = the largest threshold with `#{ID >= tau} / N_id >= 0.95` (always one of the
 *   ID scores); result `#{OOD >= tau} / N_ood`. This is the FPR of the first point of
 *   `sklearn.metrics.roc_curve(y, s, drop_intermediate=False)` with TPR >= 0.95. (sklearn's default
 *   `drop_intermediate=True` can drop that point when several consecutive thresholds add identical
 *   (ID, OOD) counts, which only happens with ties across ID and OOD; the definition above is the contract.)
 * - `'dice'` (the DICE / ReAct code): threshold = the ascending-sorted ID scores at index
 *   `round(0.05 * N_id)`, where `0.05 * N_id` is the float64 product and `round` is Python 3's `round`:
 *   nearest integer, exact halves to even (banker's rounding: N_id = 10 gives index 0, 30 gives 2, 50 gives 2;
 *   70 gives 4 because `0.05 * 70` is `3.5000000000000004`). Result `#{OOD > threshold} / N_ood` (strict).
 * - `'ood-positive'` (OpenOOD v1.5): OOD is the positive class on negated scores; `tau'` = the largest
 *   threshold with `#{OOD: -s >= tau'} / N_ood >= 0.95`; result = the ID false-alarm rate
 *   `#{ID: -s >= tau'} / N_id`.
 *
 * Float32 inputs are compared exactly as given (converted to float64 once, never re-rounded). One sort per
 * argument, O(n log n). Inputs are not modified.
 *
 * Not sklearn's `(y_true, y_score)` order: pass the two groups of scores, ID first (from one score array `s` with
 * labels `y`, 1 = ID: `s.filter((_, i) => y[i] === 1)` and `s.filter((_, i) => y[i] === 0)`). Passing
 * `(labels, scores)` or `(scores, labels)` is not detected (0/1 labels are valid scores) and gives a meaningless
 * value, often exactly 0 or 1; passing OOD before ID measures the reversed ranking.
 *
 * @param idScores - scores `[N_id]` of in-distribution samples.
 * @param oodScores - scores `[N_ood]` of out-of-distribution samples.
 * @param options - `convention` (default `'default'`).
 * @returns a fraction in [0, 1] (lower is better).
 * @throws OpnpError `EMPTY_INPUT`, `NON_FINITE` (argument named, `offset` = first bad index), `INVALID_ARGUMENT` (unknown convention).
 *
 * @example
 * ```ts
 * const id = Array.from({ length: 20 }, (_, i) => i + 1); // 1..20
 * fpr95(id, [0, 1.5, 30]); // tau = 2 (19 of 20 ID scores >= 2) => OOD >= 2: {30} => 1/3
 * ```
 */
export function fpr95(idScores: ArrayLike<number>, oodScores: ArrayLike<number>, options: Fpr95Options = {}): number {
  const convention = options.convention ?? 'default';
  assertFpr95Convention(convention);
  const id = finiteFloat64Copy(idScores, 'idScores');
  const ood = finiteFloat64Copy(oodScores, 'oodScores');
  return fpr95FromSorted(sortedAscending(id), sortedAscending(ood), convention);
}
