/**
 * Scores computed from logits alone (docs/numerics.md#scores: `msp`, `maxlogit`, `energy`, and `gradnorm`, which
 * also needs the features). Higher = more in-distribution for every score.
 *
 * All math is float64 per row; results are rounded once into a `Float32Array`. Logits may be `-Infinity`
 * (a masked class); a NaN anywhere in a row makes that row's score NaN (scores propagate NaN per sample
 * instead of throwing, so one bad sample does not abort a whole evaluation).
 */
import { OpnpError } from '../errors.js';
import { rowEnergy, rowSoftmax } from '../internal/logsumexp.js';
import { assertMatrix, type Matrix } from '../matrix.js';
import { assertLogits, assertSameRows, assertTemperature, hasNaN } from './validate.js';

/** The logit scores a composed score can end with (docs/numerics.md#score-composition: energy by default, msp, maxlogit). */
export type LogitScore = 'energy' | 'msp' | 'maxlogit';

/** The logit scores, in a stable order (for CLIs and validation). */
export const LOGIT_SCORES: readonly LogitScore[] = ['energy', 'msp', 'maxlogit'];

/** Options of the temperature-dependent logit scores. */
export interface TemperatureOptions {
  /** Softmax / energy temperature `T > 0`. Default 1. */
  temperature?: number;
}

/** Row maximum with NaN propagation. */
function rowMax(data: Float32Array, offset: number, C: number): number {
  let max = -Infinity;
  for (let c = 0; c < C; c++) {
    const v = data[offset + c]!;
    if (Number.isNaN(v)) return NaN;
    if (v > max) max = v;
  }
  return max;
}

/**
 * Maximum softmax probability `max_c p_c(T)` (docs/numerics.md#msp at the default `T = 1`).
 *
 * A row whose maximum is not finite (all `-Infinity`, or any `+Infinity`) or that contains NaN scores NaN.
 *
 * @param logits `[N, C]`
 * @returns scores `[N]`
 * @example
 * ```ts
 * msp(matrix(1, 2, [0, 0])); // Float32Array [0.5]
 * ```
 */
export function msp(logits: Matrix, options: TemperatureOptions = {}): Float32Array {
  const T = options.temperature ?? 1;
  assertTemperature(T);
  assertLogits(logits);
  const { rows: N, cols: C, data } = logits;
  const out = new Float32Array(N);
  const p = new Float64Array(C);
  for (let n = 0; n < N; n++) {
    const offset = n * C;
    const max = rowMax(data, offset, C);
    if (!Number.isFinite(max)) {
      out[n] = NaN;
      continue;
    }
    rowSoftmax(data, offset, C, T, p, 0);
    let best = 0;
    for (let c = 0; c < C; c++) if (p[c]! > best) best = p[c]!;
    out[n] = best;
  }
  return out;
}

/**
 * Maximum logit `max_c f_c` (docs/numerics.md#maxlogit). NaN in a row gives NaN; infinities pass through.
 *
 * @param logits `[N, C]`
 * @returns scores `[N]`
 */
export function maxLogit(logits: Matrix): Float32Array {
  assertLogits(logits);
  const { rows: N, cols: C, data } = logits;
  const out = new Float32Array(N);
  for (let n = 0; n < N; n++) out[n] = rowMax(data, n * C, C);
  return out;
}

/**
 * Energy score (negative free energy) `S = T * logsumexp(f / T)` (docs/numerics.md#energy), computed stably
 * (max-shifted, float64): logits of `±1000` give finite, exact answers. `-Infinity` logits contribute
 * nothing; a row of only `-Infinity` scores `-Infinity`, a row with `+Infinity` scores `+Infinity`, a row
 * with NaN scores NaN.
 *
 * @param logits `[N, C]`
 * @returns scores `[N]`
 * @example
 * ```ts
 * energy(matrix(1, 2, [1000, 1000])); // [1000 + ln 2]
 * ```
 */
export function energy(logits: Matrix, options: TemperatureOptions = {}): Float32Array {
  const T = options.temperature ?? 1;
  assertTemperature(T);
  assertLogits(logits);
  const { rows: N, cols: C, data } = logits;
  const out = new Float32Array(N);
  for (let n = 0; n < N; n++) {
    const offset = n * C;
    out[n] = hasNaN(data, offset, C) ? NaN : rowEnergy(data, offset, C, T);
  }
  return out;
}

/**
 * GradNorm score (docs/numerics.md#gradnorm): `(sum_c |p_c(T) - 1/C|) * (sum_j |h_j|)`.
 *
 * At `T = 1` this is exactly the L1 norm of the gradient, with respect to `W`, of the cross-entropy between
 * the uniform distribution and `softmax(W h + b)`; at other temperatures it is `T` times the L1 norm of the
 * gradient of the cross-entropy with `softmax((W h + b) / T)` (docs/numerics.md#gradnorm closed form; the constant factor
 * does not change any ranking). GradNorm's reference code uses a target of ones instead of `1/C`, which
 * multiplies every score by `C`.
 *
 * @param features `[N, D]` the features the logits were computed from
 * @param logits `[N, C]`
 * @returns scores `[N]`
 */
export function gradNorm(features: Matrix, logits: Matrix, options: TemperatureOptions = {}): Float32Array {
  const T = options.temperature ?? 1;
  assertTemperature(T);
  assertMatrix(features, 'features');
  assertLogits(logits);
  assertSameRows(features, logits, 'features', 'logits');
  const { rows: N, cols: C, data: f } = logits;
  const D = features.cols;
  const h = features.data;
  const out = new Float32Array(N);
  const p = new Float64Array(C);
  const uniform = 1 / C;
  for (let n = 0; n < N; n++) {
    rowSoftmax(f, n * C, C, T, p, 0);
    let dev = 0;
    for (let c = 0; c < C; c++) dev += Math.abs(p[c]! - uniform);
    let l1 = 0;
    const base = n * D;
    for (let j = 0; j < D; j++) l1 += Math.abs(h[base + j]!);
    out[n] = dev * l1;
  }
  return out;
}

/**
 * Applies the logit score named `score` to `logits [N, C]`, returning scores `[N]`. `temperature` is used
 * by `energy` and `msp`; `maxlogit` ignores it (a positive scale does not change the ranking).
 */
export function scoreLogits(logits: Matrix, score: LogitScore = 'energy', options: TemperatureOptions = {}): Float32Array {
  switch (score) {
    case 'energy':
      return energy(logits, options);
    case 'msp':
      return msp(logits, options);
    case 'maxlogit':
      if (options.temperature !== undefined) assertTemperature(options.temperature);
      return maxLogit(logits);
    default:
      throw new OpnpError('INVALID_ARGUMENT', 'Unknown logit score', { expected: LOGIT_SCORES.join(' | '), actual: score as unknown });
  }
}
