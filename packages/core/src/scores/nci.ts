/**
 * NCI, neural-collapse-inspired score (docs/numerics.md#nci): the cosine-like proximity of the centred feature to
 * the weight row of its predicted class plus `alpha` times the feature's L1 norm,
 * `w_y . (h - mu) / ||h - mu|| + alpha * ||h||_1` with `y = argmax f` and `mu` the training feature mean.
 *
 * Paper: Liu & Qin, "Detecting Out-of-distribution through the Lens of Neural Collapse" (CVPR 2025,
 * arXiv:2311.01479). Official code (as the issue asks, OpenOOD's): OpenOOD `openood/postprocessors/nci_postprocessor.py`
 * (`NCIPostprocessor`: `sum(w[pred] * (feature - train_mean)) / ||feature - train_mean|| + alpha * ||feature||_1`),
 * `configs/postprocessors/nci.yml` (`alpha: 0.0001`, swept over `[1e-4, 1e-3, 1e-2, 0.1]` on validation data).
 * The weight row is not normalised, as in that code.
 */
import { OpnpError } from '../errors.js';
import { assertHead, type LinearHead } from '../head.js';
import { assertMatrix, type Matrix } from '../matrix.js';
import { assertFeaturesAndLogits, assertNoNaN, hasNaN } from './validate.js';
import { argmaxRow } from './rows.js';

/** A fitted NCI model. */
export interface NciModel {
  readonly head: LinearHead;
  /** Mean training feature, length `D` (float64). */
  readonly trainMean: Float64Array;
}

/** Options of {@link nciScore}. */
export interface NciOptions {
  /** Weight of the L1 norm, finite and `>= 0`. Default `1e-4` (OpenOOD `nci.yml`). */
  alpha?: number;
}

/**
 * Fits NCI: the float64 mean of the training features.
 *
 * @param trainFeatures `[N, D]`
 * @throws OpnpError `EMPTY_INPUT` (N = 0), `SHAPE_MISMATCH`, `NON_FINITE`
 */
export function fitNci(trainFeatures: Matrix, head: LinearHead): NciModel {
  assertHead(head);
  assertMatrix(trainFeatures, 'trainFeatures');
  const D = head.weight.cols;
  if (trainFeatures.cols !== D) throw new OpnpError('SHAPE_MISMATCH', 'trainFeatures width must equal the head input dimension D', { expected: `N x ${D}`, actual: `${trainFeatures.rows} x ${trainFeatures.cols}` });
  const N = trainFeatures.rows;
  if (N === 0) throw new OpnpError('EMPTY_INPUT', 'fitNci needs at least one training sample');
  assertNoNaN(trainFeatures.data, 'trainFeatures', false);
  const trainMean = new Float64Array(D);
  for (let n = 0; n < N; n++) for (let j = 0; j < D; j++) trainMean[j] = trainMean[j]! + trainFeatures.data[n * D + j]!;
  for (let j = 0; j < D; j++) trainMean[j] = trainMean[j]! / N;
  return { head, trainMean };
}

/**
 * NCI score (higher = more in-distribution), float64: `y = argmax f` of the given logits (ties to the lowest index),
 * then `w_y . (h - mu) / ||h - mu|| + alpha * sum_j |h_j|`. A feature equal to `mu` divides 0 by 0 (NaN), as the
 * reference. Rows with NaN in features or logits score NaN.
 *
 * @param features `[N, D]`
 * @param logits `[N, C]` of the same samples (the original head's)
 * @returns scores `[N]`
 * @throws OpnpError `INVALID_ARGUMENT` (alpha), `SHAPE_MISMATCH`
 */
export function nciScore(model: NciModel, features: Matrix, logits: Matrix, options: NciOptions = {}): Float32Array {
  const { rows: C, cols: D, data: W } = model.head.weight;
  assertFeaturesAndLogits(features, logits, D, C, 'the head');
  const alpha = options.alpha ?? 1e-4;
  if (typeof alpha !== 'number' || !Number.isFinite(alpha) || alpha < 0) throw new OpnpError('INVALID_ARGUMENT', 'NCI alpha must be a finite number >= 0', { actual: alpha });
  const h = features.data;
  const f = logits.data;
  const mu = model.trainMean;
  const out = new Float32Array(features.rows);
  for (let n = 0; n < features.rows; n++) {
    if (hasNaN(h, n * D, D) || hasNaN(f, n * C, C)) {
      out[n] = NaN;
      continue;
    }
    const y = argmaxRow(f, n * C, C);
    let dot = 0;
    let norm2 = 0;
    let l1 = 0;
    for (let j = 0; j < D; j++) {
      const v = h[n * D + j]!;
      const d = v - mu[j]!;
      dot += W[y * D + j]! * d;
      norm2 += d * d;
      l1 += Math.abs(v);
    }
    out[n] = dot / Math.sqrt(norm2) + alpha * l1;
  }
  return out;
}
