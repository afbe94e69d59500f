/**
 * Weighted energy (WEBO, docs/numerics.md#webo): `S = log sum_c relu(v_c) exp(f_c)`, the energy score with each
 * class weighted by a vector `v [C]` learned during VOS training. Higher = more in-distribution.
 *
 * Paper: Du, Wang, Cai & Li, "VOS: Learning What You Don't Know by Virtual Outlier Synthesis" (ICLR 2022).
 * Official code: deeplearning-wisc/vos `classification/CIFAR/train_virtual.py` (`log_sum_exp`:
 * `m + log(sum(relu(weight_energy.weight) * exp(value - m)))`, `weight_energy = nn.Linear(C, 1)`, no temperature)
 * and pytorch-ood `src/pytorch_ood/detector/webo.py` (`WeightedEBO.score`: `-log(sum(relu(w) * exp(logits)))`, an
 * outlier score; here the sign is flipped). With `v = 1` the score is `energy` at `T = 1`, exactly.
 */
import { OpnpError } from '../errors.js';
import { rowWeightedLogSumExp } from '../internal/logsumexp.js';
import type { Matrix } from '../matrix.js';
import { assertLogits, hasNaN } from './validate.js';

/**
 * Checks class weights against `C` classes: throws `SHAPE_MISMATCH` naming both lengths, or `NON_FINITE` with the
 * offset of the first NaN or infinite weight. Public so callers (the pipeline's `webo` method) check a weights file
 * before any data is read.
 */
export function assertClassWeights(weights: Float32Array | Float64Array, classes: number, file?: string): void {
  if (weights.length !== classes) {
    throw new OpnpError('SHAPE_MISMATCH', `The class weights have ${weights.length} values but the logits have ${classes} classes`, {
      expected: `${classes} weights (one per class)`,
      actual: `${weights.length} weights`,
      ...(file !== undefined ? { file } : {}),
    });
  }
  for (let c = 0; c < classes; c++) {
    if (!Number.isFinite(weights[c]!)) {
      throw new OpnpError('NON_FINITE', `Class weight ${c} is ${weights[c]}`, {
        offset: c,
        expected: 'finite weights',
        ...(file !== undefined ? { file } : {}),
      });
    }
  }
}

/**
 * Weighted energy `log sum_c relu(v_c) exp(f_c)` per row, in float64 and stable: the log-sum-exp is shifted by the
 * row maximum of `f_c + log relu(v_c)`, so logits of `±1000` and tiny weights stay exact. Weights `<= 0` drop their
 * class (relu), even where its logit is `+Infinity`. All weights `<= 0`, or a row whose every positive-weight logit
 * is `-Infinity`, scores `-Infinity`; a `+Infinity` logit of positive weight scores `+Infinity`; a row with NaN
 * (in any class) scores NaN. With all weights 1 this equals `energy(logits)` bit for bit.
 *
 * @param logits `[N, C]` (not modified)
 * @param weights `[C]` the learned class weights `v` (VOS's `weight_energy.weight`)
 * @returns scores `[N]`, higher = more in-distribution
 * @throws OpnpError `SHAPE_MISMATCH` (malformed matrix, no class column, or `weights.length !== C`), `NON_FINITE` (a NaN or
 * infinite weight, with its offset)
 * @example
 * ```ts
 * weightedEnergy(matrix(1, 2, [0, 0]), Float32Array.of(1, 3)); // [log 4]
 * ```
 */
export function weightedEnergy(logits: Matrix, weights: Float32Array | Float64Array): Float32Array {
  assertLogits(logits);
  const { rows: N, cols: C, data } = logits;
  assertClassWeights(weights, C);
  const logWeights = new Float64Array(C);
  for (let c = 0; c < C; c++) logWeights[c] = weights[c]! > 0 ? Math.log(weights[c]!) : -Infinity;
  const out = new Float32Array(N);
  for (let n = 0; n < N; n++) {
    const offset = n * C;
    out[n] = hasNaN(data, offset, C) ? NaN : rowWeightedLogSumExp(data, offset, C, logWeights);
  }
  return out;
}
