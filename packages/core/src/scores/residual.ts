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
import type { GemmKernel } from '../gemm.js';
import type { LinearHead } from '../head.js';
import { assertMatrix, type Matrix } from '../matrix.js';
import { OpnpError } from '../errors.js';
import { fitVim, residualNorms, residualNormsWith, type VimOptions } from './vim.js';
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

/** The fitted `D`, after checking `features` against it. */
function checkedDim(model: ResidualModel, features: Matrix): number {
  assertMatrix(features, 'features');
  const D = model.origin.length;
  if (features.cols !== D) throw new OpnpError('SHAPE_MISMATCH', 'features width must equal the fitted dimension D', { expected: `N x ${D}`, actual: `${features.rows} x ${features.cols}` });
  return D;
}

/** `-norms`, NaN for rows of `features` with NaN. */
function negatedNorms(features: Matrix, norms: Float64Array): Float32Array {
  const D = features.cols;
  const out = new Float32Array(features.rows);
  for (let n = 0; n < features.rows; n++) out[n] = hasNaN(features.data, n * D, D) ? NaN : -norms[n]!;
  return out;
}

/**
 * Residual score `-||(h - u) NS^T||`, float64 (higher = more in-distribution). Rows with NaN score NaN.
 *
 * @param features `[N, D]`
 * @returns scores `[N]`
 */
export function residualScore(model: ResidualModel, features: Matrix): Float32Array {
  const D = checkedDim(model, features);
  return negatedNorms(features, residualNorms(features, model.origin, model.residualBasis, D - model.dim));
}

/** Options of {@link residualScoreAsync}. */
export interface ResidualScoreAsyncOptions {
  /** Kernel whose `float64Product` accelerator projects the features (JavaScript without one, or without a kernel). */
  kernel?: GemmKernel | undefined;
}

/**
 * {@link residualScore} with the float64 projections on `options.kernel`'s `float64Product` accelerator (onnxruntime's
 * DGEMM): the same scores up to the summation order inside the float64 products.
 *
 * @param features `[N, D]`
 * @returns scores `[N]`
 * @throws OpnpError as {@link residualScore}, and the kernel's errors
 */
export async function residualScoreAsync(model: ResidualModel, features: Matrix, options: ResidualScoreAsyncOptions = {}): Promise<Float32Array> {
  const D = checkedDim(model, features);
  const { kernel } = options;
  const norms = kernel === undefined ? residualNorms(features, model.origin, model.residualBasis, D - model.dim) : await residualNormsWith(kernel, features, model.origin, model.residualBasis, D - model.dim);
  return negatedNorms(features, norms);
}
