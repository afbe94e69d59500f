/**
 * Equal-width histograms computed in code (figures embed bins, not raw samples, so SVGs stay small).
 */

/** One bin `[x0, x1)` (the last bin includes `x1`). */
export interface HistogramBin {
  readonly x0: number;
  readonly x1: number;
  readonly count: number;
}

/**
 * `bins` equal-width bins over `[lo, hi]` (values outside are clamped into the end bins; NaN is skipped).
 * A degenerate range (`hi <= lo`) becomes `[lo - 0.5, lo + 0.5]`.
 */
export function histogram(values: ArrayLike<number>, bins: number, lo: number, hi: number): HistogramBin[] {
  if (!(hi > lo)) {
    lo -= 0.5;
    hi += 0.5;
  }
  const counts = new Float64Array(bins);
  const width = (hi - lo) / bins;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (Number.isNaN(v)) continue;
    const b = Math.min(bins - 1, Math.max(0, Math.floor((v - lo) / width)));
    counts[b]! += 1;
  }
  return Array.from(counts, (count, b) => ({ x0: lo + b * width, x1: b === bins - 1 ? hi : lo + (b + 1) * width, count }));
}

/** Finite minimum and maximum of several arrays (`[0, 1]` when none is finite). */
export function finiteRange(arrays: readonly ArrayLike<number>[]): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (const a of arrays) {
    for (let i = 0; i < a.length; i++) {
      const v = a[i]!;
      if (!Number.isFinite(v)) continue;
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
  }
  return lo <= hi ? [lo, hi] : [0, 1];
}
