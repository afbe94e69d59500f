/**
 * SHE, Simplified Hopfield Energy (docs/numerics.md#she): the inner product of a feature with the stored pattern
 * of its predicted class, `h . S_{argmax f}`, where `S_c` is the mean feature of the **correctly classified**
 * training samples of class `c`.
 *
 * Paper: Zhang, Fan, Chen, Hu, Chen & Jiang, "Out-of-Distribution Detection based on In-Distribution Data Patterns
 * Memorization with Modern Hopfield Energy" (ICLR 2023). Official code (as OpenOOD v1.5 cites it):
 * OpenOOD `openood/postprocessors/she_postprocessor.py` (`SHEPostprocessor`; `configs/postprocessors/she.yml`:
 * `metric: inner_product`, the only metric implemented here): patterns
 * `all_activation_log[(labels == c) & (preds == c)].mean(0)`, score `sum(feature * patterns[pred], dim=1)`.
 * pytorch-ood `detector/she.py` computes the same (returned negated as an outlier score).
 */
import { OpnpError } from '../errors.js';
import { assertFeaturesMatchHead, assertHead, logits as headLogits, type LinearHead } from '../head.js';
import type { Matrix } from '../matrix.js';
import { assertFeaturesAndLogits, assertNoNaN, hasNaN } from './validate.js';
import { argmaxRow } from './rows.js';

/** Stored SHE patterns. */
export interface SheModel {
  /** Number of classes `C`. */
  readonly numClasses: number;
  /** Feature dimension `D`. */
  readonly dim: number;
  /** Patterns `S_c`, `C x D` row-major float64; a class without correctly classified samples has a NaN row. */
  readonly patterns: Float64Array;
  /** Correctly classified fit samples per class. */
  readonly counts: Int32Array;
}

/** {@link argmaxRow}, or -1 if the row has NaN. */
function predictedClass(f: ArrayLike<number>, offset: number, C: number): number {
  return hasNaN(f, offset, C) ? -1 : argmaxRow(f, offset, C);
}

/** Options of {@link fitShe}. */
export interface SheFitOptions {
  /**
   * The logits `[N, C]` of the training features under `head` when already computed (e.g. once through the run's
   * kernel with `logitsWith`, shared with other fits); default computed here with the portable kernel.
   */
  trainLogits?: Matrix | undefined;
}

/**
 * Stores the class patterns: the float64 mean of the training features whose label equals the head's prediction
 * (argmax of `W h + b`, from `options.trainLogits` when given, ties to the lowest index). Labels `-1` (unknown) are ignored. A class with no correctly
 * classified sample gets a NaN pattern (the reference's mean of an empty tensor), so samples predicted as that class
 * score NaN.
 *
 * @param trainFeatures `[N, D]`
 * @param labels length `N`, integers in `[-1, C)`
 * @throws OpnpError `EMPTY_INPUT` (no correctly classified sample at all), `SHAPE_MISMATCH` (also `trainLogits`
 *   not `N x C`), `INVALID_ARGUMENT` (labels), `NON_FINITE` (NaN or infinity in the features)
 */
export function fitShe(trainFeatures: Matrix, labels: ArrayLike<number>, head: LinearHead, options: SheFitOptions = {}): SheModel {
  assertHead(head);
  assertFeaturesMatchHead(head, trainFeatures, 'trainFeatures');
  const { rows: N, cols: D, data } = trainFeatures;
  const C = head.weight.rows;
  if (labels.length !== N) throw new OpnpError('SHAPE_MISMATCH', 'labels must have one entry per training sample', { expected: N, actual: labels.length });
  for (let n = 0; n < N; n++) {
    const y = labels[n]!;
    if (!Number.isInteger(y) || y < -1 || y >= C) throw new OpnpError('INVALID_ARGUMENT', 'Label out of range', { expected: `an integer in [-1, ${C})`, actual: y, offset: n });
  }
  assertNoNaN(data, 'trainFeatures', false);
  if (options.trainLogits !== undefined) assertFeaturesAndLogits(trainFeatures, options.trainLogits, D, C, 'the head');
  const f = options.trainLogits ?? headLogits(head, trainFeatures);
  const patterns = new Float64Array(C * D);
  const counts = new Int32Array(C);
  for (let n = 0; n < N; n++) {
    const y = labels[n]!;
    if (y < 0 || predictedClass(f.data, n * C, C) !== y) continue;
    counts[y]!++;
    for (let j = 0; j < D; j++) patterns[y * D + j] = patterns[y * D + j]! + data[n * D + j]!;
  }
  let total = 0;
  for (let c = 0; c < C; c++) {
    total += counts[c]!;
    for (let j = 0; j < D; j++) patterns[c * D + j] = counts[c]! > 0 ? patterns[c * D + j]! / counts[c]! : NaN;
  }
  if (total === 0) throw new OpnpError('EMPTY_INPUT', 'fitShe needs at least one correctly classified training sample', { hint: 'Pass labelled training features the head classifies' });
  return { numClasses: C, dim: D, patterns, counts };
}

/**
 * SHE score `h . S_{argmax f}` (higher = more in-distribution), the dot product in float64. The prediction is the
 * argmax of the given logits (ties to the lowest index). A row with NaN in its features or logits scores NaN, as does
 * a row predicted as a class without a pattern.
 *
 * @param features `[N, D]`
 * @param logits `[N, C]` of the same samples
 * @returns scores `[N]`
 */
export function sheScore(model: SheModel, features: Matrix, logits: Matrix): Float32Array {
  const { dim: D, numClasses: C, patterns } = model;
  assertFeaturesAndLogits(features, logits, D, C, 'the fitted D and C');
  const out = new Float32Array(features.rows);
  const h = features.data;
  for (let n = 0; n < features.rows; n++) {
    const y = predictedClass(logits.data, n * C, C);
    if (y < 0 || hasNaN(h, n * D, D)) {
      out[n] = NaN;
      continue;
    }
    let s = 0;
    for (let j = 0; j < D; j++) s += h[n * D + j]! * patterns[y * D + j]!;
    out[n] = s;
  }
  return out;
}
