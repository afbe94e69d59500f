/**
 * NNGuide, nearest-neighbour guidance (docs/numerics.md#nnguide): the energy of a sample times the mean of its `k`
 * largest inner products with a bank of training features, each L2-normalised and scaled by its own energy.
 *
 * Paper: Park, Jung & Teoh, "Nearest Neighbor Guidance for Out-of-Distribution Detection" (ICCV 2023). Official
 * code: github.com/roomo7time/nnguide `ood_detectors/nnguide.py` (`scaled_feas_train = feas_train *
 * logsumexp(logits_train)[:, None]`, `score = knn_score(scaled_feas_train, feas, k) * logsumexp(logits)` with
 * `knn_score` the mean of the `k` largest inner products, faiss `IndexFlatIP`), `configs/detector/nnguide.yaml`
 * (`knn_k: 10`), `model_engines/assets.py` (features `F.normalize`d, i.e. divided by `max(||h||, 1e-12)`),
 * `dataloaders/factory.py` (the bank is a random `bankset_ratio = 0.01` of the training set). OpenOOD
 * `openood/postprocessors/nnguide_postprocessor.py` uses `K = 100` and the first 1% of the training batches, and
 * adds `1e-10` after normalising. The bank subset is chosen by the caller (the pipeline's `bankFraction`).
 */
import { selectKth } from './knn.js';
import { OpnpError } from '../errors.js';
import { rowEnergy } from '../internal/logsumexp.js';
import { assertMatrix, type Matrix } from '../matrix.js';
import { gemm64ABt } from './gemm64.js';
import { assertIntegerInRange, assertNoNaN, assertSameRows, hasNonFinite } from './validate.js';

/** A fitted NNGuide bank. */
export interface NnGuideModel {
  /** Neighbours averaged. */
  readonly k: number;
  /** Bank `z_i * energy_i`, `N_bank x D` row-major float64. */
  readonly bank: Float64Array;
  readonly bankSize: number;
  readonly dim: number;
}

/** Options of {@link fitNnGuide}. */
export interface NnGuideOptions {
  /** Neighbours averaged, an integer in `[1, N_bank]`. Default 10 (the official `knn_k`). */
  k?: number;
}

const NORM_EPS = 1e-12;

/** `h[offset .. offset+D) / max(||h||, 1e-12)` in float64 into `out` (torch `F.normalize`). */
function normalise(h: Float32Array, offset: number, D: number, out: Float64Array, outOffset: number): void {
  let s = 0;
  for (let j = 0; j < D; j++) s += h[offset + j]! * h[offset + j]!;
  const inv = 1 / Math.max(Math.sqrt(s), NORM_EPS);
  for (let j = 0; j < D; j++) out[outOffset + j] = h[offset + j]! * inv;
}

/**
 * Builds the guidance bank from training (bank) features and their logits: `z_i * logsumexp(f_i)` with
 * `z_i = h_i / max(||h_i||, 1e-12)`, float64.
 *
 * @param bankFeatures `[N_bank, D]`
 * @param bankLogits `[N_bank, C]` of the same samples
 * @throws OpnpError `EMPTY_INPUT` (no rows), `SHAPE_MISMATCH`, `INVALID_ARGUMENT` (k), `NON_FINITE`
 */
export function fitNnGuide(bankFeatures: Matrix, bankLogits: Matrix, options: NnGuideOptions = {}): NnGuideModel {
  assertMatrix(bankFeatures, 'bankFeatures');
  assertMatrix(bankLogits, 'bankLogits');
  assertSameRows(bankFeatures, bankLogits, 'bankFeatures', 'bankLogits');
  const { rows: N, cols: D, data } = bankFeatures;
  if (N === 0) throw new OpnpError('EMPTY_INPUT', 'fitNnGuide needs at least one bank sample');
  const k = options.k ?? 10;
  assertIntegerInRange(k, 1, N, 'NNGuide k (at most the number of bank samples)');
  assertNoNaN(data, 'bankFeatures', false);
  assertNoNaN(bankLogits.data, 'bankLogits', false);
  const C = bankLogits.cols;
  const bank = new Float64Array(N * D);
  for (let n = 0; n < N; n++) {
    normalise(data, n * D, D, bank, n * D);
    const e = rowEnergy(bankLogits.data, n * C, C, 1);
    for (let j = 0; j < D; j++) bank[n * D + j] = bank[n * D + j]! * e;
  }
  return { k, bank, bankSize: N, dim: D };
}

/** Sum of the `k` largest of `a[0 .. n)` (exact with ties); reorders `a`. */
function sumTopK(a: Float64Array, n: number, k: number): number {
  // The k-th largest value t (KNN's quickselect), then everything above it plus t for the remaining places.
  const t = selectKth(a, n, n - k + 1);
  let s = 0;
  let above = 0;
  for (let i = 0; i < n; i++) {
    if (a[i]! > t) {
      s += a[i]!;
      above++;
    }
  }
  return s + (k - above) * t;
}

const BLOCK_ROWS = 128;

/**
 * NNGuide score `energy(f) * mean(top-k_i z . bank_i)` with `z = h / max(||h||, 1e-12)` (higher = more
 * in-distribution). Inner products are float64 (blocks of 128 query rows); the top-`k` mean counts tied values
 * once per place. Rows with NaN or infinity in features or logits score NaN.
 *
 * @param features `[N, D]`
 * @param logits `[N, C]` of the same samples
 * @returns scores `[N]`
 */
export function nnGuideScore(model: NnGuideModel, features: Matrix, logits: Matrix): Float32Array {
  assertMatrix(features, 'features');
  assertMatrix(logits, 'logits');
  assertSameRows(features, logits, 'features', 'logits');
  const { k, bank, bankSize: M, dim: D } = model;
  if (features.cols !== D) throw new OpnpError('SHAPE_MISMATCH', 'features width must equal the fitted dimension D', { expected: `N x ${D}`, actual: `${features.rows} x ${features.cols}` });
  const { rows: N, data } = features;
  const C = logits.cols;
  const out = new Float32Array(N);
  const z = new Float64Array(BLOCK_ROWS * D);
  const sims = new Float64Array(BLOCK_ROWS * M);
  for (let start = 0; start < N; start += BLOCK_ROWS) {
    const rows = Math.min(BLOCK_ROWS, N - start);
    for (let q = 0; q < rows; q++) normalise(data, (start + q) * D, D, z, q * D);
    sims.fill(0, 0, rows * M);
    gemm64ABt(z.subarray(0, rows * D), bank, sims, rows, M, D);
    for (let q = 0; q < rows; q++) {
      const n = start + q;
      if (hasNonFinite(data, n * D, D) || hasNonFinite(logits.data, n * C, C)) {
        out[n] = NaN;
        continue;
      }
      const guidance = sumTopK(sims.subarray(q * M, (q + 1) * M), M, k) / k;
      out[n] = guidance * rowEnergy(logits.data, n * C, C, 1);
    }
  }
  return out;
}
