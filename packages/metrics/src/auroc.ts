/**
 * AUROC: the probability that a random ID score exceeds a random OOD score, ties counting one half.
 */
import { finiteFloat64Copy } from './internal/validate.js';
import { rankScores, type TieGroups } from './internal/ranking.js';

/**
 * Kernel: AUROC from tie groups (rank-sum / Mann-Whitney U). Counts are accumulated as the exact integer
 * `2 * U = sum_g idCount_g * (2 * #{OOD below g} + oodCount_g)` in float64 (exact while
 * `2 * N_id * N_ood < 2^53`), then divided once.
 */
export function aurocFromGroups(groups: TieGroups): number {
  const { idCounts, oodCounts, length } = groups;
  let oodBelow = 0;
  let twiceU = 0;
  for (let g = 0; g < length; g++) {
    const co = oodCounts[g]!;
    twiceU += idCounts[g]! * (2 * oodBelow + co);
    oodBelow += co;
  }
  return twiceU / (2 * groups.nId * groups.nOod);
}

/**
 * Area under the ROC curve with ID as the positive class (higher score = more in-distribution):
 * `P(s_id > s_ood) + 0.5 P(s_id = s_ood)` over all ID x OOD pairs.
 *
 * Equals sklearn's `roc_auc_score(y, s)` with `y = 1` for ID (up to float rounding). One sort, O(n log n);
 * counts are exact integers in float64.
 *
 * Not sklearn's `(y_true, y_score)` order: pass the two groups of scores, ID first (from one score array `s` with
 * labels `y`, 1 = ID: `s.filter((_, i) => y[i] === 1)` and `s.filter((_, i) => y[i] === 0)`). Passing
 * `(labels, scores)` or `(scores, labels)` is not detected (0/1 labels are valid scores) and gives a meaningless
 * value, often exactly 0 or 1; passing OOD before ID measures the reversed ranking.
 *
 * @param idScores - scores `[N_id]` of in-distribution samples (any finite numbers; Float32Array values are compared as given).
 * @param oodScores - scores `[N_ood]` of out-of-distribution samples.
 * @returns a fraction in [0, 1] (1 = every ID score above every OOD score, 0.5 = chance).
 * @throws OpnpError `EMPTY_INPUT` (an argument is empty), `NON_FINITE` (NaN or +-Infinity; `offset` = first bad index).
 *
 * @example
 * ```ts
 * auroc([3, 2, 2], [2, 1]); // (2 + 1.5 + 1.5) / 6 = 0.8333...
 * ```
 */
export function auroc(idScores: ArrayLike<number>, oodScores: ArrayLike<number>): number {
  const id = finiteFloat64Copy(idScores, 'idScores');
  const ood = finiteFloat64Copy(oodScores, 'oodScores');
  return aurocFromGroups(rankScores(id, ood).groups);
}
