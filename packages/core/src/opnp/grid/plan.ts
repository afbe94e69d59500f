/**
 * The grid search's plan: validated options, the percentile lattices of weights and neurons, and the choice of
 * execution path ({@link gridPath}).
 */
import { OpnpError } from '../../errors.js';
import { portableGemmKernel, type GemmKernel } from '../../gemm.js';
import { assertFeaturesMatchHead, assertHead, type LinearHead } from '../../head.js';
import { kernelAccelerator } from '../../kernel-accelerators.js';
import type { Matrix } from '../../matrix.js';
import type { LogitScore } from '../../scores/logit-scores.js';
import type { SensitivityLike } from '../masks.js';
import type { PruningPercentages } from '../thresholds.js';
import { bandRanks, DEFAULT_PRUNING_GRID, gridPoints, isBandedLattice, levelAxis, pointLevels, type LatticeRanks, type PointLevels, type PruningGrid } from './lattice.js';

/** Options of `gridScores`. */
export interface GridScoreOptions {
  /** The original head `W [C x D]`, `b [C]`. */
  head: LinearHead;
  /** Parameter sensitivity `s [C x D]`. */
  sensitivity: SensitivityLike;
  /** Neuron sensitivity `s_j [D]`. */
  neuronSensitivity: ArrayLike<number>;
  /** Grid (default {@link DEFAULT_PRUNING_GRID}). */
  grid?: PruningGrid;
  /** Score of the pruned logits (default `'energy'`). */
  score?: LogitScore;
  /** Temperature of `energy` (default 1). */
  temperature?: number;
  /** ReAct clip `c`: features are replaced by `min(h, c)` before the head (OPNP + ReAct). */
  reactClip?: number;
  /**
   * GEMM kernel for the partial logits (default: the portable kernel). A kernel with the `bandedGridLogSumExp`
   * accelerator (see `KernelAccelerators`) also scores banded grids (energy only).
   */
  kernel?: GemmKernel;
  /**
   * Rows processed per block (bounds memory: about `rows x cells x C x 4` bytes). Default 512, fewer for wide heads
   * so that a block's partial logits stay within 256 MB (e.g. 73 rows for 21,841 classes on the default grid).
   */
  blockRows?: number;
  /**
   * Weight cells whose density on a neuron cell's columns is below this fraction are multiplied as sparse
   * lists (skipping zero activations) instead of by the GEMM kernel. Default 0.3 with the portable kernel; 0 (all
   * dense) with a faster registered kernel, where even 0.5%-dense cells multiply faster as dense GEMMs.
   * Ignored for banded energy grids when the kernel has the `bandedGridLogSumExp` accelerator (or when this is 0): their
   * low-side weight levels are dense GEMMs and their high-side weights always sparse products (`high-bands.ts`, in
   * WebAssembly SIMD).
   */
  sparseBelowDensity?: number;
  /**
   * Called after every block of rows with the rows scored so far at every grid point and the rows of `features`
   * (`done` rises to `total`; never called for empty features). For progress displays: it does not change the scores.
   */
  onProgress?: (done: number, total: number) => void;
}

/** Scores of every grid point on the same feature rows. */
export interface GridScores {
  /** Grid points in canonical order. */
  readonly points: PruningPercentages[];
  /** `scores[p]` holds the `[N]` scores of point `p` (higher = more in-distribution). */
  readonly scores: Float32Array[];
}

/** Everything the execution paths need: validated inputs and the lattices. */
export interface GridPlan {
  readonly features: Matrix;
  readonly head: LinearHead;
  readonly points: PruningPercentages[];
  /** Level indices of each point, in the order of `points`. */
  readonly pointLevels: readonly PointLevels[];
  readonly score: LogitScore;
  readonly temperature: number;
  readonly reactClip: number | undefined;
  readonly kernel: GemmKernel;
  /** `blockRows` as requested (validated), or undefined for the path's default. */
  readonly blockRows: number | undefined;
  /** Density below which weight cells are multiplied sparsely. */
  readonly sparseBelow: number;
  readonly weightRanks: LatticeRanks;
  readonly neuronRanks: LatticeRanks;
  /** Numbers of `pMin` and `pMax` levels. */
  readonly weightLevels: readonly [number, number];
  /** Numbers of `nMin` and `nMax` levels. */
  readonly neuronLevels: readonly [number, number];
  /** Energy on non-empty inputs whose weight and neuron lattices are both banded. */
  readonly banded: boolean;
  /** `GridScoreOptions.onProgress`, called by the paths after each block. */
  readonly onProgress: ((done: number, total: number) => void) | undefined;
}

/**
 * How `gridScores` evaluates a plan:
 * - `'banded-dense'`: banded energy grid, suffix-stacked dense GEMMs scored by the kernel's `bandedGridLogSumExp`
 *   accelerator or in JavaScript (`banded-dense-path.ts`);
 * - `'banded-cells'`: banded energy grid with sparse products wanted and no accelerator: cell partials, then the
 *   same banded scoring in JavaScript (`banded-cell-path.ts`);
 * - `'cell-sweeps'`: everything else (other scores, overlapping bands): cell partials summed per point, by products
 *   of exponentials or by sums (`cell-sweeps.ts`).
 */
export type GridPath = 'banded-dense' | 'banded-cells' | 'cell-sweeps';

/** Validates `gridScores`' arguments and builds the lattices. */
export function planGrid(features: Matrix, options: GridScoreOptions): GridPlan {
  const { head, sensitivity, neuronSensitivity } = options;
  assertHead(head);
  assertFeaturesMatchHead(head, features);
  const grid = options.grid ?? DEFAULT_PRUNING_GRID;
  const points = gridPoints(grid);
  const score = options.score ?? 'energy';
  const T = options.temperature ?? 1;
  if (!(T > 0) || !Number.isFinite(T)) throw new OpnpError('INVALID_ARGUMENT', 'temperature must be a positive finite number', { actual: T });
  const kernel = options.kernel ?? portableGemmKernel;
  const blockRows = options.blockRows;
  if (blockRows !== undefined && (!Number.isInteger(blockRows) || blockRows < 1)) {
    throw new OpnpError('INVALID_ARGUMENT', 'blockRows must be a positive integer', { actual: blockRows });
  }
  const { rows: C, cols: D } = head.weight;
  if (sensitivity.classes !== C || sensitivity.dim !== D || sensitivity.values.length !== C * D) {
    throw new OpnpError('SHAPE_MISMATCH', 'Sensitivity shape must match the head', { expected: `${C} x ${D}`, actual: `${sensitivity.classes} x ${sensitivity.dim}` });
  }
  if (neuronSensitivity.length !== D) {
    throw new OpnpError('SHAPE_MISMATCH', 'Neuron sensitivity length must equal D', { expected: D, actual: neuronSensitivity.length });
  }
  const pMin = levelAxis(grid.pMin), pMax = levelAxis(grid.pMax), nMin = levelAxis(grid.nMin), nMax = levelAxis(grid.nMax);
  const weightRanks = bandRanks(sensitivity.values, pMin.levels, pMax.levels);
  const neuronRanks = bandRanks(neuronSensitivity, nMin.levels, nMax.levels);
  const weightLevels = [pMin.levels.length, pMax.levels.length] as const;
  const neuronLevels = [nMin.levels.length, nMax.levels.length] as const;
  const banded = score === 'energy' && features.rows > 0 && C > 0 && D > 0 && isBandedLattice(weightRanks, weightLevels) && isBandedLattice(neuronRanks, neuronLevels);
  return {
    features,
    head,
    points,
    pointLevels: pointLevels(pMin, pMax, nMin, nMax),
    score,
    temperature: T,
    reactClip: options.reactClip,
    kernel,
    blockRows,
    sparseBelow: options.sparseBelowDensity ?? (kernel === portableGemmKernel ? 0.3 : 0),
    weightRanks,
    neuronRanks,
    weightLevels,
    neuronLevels,
    banded,
    onProgress: options.onProgress,
  };
}

/**
 * The execution path of a plan. Banded energy grids take suffix-stacked dense GEMMs scored in one pass, unless sparse
 * products are wanted (the portable kernel) and the kernel has no `bandedGridLogSumExp` accelerator: then the cell
 * partials (with sparse products) feed the same banded scoring in JavaScript.
 */
export function gridPath(plan: GridPlan): GridPath {
  if (!plan.banded) return 'cell-sweeps';
  return kernelAccelerator(plan.kernel, 'bandedGridLogSumExp') || plan.sparseBelow === 0 ? 'banded-dense' : 'banded-cells';
}
