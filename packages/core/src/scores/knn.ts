/**
 * Deep nearest-neighbour score (Sun et al., ICML 2022), docs/numerics.md#knn: `-|| z - z_(k) ||` with
 * `z = h / ||h||` and `z_(k)` the k-th nearest normalised training feature (Euclidean).
 *
 * Queries go through a GEMM kernel in row blocks sized from a memory budget (default 64 MiB of float32
 * products); each row's k-th candidate is found by a partial selection (quickselect on a float64 copy,
 * no full sort), and its distance is recomputed exactly in float64. {@link knnScore} is synchronous (portable
 * kernel or another sync kernel); {@link knnScoreAsync} takes any kernel, e.g. `await resolveGemmKernel()`,
 * and overlaps the next block's product with the current block's selection.
 */
import { OpnpError } from '../errors.js';
import { gemm, gemmSync, portableGemmKernel, type GemmKernel, type SyncGemmKernel } from '../gemm.js';
import { assertMatrix, type Matrix } from '../matrix.js';
import { assertIntegerInRange, assertNoNaN, hasNonFinite } from './validate.js';

/**
 * A fitted KNN model: the L2-normalised training features. Made by {@link fitKnn} only: it holds typed arrays, so
 * a JSON round trip breaks it (the scoring functions then throw `INVALID_ARGUMENT`; fit it again instead).
 */
export interface KnnModel {
  /** Neighbour rank `k` (1 = nearest), at most `train.rows` (the scoring functions refuse a larger one; no cap). */
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

/** Default memory budget of the similarity block of {@link knnScore}: 64 MiB of float32 products. */
export const KNN_BLOCK_BUDGET_BYTES = 64 * 1024 * 1024;

/** Options of {@link knnScore} (the kernel must be synchronous). */
export interface KnnScoreOptions {
  /** Synchronous GEMM kernel for the query-by-training products. Default the portable kernel. */
  kernel?: SyncGemmKernel;
  /**
   * Bytes of float32 products per block (`rows x N_train x 4`), at least one query row per block.
   * Default {@link KNN_BLOCK_BUDGET_BYTES}. Does not change the scores.
   */
  blockBudgetBytes?: number;
}

/** Options of {@link knnScoreAsync}. */
export interface KnnScoreAsyncOptions {
  /** GEMM kernel, e.g. `await resolveGemmKernel()`. Default the portable kernel. */
  kernel?: GemmKernel;
  /** As {@link KnnScoreOptions.blockBudgetBytes}. */
  blockBudgetBytes?: number;
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

/** The `k`-th smallest value (1-based) of `a[0 .. n)`; reorders `a`. Hoare-style quickselect (no full sort). */
export function selectKth(a: Float64Array, n: number, k: number): number {
  let lo = 0;
  let hi = n - 1;
  const target = k - 1;
  while (lo < hi) {
    // Median of three as the pivot value keeps sorted and tied inputs linear on average.
    const x = a[lo]!, y = a[(lo + hi) >>> 1]!, z = a[hi]!;
    const pivot = x < y ? (y < z ? y : x < z ? z : x) : x < z ? x : y < z ? z : y;
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

/** Query rows per block: `rows x N_train` float32 products within `budgetBytes`, at least 1. */
export function knnBlockRows(nTrain: number, budgetBytes = KNN_BLOCK_BUDGET_BYTES): number {
  if (!(budgetBytes > 0)) throw new OpnpError('INVALID_ARGUMENT', 'KNN blockBudgetBytes must be a positive number', { actual: budgetBytes });
  return Math.max(1, Math.floor(budgetBytes / (4 * Math.max(1, nTrain))));
}

/** Per-call state shared by the sync and async drivers. */
interface KnnRun {
  readonly model: KnnModel;
  readonly h: Float32Array;
  readonly D: number;
  readonly out: Float32Array;
  readonly d2: Float64Array;
  readonly work: Float64Array;
  readonly buf: Float64Array;
}

function describeType(value: unknown): string {
  if (value === null) return 'null';
  if (ArrayBuffer.isView(value)) return value.constructor.name;
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'a plain object' : typeof value;
}

/**
 * Throws `INVALID_ARGUMENT` unless `model` has the typed arrays {@link fitKnn} returns. A model that went through
 * `JSON.stringify` / `JSON.parse` has plain objects instead of `Float32Array` / `Float64Array`, and there is no
 * deserialiser: it must be fitted again.
 */
function assertKnnModel(model: KnnModel): void {
  const train: unknown = model?.train;
  const data: unknown = (train as Partial<Matrix> | undefined)?.data;
  const norms: unknown = model?.trainSquaredNorms;
  if (data instanceof Float32Array && norms instanceof Float64Array && Number.isInteger(model.k)) {
    assertMatrix(model.train, 'model.train');
    if (norms.length === model.train.rows) return assertKnnRank(model.k, model.train.rows);
  }
  const problem = !(data instanceof Float32Array)
    ? `model.train.data is ${describeType(data)}, not a Float32Array`
    : !(norms instanceof Float64Array)
      ? `model.trainSquaredNorms is ${describeType(norms)}, not a Float64Array`
      : `model.k is ${String(model.k)} and model.trainSquaredNorms has ${norms.length} entries for ${model.train.rows} training rows`;
  throw new OpnpError('INVALID_ARGUMENT', `model is not a KnnModel as fitKnn returns it: ${problem}`, {
    hint:
      'A KnnModel cannot be saved as JSON (JSON.stringify turns its typed arrays into plain objects) and there is no function to restore one: ' +
      'keep the model in memory, or save the training features (e.g. as .npy) and call fitKnn(trainFeatures, { k }) again',
  });
}

/**
 * Throws `INVALID_ARGUMENT` unless `1 <= k <= rows`: a model whose `k` was changed after {@link fitKnn} (e.g.
 * `{ ...model, k }` to reuse the normalised bank) has no k-th neighbour beyond its training rows, and capping it
 * silently would score with another k than the one asked for.
 */
function assertKnnRank(k: number, rows: number): void {
  if (k >= 1 && k <= rows) return;
  throw new OpnpError('INVALID_ARGUMENT', `KNN k is ${k} but the model has ${rows} training row${rows === 1 ? '' : 's'}: k must be from 1 to the number of training rows`, {
    hint: `Set k from 1 to ${rows}, or fit the model on more training features`,
  });
}

function checkFeatures(model: KnnModel, features: Matrix): void {
  assertKnnModel(model);
  assertMatrix(features, 'features');
  const D = model.train.cols;
  if (features.cols !== D) throw new OpnpError('SHAPE_MISMATCH', 'features width must equal the fitted dimension D', { expected: `N x ${D}`, actual: `${features.rows} x ${features.cols}` });
}

function startRun(model: KnnModel, features: Matrix): KnnRun {
  const nTrain = model.train.rows;
  const D = model.train.cols;
  return { model, h: features.data, D, out: new Float32Array(features.rows), d2: new Float64Array(nTrain), work: new Float64Array(nTrain), buf: new Float64Array(D) };
}

/** Normalised float32 query rows `[start, start + rows)` as a matrix (fresh buffer: a kernel may still read the last one). */
function queryBlock(run: KnnRun, start: number, rows: number): Matrix {
  const { h, D, buf } = run;
  const zq = new Float32Array(rows * D);
  for (let q = 0; q < rows; q++) {
    normaliseRow(h, (start + q) * D, D, buf);
    for (let j = 0; j < D; j++) zq[q * D + j] = buf[j]!;
  }
  return { rows, cols: D, data: zq };
}

/**
 * Scores query rows `[start, start + rows)` from their similarities `sims [rows x N_train]`: float64 squared
 * distances `||a||^2 + ||b||^2 - 2 a.b`, the k-th smallest by quickselect on a copy, the lowest training index
 * among equal candidates, and the exact float64 distance to it.
 */
function scoreBlock(run: KnnRun, sims: Float32Array, start: number, rows: number): void {
  const { model, h, D, out, d2, work, buf } = run;
  const { k, train, trainSquaredNorms } = model;
  const nTrain = train.rows;
  const Z = train.data;
  for (let q = 0; q < rows; q++) {
    const n = start + q;
    if (hasNonFinite(h, n * D, D)) {
      out[n] = NaN;
      continue;
    }
    normaliseRow(h, n * D, D, buf);
    let qNorm = 0;
    for (let j = 0; j < D; j++) {
      const v = Math.fround(buf[j]!);
      qNorm += v * v;
    }
    const base = q * nTrain;
    for (let t = 0; t < nTrain; t++) {
      const v = qNorm + trainSquaredNorms[t]! - 2 * sims[base + t]!;
      d2[t] = v;
      work[t] = v;
    }
    const kth = selectKth(work, nTrain, k);
    let index = 0;
    while (index < nTrain - 1 && d2[index] !== kth) index++;
    // Exact float64 distance to the selected neighbour.
    let exact = 0;
    const zb = index * D;
    for (let j = 0; j < D; j++) {
      const diff = buf[j]! - Z[zb + j]!;
      exact += diff * diff;
    }
    out[n] = 0 - Math.sqrt(Math.max(0, exact)); // +0, not -0, for a zero distance
  }
}

/**
 * KNN score `-|| z - z_(k) ||` (higher = more in-distribution), synchronously.
 *
 * Squared distances come from `||a||^2 + ||b||^2 - 2 a.b` through the GEMM (float32 products), in row blocks
 * so memory stays bounded; the k-th smallest is selected without sorting, then its distance is recomputed
 * exactly in float64 (so a query equal to a training point scores exactly 0 when it is the k-th neighbour).
 * Tiny negative squared distances are clamped to 0. A zero query row stays zero (distance 1 to every unit
 * training row). Rows with NaN or infinity score NaN.
 *
 * @param features `[N, D]`
 * @returns scores `[N]`
 * @throws OpnpError `INVALID_ARGUMENT` when `model.k` is not in `[1, model.train.rows]` (no cap: a model whose `k` was
 *   raised past its training rows is refused) or the model is not one {@link fitKnn} returned
 */
export function knnScore(model: KnnModel, features: Matrix, options: KnnScoreOptions = {}): Float32Array {
  checkFeatures(model, features);
  const kernel = options.kernel ?? portableGemmKernel;
  const B = knnBlockRows(model.train.rows, options.blockBudgetBytes);
  const run = startRun(model, features);
  const N = features.rows;
  for (let start = 0; start < N; start += B) {
    const rows = Math.min(B, N - start);
    const sims = gemmSync(queryBlock(run, start, rows), model.train, { transB: true }, kernel);
    scoreBlock(run, sims.data, start, rows);
  }
  return run.out;
}

/**
 * {@link knnScore} through any GEMM kernel (same scores up to the kernel's float32 rounding of the products).
 * The product of the next block is requested before the current block is scored, so an asynchronous kernel
 * (onnxruntime) computes while JavaScript selects.
 *
 * @throws OpnpError as {@link knnScore}
 */
export async function knnScoreAsync(model: KnnModel, features: Matrix, options: KnnScoreAsyncOptions = {}): Promise<Float32Array> {
  checkFeatures(model, features);
  const kernel = options.kernel ?? portableGemmKernel;
  const B = knnBlockRows(model.train.rows, options.blockBudgetBytes);
  const run = startRun(model, features);
  const N = features.rows;
  const request = (start: number): Promise<Matrix> => gemm(kernel, queryBlock(run, start, Math.min(B, N - start)), model.train, { transB: true });
  let pending = N > 0 ? request(0) : undefined;
  for (let start = 0; start < N; start += B) {
    const sims = await pending!;
    pending = start + B < N ? request(start + B) : undefined;
    scoreBlock(run, sims.data, start, Math.min(B, N - start));
  }
  return run.out;
}
