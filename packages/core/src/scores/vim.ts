/**
 * ViM (Wang et al., CVPR 2022): virtual-logit matching. The residual of a feature outside the principal
 * subspace of the training features (centred at `u = -pinv(W) b`), scaled to logit size, against energy.
 */
import { OpnpError } from '../errors.js';
import { portableGemmKernel, type GemmKernel } from '../gemm.js';
import { assertFeaturesMatchHead, assertHead, logits, logitsWith, type LinearHead } from '../head.js';
import type { Matrix } from '../matrix.js';
import { kernelAccelerator } from '../kernel-accelerators.js';
import { gemm64ABt } from './gemm64.js';
import { energy } from './logit-scores.js';
import { effectiveRank, symmetricEigen, symmetricEigenAsync, type SymmetricEigen } from './symmetric-eigen.js';
import { assertIntegerInRange, assertNoNaN, hasNaN } from './validate.js';

/** A fitted ViM model. */
export interface VimModel {
  /** The classifier head used for energy. */
  readonly head: LinearHead;
  /** Origin `u = -pinv(W) b`, length `D` (float64). */
  readonly origin: Float64Array;
  /** Principal-space dimension. */
  readonly dim: number;
  /** Residual-space basis: the `D - dim` eigenvectors with the smallest eigenvalues, as rows (`(D - dim) x D`). */
  readonly residualBasis: Float64Array;
  /** `alpha = mean_n max_c f_c / mean_n ||residual_n||` over the training features. */
  readonly alpha: number;
}

/** Options of {@link fitVim}. */
export interface VimOptions {
  /** Principal-space dimension. Default {@link defaultVimDim}. */
  dim?: number;
}

/**
 * The default principal dimension for feature dimension `D`: as the official ViM code (`benchmark.py`:
 * `1000 if D >= 2048 else 512`) for `D >= 768`, and `floor(D / 2)` below (where 512 would leave no residual
 * space; OpenOOD uses 256 for CIFAR ResNet-18's `D = 512`).
 */
export function defaultVimDim(D: number): number {
  if (D >= 2048) return 1000;
  if (D >= 768) return 512;
  return Math.floor(D / 2);
}

/** The smaller Gram matrix of the head's weights: `W W^T` (`C <= D`) or `W^T W`, float64, `small x small`. */
function weightGram(head: LinearHead): { gram: Float64Array; small: number } {
  assertHead(head);
  const { rows: C, cols: D, data: W } = head.weight;
  const small = Math.min(C, D);
  const gram = new Float64Array(small * small);
  const w64 = Float64Array.from(W);
  if (C <= D) gemm64ABt(w64, w64, gram, C, C, D);
  else {
    const wt = new Float64Array(D * C);
    for (let c = 0; c < C; c++) for (let j = 0; j < D; j++) wt[j * C + c] = W[c * D + j]!;
    gemm64ABt(wt, wt, gram, D, D, C);
  }
  return { gram, small };
}

/** `u = -pinv(W) b` from the eigendecomposition of {@link weightGram}. */
function originFromGram(head: LinearHead, eigen: SymmetricEigen): Float64Array {
  const { rows: C, cols: D, data: W } = head.weight;
  const b = head.bias;
  const small = eigen.n;
  const r = effectiveRank(eigen, Math.max(C, D) * 2 ** -52);
  const V = eigen.vectors;
  // rhs: b (C <= D) or W^T b (C > D).
  const rhs = new Float64Array(small);
  if (C <= D) for (let c = 0; c < C; c++) rhs[c] = b[c]!;
  else for (let j = 0; j < D; j++) for (let c = 0; c < C; c++) rhs[j] = rhs[j]! + W[c * D + j]! * b[c]!;
  // z = Gram^+ rhs
  const z = new Float64Array(small);
  for (let i = 0; i < r; i++) {
    let dot = 0;
    for (let a = 0; a < small; a++) dot += V[i * small + a]! * rhs[a]!;
    const coef = dot / eigen.values[i]!;
    for (let a = 0; a < small; a++) z[a] = z[a]! + coef * V[i * small + a]!;
  }
  const u = new Float64Array(D);
  if (C <= D) {
    for (let c = 0; c < C; c++) for (let j = 0; j < D; j++) u[j] = u[j]! - W[c * D + j]! * z[c]!;
  } else {
    for (let j = 0; j < D; j++) u[j] = -z[j]!;
  }
  return u;
}

/**
 * `u = -pinv(W) b` through the smaller Gram matrix: `pinv(W) = W^T (W W^T)^+` (C <= D) or
 * `(W^T W)^+ W^T` (C > D). Gram eigenvalues below `max(C, D) * eps` times the largest are treated as zero
 * (the resolution of a Gram-matrix eigendecomposition; a trained head has full rank and is unaffected).
 */
export function vimOrigin(head: LinearHead): Float64Array {
  const { gram, small } = weightGram(head);
  return originFromGram(head, symmetricEigen(gram, small));
}

const BLOCK_ROWS = 256;

/** Residual norms `||(h - u) NS^T||` of features `[N, D]`, float64 (also the Residual baseline's, residual.ts). */
export function residualNorms(features: Matrix, origin: Float64Array, basis: Float64Array, k: number): Float64Array {
  const { rows: N, cols: D, data } = features;
  const out = new Float64Array(N);
  const block = new Float64Array(BLOCK_ROWS * D);
  const proj = new Float64Array(BLOCK_ROWS * k);
  for (let start = 0; start < N; start += BLOCK_ROWS) {
    const rows = Math.min(BLOCK_ROWS, N - start);
    for (let q = 0; q < rows; q++) for (let j = 0; j < D; j++) block[q * D + j] = data[(start + q) * D + j]! - origin[j]!;
    proj.fill(0);
    gemm64ABt(block, basis, proj, rows, k, D);
    for (let q = 0; q < rows; q++) {
      let s = 0;
      for (let i = 0; i < k; i++) s += proj[q * k + i]! * proj[q * k + i]!;
      out[start + q] = Math.sqrt(s);
    }
  }
  return out;
}

/** Rows per block of {@link residualNormsWith} (a `rows x D` float64 block and its `rows x k` projection). */
const KERNEL_BLOCK_ROWS = 1024;

/**
 * Projections of fewer flops than this stay in JavaScript in {@link residualNormsWith}: measured on a loaded 2-core
 * machine, onnxruntime's DGEMM and JavaScript both take 0.5-0.9 ms at `2^18` flops (a kernel call costs about
 * 0.5 ms there), the kernel 3 times less from `2^19` and 6-8 times less from `2^25`.
 */
const RESIDUAL_KERNEL_MIN_FLOPS = 2 ** 19;

/**
 * {@link residualNorms} with the projections `(H - u) NS^T` on `kernel`'s `float64Product` accelerator (onnxruntime's
 * DGEMM) when it has one and a block is at least {@link RESIDUAL_KERNEL_MIN_FLOPS}; the same norms up to the
 * summation order inside the float64 products.
 */
export async function residualNormsWith(kernel: GemmKernel, features: Matrix, origin: Float64Array, basis: Float64Array, k: number): Promise<Float64Array> {
  const product = kernelAccelerator(kernel, 'float64Product');
  const { rows: N, cols: D, data } = features;
  if (product === undefined || 2 * Math.min(N, KERNEL_BLOCK_ROWS) * k * D < RESIDUAL_KERNEL_MIN_FLOPS) return residualNorms(features, origin, basis, k);
  const out = new Float64Array(N);
  const residual = { rows: k, cols: D, data: basis.subarray(0, k * D) };
  // One centred block buffer for every block (every entry is written before the product reads it).
  const buffer = new Float64Array(Math.min(N, KERNEL_BLOCK_ROWS) * D);
  for (let start = 0; start < N; start += KERNEL_BLOCK_ROWS) {
    const rows = Math.min(KERNEL_BLOCK_ROWS, N - start);
    const block = buffer.subarray(0, rows * D);
    for (let q = 0; q < rows; q++) for (let j = 0; j < D; j++) block[q * D + j] = data[(start + q) * D + j]! - origin[j]!;
    const proj = (await product({ rows, cols: D, data: block }, residual, { transA: false, transB: true })).data;
    for (let q = 0; q < rows; q++) {
      let s = 0;
      for (let i = 0; i < k; i++) s += proj[q * k + i]! * proj[q * k + i]!;
      out[start + q] = Math.sqrt(s);
    }
  }
  return out;
}

/** The uncentred covariance `(1/N) (H - u)^T (H - u)` of the training features about `origin`, `D x D` float64. */
function vimCovariance(trainFeatures: Matrix, origin: Float64Array): Float64Array {
  const { rows: N, cols: D, data } = trainFeatures;
  const cov = new Float64Array(D * D);
  const xt = new Float64Array(D * BLOCK_ROWS);
  for (let start = 0; start < N; start += BLOCK_ROWS) {
    const rows = Math.min(BLOCK_ROWS, N - start);
    for (let r = 0; r < rows; r++) for (let j = 0; j < D; j++) xt[j * rows + r] = data[(start + r) * D + j]! - origin[j]!;
    const block = xt.subarray(0, D * rows);
    gemm64ABt(block, block, cov, D, D, rows);
  }
  for (let i = 0; i < D * D; i++) cov[i] = cov[i]! / N;
  return cov;
}

/** Checks the inputs of {@link fitVim}; returns the principal dimension. */
function assertVimInputs(trainFeatures: Matrix, head: LinearHead, options: VimOptions): number {
  assertHead(head);
  assertFeaturesMatchHead(head, trainFeatures, 'trainFeatures');
  const { rows: N, cols: D, data } = trainFeatures;
  if (N === 0) throw new OpnpError('EMPTY_INPUT', 'fitVim needs at least one training sample');
  assertNoNaN(data, 'trainFeatures', false);
  const dim = options.dim ?? defaultVimDim(D);
  assertIntegerInRange(dim, 0, D - 1, 'ViM principal dimension dim');
  return dim;
}

/**
 * `alpha` and the model, from the residual basis (the eigenvectors beyond the top `dim`), the training logits
 * `f [N x C]` of `head` and the training features' residual norms.
 */
function finishVim(trainFeatures: Matrix, f: Matrix, norms: Float64Array, head: LinearHead, origin: Float64Array, dim: number, residualBasis: Float64Array): VimModel {
  const { rows: N, cols: D } = trainFeatures;
  let maxLogitSum = 0;
  let residualSum = 0;
  for (let n = 0; n < N; n++) {
    let m = -Infinity;
    for (let c = 0; c < f.cols; c++) m = Math.max(m, f.data[n * f.cols + c]!);
    maxLogitSum += m;
    residualSum += norms[n]!;
  }
  if (!(residualSum > 0)) {
    throw new OpnpError('INVALID_ARGUMENT', 'ViM: the training features have no residual outside the principal space', { actual: { dim, D }, hint: 'Use a smaller dim' });
  }
  const alpha = maxLogitSum / N / (residualSum / N);
  return { head, origin, dim, residualBasis, alpha };
}

/**
 * Fits ViM on training features: origin `u = -pinv(W) b`, the uncentred covariance `(1/N) (H - u)^T (H - u)`
 * (sklearn `EmpiricalCovariance(assume_centered=True)`, as the reference), its eigenvectors beyond the top
 * `dim` as residual space (only those are computed), and `alpha`. O(D^3) for the eigendecomposition plus O(N D^2).
 * {@link fitVimAsync} does the same with a kernel's float64 products.
 *
 * @param trainFeatures `[N, D]`
 * @throws OpnpError `EMPTY_INPUT`, `SHAPE_MISMATCH`, `INVALID_ARGUMENT` (dim), `NON_FINITE`
 */
export function fitVim(trainFeatures: Matrix, head: LinearHead, options: VimOptions = {}): VimModel {
  const dim = assertVimInputs(trainFeatures, head, options);
  const D = trainFeatures.cols;
  const origin = vimOrigin(head);
  const cov = vimCovariance(trainFeatures, origin);
  const eigen = symmetricEigen(cov, D, { vectors: { from: dim, to: D } });
  const norms = residualNorms(trainFeatures, origin, eigen.vectors, D - dim);
  return finishVim(trainFeatures, logits(head, trainFeatures), norms, head, origin, dim, eigen.vectors);
}

/** Options of {@link fitVimAsync}. */
export interface VimAsyncOptions extends VimOptions {
  /**
   * Kernel of the training logits (`alpha`), whose `float64Product` accelerator also does the eigendecompositions'
   * products (`symmetricEigenAsync`). Default the portable kernel.
   */
  kernel?: GemmKernel | undefined;
}

/**
 * {@link fitVim} with both eigendecompositions (the weight Gram matrix and the covariance) through
 * `symmetricEigenAsync` and `options.kernel`, and `alpha`'s training logits (the kernel's GEMM) and residual norms
 * (its `float64Product`) through it too: the same model up to the summation order inside the products (and the
 * float32 rounding of the logits).
 *
 * @throws OpnpError as {@link fitVim}, and the kernel's errors
 */
export async function fitVimAsync(trainFeatures: Matrix, head: LinearHead, options: VimAsyncOptions = {}): Promise<VimModel> {
  const dim = assertVimInputs(trainFeatures, head, options);
  const D = trainFeatures.cols;
  const kernel = options.kernel === undefined ? {} : { kernel: options.kernel };
  const { gram, small } = weightGram(head);
  const origin = originFromGram(head, await symmetricEigenAsync(gram, small, kernel));
  const cov = vimCovariance(trainFeatures, origin);
  const eigen = await symmetricEigenAsync(cov, D, { ...kernel, vectors: { from: dim, to: D } });
  const run = options.kernel ?? portableGemmKernel;
  const f = await logitsWith(run, head, trainFeatures);
  const norms = await residualNormsWith(run, trainFeatures, origin, eigen.vectors, D - dim);
  return finishVim(trainFeatures, f, norms, head, origin, dim, eigen.vectors);
}

/** `energy(f) - alpha * norms` per row, NaN for rows of `features` with NaN. */
function vimFromEnergy(model: VimModel, features: Matrix, f: Matrix, norms: Float64Array): Float32Array {
  const { cols: D } = features;
  const e = energy(f);
  const out = new Float32Array(features.rows);
  for (let n = 0; n < features.rows; n++) {
    out[n] = hasNaN(features.data, n * D, D) ? NaN : e[n]! - model.alpha * norms[n]!;
  }
  return out;
}

/**
 * ViM score `energy(f) - alpha * ||(h - u) NS||` (higher = more in-distribution; the reference's
 * `-vlogit + energy`), the logits `f` through the portable kernel ({@link vimScoreAsync} takes a faster one). Rows
 * with NaN score NaN.
 *
 * @param features `[N, D]`
 * @returns scores `[N]`
 */
export function vimScore(model: VimModel, features: Matrix): Float32Array {
  assertFeaturesMatchHead(model.head, features);
  const norms = residualNorms(features, model.origin, model.residualBasis, features.cols - model.dim);
  return vimFromEnergy(model, features, logits(model.head, features), norms);
}

/** Options of {@link vimScoreAsync}. */
export interface VimScoreAsyncOptions {
  /**
   * Kernel of the logits `H W^T + b` of the energy term, whose `float64Product` accelerator (if any) also projects the
   * features on the residual space. Default (also when `undefined`) the portable kernel.
   */
  kernel?: GemmKernel | undefined;
}

/**
 * {@link vimScore} with the logits of the energy term through `options.kernel` (e.g. `await resolveGemmKernel()`),
 * and the float64 residual projections through its `float64Product` accelerator when it has one: the same scores up
 * to the float32 rounding of the logits (and the summation order inside the float64 products).
 *
 * @param features `[N, D]`
 * @returns scores `[N]`
 * @throws OpnpError as {@link vimScore}, and the kernel's errors
 */
export async function vimScoreAsync(model: VimModel, features: Matrix, options: VimScoreAsyncOptions = {}): Promise<Float32Array> {
  assertFeaturesMatchHead(model.head, features);
  const kernel = options.kernel ?? portableGemmKernel;
  const f = await logitsWith(kernel, model.head, features);
  return vimFromEnergy(model, features, f, await residualNormsWith(kernel, features, model.origin, model.residualBasis, features.cols - model.dim));
}
