/**
 * Deep nearest-neighbour score (Sun et al., ICML 2022), docs/numerics.md#knn: `-|| z - z_(k) ||` with
 * `z = h / ||h||` and `z_(k)` the k-th nearest normalised training feature (Euclidean).
 */
import { OpnpError } from '../errors.js';
import { gemmSync } from '../gemm.js';
import { assertMatrix, type Matrix } from '../matrix.js';
import { assertIntegerInRange, assertNoNaN, hasNonFinite } from './validate.js';

/** A fitted KNN model: the L2-normalised training features. */
export interface KnnModel {
  /** Neighbour rank `k` (1 = nearest). */
  readonly k: number;
  /** Normalised training features `Z [N_train, D]` (float32; all-zero rows stay zero). */
  readonly train: Matrix;
  /** Squared norms of the rows of `train` (1, or 0 for zero rows; float64 of the stored float32 values). */
  readonly trainSquaredNorms: Float64Array;
}

/** Options of {@link fitKnn}. */
export interface KnnOptions {
  /** Which neighbour's distance scores a sample (1 = nearest). Default 50. */
  k?: number;
}

/** Normalises `h[offset .. offset+D)` in float64 into `out` (zero vectors stay zero). */
function normaliseRow(h: Float32Array, offset: number, D: number, out: Float64Array): void {
  let s = 0;
  for (let j = 0; j < D; j++) s += h[offset + j]! * h[offset + j]!;
  const inv = s > 0 ? 1 / Math.sqrt(s) : 0;
  for (let j = 0; j < D; j++) out[j] = h[offset + j]! * inv;
}

/**
 * Stores L2-normalised training features (a zero row stays the zero vector, at distance `||z||` from every
 * query, i.e. 1 from a non-zero query).
 *
 * @param trainFeatures `[N_train, D]`
 * @throws OpnpError `INVALID_ARGUMENT` when `k` is not an integer in `[1, N_train]`, `NON_FINITE` on NaN/Inf
 */
export function fitKnn(trainFeatures: Matrix, options: KnnOptions = {}): KnnModel {
  assertMatrix(trainFeatures, 'trainFeatures');
  const k = options.k ?? 50;
  const { rows: N, cols: D, data } = trainFeatures;
  if (N === 0) throw new OpnpError('EMPTY_INPUT', 'fitKnn needs at least one training sample');
  assertIntegerInRange(k, 1, N, 'KNN k (at most the number of training samples)');
  assertNoNaN(data, 'trainFeatures', false);
  const z = new Float32Array(N * D);
  const norms = new Float64Array(N);
  const buf = new Float64Array(D);
  for (let n = 0; n < N; n++) {
    normaliseRow(data, n * D, D, buf);
    let s = 0;
    for (let j = 0; j < D; j++) {
      const v = Math.fround(buf[j]!);
      z[n * D + j] = v;
      s += v * v;
    }
    norms[n] = s;
  }
  return { k, train: { rows: N, cols: D, data: z }, trainSquaredNorms: norms };
}

/** The `k`-th smallest value (1-based) of `a[0 .. n)`; reorders `a`. Hoare-style quickselect. */
function selectKth(a: Float64Array, n: number, k: number): number {
  let lo = 0;
  let hi = n - 1;
  const target = k - 1;
  while (lo < hi) {
    const pivot = a[(lo + hi) >>> 1]!;
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (a[i]! < pivot) i++;
      while (a[j]! > pivot) j--;
      if (i <= j) {
        const t = a[i]!;
        a[i] = a[j]!;
        a[j] = t;
        i++;
        j--;
      }
    }
    if (target <= j) hi = j;
    else if (target >= i) lo = i;
    else return a[target]!;
  }
  return a[target]!;
}

/** Query rows per GEMM block: keeps the `rows x N_train` similarity block near 4M floats. */
function blockRows(nTrain: number): number {
  return Math.max(1, Math.min(1024, Math.floor(4_194_304 / Math.max(1, nTrain))));
}

/**
 * KNN score `-|| z - z_(k) ||` (higher = more in-distribution).
 *
 * Squared distances come from `||a||^2 + ||b||^2 - 2 a.b` through the GEMM, in row blocks so memory stays
 * bounded; the k-th smallest is selected, then its distance is recomputed exactly in float64 (so a query
 * equal to a training point scores exactly 0 when it is the k-th neighbour). Tiny negative squared
 * distances are clamped to 0. A zero query row stays zero (distance 1 to every unit training row). Rows
 * with NaN or infinity score NaN.
 *
 * @param features `[N, D]`
 * @returns scores `[N]`
 */
export function knnScore(model: KnnModel, features: Matrix): Float32Array {
  assertMatrix(features, 'features');
  const { k, train, trainSquaredNorms } = model;
  const D = train.cols;
  if (features.cols !== D) throw new OpnpError('SHAPE_MISMATCH', 'features width must equal the fitted dimension D', { expected: `N x ${D}`, actual: `${features.rows} x ${features.cols}` });
  const N = features.rows;
  const nTrain = train.rows;
  const out = new Float32Array(N);
  if (N === 0) return out;
  const B = blockRows(nTrain);
  const h = features.data;
  const zq = new Float32Array(B * D);
  const zq64 = new Float64Array(B * D);
  const qNorms = new Float64Array(B);
  const d2 = new Float64Array(nTrain);
  const d2copy = new Float64Array(nTrain);
  const buf = new Float64Array(D);
  const Z = train.data;
  for (let start = 0; start < N; start += B) {
    const rows = Math.min(B, N - start);
    for (let q = 0; q < rows; q++) {
      normaliseRow(h, (start + q) * D, D, buf);
      zq64.set(buf, q * D);
      let s = 0;
      for (let j = 0; j < D; j++) {
        const v = Math.fround(buf[j]!);
        zq[q * D + j] = v;
        s += v * v;
      }
      qNorms[q] = s;
    }
    const sims = gemmSync({ rows, cols: D, data: zq.subarray(0, rows * D) }, train, { transB: true });
    for (let q = 0; q < rows; q++) {
      const n = start + q;
      if (hasNonFinite(h, n * D, D)) {
        out[n] = NaN;
        continue;
      }
      const base = q * nTrain;
      for (let t = 0; t < nTrain; t++) d2[t] = qNorms[q]! + trainSquaredNorms[t]! - 2 * sims.data[base + t]!;
      d2copy.set(d2);
      const kth = selectKth(d2copy, nTrain, k);
      let index = 0;
      while (index < nTrain - 1 && d2[index] !== kth) index++;
      // Exact float64 distance to the selected neighbour.
      let exact = 0;
      const zb = index * D;
      for (let j = 0; j < D; j++) {
        const diff = zq64[q * D + j]! - Z[zb + j]!;
        exact += diff * diff;
      }
      out[n] = 0 - Math.sqrt(Math.max(0, exact)); // +0, not -0, for a zero distance
    }
  }
  return out;
}
