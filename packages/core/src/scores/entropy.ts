/**
 * Entropy score (docs/numerics.md#entropy): the negative Shannon entropy of the softmax,
 * `sum_c p_c log p_c`, so higher = more in-distribution (a confident, peaked softmax).
 *
 * Paper: the predictive-entropy baseline as used by Chan, Rottmann & Gottschalk, "Entropy Maximization and Meta
 * Classification for Out-of-Distribution Detection in Semantic Segmentation" (ICCV 2021) and as benchmarked by
 * pytorch-ood. Official code: pytorch-ood `src/pytorch_ood/detector/entropy.py` (`Entropy.score`:
 * `-(p.log() * p).sum(dim=1)` with `p = logits.softmax(dim=1)`, an outlier score; no hyper-parameters).
 * Here the sign is flipped (higher = ID) and `0 log 0 = 0`, where the reference's `p.log() * p` gives NaN for a
 * probability that underflows to 0.
 */
import { assertMatrix, type Matrix } from '../matrix.js';
import { assertTemperature, hasNaN } from './validate.js';

/** Options of {@link entropy}. */
export interface EntropyOptions {
  /** Softmax temperature `T > 0`. Default 1 (the reference). */
  temperature?: number;
}

/**
 * Negative entropy `sum_c p_c log p_c` of `p = softmax(f / T)`, per row, in float64 through the log-softmax
 * `log p_c = f_c / T - m - log sum_k exp(f_k / T - m)` (`m` the row maximum), so huge logits stay exact.
 * Classes with `p_c = 0` (`-Infinity` logits or underflow) contribute 0. A row with NaN or without a finite
 * maximum (all `-Infinity`, or any `+Infinity`) scores NaN. Range `[-log C, 0]`.
 *
 * @param logits `[N, C]` (not modified)
 * @returns scores `[N]`, higher = more in-distribution
 * @throws OpnpError `INVALID_ARGUMENT` (temperature), `SHAPE_MISMATCH` (malformed matrix)
 */
export function entropy(logits: Matrix, options: EntropyOptions = {}): Float32Array {
  assertMatrix(logits, 'logits');
  const T = options.temperature ?? 1;
  assertTemperature(T);
  const { rows: N, cols: C, data } = logits;
  const out = new Float32Array(N);
  for (let n = 0; n < N; n++) {
    const offset = n * C;
    let max = -Infinity;
    for (let c = 0; c < C; c++) max = Math.max(max, data[offset + c]! / T);
    if (hasNaN(data, offset, C) || !Number.isFinite(max)) {
      out[n] = NaN;
      continue;
    }
    let sum = 0;
    for (let c = 0; c < C; c++) sum += Math.exp(data[offset + c]! / T - max);
    const logSum = Math.log(sum);
    let s = 0;
    for (let c = 0; c < C; c++) {
      const logP = data[offset + c]! / T - max - logSum;
      const p = Math.exp(logP);
      if (p > 0) s += p * logP;
    }
    out[n] = s;
  }
  return out;
}
