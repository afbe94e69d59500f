/**
 * The grid search's general path (any score, overlapping bands): for each row, every point's logits are the bias plus
 * the sum of the cell partials it keeps (`cells.ts`). Points are grouped by their kept weight cells (few distinct
 * *weight sets*), then by `nMin` level; within a group the `nMax` levels are swept from the largest down so each step
 * only adds the newly kept neuron cells. A row is scored by products of per-cell exponentials while its logits stay
 * within float64's exponential range (`product-path.ts`), else (and for `maxlogit`) by sums of partial logits
 * (`sum-path.ts`).
 */
import type { LogitScore } from '../../scores/logit-scores.js';
import { defaultBlockRows } from './blocks.js';
import { EMPTY, forEachCellBlock, type CellBlock, type CellLayout } from './cells.js';
import type { GridPlan } from './plan.js';
import { createProductRowScorer } from './product-path.js';
import { createSumRowScorer } from './sum-path.js';

/** Points sharing a weight set and an nMin level, swept over the nMax levels from the largest down. */
export interface NeuronSweep {
  readonly nMinLevel: number;
  /** `steps[i]` is nMax level `nMax levels - 1 - i`: add the neuron cells with that high rank (and low `>= nMinLevel`). */
  readonly steps: { readonly addCells: number[]; readonly points: number[] }[];
}

/** The weight sets of a plan's points and, per set, its sweeps. */
export interface SweepStructure {
  /** Distinct sets of kept weight cells. */
  readonly weightSets: readonly (readonly number[])[];
  /** `sweeps[set]`: the sweeps of the points with that weight set. */
  readonly sweeps: readonly (readonly NeuronSweep[])[];
}

/** Shared state of the row scorers: the structure, the score, per-row partial pointers and scratch. */
export interface SweepContext extends SweepStructure {
  readonly C: number;
  /** Weight cells. */
  readonly K: number;
  /** Neuron cells. */
  readonly M: number;
  readonly bias: Float32Array;
  readonly score: LogitScore;
  /** Temperature of `energy`. */
  readonly T: number;
  /** Temperature of the exponentials (`msp` is defined at T = 1). */
  readonly scoreT: number;
  /** Where the current row's (weight cell k, neuron cell m) partial lives (index `k*M + m`; null: none) ... */
  readonly cellArray: (Float32Array | null)[];
  /** ... and its offset there. */
  readonly cellBase: Int32Array;
  /** Per (weight set, neuron cell) sums or products, `[S x M x C]`. */
  readonly setValues: Float64Array;
  /** Running logits / exponentials of the neuron cells kept so far in a sweep, `[C]`. */
  readonly kept: Float64Array;
  /** Output: `scores[p][n]`. */
  readonly scores: Float32Array[];
}

/** Scores row `n` (absolute row index) from the partials the context points at. */
export type RowScorer = (n: number) => void;

/** Which row scorer to use for a row whose logits are bounded by `bound` (`|logit| / T`). */
export type RowPathChoice = (bound: number, score: LogitScore) => 'products' | 'sums';

/**
 * Largest `|logit| / T` bound for which the product path is used: `exp(+-600)` and products of such
 * factors stay far from float64 overflow and underflow (`exp(709)`, `exp(-745)`).
 */
export const SAFE_EXPONENT = 600;

/** Products while the exponentials are safe (not for `maxlogit`), sums otherwise. */
export const defaultRowPath: RowPathChoice = (bound, score) => (score !== 'maxlogit' && bound < SAFE_EXPONENT ? 'products' : 'sums');

/** Scores every grid point of `plan` into `scores[p][n]` from its cell partials, row by row (`rowPath` picks the scorer). */
export async function scoreCellSweeps(plan: GridPlan, layout: CellLayout, scores: Float32Array[], rowPath: RowPathChoice = defaultRowPath): Promise<void> {
  const ctx = sweepContext(plan, layout, scores);
  const byProducts = createProductRowScorer(ctx);
  const bySums = createSumRowScorer(ctx);
  const blockRows = plan.blockRows ?? defaultBlockRows(ctx.K * ctx.M * ctx.C);
  let biasBound = 0;
  for (let c = 0; c < ctx.C; c++) biasBound = Math.max(biasBound, Math.abs(ctx.bias[c]!) / ctx.scoreT);
  await forEachCellBlock(plan, layout, blockRows, (block) => {
    for (let r = 0; r < block.rows; r++) {
      const bound = prepareRow(ctx, layout, block, r, biasBound);
      if (rowPath(bound, ctx.score) === 'products') byProducts(block.start + r);
      else bySums(block.start + r);
    }
  });
}

/** The {@link SweepStructure} of a plan's points. */
export function sweepStructure(plan: GridPlan, layout: CellLayout): SweepStructure {
  const weightSetKeys = new Map<string, number>();
  const weightSets: number[][] = [];
  const sweeps: NeuronSweep[][] = [];
  const highLevels = plan.neuronLevels[1];
  plan.pointLevels.forEach(([a, b, an, bn], p) => {
    const cells = layout.weightCells.flatMap((cell, k) => (cell.low >= a && cell.high >= b ? [k] : []));
    const key = cells.join(',');
    let set = weightSetKeys.get(key);
    if (set === undefined) {
      set = weightSets.length;
      weightSetKeys.set(key, set);
      weightSets.push(cells);
      sweeps.push([]);
    }
    let sweep = sweeps[set]!.find((x) => x.nMinLevel === an);
    if (!sweep) {
      sweep = {
        nMinLevel: an,
        steps: Array.from({ length: highLevels }, (_, i) => ({
          addCells: layout.neuronCells.flatMap(({ cell }, m) => (cell.low >= an && cell.high === highLevels - 1 - i ? [m] : [])),
          points: [] as number[],
        })),
      };
      sweeps[set]!.push(sweep);
    }
    sweep.steps[highLevels - 1 - bn]!.points.push(p);
  });
  return { weightSets, sweeps };
}

function sweepContext(plan: GridPlan, layout: CellLayout, scores: Float32Array[]): SweepContext {
  const { rows: C } = plan.head.weight;
  const structure = sweepStructure(plan, layout);
  const K = layout.weightCells.length;
  const M = layout.neuronCells.length;
  return {
    ...structure,
    C,
    K,
    M,
    bias: plan.head.bias,
    score: plan.score,
    T: plan.temperature,
    scoreT: plan.score === 'msp' ? 1 : plan.temperature,
    cellArray: new Array<Float32Array | null>(K * M).fill(null),
    cellBase: new Int32Array(K * M),
    setValues: new Float64Array(structure.weightSets.length * M * C),
    kept: new Float64Array(C),
    scores,
  };
}

/**
 * Points `cellArray` / `cellBase` at the (weight cell, neuron cell) partials of block row `r` and returns
 * a bound on `|logit| / T` over every grid point.
 */
function prepareRow(ctx: SweepContext, layout: CellLayout, block: CellBlock, r: number, biasBound: number): number {
  const { C, K, M, cellArray, cellBase, scoreT } = ctx;
  let bound = biasBound;
  for (let m = 0; m < M; m++) {
    const plan = layout.plans[m]!;
    for (let k = 0; k < K; k++) {
      const slot = plan.slot[k]!;
      const at = k * M + m;
      if (slot === EMPTY) {
        cellArray[at] = null;
        continue;
      }
      const part = slot >= 0 ? block.denseOut[m]! : block.sparseOut[m]!;
      const base = slot >= 0 ? (r * plan.denseCells + slot) * C : (r * plan.sparse.length + (-slot - 1)) * C;
      cellArray[at] = part;
      cellBase[at] = base;
      let maxAbs = 0;
      for (let c = 0; c < C; c++) {
        const v = part[base + c]!;
        if (v > maxAbs) maxAbs = v;
        else if (-v > maxAbs) maxAbs = -v;
      }
      bound += maxAbs / scoreT;
    }
  }
  return bound;
}
