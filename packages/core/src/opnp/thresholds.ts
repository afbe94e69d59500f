/**
 * Percentile thresholds and keep masks (docs/numerics.md#thresholds-and-keep-masks, paper Eq. 7 and 9).
 */
import { OpnpError } from '../errors.js';
import { assertPercentage, percentileOfSorted, sortedCopy } from '../percentile.js';

/** The four OPNP pruning percentages, each in percent (0-100, may be fractional). */
export interface PruningPercentages {
  /** Prune the least sensitive weights: `lo = P(s, pMin)`. */
  readonly pMin: number;
  /** Prune the most sensitive weights: `hi = P(s, 100 - pMax)`. */
  readonly pMax: number;
  /** Prune the least sensitive neurons. */
  readonly nMin: number;
  /** Prune the most sensitive neurons. */
  readonly nMax: number;
}

/** Inclusive keep interval `[lo, hi]`: a value `v` is kept iff `lo <= v <= hi`. */
export interface KeepBand {
  readonly lo: number;
  readonly hi: number;
}

/** Validates a pair of pruning percentages (each in [0, 100]). */
export function assertPruningPair(low: number, high: number, names: [string, string]): void {
  assertPercentage(low, names[0]);
  assertPercentage(high, names[1]);
}

/**
 * The keep band of docs/numerics.md#thresholds-and-keep-masks over all entries of `values`:
 * `lo = P(values, low)` if `low > 0` else `-Infinity`; `hi = P(values, 100 - high)` if `high > 0` else `+Infinity`.
 * Pass `sorted` (ascending) to skip the sort when computing several bands of the same values.
 */
export function keepBand(values: ArrayLike<number>, low: number, high: number, sorted?: ArrayLike<number>): KeepBand {
  assertPruningPair(low, high, ['low percentage', 'high percentage']);
  if (low === 0 && high === 0) return { lo: -Infinity, hi: Infinity };
  const s = sorted ?? sortedCopy(values, 'sensitivity');
  if (s.length === 0) throw new OpnpError('EMPTY_INPUT', 'Cannot threshold an empty sensitivity array');
  return {
    lo: low > 0 ? percentileOfSorted(s, low) : -Infinity,
    hi: high > 0 ? percentileOfSorted(s, 100 - high) : Infinity,
  };
}

/** A keep mask (`1` = kept) with the number of kept entries and the band that produced it. */
export interface KeepMask {
  readonly mask: Uint8Array;
  readonly kept: number;
  readonly band: KeepBand;
}

/** Applies an inclusive band to `values`: `mask[i] = lo <= values[i] <= hi`. */
export function applyBand(values: ArrayLike<number>, band: KeepBand): KeepMask {
  const n = values.length;
  const mask = new Uint8Array(n);
  let kept = 0;
  const { lo, hi } = band;
  for (let i = 0; i < n; i++) {
    const v = values[i]!;
    if (v >= lo && v <= hi) {
      mask[i] = 1;
      kept++;
    }
  }
  return { mask, kept, band };
}

/**
 * Keep mask of the values inside the `(low, high)` percentile band (docs/numerics.md#thresholds-and-keep-masks).
 *
 * @example
 * ```ts
 * keepMask(sensitivity.values, 10, 1); // prune the 10% least and 1% most sensitive weights
 * ```
 */
export function keepMask(values: ArrayLike<number>, low: number, high: number): KeepMask {
  return applyBand(values, keepBand(values, low, high));
}
