/**
 * Feature transforms applied before the head (docs/numerics.md#scores: ReAct clipping, ASH-p/-b/-s; and SCALE).
 * Each returns a new matrix and leaves its input unmodified.
 */
import { roundHalfEven } from '../round.js';
import { OpnpError } from '../errors.js';
import { assertMatrix, type Matrix } from '../matrix.js';
import { assertPercentage, percentile } from '../percentile.js';
import { hasNaN } from './validate.js';
import { assertReactClip } from '../react-clip.js';

/**
 * The ReAct clipping threshold `c = P(H_train, q)`: the `q`-th percentile (numpy 'linear') of all entries of
 * the training features.
 *
 * @param trainFeatures `[N, D]` training (or a subset of training) features
 * @param q percentile in percent, default 90
 * @throws OpnpError `EMPTY_INPUT` for no entries, `NON_FINITE` if an entry is NaN
 */
export function reactThreshold(trainFeatures: Matrix, q = 90): number {
  assertMatrix(trainFeatures, 'trainFeatures');
  assertPercentage(q, 'ReAct percentile q');
  return percentile(trainFeatures.data, q);
}

export { assertReactClip };

/**
 * ReAct: `min(h, c)` entry-wise (a new matrix; NaN entries stay NaN).
 *
 * @param features `[N, D]`
 * @param clip the threshold `c >= 0` (see {@link reactThreshold}); `Infinity` leaves features unchanged
 * @returns clipped features `[N, D]`
 * @throws OpnpError `INVALID_ARGUMENT` for a NaN or negative `clip` (a negative clip would give every ReLU feature
 * row, and so every sample, the same score), `SHAPE_MISMATCH` for a malformed matrix
 */
export function react(features: Matrix, clip: number): Matrix {
  assertMatrix(features, 'features');
  assertReactClip(clip);
  const src = features.data;
  const out = new Float32Array(src.length);
  const c = Math.fround(clip);
  for (let i = 0; i < src.length; i++) {
    const v = src[i]!;
    out[i] = v > c ? c : v;
  }
  return { rows: features.rows, cols: features.cols, data: out };
}

/** The ASH variants: `p` prune only, `b` binarise kept entries to `s1/k`, `s` scale kept entries by `exp(s1/s2)`. */
export type AshVariant = 'p' | 'b' | 's';

/** Options of {@link ash}. */
export interface AshOptions {
  /** Which ASH variant. */
  variant: AshVariant;
  /** Pruning percentage `p` in percent; the top `D - round(D * p / 100)` entries are kept. Default 90. */
  percentile?: number;
}

/**
 * Number of entries ASH keeps per sample: `k = D - round(D * p / 100)` with numpy's round-half-to-even
 * (the ASH reference code computes `n - int(np.round(n * percentile / 100.0))`).
 */
export function ashKeepCount(D: number, p: number): number {
  assertPercentage(p, 'ASH percentile');
  return D - roundHalfEven((D * p) / 100);
}

/**
 * Marks the top-`k` entries of `row[offset .. offset+D)` in `keep`. Ties at the boundary keep the entries
 * with the lowest index first (a stable sort on descending value); returns nothing, `scratch` has length D.
 */
function markTopK(data: Float32Array, offset: number, D: number, k: number, scratch: Float32Array, keep: Uint8Array): void {
  keep.fill(0);
  if (k <= 0) return;
  if (k >= D) {
    keep.fill(1);
    return;
  }
  scratch.set(data.subarray(offset, offset + D));
  scratch.sort(); // ascending, native numeric sort
  const kth = scratch[D - k]!; // the k-th largest value
  let greater = 0;
  for (let j = 0; j < D; j++) if (data[offset + j]! > kth) greater++;
  let equalQuota = k - greater;
  for (let j = 0; j < D; j++) {
    const v = data[offset + j]!;
    if (v > kth) keep[j] = 1;
    else if (v === kth && equalQuota > 0) {
      keep[j] = 1;
      equalQuota--;
    }
  }
}

/**
 * ASH (Djurisic et al., ICLR 2023), docs/numerics.md#ash: per sample keep the top
 * `k = D - round(D * p / 100)` entries of `h` and zero the rest; then
 * - `'p'`: kept entries unchanged;
 * - `'b'`: kept entries set to `s1 / k`, `s1` the row sum before pruning;
 * - `'s'`: kept entries multiplied by `exp(s1 / s2)`, `s2` the row sum after pruning.
 *
 * Decisions where docs/numerics.md left a choice:
 * - Ties at the top-`k` boundary keep the lowest indices first (stable descending sort). The ASH reference
 *   uses `torch.topk`, whose tie order is unspecified, so tied boundaries may differ from it.
 * - `round` is numpy's round-half-to-even (see {@link ashKeepCount}).
 * - `k = 0` (p = 100) gives an all-zero row for every variant.
 * - `'s'` with `s2 == 0` (the kept entries sum to zero) leaves the pruned row unscaled instead of producing
 *   NaN or infinity.
 * - A row containing NaN becomes all NaN. Sums are float64; `exp(s1/s2)` may overflow float32 to infinity
 *   exactly as in the float32 reference.
 *
 * @param features `[N, D]`
 * @returns transformed features `[N, D]` (new matrix)
 */
export function ash(features: Matrix, options: AshOptions): Matrix {
  assertMatrix(features, 'features');
  const { variant } = options;
  if (variant !== 'p' && variant !== 'b' && variant !== 's') {
    throw new OpnpError('INVALID_ARGUMENT', 'Unknown ASH variant', { expected: "'p' | 'b' | 's'", actual: variant as unknown });
  }
  const p = options.percentile ?? 90;
  const { rows: N, cols: D, data } = features;
  const k = ashKeepCount(D, p);
  const out = new Float32Array(data.length);
  const scratch = new Float32Array(D);
  const keep = new Uint8Array(D);
  for (let n = 0; n < N; n++) {
    const offset = n * D;
    if (hasNaN(data, offset, D)) {
      out.fill(NaN, offset, offset + D);
      continue;
    }
    if (k === 0) continue;
    markTopK(data, offset, D, k, scratch, keep);
    let s1 = 0;
    let s2 = 0;
    for (let j = 0; j < D; j++) {
      const v = data[offset + j]!;
      s1 += v;
      if (keep[j]) s2 += v;
    }
    if (variant === 'b') {
      const fill = s1 / k;
      for (let j = 0; j < D; j++) if (keep[j]) out[offset + j] = fill;
    } else {
      const factor = variant === 's' && s2 !== 0 ? Math.exp(s1 / s2) : 1;
      for (let j = 0; j < D; j++) if (keep[j]) out[offset + j] = data[offset + j]! * factor;
    }
  }
  return { rows: N, cols: D, data: out };
}

/** Options of {@link scale}. */
export interface ScaleOptions {
  /** Percentage `p` in percent: `s2` sums the top `D - round(D * p / 100)` entries. Default 85. */
  percentile?: number;
}

/**
 * SCALE (Xu et al., ICLR 2024): multiplies every entry of `h` (nothing is pruned) by `exp(s1 / s2)`, with
 * `s1` the row sum and `s2` the sum of the top `k = D - round(D * p / 100)` entries (the ASH-S factor).
 * Follow with energy of the original head for the SCALE score (see `composeScore`).
 *
 * Same rules as {@link ash}: lowest-index-first ties (only the sum matters, so ties cannot change the
 * result), factor 1 when `s2 == 0` (including `k = 0`), NaN rows stay NaN.
 *
 * @param features `[N, D]`
 * @returns scaled features `[N, D]` (new matrix)
 */
export function scale(features: Matrix, options: ScaleOptions = {}): Matrix {
  assertMatrix(features, 'features');
  const p = options.percentile ?? 85;
  const { rows: N, cols: D, data } = features;
  const k = ashKeepCount(D, p);
  const out = new Float32Array(data.length);
  const scratch = new Float32Array(D);
  for (let n = 0; n < N; n++) {
    const offset = n * D;
    if (hasNaN(data, offset, D)) {
      out.fill(NaN, offset, offset + D);
      continue;
    }
    let s1 = 0;
    for (let j = 0; j < D; j++) s1 += data[offset + j]!;
    let s2 = 0;
    if (k > 0) {
      scratch.set(data.subarray(offset, offset + D));
      scratch.sort();
      for (let j = D - k; j < D; j++) s2 += scratch[j]!;
    }
    const factor = s2 !== 0 ? Math.exp(s1 / s2) : 1;
    for (let j = 0; j < D; j++) out[offset + j] = data[offset + j]! * factor;
  }
  return { rows: N, cols: D, data: out };
}
