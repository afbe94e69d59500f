/**
 * Row scoring of the general grid path by sums (any logit range, and `maxlogit`): partial logits are added per point,
 * then each point's logits are scored in float64.
 */
import type { LogitScore } from '../../scores/logit-scores.js';
import type { RowScorer, SweepContext } from './cell-sweeps.js';

/** A {@link RowScorer} by sums of partial logits. */
export function createSumRowScorer(ctx: SweepContext): RowScorer {
  return (n) => {
    for (let set = 0; set < ctx.weightSets.length; set++) {
      addSet(ctx, set);
      sweepSums(ctx, set, n);
    }
  };
}

/** `setValues[set, m]` = sum of the partials of the set's weight cells on neuron cell `m`. */
function addSet(ctx: SweepContext, set: number): void {
  const { C, M, cellArray, cellBase, setValues } = ctx;
  const cells = ctx.weightSets[set]!;
  for (let m = 0; m < M; m++) {
    const out = (set * M + m) * C;
    for (let c = 0; c < C; c++) setValues[out + c] = 0;
    for (const k of cells) {
      const part = cellArray[k * M + m];
      if (!part) continue;
      const base = cellBase[k * M + m]!;
      for (let c = 0; c < C; c++) setValues[out + c] = setValues[out + c]! + part[base + c]!;
    }
  }
}

/** Sweeps the set's points: running sums of the kept neuron cells, then the score of `bias + sum` per step. */
function sweepSums(ctx: SweepContext, set: number, n: number): void {
  const { C, M, kept, setValues, bias, score, T, scores } = ctx;
  for (const sweep of ctx.sweeps[set]!) {
    kept.fill(0);
    for (const step of sweep.steps) {
      for (const m of step.addCells) {
        const base = (set * M + m) * C;
        for (let c = 0; c < C; c++) kept[c] = kept[c]! + setValues[base + c]!;
      }
      if (step.points.length === 0) continue;
      const value = scoreRow(bias, kept, C, score, T);
      for (const p of step.points) scores[p]![n] = value;
    }
  }
}

/** One row's logit score of `bias + z`, with float64 math. */
export function scoreRow(bias: Float32Array, z: Float64Array, C: number, score: LogitScore, T: number): number {
  let max = -Infinity;
  for (let c = 0; c < C; c++) {
    const f = bias[c]! + z[c]!;
    if (f > max) max = f;
  }
  if (score === 'maxlogit') return max;
  if (score === 'msp') {
    // max_c softmax = 1 / sum_c exp(f_c - max)
    let sum = 0;
    for (let c = 0; c < C; c++) sum += Math.exp(bias[c]! + z[c]! - max);
    return 1 / sum;
  }
  // energy: T * logsumexp(f / T), stable
  if (max === -Infinity || max === Infinity) return max;
  const m = max / T;
  let sum = 0;
  for (let c = 0; c < C; c++) sum += Math.exp((bias[c]! + z[c]!) / T - m);
  return T * (m + Math.log(sum));
}
