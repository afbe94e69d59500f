/**
 * fDBD, fast decision boundary distance (docs/numerics.md#fdbd): the feature-space distances from `h` to the
 * decision boundaries between its predicted class and every other class, summed and divided by the distance of
 * `h` to the training feature mean.
 *
 * Paper: Liu & Qin, "Fast Decision Boundary based Out-of-Distribution Detector" (ICML 2024). Official code:
 * github.com/litianliu/fDBD-OOD `run_imagenet.py` / `run_cifar.py` (denominator `||w_c - w_p||` with the diagonal set
 * to 1; score `sum(|f - f_max| / denominator[pred], axis=1) / ||h - train_mean||`), the same in OpenOOD
 * `openood/postprocessors/fdbd_postprocessor.py` (`configs/postprocessors/fdbd.yml`:
 * `distance_as_normalizer: True`; `False` divides by `||h||` instead). The paper writes the average over the
 * `C - 1` other classes; the code sums (a constant factor), as here.
 */
import { OpnpError } from '../errors.js';
import { assertHead, type LinearHead } from '../head.js';
import { assertMatrix, type Matrix } from '../matrix.js';
import { assertFeaturesAndLogits, assertNoNaN, hasNaN } from './validate.js';
import { argmaxRow } from './rows.js';

/** A fitted fDBD model. */
export interface FdbdModel {
  readonly numClasses: number;
  readonly dim: number;
  /** `||w_c - w_p||`, `C x C` float64 (symmetric, zero diagonal). */
  readonly boundaryNorms: Float64Array;
  /** Mean training feature, length `D` (float64). */
  readonly trainMean: Float64Array;
}

/** Options of {@link fdbdScore}. */
export interface FdbdOptions {
  /** Divide by `||h - trainMean||` (true, the default of the official code) or by `||h||` (false). */
  distanceAsNormalizer?: boolean;
}

/**
 * Fits fDBD: the float64 mean of the training features and the pairwise distances `||w_c - w_p||` of the head's
 * weight rows (differences summed directly, no Gram-matrix cancellation).
 *
 * @param trainFeatures `[N, D]`
 * @throws OpnpError `EMPTY_INPUT` (N = 0), `SHAPE_MISMATCH`, `NON_FINITE`
 */
export function fitFdbd(trainFeatures: Matrix, head: LinearHead): FdbdModel {
  assertHead(head);
  assertMatrix(trainFeatures, 'trainFeatures');
  const { rows: C, cols: D, data: W } = head.weight;
  if (trainFeatures.cols !== D) throw new OpnpError('SHAPE_MISMATCH', 'trainFeatures width must equal the head input dimension D', { expected: `N x ${D}`, actual: `${trainFeatures.rows} x ${trainFeatures.cols}` });
  const N = trainFeatures.rows;
  if (N === 0) throw new OpnpError('EMPTY_INPUT', 'fitFdbd needs at least one training sample');
  assertNoNaN(trainFeatures.data, 'trainFeatures', false);
  const trainMean = new Float64Array(D);
  for (let n = 0; n < N; n++) for (let j = 0; j < D; j++) trainMean[j] = trainMean[j]! + trainFeatures.data[n * D + j]!;
  for (let j = 0; j < D; j++) trainMean[j] = trainMean[j]! / N;
  const boundaryNorms = new Float64Array(C * C);
  for (let p = 0; p < C; p++) {
    for (let c = p + 1; c < C; c++) {
      let s = 0;
      for (let j = 0; j < D; j++) {
        const d = W[c * D + j]! - W[p * D + j]!;
        s += d * d;
      }
      boundaryNorms[p * C + c] = boundaryNorms[c * C + p] = Math.sqrt(s);
    }
  }
  return { numClasses: C, dim: D, boundaryNorms, trainMean };
}

/**
 * fDBD score `sum_{c != y} |f_c - f_y| / ||w_c - w_y|| / ||h - mean||` with `y = argmax f` (ties to the lowest
 * index), float64, higher = more in-distribution. Pairs of classes with identical weight rows (`||w_c - w_y|| = 0`,
 * no boundary in feature space) are skipped, where the reference divides by zero. `h` equal to the normaliser's
 * centre divides by zero as in the reference (`+Infinity`, or NaN when the sum is 0). Rows with NaN in features or
 * logits score NaN.
 *
 * @param features `[N, D]`
 * @param logits `[N, C]` of the same samples (the original head's)
 * @returns scores `[N]`
 */
export function fdbdScore(model: FdbdModel, features: Matrix, logits: Matrix, options: FdbdOptions = {}): Float32Array {
  const { dim: D, numClasses: C, boundaryNorms, trainMean } = model;
  assertFeaturesAndLogits(features, logits, D, C, 'the fitted D and C');
  const centred = options.distanceAsNormalizer ?? true;
  const h = features.data;
  const f = logits.data;
  const out = new Float32Array(features.rows);
  for (let n = 0; n < features.rows; n++) {
    if (hasNaN(h, n * D, D) || hasNaN(f, n * C, C)) {
      out[n] = NaN;
      continue;
    }
    const y = argmaxRow(f, n * C, C);
    const fy = f[n * C + y]!;
    let sum = 0;
    for (let c = 0; c < C; c++) {
      const d = boundaryNorms[y * C + c]!;
      if (c !== y && d > 0) sum += Math.abs(f[n * C + c]! - fy) / d;
    }
    let norm = 0;
    for (let j = 0; j < D; j++) {
      const v = h[n * D + j]! - (centred ? trainMean[j]! : 0);
      norm += v * v;
    }
    out[n] = sum / Math.sqrt(norm);
  }
  return out;
}
