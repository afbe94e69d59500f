/**
 * Residual score (docs/numerics.md#residual): `-||(h - u) projected on the residual space||`, ViM's virtual-logit
 * norm without the energy and without `alpha`. The origin `u = -pinv(W) b` and the residual space (eigenvectors of
 * the uncentred training covariance beyond the top `dim`) are ViM's, fitted by {@link fitVim}.
 *
 * Paper: Wang, Li, Feng & Zhang, "ViM: Out-Of-Distribution with Virtual-logit Matching" (CVPR 2022), the "Residual"
 * baseline of its tables. Official code: github.com/haoqiwang/vim `benchmark.py` (method `Residual`:
 * `score = -norm((feature - u) @ NS, axis=-1)`), and OpenOOD `openood/postprocessors/residual_postprocessor.py`
 * (`configs/postprocessors/residual.yml`: `dim: 512`). Here `dim` defaults to {@link defaultVimDim} (512 for
 * `768 <= D < 2048`, 1000 from 2048 as ViM's `benchmark.py`, `floor(D / 2)` below, where 512 would leave no
 * residual space).
 */
import type { LinearHead } from '../head.js';
import { assertMatrix, type Matrix } from '../matrix.js';
import { OpnpError } from '../errors.js';
import { fitVim, residualNorms, type VimOptions } from './vim.js';
import { hasNaN } from './validate.js';

/** A fitted residual model. */
export interface ResidualModel {
  /** Origin `u = -pinv(W) b`, length `D` (float64). */
  readonly origin: Float64Array;
  /** Principal-space dimension. */
  readonly dim: number;
  /** Residual basis as rows, `(D - dim) x D` float64. */
  readonly residualBasis: Float64Array;
}

/**
 * Fits the origin and residual space exactly as {@link fitVim} (whose `alpha` is not used).
 *
 * @param trainFeatures `[N, D]`
 * @throws OpnpError as {@link fitVim}: `EMPTY_INPUT`, `SHAPE_MISMATCH`, `INVALID_ARGUMENT` (dim, or no residual
 *   at all in the training features), `NON_FINITE`
 */
export function fitResidual(trainFeatures: Matrix, head: LinearHead, options: VimOptions = {}): ResidualModel {
  const vim = fitVim(trainFeatures, head, options);
  return { origin: vim.origin, dim: vim.dim, residualBasis: vim.residualBasis };
}

/**
 * Residual score `-||(h - u) NS^T||`, float64 (higher = more in-distribution). Rows with NaN score NaN.
 *
 * @param features `[N, D]`
 * @returns scores `[N]`
 */
export function residualScore(model: ResidualModel, features: Matrix): Float32Array {
  assertMatrix(features, 'features');
  const { origin, residualBasis } = model;
  const D = origin.length;
  if (features.cols !== D) throw new OpnpError('SHAPE_MISMATCH', 'features width must equal the fitted dimension D', { expected: `N x ${D}`, actual: `${features.rows} x ${features.cols}` });
  const norms = residualNorms(features, origin, residualBasis, D - model.dim);
  const out = new Float32Array(features.rows);
  for (let n = 0; n < features.rows; n++) out[n] = hasNaN(features.data, n * D, D) ? NaN : -norms[n]!;
  return out;
}
