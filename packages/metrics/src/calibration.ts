/**
 * Calibration: expected calibration error (ECE) and the reliability diagram behind it.
 */
import { assertBinCount, assertSameLength, confidencesCopy, correctnessCopy } from './internal/validate.js';

/** Default number of equal-width confidence bins (docs/numerics.md#ece-and-reliability-diagram). */
export const DEFAULT_CALIBRATION_BINS = 15;

/** One bin `(lower, upper]` of a {@link ReliabilityDiagram}. */
export interface ReliabilityBin {
  /** Lower edge `b / B` (exclusive; the first bin also takes confidences of exactly 0). */
  readonly lower: number;
  /** Upper edge `(b + 1) / B` (inclusive). */
  readonly upper: number;
  /** Number of samples whose confidence falls in the bin. */
  readonly count: number;
  /** Mean confidence of the bin's samples; `null` when the bin is empty. */
  readonly confidence: number | null;
  /** Fraction of the bin's samples that are correct; `null` when the bin is empty. */
  readonly accuracy: number | null;
}

/** Per-bin calibration summary and its ECE; see {@link reliabilityDiagram}. */
export interface ReliabilityDiagram {
  /** `B` bins in increasing order of confidence, empty bins included. */
  readonly bins: readonly ReliabilityBin[];
  /** Expected calibration error, `sum_b (count_b / N) |accuracy_b - confidence_b|`. */
  readonly ece: number;
  /** Number of samples `N`. */
  readonly count: number;
}

/**
 * Bin index of a confidence in [0, 1]: bin `b` is `(b / B, (b + 1) / B]` with the edges the float64
 * quotients `b / B`; 0 goes in bin 0. A first guess `ceil(c B) - 1` is corrected against the exact edges, so
 * the multiplication's rounding never moves a value across an edge.
 */
export function calibrationBinIndex(c: number, bins: number): number {
  let b = Math.min(bins - 1, Math.max(0, Math.ceil(c * bins) - 1));
  while (b > 0 && c <= b / bins) b--;
  while (b < bins - 1 && c > (b + 1) / bins) b++;
  return b;
}

interface BinTotals {
  counts: Float64Array;
  confidenceSums: Float64Array;
  correctSums: Float64Array;
}

/** Kernel: per-bin counts and float64 sums of confidence and correctness. */
function binTotals(confidences: Float64Array, correct: Uint8Array, bins: number): BinTotals {
  const counts = new Float64Array(bins);
  const confidenceSums = new Float64Array(bins);
  const correctSums = new Float64Array(bins);
  for (let i = 0; i < confidences.length; i++) {
    const c = confidences[i]!;
    const b = calibrationBinIndex(c, bins);
    counts[b]! += 1;
    confidenceSums[b]! += c;
    correctSums[b]! += correct[i]!;
  }
  return { counts, confidenceSums, correctSums };
}

/** Kernel: ECE from bin totals. */
function eceFromTotals(totals: BinTotals, n: number): number {
  let ece = 0;
  for (let b = 0; b < totals.counts.length; b++) {
    const count = totals.counts[b]!;
    if (count === 0) continue;
    const accuracy = totals.correctSums[b]! / count;
    const confidence = totals.confidenceSums[b]! / count;
    ece += (count / n) * Math.abs(accuracy - confidence);
  }
  return ece;
}

function validateCalibrationInputs(
  confidences: ArrayLike<number>,
  correct: ArrayLike<boolean> | ArrayLike<number>,
  bins: number,
): { conf: Float64Array; ok: Uint8Array } {
  assertBinCount(bins);
  const conf = confidencesCopy(confidences, 'confidences');
  const ok = correctnessCopy(correct, 'correct');
  assertSameLength('confidences', conf.length, 'correct', ok.length);
  return { conf, ok };
}

/**
 * Expected calibration error with `bins` equal-width bins over (0, 1]: bin `b` is `(b/B, (b+1)/B]`, a
 * confidence of exactly 0 goes in the first bin;
 * `ECE = sum_b (n_b / N) * |accuracy_b - confidence_b|` with the bin's mean correctness and mean confidence.
 * Empty bins contribute nothing. Sums are float64; inputs are not modified.
 *
 * @param confidences - `[N]` predicted-class probabilities in [0, 1] (docs/numerics.md#ece-and-reliability-diagram: the max softmax).
 * @param correct - `[N]` whether each prediction is right: booleans, or 0/1 numbers (`Uint8Array` works).
 * @param bins - number of bins `B`, a positive integer (default 15).
 * @returns a fraction in [0, 1].
 * @throws OpnpError `EMPTY_INPUT`, `NON_FINITE` / `INVALID_ARGUMENT` (confidence outside [0, 1], a `correct`
 *   entry other than true/false/0/1, `bins` not a positive integer; `offset` = first bad index),
 *   `SHAPE_MISMATCH` (lengths differ).
 *
 * @example
 * ```ts
 * ece([0.9, 0.9, 0.6, 0.6], [true, false, true, true]); // 0.5 * |0.5 - 0.9| + 0.5 * |1 - 0.6| = 0.4
 * ```
 */
export function ece(confidences: ArrayLike<number>, correct: ArrayLike<boolean> | ArrayLike<number>, bins = DEFAULT_CALIBRATION_BINS): number {
  const { conf, ok } = validateCalibrationInputs(confidences, correct, bins);
  return eceFromTotals(binTotals(conf, ok, bins), conf.length);
}

/**
 * The reliability diagram: for each of the `bins` equal-width bins of {@link ece}, its edges, sample count,
 * mean confidence and accuracy (both `null` for an empty bin, so JSON output stays explicit and no NaN leaks
 * into arithmetic), plus the ECE computed from the same bins.
 *
 * @param confidences - `[N]` predicted-class probabilities in [0, 1].
 * @param correct - `[N]` booleans or 0/1 numbers.
 * @param bins - number of bins `B`, a positive integer (default 15).
 * @throws OpnpError as {@link ece}.
 *
 * @example
 * ```ts
 * const { bins, ece } = reliabilityDiagram(confidences, correct);
 * for (const b of bins) if (b.count > 0) console.log(`${b.lower}-${b.upper}: conf ${b.confidence} acc ${b.accuracy}`);
 * ```
 */
export function reliabilityDiagram(
  confidences: ArrayLike<number>,
  correct: ArrayLike<boolean> | ArrayLike<number>,
  bins = DEFAULT_CALIBRATION_BINS,
): ReliabilityDiagram {
  const { conf, ok } = validateCalibrationInputs(confidences, correct, bins);
  const totals = binTotals(conf, ok, bins);
  const out: ReliabilityBin[] = [];
  for (let b = 0; b < bins; b++) {
    const count = totals.counts[b]!;
    out.push({
      lower: b / bins,
      upper: (b + 1) / bins,
      count,
      confidence: count > 0 ? totals.confidenceSums[b]! / count : null,
      accuracy: count > 0 ? totals.correctSums[b]! / count : null,
    });
  }
  return { bins: out, ece: eceFromTotals(totals, conf.length), count: conf.length };
}
