/**
 * AUPR-In and AUPR-Out: average precision (sklearn `average_precision_score` semantics) with ID, respectively
 * OOD, as the positive class.
 */
import { finiteFloat64Copy } from './internal/validate.js';
import { rankScores, type TieGroups } from './internal/ranking.js';

/**
 * Kernel: average precision with ID positive. Walks the distinct thresholds in decreasing order; at each,
 * `TP = #{ID >= t}`, `FP = #{OOD >= t}`, and adds `(ΔTP / N_id) * TP / (TP + FP)`.
 */
export function auprInFromGroups(groups: TieGroups): number {
  const { idCounts, oodCounts, length } = groups;
  let tp = 0;
  let fp = 0;
  let sum = 0;
  for (let g = length - 1; g >= 0; g--) {
    const dtp = idCounts[g]!;
    tp += dtp;
    fp += oodCounts[g]!;
    if (dtp > 0) sum += dtp * (tp / (tp + fp));
  }
  return sum / groups.nId;
}

/**
 * Kernel: average precision with OOD positive on negated scores. Thresholds on `-s` in decreasing order are
 * thresholds on `s` in increasing order: `TP = #{OOD <= t}`, `FP = #{ID <= t}`.
 */
export function auprOutFromGroups(groups: TieGroups): number {
  const { idCounts, oodCounts, length } = groups;
  let tp = 0;
  let fp = 0;
  let sum = 0;
  for (let g = 0; g < length; g++) {
    const dtp = oodCounts[g]!;
    tp += dtp;
    fp += idCounts[g]!;
    if (dtp > 0) sum += dtp * (tp / (tp + fp));
  }
  return sum / groups.nOod;
}

/**
 * Area under the precision-recall curve with ID as the positive class, as average precision:
 * `AP = sum_k (R_k - R_{k-1}) P_k` over the distinct score thresholds in decreasing order, all samples with
 * equal scores entering at the same threshold (sklearn `average_precision_score(y, s)` with `y = 1` for ID;
 * no trapezoidal interpolation).
 *
 * Not sklearn's `(y_true, y_score)` order: pass the two groups of scores, ID first (from one score array `s` with
 * labels `y`, 1 = ID: `s.filter((_, i) => y[i] === 1)` and `s.filter((_, i) => y[i] === 0)`). Passing
 * `(labels, scores)` or `(scores, labels)` is not detected (0/1 labels are valid scores) and gives a meaningless
 * value, often exactly 0 or 1; passing OOD before ID measures the reversed ranking.
 *
 * @param idScores - scores `[N_id]`, higher = more in-distribution.
 * @param oodScores - scores `[N_ood]`.
 * @returns a fraction in [0, 1]. Chance level is `N_id / (N_id + N_ood)`.
 * @throws OpnpError `EMPTY_INPUT`, `NON_FINITE` (with `offset`).
 *
 * @example
 * ```ts
 * auprIn([3, 1], [2]); // thresholds 3, 2, 1: P = 1, -, 2/3 at recalls 1/2, 1/2, 1 => 0.5 + 0.5 * 2/3 = 0.8333...
 * ```
 */
export function auprIn(idScores: ArrayLike<number>, oodScores: ArrayLike<number>): number {
  const id = finiteFloat64Copy(idScores, 'idScores');
  const ood = finiteFloat64Copy(oodScores, 'oodScores');
  return auprInFromGroups(rankScores(id, ood).groups);
}

/**
 * Area under the precision-recall curve with OOD as the positive class: average precision of the negated
 * scores (sklearn `average_precision_score(y_ood, -s)`), same tie handling as {@link auprIn}.
 *
 * Not sklearn's `(y_true, y_score)` order: pass the two groups of scores, ID first (from one score array `s` with
 * labels `y`, 1 = ID: `s.filter((_, i) => y[i] === 1)` and `s.filter((_, i) => y[i] === 0)`). Passing
 * `(labels, scores)` or `(scores, labels)` is not detected (0/1 labels are valid scores) and gives a meaningless
 * value, often exactly 0 or 1; passing OOD before ID measures the reversed ranking.
 *
 * @param idScores - scores `[N_id]`, higher = more in-distribution.
 * @param oodScores - scores `[N_ood]`.
 * @returns a fraction in [0, 1]. Chance level is `N_ood / (N_id + N_ood)`.
 * @throws OpnpError `EMPTY_INPUT`, `NON_FINITE` (with `offset`).
 */
export function auprOut(idScores: ArrayLike<number>, oodScores: ArrayLike<number>): number {
  const id = finiteFloat64Copy(idScores, 'idScores');
  const ood = finiteFloat64Copy(oodScores, 'oodScores');
  return auprOutFromGroups(rankScores(id, ood).groups);
}
