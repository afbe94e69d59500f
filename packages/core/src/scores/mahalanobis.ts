/**
 * Mahalanobis distance score (Lee et al., NeurIPS 2018), docs/numerics.md#mahalanobis:
 * `-min_c (h - mu_c)^T Sigma^+ (h - mu_c)` with class means `mu_c` and one shared covariance of the
 * class-centred training features.
 */
import { OpnpError } from '../errors.js';
import { assertMatrix, type Matrix } from '../matrix.js';
import { gemm64ABt } from './gemm64.js';
import { effectiveRank, PINV_RELATIVE_TOLERANCE, symmetricEigen } from './symmetric-eigen.js';
import { assertIntegerInRange, assertNoNaN, hasNaN } from './validate.js';

/** A fitted Mahalanobis model (all statistics float64). */
export interface MahalanobisModel {
  /** Number of classes `C`. */
  readonly numClasses: number;
  /** Feature dimension `D`. */
  readonly dim: number;
  /** Class means `mu_c`, `C x D` row-major; a class without training samples (`allowEmptyClasses`) has a NaN row. */
  readonly means: Float64Array;
  /** Training samples per class. */
  readonly classCounts: Int32Array;
  /** The shared covariance `Sigma = (1/N) sum_n (h_n - mu_{y_n})(h_n - mu_{y_n})^T`, `D x D`. */
  readonly covariance: Float64Array;
  /** Rank `r` of `Sigma^+`: eigenvalues `>= 1e-6 * largest` kept. */
  readonly rank: number;
  /** Kept eigenvalues of `Sigma`, descending (length `r`). */
  readonly eigenvalues: Float64Array;
  /** Kept unit eigenvectors as rows, `r x D`. `Sigma^+ = sum_i v_i v_i^T / lambda_i`. */
  readonly eigenvectors: Float64Array;
  /** Centre subtracted before projecting (the overall training mean), length `D`. */
  readonly centre: Float64Array;
  /** Whitened class means `(mu_c - centre) V^T diag(lambda^-1/2)`, `C x r`. */
  readonly whitenedMeans: Float64Array;
}

/** Options of {@link fitMahalanobis}. */
export interface MahalanobisOptions {
  /** Relative eigenvalue cutoff of the pseudo-inverse. Default `1e-6` (docs/numerics.md#mahalanobis). */
  relativeTolerance?: number;
  /**
   * Accept classes in `[0, numClasses)` without training samples and skip them when scoring (their mean is NaN).
   * Default `false`: such classes are refused with `INVALID_ARGUMENT` naming them, since the score is defined over
   * every class mean (OpenOOD's needs them all) and an empty class usually means a wrong `numClasses` or 1-based labels.
   */
  allowEmptyClasses?: boolean;
}

/** How many empty classes a message lists by index. */
const LISTED_EMPTY_CLASSES = 10;

/**
 * Throws `INVALID_ARGUMENT` naming the classes in `[0, C)` without training samples (unless `allow`), with the label
 * range that was seen, so a wrong `numClasses`, 1-based labels or a fit subset missing classes are easy to tell apart.
 */
function assertEveryClassSeen(counts: Int32Array, allow: boolean): void {
  if (allow) return;
  const empty: number[] = [];
  let maxLabel = -1;
  counts.forEach((count, c) => {
    if (count === 0) empty.push(c);
    else maxLabel = c;
  });
  if (empty.length === 0) return;
  const C = counts.length;
  const listed = empty.slice(0, LISTED_EMPTY_CLASSES).join(', ') + (empty.length > LISTED_EMPTY_CLASSES ? ', ...' : '');
  throw new OpnpError('INVALID_ARGUMENT', `fitMahalanobis: ${empty.length} of numClasses = ${C} classes have no training sample (class${empty.length === 1 ? '' : 'es'} ${listed})`, {
    expected: `at least one training sample of every class in [0, ${C}) (the score needs every class mean)`,
    actual: `labels between ${counts.findIndex((n) => n > 0)} and ${maxLabel}`,
    hint:
      `Check numClasses (the labels seen span ${maxLabel + 1} classes) and that labels are 0-based; ` +
      'fit on more samples so that every class appears; or pass { allowEmptyClasses: true } to skip empty classes when scoring',
  });
}

const BLOCK_ROWS = 256;

/**
 * Fits class means and the pseudo-inverse of the shared covariance. The covariance is normalised by `N`
 * (as sklearn's `EmpiricalCovariance`, which OpenOOD's Mahalanobis uses) and accumulated in float64.
 *
 * Every class in `[0, numClasses)` needs a training sample; with `allowEmptyClasses` the classes without one are
 * skipped by {@link mahalanobisScore} instead (their mean is NaN).
 *
 * @param trainFeatures `[N, D]`
 * @param labels length `N`, integers in `[0, numClasses)`
 * @throws OpnpError `EMPTY_INPUT` (N = 0), `SHAPE_MISMATCH`, `INVALID_ARGUMENT` (bad labels, or a class without
 * training samples, named, unless `allowEmptyClasses`), `NON_FINITE`
 */
export function fitMahalanobis(trainFeatures: Matrix, labels: ArrayLike<number>, numClasses: number, options: MahalanobisOptions = {}): MahalanobisModel {
  assertMatrix(trainFeatures, 'trainFeatures');
  assertIntegerInRange(numClasses, 1, 2 ** 31 - 1, 'numClasses');
  const tol = options.relativeTolerance ?? PINV_RELATIVE_TOLERANCE;
  if (!(tol >= 0 && tol < 1)) throw new OpnpError('INVALID_ARGUMENT', 'relativeTolerance must be in [0, 1)', { actual: tol });
  const { rows: N, cols: D, data } = trainFeatures;
  if (labels.length !== N) throw new OpnpError('SHAPE_MISMATCH', 'labels must have one entry per training sample', { expected: N, actual: labels.length });
  if (N === 0) throw new OpnpError('EMPTY_INPUT', 'fitMahalanobis needs at least one training sample');
  assertNoNaN(data, 'trainFeatures', false);
  const C = numClasses;
  const counts = new Int32Array(C);
  for (let n = 0; n < N; n++) {
    const y = labels[n]!;
    if (!Number.isInteger(y) || y < 0 || y >= C) {
      throw new OpnpError('INVALID_ARGUMENT', 'Label out of range', { expected: `an integer in [0, ${C})`, actual: y, offset: n });
    }
    counts[y]!++;
  }
  assertEveryClassSeen(counts, options.allowEmptyClasses === true);
  // Class means and the overall mean (float64).
  const means = new Float64Array(C * D);
  const centre = new Float64Array(D);
  for (let n = 0; n < N; n++) {
    const base = n * D;
    const mb = labels[n]! * D;
    for (let j = 0; j < D; j++) {
      const v = data[base + j]!;
      means[mb + j] = means[mb + j]! + v;
      centre[j] = centre[j]! + v;
    }
  }
  for (let c = 0; c < C; c++) {
    const count = counts[c]!;
    for (let j = 0; j < D; j++) means[c * D + j] = count > 0 ? means[c * D + j]! / count : NaN;
  }
  for (let j = 0; j < D; j++) centre[j] = centre[j]! / N;

  // Sigma = (1/N) X^T X with X the class-centred features, in float64 blocks of rows (X^T stored D x rows).
  const covariance = new Float64Array(D * D);
  const xt = new Float64Array(D * BLOCK_ROWS);
  for (let start = 0; start < N; start += BLOCK_ROWS) {
    const rows = Math.min(BLOCK_ROWS, N - start);
    for (let r = 0; r < rows; r++) {
      const n = start + r;
      const base = n * D;
      const mb = labels[n]! * D;
      for (let j = 0; j < D; j++) xt[j * rows + r] = data[base + j]! - means[mb + j]!;
    }
    const block = xt.subarray(0, D * rows);
    gemm64ABt(block, block, covariance, D, D, rows);
  }
  for (let a = 0; a < D; a++) {
    for (let b = a; b < D; b++) {
      // Symmetrise (the float32 block products are symmetric already; this guards rounding) and normalise.
      const v = (covariance[a * D + b]! + covariance[b * D + a]!) / (2 * N);
      covariance[a * D + b] = v;
      covariance[b * D + a] = v;
    }
  }

  const eigen = symmetricEigen(covariance, D);
  const rank = effectiveRank(eigen, tol);
  const eigenvalues = eigen.values.slice(0, rank);
  const eigenvectors = eigen.vectors.slice(0, rank * D);
  const whitenedMeans = new Float64Array(C * rank);
  for (let c = 0; c < C; c++) {
    for (let i = 0; i < rank; i++) {
      let s = 0;
      for (let j = 0; j < D; j++) s += (means[c * D + j]! - centre[j]!) * eigenvectors[i * D + j]!;
      whitenedMeans[c * rank + i] = s / Math.sqrt(eigenvalues[i]!);
    }
  }
  return { numClasses: C, dim: D, means, classCounts: counts, covariance, rank, eigenvalues, eigenvectors, centre, whitenedMeans };
}

/**
 * The pseudo-inverse `Sigma^+ = sum_i v_i v_i^T / lambda_i` of a fitted model, `D x D` float64 row-major.
 */
export function mahalanobisPrecision(model: MahalanobisModel): Float64Array {
  const { dim: D, rank, eigenvalues, eigenvectors: V } = model;
  const out = new Float64Array(D * D);
  for (let i = 0; i < rank; i++) {
    const inv = 1 / eigenvalues[i]!;
    for (let a = 0; a < D; a++) {
      const va = V[i * D + a]! * inv;
      for (let b = 0; b < D; b++) out[a * D + b] = out[a * D + b]! + va * V[i * D + b]!;
    }
  }
  return out;
}

/**
 * Mahalanobis score `-min_c (h - mu_c)^T Sigma^+ (h - mu_c)` (higher = more in-distribution).
 *
 * Computed in the whitened eigenbasis, all in float64: `y = (h - centre) V^T diag(lambda^-1/2)`, then
 * `||y - m_c||^2 = ||y||^2 - 2 y.m_c + ||m_c||^2` clamped at 0 (blocks of 256 rows; cost `N r (D + C)`). Rows with NaN score NaN; classes without training samples are skipped.
 *
 * @param features `[N, D]`
 * @returns scores `[N]`
 */
export function mahalanobisScore(model: MahalanobisModel, features: Matrix): Float32Array {
  assertMatrix(features, 'features');
  const { dim: D, rank: r, numClasses: C, centre, whitenedMeans: M, classCounts } = model;
  if (features.cols !== D) throw new OpnpError('SHAPE_MISMATCH', 'features width must equal the fitted dimension D', { expected: `N x ${D}`, actual: `${features.rows} x ${features.cols}` });
  const N = features.rows;
  const out = new Float32Array(N);
  if (N === 0) return out;
  // Whitening matrix rows v_i / sqrt(lambda_i), r x D (float64).
  const whiten = new Float64Array(r * D);
  for (let i = 0; i < r; i++) {
    const s = 1 / Math.sqrt(model.eigenvalues[i]!);
    for (let j = 0; j < D; j++) whiten[i * D + j] = model.eigenvectors[i * D + j]! * s;
  }
  const meanNorms = new Float64Array(C);
  for (let c = 0; c < C; c++) {
    let s = 0;
    for (let i = 0; i < r; i++) s += M[c * r + i]! * M[c * r + i]!;
    meanNorms[c] = s;
  }
  const block = new Float64Array(BLOCK_ROWS * D);
  const y = new Float64Array(BLOCK_ROWS * r);
  const ym = new Float64Array(BLOCK_ROWS * C);
  const h = features.data;
  for (let start = 0; start < N; start += BLOCK_ROWS) {
    const rows = Math.min(BLOCK_ROWS, N - start);
    for (let q = 0; q < rows; q++) {
      const base = (start + q) * D;
      for (let j = 0; j < D; j++) block[q * D + j] = h[base + j]! - centre[j]!;
    }
    y.fill(0);
    ym.fill(0);
    gemm64ABt(block, whiten, y, rows, r, D);
    gemm64ABt(y, M, ym, rows, C, r);
    for (let q = 0; q < rows; q++) {
      const n = start + q;
      if (hasNaN(h, n * D, D)) {
        out[n] = NaN;
        continue;
      }
      let yy = 0;
      for (let i = 0; i < r; i++) yy += y[q * r + i]! * y[q * r + i]!;
      let best = Infinity;
      for (let c = 0; c < C; c++) {
        if (classCounts[c] === 0) continue;
        const d2 = yy - 2 * ym[q * C + c]! + meanNorms[c]!;
        if (d2 < best) best = d2;
      }
      out[n] = -Math.max(0, best);
    }
  }
  return out;
}
