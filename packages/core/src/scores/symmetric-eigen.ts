/**
 * Symmetric eigendecomposition in float64, LAPACK's `dsyevd` path (as `numpy.linalg.eigh`):
 *
 * 1. blocked Householder tridiagonalization `A = Q T Q^T` (eigen/tridiagonalize.ts, `dsytrd`);
 * 2. all eigenpairs of `T` by divide and conquer (eigen/divide-and-conquer.ts, `dstedc`), implicit QL at the leaves;
 * 3. back-transformation of the wanted eigenvectors with blocked reflectors (eigen/back-transform.ts, `dormtr`).
 *
 * Nearly all flops are large matrix products, which each stage yields (eigen/products.ts): {@link symmetricEigen}
 * multiplies in JavaScript, {@link symmetricEigenAsync} through a kernel's `float64Product` accelerator when it has one
 * (onnxruntime's DGEMM). Only the vectors asked for are back-transformed (ViM needs the residual ones). The method
 * and its accuracy are in docs/numerics.md#vim; `npm run bench -w @opnp/core -- --knn-eigh` times it against
 * `numpy.linalg.eigh`.
 */
import { OpnpError } from '../errors.js';
import type { GemmKernel } from '../gemm.js';
import { kernelAccelerator } from '../kernel-accelerators.js';
import { applyReflectors } from './eigen/back-transform.js';
import { tridiagonalEigen } from './eigen/divide-and-conquer.js';
import { runAsync, runSync, type Computation } from './eigen/products.js';
import { mirrorLower, transposeInto } from './eigen/tiles.js';
import { tridiagonalize } from './eigen/tridiagonalize.js';
import { assertIntegerInRange, assertNoNaN } from './validate.js';

/** Eigenvalues (descending) and orthonormal eigenvectors of a symmetric matrix. */
export interface SymmetricEigen {
  /** Order `n`. */
  readonly n: number;
  /** Eigenvalues, largest first. */
  readonly values: Float64Array;
  /**
   * Eigenvectors as rows, row-major: row `i` is the unit eigenvector of `values[vectorsFrom + i]` (all `n` rows,
   * `n x n`, unless {@link SymmetricEigenOptions.vectors} asked for fewer).
   */
  readonly vectors: Float64Array;
  /** Index (in `values`) of the eigenvalue of the first row of `vectors`; `0` when all vectors were computed. */
  readonly vectorsFrom: number;
}

/** Options of {@link symmetricEigen}. */
export interface SymmetricEigenOptions {
  /**
   * The eigenvectors to compute: those of `values[from .. to)` (descending order). Default all (`0 .. n`).
   * Eigenvalues are always all computed.
   */
  readonly vectors?: { readonly from: number; readonly to: number };
}

/** Options of {@link symmetricEigenAsync}. */
export interface SymmetricEigenAsyncOptions extends SymmetricEigenOptions {
  /** Kernel whose `float64Product` accelerator does the large products; without one, JavaScript does. */
  readonly kernel?: GemmKernel;
}

/** Validates and copies `A` (lower triangle mirrored up, as LAPACK's `UPLO = 'L'`); returns the wanted vector range. */
function prepare(A: ArrayLike<number>, n: number, options: SymmetricEigenOptions): { W: Float64Array; from: number; to: number } {
  if (!Number.isInteger(n) || n < 0 || A.length !== n * n) {
    throw new OpnpError('SHAPE_MISMATCH', 'symmetricEigen needs an n x n row-major matrix', { expected: n * n, actual: A.length });
  }
  const from = options.vectors?.from ?? 0;
  const to = options.vectors?.to ?? n;
  assertIntegerInRange(from, 0, n, 'symmetricEigen vectors.from');
  assertIntegerInRange(to, from, n, 'symmetricEigen vectors.to');
  const W = new Float64Array(n * n);
  W.set(A);
  assertNoNaN(W, 'symmetric matrix', false);
  mirrorLower(W, n);
  return { W, from, to };
}

/** The whole solver as one computation (products yielded); `W` is overwritten. */
function* eigenComputation(W: Float64Array, n: number, from: number, to: number): Computation<SymmetricEigen> {
  // Scale by a power of two (exact) to a largest entry in (1/2, 1]: no overflow or underflow in the reflectors.
  let largest = 0;
  for (let i = 0; i < W.length; i++) largest = Math.max(largest, Math.abs(W[i]!));
  const scale = largest > 0 ? 2 ** -Math.ceil(Math.log2(largest)) : 1;
  if (scale !== 1) for (let i = 0; i < W.length; i++) W[i] = W[i]! * scale;
  const tri = yield* tridiagonalize(W, n);
  // Descending index i is ascending index n - 1 - i: the wanted vectors are ascending [n - to, n - from), and
  // column q of X is ascending column n - 1 - from - q (column to - from - 1 - q of Q).
  const { values: ascending, Q } = yield* tridiagonalEigen(tri.d, tri.e, n - to, n - from);
  const k = to - from;
  const X = new Float64Array(n * k);
  for (let r = 0; r < n; r++) {
    const o = r * k + k - 1;
    for (let q = 0; q < k; q++) X[r * k + q] = Q[o - q]!;
  }
  yield* applyReflectors(tri, X, k);
  const values = new Float64Array(n);
  for (let i = 0; i < n; i++) values[i] = ascending[n - 1 - i]! / scale;
  const vectors = new Float64Array(k * n);
  transposeInto(X, n, k, vectors);
  return { n, values, vectors, vectorsFrom: from };
}

/**
 * Eigendecomposition `A = V diag(values) V^T` of a symmetric `n x n` float64 matrix (row-major; the lower triangle
 * is used, as LAPACK's and numpy's default). `A` is not modified. Products in JavaScript (see
 * {@link symmetricEigenAsync} for a kernel's).
 *
 * @throws OpnpError `NON_FINITE` when `A` contains NaN or infinity; `SHAPE_MISMATCH`; `INVALID_ARGUMENT` (vectors)
 */
export function symmetricEigen(A: ArrayLike<number>, n: number, options: SymmetricEigenOptions = {}): SymmetricEigen {
  const { W, from, to } = prepare(A, n, options);
  return runSync(eigenComputation(W, n, from, to));
}

/**
 * {@link symmetricEigen} with the large products through `options.kernel`'s `float64Product` accelerator (when it
 * has one; JavaScript otherwise). Same results up to the summation order inside the products.
 *
 * @throws OpnpError as {@link symmetricEigen}, and the kernel's errors
 */
export async function symmetricEigenAsync(A: ArrayLike<number>, n: number, options: SymmetricEigenAsyncOptions = {}): Promise<SymmetricEigen> {
  const { W, from, to } = prepare(A, n, options);
  const product = options.kernel === undefined ? undefined : kernelAccelerator(options.kernel, 'float64Product');
  const computation = eigenComputation(W, n, from, to);
  return product === undefined ? runSync(computation) : runAsync(computation, product);
}

/** Default relative eigenvalue cutoff of {@link symmetricPseudoInverse} (docs/numerics.md#mahalanobis: `1e-6` times the largest). */
export const PINV_RELATIVE_TOLERANCE = 1e-6;

/**
 * Number of leading eigenpairs (of a descending {@link SymmetricEigen}) treated as non-zero: eigenvalues
 * `>= relativeTolerance * largest` and `> 0`.
 */
export function effectiveRank(eigen: SymmetricEigen, relativeTolerance = PINV_RELATIVE_TOLERANCE): number {
  const largest = eigen.n > 0 ? eigen.values[0]! : 0;
  const cutoff = relativeTolerance * largest;
  let r = 0;
  while (r < eigen.n && eigen.values[r]! > 0 && eigen.values[r]! >= cutoff) r++;
  return r;
}

/**
 * Moore-Penrose pseudo-inverse of a symmetric positive semi-definite `n x n` matrix:
 * `sum_i v_i v_i^T / lambda_i` over eigenvalues `lambda_i >= relativeTolerance * lambda_max` (and `> 0`),
 * the rest treated as zero. Float64, row-major.
 */
export function symmetricPseudoInverse(A: ArrayLike<number>, n: number, relativeTolerance = PINV_RELATIVE_TOLERANCE): Float64Array {
  const eigen = symmetricEigen(A, n);
  const r = effectiveRank(eigen, relativeTolerance);
  const out = new Float64Array(n * n);
  const V = eigen.vectors;
  for (let i = 0; i < r; i++) {
    const inv = 1 / eigen.values[i]!;
    const vi = i * n;
    for (let a = 0; a < n; a++) {
      const va = V[vi + a]! * inv;
      if (va === 0) continue;
      const row = a * n;
      for (let b = 0; b < n; b++) out[row + b] = out[row + b]! + va * V[vi + b]!;
    }
  }
  return out;
}
