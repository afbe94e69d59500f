/**
 * Row scoring of the general grid path by products of exponentials: every point's logits are `bias + sum of kept
 * partials`, all within `[-bound, bound] * T` with `bound < SAFE_EXPONENT`, so `exp(f / T)` is the product of the
 * partials' exponentials (no overflow or underflow): exponentials are taken once per (weight cell, neuron cell) instead
 * of once per point. Used for `energy` and `msp`.
 */
import type { RowScorer, SweepContext } from './cell-sweeps.js';

/** A {@link RowScorer} by products of exponentials (allocates its scratch once). */
export function createProductRowScorer(ctx: SweepContext): RowScorer {
  const { C, K, M, scoreT } = ctx;
  const biasExp = Float64Array.from(ctx.bias, (v) => Math.exp(v / scoreT));
  const cellExp = new Float64Array(K * M * C);
  return (n) => {
    exponentiateCells(ctx, cellExp);
    for (let set = 0; set < ctx.weightSets.length; set++) {
      multiplySet(ctx, cellExp, set);
      sweepProducts(ctx, biasExp, set, n);
    }
  };
}

/** `cellExp[(k*M + m)*C + c] = exp(partial / scoreT)` for every present cell of the row. */
function exponentiateCells(ctx: SweepContext, cellExp: Float64Array): void {
  const { C, K, M, cellArray, cellBase, scoreT } = ctx;
  for (let at = 0; at < K * M; at++) {
    const part = cellArray[at];
    if (!part) continue;
    const base = cellBase[at]!;
    const out = at * C;
    for (let c = 0; c < C; c++) cellExp[out + c] = Math.exp(part[base + c]! / scoreT);
  }
}

/** `setValues[set, m]` = product of the exponentials of the set's weight cells on neuron cell `m`. */
function multiplySet(ctx: SweepContext, cellExp: Float64Array, set: number): void {
  const { C, M, cellArray, setValues } = ctx;
  const cells = ctx.weightSets[set]!;
  for (let m = 0; m < M; m++) {
    const out = (set * M + m) * C;
    for (let c = 0; c < C; c++) setValues[out + c] = 1;
    for (const k of cells) {
      if (!cellArray[k * M + m]) continue;
      const base = (k * M + m) * C;
      for (let c = 0; c < C; c++) setValues[out + c] = setValues[out + c]! * cellExp[base + c]!;
    }
  }
}

/** Sweeps the set's points: running products of the kept neuron cells, then `msp` or `energy` per step. */
function sweepProducts(ctx: SweepContext, biasExp: Float64Array, set: number, n: number): void {
  const { C, M, kept, setValues, score, scoreT, scores } = ctx;
  for (const sweep of ctx.sweeps[set]!) {
    kept.set(biasExp);
    for (const step of sweep.steps) {
      for (const m of step.addCells) {
        const base = (set * M + m) * C;
        for (let c = 0; c < C; c++) kept[c] = kept[c]! * setValues[base + c]!;
      }
      if (step.points.length === 0) continue;
      let sum = 0;
      let max = 0;
      for (let c = 0; c < C; c++) {
        const e = kept[c]!;
        sum += e;
        if (e > max) max = e;
      }
      const value = score === 'msp' ? max / sum : scoreT * Math.log(sum);
      for (const p of step.points) scores[p]![n] = value;
    }
  }
}
