/**
 * GEN (Liu, Lochman & Zach, CVPR 2023): the generalized-entropy score.
 */
import { OpnpError } from '../errors.js';
import { rowSoftmax } from '../internal/logsumexp.js';
import { assertMatrix, type Matrix } from '../matrix.js';
import { assertIntegerInRange, hasNaN } from './validate.js';

/** Options of {@link gen}. */
export interface GenOptions {
  /** Entropy exponent `gamma > 0`. Default 0.1. */
  gamma?: number;
  /** Number of largest probabilities summed (clipped to `C`). Default 100. */
  M?: number;
}

/**
 * GEN score `-sum_{i in top-M} p_i^gamma (1 - p_i)^gamma` with `p = softmax(f)` (T = 1): the negated
 * generalized entropy, so higher = more in-distribution (as the reference `-scores`). Float64 math.
 * `-Infinity` logits have `p = 0` and contribute nothing; a row with NaN or without a finite maximum scores NaN.
 *
 * @param logits `[N, C]`
 * @returns scores `[N]`
 */
export function gen(logits: Matrix, options: GenOptions = {}): Float32Array {
  assertMatrix(logits, 'logits');
  const gamma = options.gamma ?? 0.1;
  const M = options.M ?? 100;
  if (typeof gamma !== 'number' || !Number.isFinite(gamma) || gamma <= 0) {
    throw new OpnpError('INVALID_ARGUMENT', 'GEN gamma must be a finite number > 0', { actual: gamma });
  }
  assertIntegerInRange(M, 1, Number.MAX_SAFE_INTEGER, 'GEN M');
  const { rows: N, cols: C, data } = logits;
  const out = new Float32Array(N);
  const p = new Float64Array(C);
  const top = Math.min(M, C);
  for (let n = 0; n < N; n++) {
    const offset = n * C;
    let max = -Infinity;
    for (let c = 0; c < C; c++) max = Math.max(max, data[offset + c]!);
    if (hasNaN(data, offset, C) || !Number.isFinite(max)) {
      out[n] = NaN;
      continue;
    }
    rowSoftmax(data, offset, C, 1, p, 0);
    p.sort();
    let s = 0;
    for (let i = C - top; i < C; i++) s += p[i]! ** gamma * (1 - p[i]!) ** gamma;
    out[n] = -s;
  }
  return out;
}
