/**
 * All four OOD detection metrics from one sort.
 */
import { finiteFloat64Copy } from './internal/validate.js';
import { rankScores } from './internal/ranking.js';
import { aurocFromGroups } from './auroc.js';
import { auprInFromGroups, auprOutFromGroups } from './aupr.js';
import { assertFpr95Convention, fpr95FromSorted, type Fpr95Options } from './fpr95.js';

/** The standard OOD detection metrics, all fractions in [0, 1]. */
export interface OodMetrics {
  /** {@link fpr95} (lower is better). */
  readonly fpr95: number;
  /** {@link auroc}. */
  readonly auroc: number;
  /** {@link auprIn}. */
  readonly auprIn: number;
  /** {@link auprOut}. */
  readonly auprOut: number;
}

/**
 * FPR95, AUROC, AUPR-In and AUPR-Out of one ID / OOD score pair, validating and sorting once. Identical to
 * calling the four functions separately.
 *
 * A detector that gives every sample the same score gets, by definition, `auroc` 0.5, `fpr95` 1 and `auprIn` /
 * `auprOut` equal to the ID / OOD share `N_id / (N_id + N_ood)` / `N_ood / (N_id + N_ood)`. The result carries no
 * flag for this: these numbers are correct, but check that the scores vary (e.g. a ReAct clip below every feature
 * or features from the wrong layer make them constant) before reading 0.5 as a chance-level detector.
 *
 * Not sklearn's `(y_true, y_score)` order: pass the two groups of scores, ID first (from one score array `s` with
 * labels `y`, 1 = ID: `s.filter((_, i) => y[i] === 1)` and `s.filter((_, i) => y[i] === 0)`). Passing
 * `(labels, scores)` or `(scores, labels)` is not detected (0/1 labels are valid scores) and gives a meaningless
 * value, often exactly 0 or 1; passing OOD before ID measures the reversed ranking.
 *
 * @param idScores - scores `[N_id]`, higher = more in-distribution.
 * @param oodScores - scores `[N_ood]`.
 * @param options - `convention` of the FPR95 (default `'default'`).
 * @throws OpnpError `EMPTY_INPUT`, `NON_FINITE` (with `offset`), `INVALID_ARGUMENT` (unknown convention).
 *
 * @example
 * ```ts
 * const m = oodMetrics(new Float32Array([0.9, 0.8, 0.7]), new Float32Array([0.75, 0.2]));
 * // { fpr95: 0.5, auroc: 0.8333..., auprIn: ..., auprOut: ... }
 * ```
 */
export function oodMetrics(idScores: ArrayLike<number>, oodScores: ArrayLike<number>, options: Fpr95Options = {}): OodMetrics {
  const convention = options.convention ?? 'default';
  assertFpr95Convention(convention);
  const id = finiteFloat64Copy(idScores, 'idScores');
  const ood = finiteFloat64Copy(oodScores, 'oodScores');
  const ranked = rankScores(id, ood);
  return {
    fpr95: fpr95FromSorted(ranked.idSorted, ranked.oodSorted, convention),
    auroc: aurocFromGroups(ranked.groups),
    auprIn: auprInFromGroups(ranked.groups),
    auprOut: auprOutFromGroups(ranked.groups),
  };
}
