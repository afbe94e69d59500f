/**
 * RMDS, relative Mahalanobis distance (docs/numerics.md#rmds): `max_c (-d_c(h) + d_0(h)) = d_0(h) - min_c d_c(h)`,
 * the class-conditional Mahalanobis distance (class means, shared covariance) relative to the distance under one
 * background Gaussian fitted to all training features.
 *
 * Paper: Ren, Fort, Liu, Roy, Padhy & Lakshminarayanan, "A Simple Fix to Mahalanobis Distance for Improving
 * Near-OOD Detection" (ICML 2021 UDL workshop, arXiv:2106.09022). Official code (as OpenOOD v1.5 implements it):
 * OpenOOD `openood/postprocessors/rmds_postprocessor.py` (`RMDSPostprocessor`, `configs/postprocessors/rmds.yml`,
 * no hyper-parameters): `EmpiricalCovariance` (normalised by `N`) of the class-centred features and of the features
 * centred at the overall mean, their `precision_`, and `conf = max_c (class_score_c - background_score)`.
 * pytorch-ood `detector/rmd.py` computes the same up to sign and a `1e-6` ridge. Both covariances are inverted with
 * core's pseudo-inverse rule (`fitMahalanobis`: eigenvalues below `relativeTolerance` times the largest dropped),
 * where sklearn uses `pinvh` with its own cutoff.
 */
import { OpnpError } from '../errors.js';
import { assertMatrix, type Matrix } from '../matrix.js';
import { gemm64ABt } from './gemm64.js';
import { fitMahalanobis, type MahalanobisModel, type MahalanobisOptions } from './mahalanobis.js';

/** A fitted RMDS model: the class-conditional and the background Gaussian. */
export interface RmdsModel {
  /** Class means and the shared covariance of the class-centred features. */
  readonly classes: MahalanobisModel;
  /** One Gaussian: the overall mean and the covariance of the features centred at it. */
  readonly background: MahalanobisModel;
}

/**
 * Fits both Gaussians with {@link fitMahalanobis} (float64; the background is the one-class model). Rows labelled
 * `-1` (unknown) are left out of both. As in `fitMahalanobis`, a class in `[0, numClasses)` without labelled rows is
 * `INVALID_ARGUMENT` unless `options.allowEmptyClasses`.
 *
 * @param trainFeatures `[N, D]`
 * @param labels length `N`, integers in `[-1, numClasses)`
 * @throws OpnpError `EMPTY_INPUT` (no labelled rows), `SHAPE_MISMATCH`, `INVALID_ARGUMENT`, `NON_FINITE`
 */
export function fitRmds(trainFeatures: Matrix, labels: ArrayLike<number>, numClasses: number, options: MahalanobisOptions = {}): RmdsModel {
  assertMatrix(trainFeatures, 'trainFeatures');
  const { rows: N, cols: D, data } = trainFeatures;
  if (labels.length !== N) throw new OpnpError('SHAPE_MISMATCH', 'labels must have one entry per training sample', { expected: N, actual: labels.length });
  const known: number[] = [];
  for (let n = 0; n < N; n++) if (labels[n] !== -1) known.push(n);
  let features = trainFeatures;
  let knownLabels: ArrayLike<number> = labels;
  if (known.length < N) {
    const sub = new Float32Array(known.length * D);
    known.forEach((n, i) => sub.set(data.subarray(n * D, (n + 1) * D), i * D));
    features = { rows: known.length, cols: D, data: sub };
    knownLabels = Int32Array.from(known, (n) => labels[n]!);
  }
  if (features.rows === 0) throw new OpnpError('EMPTY_INPUT', 'fitRmds needs at least one labelled training sample');
  const classes = fitMahalanobis(features, knownLabels, numClasses, options);
  const background = fitMahalanobis(features, new Int32Array(features.rows), 1, options);
  return { classes, background };
}

const BLOCK_ROWS = 256;

/** Squared whitened distances `||y - m_c||^2` (clamped at 0) of rows `[start, start + rows)`, `rows x C`, float64. */
function blockDistances(model: MahalanobisModel, h: Float32Array, start: number, rows: number): Float64Array {
  const { dim: D, rank: r, numClasses: C, centre, whitenedMeans: M, eigenvalues, eigenvectors } = model;
  const whiten = new Float64Array(r * D);
  for (let i = 0; i < r; i++) {
    const s = 1 / Math.sqrt(eigenvalues[i]!);
    for (let j = 0; j < D; j++) whiten[i * D + j] = eigenvectors[i * D + j]! * s;
  }
  const block = new Float64Array(rows * D);
  for (let q = 0; q < rows; q++) for (let j = 0; j < D; j++) block[q * D + j] = h[(start + q) * D + j]! - centre[j]!;
  const y = new Float64Array(rows * r);
  gemm64ABt(block, whiten, y, rows, r, D);
  const out = new Float64Array(rows * C);
  for (let q = 0; q < rows; q++) {
    for (let c = 0; c < C; c++) {
      let s = 0;
      for (let i = 0; i < r; i++) {
        const d = y[q * r + i]! - M[c * r + i]!;
        s += d * d;
      }
      out[q * C + c] = s;
    }
  }
  return out;
}

/**
 * RMDS score `d_0(h) - min_c d_c(h)` (higher = more in-distribution), all float64 in the whitened eigenbases of
 * the two pseudo-inverses; classes without training samples are skipped. Rows with NaN score NaN.
 *
 * @param features `[N, D]`
 * @returns scores `[N]`
 */
export function rmdsScore(model: RmdsModel, features: Matrix): Float32Array {
  assertMatrix(features, 'features');
  const { classes, background } = model;
  const D = classes.dim;
  if (features.cols !== D) throw new OpnpError('SHAPE_MISMATCH', 'features width must equal the fitted dimension D', { expected: `N x ${D}`, actual: `${features.rows} x ${features.cols}` });
  const N = features.rows;
  const C = classes.numClasses;
  const out = new Float32Array(N);
  for (let start = 0; start < N; start += BLOCK_ROWS) {
    const rows = Math.min(BLOCK_ROWS, N - start);
    const dc = blockDistances(classes, features.data, start, rows);
    const d0 = blockDistances(background, features.data, start, rows);
    for (let q = 0; q < rows; q++) {
      let best = Infinity;
      for (let c = 0; c < C; c++) if (classes.classCounts[c]! > 0) best = Math.min(best, dc[q * C + c]!);
      // NaN features make every distance NaN; Math.min propagates it.
      out[start + q] = d0[q]! - best;
    }
  }
  return out;
}
