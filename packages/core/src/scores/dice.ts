/**
 * DICE (Sun & Li, ECCV 2022), docs/numerics.md#dice: sparsify the head by each weight's expected contribution.
 */
import { OpnpError } from '../errors.js';
import { assertHead, type LinearHead } from '../head.js';
import { assertMatrix, type Matrix } from '../matrix.js';
import { assertPercentage, percentile } from '../percentile.js';
import { assertNoNaN } from './validate.js';

/**
 * Column mean `mean_n H[n, j]` of features `[N, D]`, accumulated and returned in float64 (length `D`), so the
 * DICE contributions are not rounded to float32 before their percentile is taken.
 *
 * @throws OpnpError `EMPTY_INPUT` when `N = 0`, `NON_FINITE` when an entry is NaN or infinite
 */
export function featureMean(features: Matrix): Float64Array {
  assertMatrix(features, 'features');
  const { rows: N, cols: D, data } = features;
  if (N === 0) throw new OpnpError('EMPTY_INPUT', 'featureMean needs at least one sample', { hint: 'Pass training features [N, D] with N >= 1' });
  assertNoNaN(data, 'features', false);
  const mean = new Float64Array(D);
  for (let n = 0; n < N; n++) {
    const base = n * D;
    for (let j = 0; j < D; j++) mean[j] = mean[j]! + data[base + j]!;
  }
  for (let j = 0; j < D; j++) mean[j] = mean[j]! / N;
  return mean;
}

/** Options of {@link diceHead}. */
export interface DiceOptions {
  /** Sparsity `p` in percent: weights with contribution `<= P(V, p)` are removed. Default 90. */
  percentile?: number;
}

/** A DICE-sparsified head with its mask. */
export interface DiceHead {
  /** `W * M` and the original bias (copied). */
  readonly head: LinearHead;
  /** Keep mask `M`, `C * D` entries, row-major like `W` (1 = kept). */
  readonly mask: Uint8Array;
  /** Number of kept weights. */
  readonly kept: number;
  /** The threshold `P(V, p)`; weights with `V > threshold` are kept. */
  readonly threshold: number;
}

/**
 * DICE head: contribution `V[c, j] = W[c, j] * mean_j` (float64), keep `V > P(V, p)` strictly, zero the
 * other weights, keep the bias.
 *
 * @param head `W [C, D]`, `b [C]`
 * @param trainFeatureMean length `D`: signed column mean of the training features (see {@link featureMean})
 * @throws OpnpError `SHAPE_MISMATCH` when the mean's length is not `D`, `NON_FINITE` for NaN contributions
 */
export function diceHead(head: LinearHead, trainFeatureMean: ArrayLike<number>, options: DiceOptions = {}): DiceHead {
  assertHead(head);
  const p = options.percentile ?? 90;
  assertPercentage(p, 'DICE percentile');
  const { rows: C, cols: D, data: W } = head.weight;
  if (trainFeatureMean.length !== D) {
    throw new OpnpError('SHAPE_MISMATCH', "DICE feature mean length must equal the head's feature dimension D", { expected: D, actual: trainFeatureMean.length });
  }
  if (C * D === 0) throw new OpnpError('EMPTY_INPUT', 'DICE needs a head with at least one weight', { actual: `${C} x ${D}` });
  const V = new Float64Array(C * D);
  for (let c = 0; c < C; c++) {
    const base = c * D;
    for (let j = 0; j < D; j++) V[base + j] = W[base + j]! * trainFeatureMean[j]!;
  }
  const threshold = percentile(V, p);
  const mask = new Uint8Array(C * D);
  const weight = new Float32Array(C * D);
  let kept = 0;
  for (let i = 0; i < V.length; i++) {
    if (V[i]! > threshold) {
      mask[i] = 1;
      weight[i] = W[i]!;
      kept++;
    }
  }
  return { head: { weight: { rows: C, cols: D, data: weight }, bias: Float32Array.from(head.bias) }, mask, kept, threshold };
}
