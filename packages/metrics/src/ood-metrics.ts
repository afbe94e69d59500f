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
