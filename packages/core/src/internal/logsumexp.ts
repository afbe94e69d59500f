/**
 * Internal row kernels: no validation, no allocation beyond the output.
 */

/** Stable `T * log(sum_c exp(f_c / T))` of `f[offset .. offset+C)`, float64 accumulation. */
export function rowEnergy(f: ArrayLike<number>, offset: number, C: number, T: number): number {
  let max = -Infinity;
  for (let c = 0; c < C; c++) {
    const v = f[offset + c]! / T;
    if (v > max) max = v;
  }
  if (max === -Infinity || max === Infinity) return T * max;
  let sum = 0;
  for (let c = 0; c < C; c++) sum += Math.exp(f[offset + c]! / T - max);
  return T * (max + Math.log(sum));
}

/** Softmax of `f[offset .. offset+C) / T` into `out[outOffset ..]` (float64 math; a float32 `out` rounds the unnormalised exponentials once before scaling). */
export function rowSoftmax(f: ArrayLike<number>, offset: number, C: number, T: number, out: Float32Array | Float64Array, outOffset: number): void {
  let max = -Infinity;
  for (let c = 0; c < C; c++) {
    const v = f[offset + c]! / T;
    if (v > max) max = v;
  }
  let sum = 0;
  for (let c = 0; c < C; c++) {
    const e = Math.exp(f[offset + c]! / T - max);
    out[outOffset + c] = e;
    sum += e;
  }
  const inv = 1 / sum;
  for (let c = 0; c < C; c++) out[outOffset + c] = out[outOffset + c]! * inv;
}

/**
 * Stable `log(sum_c w_c exp(f_c))` of `f[offset .. offset+C)` given `logWeights[c] = log w_c` (`-Infinity` for a
 * zero weight, whose class then contributes nothing, even at `f_c = +Infinity`). Max-shifted on `f_c + log w_c`,
 * float64 accumulation. Every term zero gives `-Infinity`; a `+Infinity` logit of positive weight gives `+Infinity`.
 */
export function rowWeightedLogSumExp(f: ArrayLike<number>, offset: number, C: number, logWeights: Float64Array): number {
  let max = -Infinity;
  for (let c = 0; c < C; c++) {
    if (logWeights[c] === -Infinity) continue;
    const v = f[offset + c]! + logWeights[c]!;
    if (v > max) max = v;
  }
  if (max === -Infinity || max === Infinity) return max;
  let sum = 0;
  for (let c = 0; c < C; c++) {
    if (logWeights[c] !== -Infinity) sum += Math.exp(f[offset + c]! + logWeights[c]! - max);
  }
  return max + Math.log(sum);
}
