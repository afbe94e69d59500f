/**
 * Fast evaluation of the OPNP hyperparameter grid (docs/numerics.md#grid-search).
 *
 * Every grid point prunes nested percentile bands: the weights kept by `(pMin, pMax)` are those whose
 * sensitivity clears the `pMin` threshold and stays under the `pMax` one. Labelling each weight by
 * `(lowRank, highRank)` (how many of the grid's lower / upper thresholds it clears) partitions the head
 * into a few *weight cells*; neurons are partitioned into *neuron cells* the same way. The logits of a
 * grid point are the bias plus the sum of the partial logits of the cells it keeps, so the whole grid costs about
 * `#weight cells` dense products instead of one dense product per grid point; the rest is additions and the score
 * of each point.
 *
 * {@link gridScores} plans the evaluation (`grid/plan.ts`) and runs one of three paths:
 * - `grid/banded-dense-path.ts`: energy on *banded* grids (every `pMin + pMax <= 100` and `nMin + nMax <= 100`, like
 *   the default). The partial logits fall into four groups that each depend on two of the four levels, so
 *   exponentials are taken once per group entry instead of once per grid point, by the kernel's
 *   `bandedGridLogSumExp` accelerator or in JavaScript (`grid/banded-lse-js.ts`); the parts come from suffix-stacked
 *   dense GEMMs for the low-side weight levels and sparse products for the few high-side weights (`grid/high-bands.ts`).
 * - `grid/banded-cell-path.ts`: the same scoring when sparse products are wanted (the portable kernel) and the kernel
 *   has no accelerator; the parts are assembled from the cell partials (`grid/cells.ts`).
 * - `grid/cell-sweeps.ts`: other scores and overlapping grids, per row by a product of per-cell exponentials while the
 *   logits stay within float64's range (`grid/product-path.ts`), and by exact sums otherwise (`grid/sum-path.ts`).
 */
import type { Matrix } from '../matrix.js';
import { scoreBandedCells } from './grid/banded-cell-path.js';
import { scoreBandedDense } from './grid/banded-dense-path.js';
import { cellLayout } from './grid/cells.js';
import { scoreCellSweeps } from './grid/cell-sweeps.js';
import { gridPath, planGrid, type GridScoreOptions, type GridScores } from './grid/plan.js';

export { DEFAULT_PRUNING_GRID, gridPoints, type PruningGrid } from './grid/lattice.js';
export type { GridScoreOptions, GridScores } from './grid/plan.js';

/**
 * Scores of every grid point on `features [N x D]` in one pass (see the module comment for the method).
 * Equal, up to float32 rounding of the partial products, to pruning the head at each point and scoring
 * `W' h + b` densely.
 */
export async function gridScores(features: Matrix, options: GridScoreOptions): Promise<GridScores> {
  const plan = planGrid(features, options);
  const scores = plan.points.map(() => new Float32Array(features.rows));
  switch (gridPath(plan)) {
    case 'banded-dense':
      await scoreBandedDense(plan, scores);
      break;
    case 'banded-cells':
      await scoreBandedCells(plan, cellLayout(plan), scores);
      break;
    case 'cell-sweeps':
      await scoreCellSweeps(plan, cellLayout(plan), scores);
      break;
  }
  return { points: plan.points, scores };
}
