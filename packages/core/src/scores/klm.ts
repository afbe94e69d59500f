/**
 * KL matching (docs/numerics.md#klm): `-min_c KL(p || d_c)`, the KL divergence of a sample's softmax `p` to the
 * nearest class template `d_c`, the mean softmax of the fit samples **predicted** as class `c` (no labels).
 *
 * Paper: Hendrycks, Basart, Mazeika, Zou, Kwon, Mostajabi, Steinhardt & Song, "Scaling Out-of-Distribution
 * Detection for Real-World Settings" (ICML 2022). Official code (as OpenOOD v1.5 cites it):
 * OpenOOD `openood/postprocessors/kl_matching_postprocessor.py` (`KLMatchingPostprocessor`, config
 * `configs/postprocessors/klm.yml`, no hyper-parameters): templates are `all_softmax[preds == c].mean(0)`, a class
 * nobody is predicted as gets the one-hot template `e_c`, and the score is
 * `-pairwise_distances_argmin_min(softmax, templates, metric=scipy.stats.entropy)[1]`, i.e. the minimum over
 * **all** templates. pytorch-ood (`detector/klmatching.py`) instead compares with the predicted class's template
 * only. OpenOOD fits on the ID validation split; here the templates are fitted on whatever logits are passed
 * (the pipeline passes the fit subset of the training set).
 */
import { OpnpError } from '../errors.js';
import { rowSoftmax } from '../internal/logsumexp.js';
import { assertMatrix, type Matrix } from '../matrix.js';
import { gemm64ABt } from './gemm64.js';
import { assertNoNaN, hasNaN } from './validate.js';
import { argmaxRow } from './rows.js';

/** Fitted KL-matching templates. */
export interface KlMatchingModel {
  /** Number of classes `C`. */
  readonly numClasses: number;
  /** Templates `d_c`, `C x C` row-major float64 (row `c` = mean softmax of the samples predicted as `c`). */
  readonly templates: Float64Array;
  /** Fit samples predicted as each class (0 = one-hot template). */
  readonly counts: Int32Array;
}

/**
 * Fits the templates: float64 softmax (T = 1) of every row, averaged per predicted class (argmax, ties to the
 * lowest index); a class without predictions gets the one-hot template.
 *
 * @param trainLogits `[N, C]` logits of the fit samples
 * @throws OpnpError `EMPTY_INPUT` (no rows or no classes), `NON_FINITE` (NaN or infinity)
 */
export function fitKlMatching(trainLogits: Matrix): KlMatchingModel {
  assertMatrix(trainLogits, 'trainLogits');
  const { rows: N, cols: C, data } = trainLogits;
  if (N === 0 || C === 0) throw new OpnpError('EMPTY_INPUT', 'fitKlMatching needs at least one fit sample and one class', { actual: `${N} x ${C}` });
  assertNoNaN(data, 'trainLogits', false);
  const templates = new Float64Array(C * C);
  const counts = new Int32Array(C);
  const p = new Float64Array(C);
  for (let n = 0; n < N; n++) {
    const y = argmaxRow(data, n * C, C);
    rowSoftmax(data, n * C, C, 1, p, 0);
    counts[y]!++;
    for (let c = 0; c < C; c++) templates[y * C + c] = templates[y * C + c]! + p[c]!;
  }
  for (let y = 0; y < C; y++) {
    const count = counts[y]!;
    if (count === 0) templates[y * C + y] = 1;
    else for (let c = 0; c < C; c++) templates[y * C + c] = templates[y * C + c]! / count;
  }
  return { numClasses: C, templates, counts };
}

const BLOCK_ROWS = 256;

/** Per template: `log d_c` with zeros as 0, and the zero pattern (only for templates that have zeros). */
function templateLogs(model: KlMatchingModel): { logs: Float64Array; zeros: Float64Array; withZeros: number[] } {
  const { numClasses: C, templates } = model;
  const logs = new Float64Array(C * C);
  const zeros = new Float64Array(C * C);
  const withZeros: number[] = [];
  for (let y = 0; y < C; y++) {
    let any = false;
    for (let c = 0; c < C; c++) {
      const d = templates[y * C + c]!;
      if (d > 0) logs[y * C + c] = Math.log(d);
      else {
        zeros[y * C + c] = 1;
        any = true;
      }
    }
    if (any) withZeros.push(y);
  }
  return { logs, zeros, withZeros };
}

/**
 * KL-matching score `-min_c KL(p || d_c)` with `p = softmax(f)` (T = 1), higher = more in-distribution.
 * `KL(p || d) = sum_i p_i log p_i - sum_i p_i log d_i` in float64 (scipy's `rel_entr`: `p_i = 0` contributes 0,
 * `p_i > 0` with `d_i = 0` makes that template's divergence `+Infinity`), clamped at 0; the cross terms of a block
 * of rows are one float64 product. A row with NaN or without a finite maximum scores NaN.
 *
 * @param logits `[N, C]` (not modified)
 * @returns scores `[N]`
 */
export function klMatchingScore(model: KlMatchingModel, logits: Matrix): Float32Array {
  assertMatrix(logits, 'logits');
  const C = model.numClasses;
  if (logits.cols !== C) throw new OpnpError('SHAPE_MISMATCH', 'logits width must equal the fitted number of classes', { expected: `N x ${C}`, actual: `${logits.rows} x ${logits.cols}` });
  const { rows: N, data } = logits;
  const out = new Float32Array(N);
  const { logs, zeros, withZeros } = templateLogs(model);
  const P = new Float64Array(BLOCK_ROWS * C);
  const support = new Float64Array(BLOCK_ROWS * C);
  const cross = new Float64Array(BLOCK_ROWS * C);
  const hits = new Float64Array(BLOCK_ROWS * C);
  const negEntropy = new Float64Array(BLOCK_ROWS);
  for (let start = 0; start < N; start += BLOCK_ROWS) {
    const rows = Math.min(BLOCK_ROWS, N - start);
    for (let q = 0; q < rows; q++) {
      rowSoftmax(data, (start + q) * C, C, 1, P, q * C);
      let s = 0;
      for (let c = 0; c < C; c++) {
        const v = P[q * C + c]!;
        support[q * C + c] = v > 0 ? 1 : 0;
        if (v > 0) s += v * Math.log(v);
      }
      negEntropy[q] = s;
    }
    cross.fill(0, 0, rows * C);
    gemm64ABt(P.subarray(0, rows * C), logs, cross, rows, C, C);
    hits.fill(0, 0, rows * C);
    if (withZeros.length > 0) gemm64ABt(support.subarray(0, rows * C), zeros, hits, rows, C, C);
    for (let q = 0; q < rows; q++) {
      const n = start + q;
      let max = -Infinity;
      for (let c = 0; c < C; c++) max = Math.max(max, data[n * C + c]!);
      if (hasNaN(data, n * C, C) || !Number.isFinite(max)) {
        out[n] = NaN;
        continue;
      }
      let best = Infinity;
      for (let y = 0; y < C; y++) {
        if (hits[q * C + y]! > 0) continue;
        const kl = negEntropy[q]! - cross[q * C + y]!;
        if (kl < best) best = kl;
      }
      out[n] = -Math.max(0, best);
    }
  }
  return out;
}
