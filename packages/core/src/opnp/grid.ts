/**
 * Fast evaluation of the OPNP hyperparameter grid (SPEC "Hyperparameter search").
 *
 * Every grid point prunes nested percentile bands: the weights kept by `(pMin, pMax)` are those whose
 * sensitivity clears the `pMin` threshold and stays under the `pMax` one. Labelling each weight by
 * `(lowRank, highRank)` (how many of the grid's lower / upper thresholds it clears) partitions the head
 * into a few *weight cells*; neurons are partitioned into *neuron cells* the same way. The logits of a
 * grid point are the bias plus the sum of the partial logits of the cells it keeps (a 2-D suffix of the
 * weight cells times a 2-D suffix of the neuron cells). The partial logits come from one GEMM per neuron
 * cell with the weight cells stacked, so the whole grid costs about `#weight cells` dense products
 * instead of one dense product per grid point; the rest is additions and the score of each point.
 */
import { OpnpError } from '../errors.js';
import { gemm, portableGemmKernel, type GemmKernel } from '../gemm.js';
import { assertFeaturesMatchHead, assertHead, type LinearHead } from '../head.js';
import { rowEnergy } from '../internal/logsumexp.js';
import type { Matrix } from '../matrix.js';
import { assertPercentage, percentileOfSorted, sortedCopy } from '../percentile.js';
import type { SensitivityLike } from './masks.js';
import type { PruningPercentages } from './thresholds.js';

/** Candidate values (percent) of each pruning percentage. */
export interface PruningGrid {
  readonly pMin: readonly number[];
  readonly pMax: readonly number[];
  readonly nMin: readonly number[];
  readonly nMax: readonly number[];
}

/** The paper's default grid (SPEC): 4 x 4 x 3 x 4 = 192 points. */
export const DEFAULT_PRUNING_GRID: PruningGrid = Object.freeze({
  pMin: Object.freeze([0, 10, 30, 50]),
  pMax: Object.freeze([0, 0.5, 1, 2]),
  nMin: Object.freeze([0, 10, 30]),
  nMax: Object.freeze([0, 1, 5, 10]),
});

/**
 * The grid points in canonical order: nested loops with `pMin` outermost, then `pMax`, `nMin`, and
 * `nMax` innermost, each in the order given. "Earliest grid point" in the selection rule refers to this order.
 */
export function gridPoints(grid: PruningGrid = DEFAULT_PRUNING_GRID): PruningPercentages[] {
  assertGrid(grid);
  const points: PruningPercentages[] = [];
  for (const pMin of grid.pMin) for (const pMax of grid.pMax) for (const nMin of grid.nMin) for (const nMax of grid.nMax) points.push({ pMin, pMax, nMin, nMax });
  return points;
}

function assertGrid(grid: PruningGrid): void {
  for (const key of ['pMin', 'pMax', 'nMin', 'nMax'] as const) {
    const values = grid[key];
    if (!Array.isArray(values) || values.length === 0) {
      throw new OpnpError('INVALID_ARGUMENT', `Grid axis ${key} must be a non-empty array of percentages`, { actual: values });
    }
    for (const v of values) assertPercentage(v, `grid ${key}`);
  }
}

/** Logit score applied to each grid point's logits. */
export type GridLogitScore = 'energy' | 'msp' | 'maxlogit';

/** Options of {@link gridScores}. */
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
  score?: GridLogitScore;
  /** Temperature of `energy` (default 1). */
  temperature?: number;
  /** ReAct clip `c`: features are replaced by `min(h, c)` before the head (OPNP + ReAct). */
  reactClip?: number;
  /** GEMM kernel for the partial logits (default: the portable kernel). */
  kernel?: GemmKernel;
  /** Rows processed per block (bounds memory: about `rows x cells x C x 4` bytes). Default 256. */
  blockRows?: number;
}

/** Scores of every grid point on the same feature rows. */
export interface GridScores {
  /** Grid points in canonical order. */
  readonly points: PruningPercentages[];
  /** `scores[p]` holds the `[N]` scores of point `p` (higher = more in-distribution). */
  readonly scores: Float32Array[];
}

/**
 * `rank[i]` = how many of the ascending lower thresholds `lo` the value clears (`v >= lo`) minus one, and
 * how many of the descending upper thresholds `hi` it stays under (`v <= hi`) minus one. A value is kept
 * by lower index `a` and upper index `b` iff `lowRank >= a` and `highRank >= b` — exactly SPEC's
 * inclusive `lo <= v <= hi` test.
 */
function bandRanks(values: ArrayLike<number>, lows: readonly number[], highs: readonly number[]): { low: Int8Array; high: Int8Array } {
  const sorted = sortedCopy(values, 'sensitivity');
  if (sorted.length === 0) throw new OpnpError('EMPTY_INPUT', 'Cannot search a grid over an empty sensitivity array');
  const loThr = lows.map((q) => (q > 0 ? percentileOfSorted(sorted, q) : -Infinity));
  const hiThr = highs.map((q) => (q > 0 ? percentileOfSorted(sorted, 100 - q) : Infinity));
  const n = values.length;
  const low = new Int8Array(n);
  const high = new Int8Array(n);
  for (let i = 0; i < n; i++) {
    const v = values[i]!;
    let l = -1;
    for (let a = 0; a < loThr.length; a++) if (v >= loThr[a]!) l = a; else break;
    let h = -1;
    for (let b = 0; b < hiThr.length; b++) if (v <= hiThr[b]!) h = b; else break;
    low[i] = l;
    high[i] = h;
  }
  return { low, high };
}

/** Sorted distinct values with, for each original entry, its index among them. */
function axis(values: readonly number[]): { levels: number[]; index: number[] } {
  const levels = [...new Set(values)].sort((a, b) => a - b);
  return { levels, index: values.map((v) => levels.indexOf(v)) };
}

/** A cell of the `(lowRank, highRank)` lattice with its members. */
interface Cell {
  readonly low: number;
  readonly high: number;
}

/**
 * Scores of every grid point on `features [N x D]` in one pass (see the module comment for the method).
 * Equal, up to float32 rounding of the partial products, to pruning the head at each point and scoring
 * `W' h + b` densely.
 */
export async function gridScores(features: Matrix, options: GridScoreOptions): Promise<GridScores> {
  const { head, sensitivity, neuronSensitivity } = options;
  assertHead(head);
  assertFeaturesMatchHead(head, features);
  const grid = options.grid ?? DEFAULT_PRUNING_GRID;
  const points = gridPoints(grid);
  const score = options.score ?? 'energy';
  const T = options.temperature ?? 1;
  if (!(T > 0) || !Number.isFinite(T)) throw new OpnpError('INVALID_ARGUMENT', 'temperature must be a positive finite number', { actual: T });
  const kernel = options.kernel ?? portableGemmKernel;
  const blockRows = options.blockRows ?? 256;
  if (!Number.isInteger(blockRows) || blockRows < 1) throw new OpnpError('INVALID_ARGUMENT', 'blockRows must be a positive integer', { actual: blockRows });
  const { rows: C, cols: D, data: W } = head.weight;
  if (sensitivity.classes !== C || sensitivity.dim !== D || sensitivity.values.length !== C * D) {
    throw new OpnpError('SHAPE_MISMATCH', 'Sensitivity shape must match the head', { expected: `${C} x ${D}`, actual: `${sensitivity.classes} x ${sensitivity.dim}` });
  }
  if (neuronSensitivity.length !== D) {
    throw new OpnpError('SHAPE_MISMATCH', 'Neuron sensitivity length must equal D', { expected: D, actual: neuronSensitivity.length });
  }
  const N = features.rows;

  // Lattices of thresholds.
  const pMinAxis = axis(grid.pMin), pMaxAxis = axis(grid.pMax), nMinAxis = axis(grid.nMin), nMaxAxis = axis(grid.nMax);
  const wRank = bandRanks(sensitivity.values, pMinAxis.levels, pMaxAxis.levels);
  const nRank = bandRanks(neuronSensitivity, nMinAxis.levels, nMaxAxis.levels);
  const wLevels = [pMinAxis.levels.length, pMaxAxis.levels.length] as const;
  const nLevels = [nMinAxis.levels.length, nMaxAxis.levels.length] as const;

  // Neuron cells: columns grouped by (lowRank, highRank); neurons that no point keeps are dropped.
  const neuronCells: { cell: Cell; columns: number[] }[] = [];
  {
    const byKey = new Map<number, { cell: Cell; columns: number[] }>();
    for (let j = 0; j < D; j++) {
      const l = nRank.low[j]!, h = nRank.high[j]!;
      if (l < 0 || h < 0) continue;
      const key = l * nLevels[1] + h;
      let entry = byKey.get(key);
      if (!entry) byKey.set(key, (entry = { cell: { low: l, high: h }, columns: [] }));
      entry.columns.push(j);
    }
    neuronCells.push(...[...byKey.values()].sort((a, b) => a.cell.low - b.cell.low || a.cell.high - b.cell.high));
  }
  // Weight cells present anywhere in the head; weights that no point keeps are dropped.
  const weightCellIndex = new Int16Array(C * D).fill(-1);
  const weightCells: Cell[] = [];
  {
    const byKey = new Map<number, number>();
    for (let i = 0; i < C * D; i++) {
      const l = wRank.low[i]!, h = wRank.high[i]!;
      if (l < 0 || h < 0) continue;
      const key = l * wLevels[1] + h;
      let index = byKey.get(key);
      if (index === undefined) {
        index = weightCells.length;
        byKey.set(key, index);
        weightCells.push({ low: l, high: h });
      }
      weightCellIndex[i] = index;
    }
  }
  const K = weightCells.length;

  // Per neuron cell: the stacked masked weights [K*C x |J|] (block k = weights of cell k on these columns).
  const stacks: Matrix[] = neuronCells.map(({ columns }) => {
    const J = columns.length;
    const data = new Float32Array(K * C * J);
    for (let c = 0; c < C; c++) {
      for (let jj = 0; jj < J; jj++) {
        const src = c * D + columns[jj]!;
        const k = weightCellIndex[src]!;
        if (k >= 0) data[(k * C + c) * J + jj] = W[src]!;
      }
    }
    return { rows: K * C, cols: J, data };
  });

  // For each point: which weight cells and neuron cells it keeps.
  const pointWeightCells: number[][] = [];
  const pointNeuronCells: number[][] = [];
  const pointIndex = points.map((_, p) => p);
  {
    let p = 0;
    for (const a of pMinAxis.index) for (const b of pMaxAxis.index) for (const an of nMinAxis.index) for (const bn of nMaxAxis.index) {
      pointWeightCells[p] = weightCells.flatMap((cell, k) => (cell.low >= a && cell.high >= b ? [k] : []));
      pointNeuronCells[p] = neuronCells.flatMap(({ cell }, m) => (cell.low >= an && cell.high >= bn ? [m] : []));
      p++;
    }
  }
  // Distinct weight-cell sets are few (<= |pMin| x |pMax|): sum those once per neuron cell and row.
  const weightSetKeys = new Map<string, number>();
  const weightSets: number[][] = [];
  const pointWeightSet = pointIndex.map((p) => {
    const key = pointWeightCells[p]!.join(',');
    let s = weightSetKeys.get(key);
    if (s === undefined) {
      s = weightSets.length;
      weightSetKeys.set(key, s);
      weightSets.push(pointWeightCells[p]!);
    }
    return s;
  });

  const scores = points.map(() => new Float32Array(N));
  const M = neuronCells.length;
  const S = weightSets.length;
  const reactClip = options.reactClip;
  const bias = head.bias;
  // Scratch: per weight set and neuron cell, the partial logits of one row (float64).
  const setPartials = new Float64Array(S * M * C);
  const logitRow = new Float64Array(C);

  for (let start = 0; start < N; start += blockRows) {
    const R = Math.min(blockRows, N - start);
    // Gather each neuron cell's columns of the block (with ReAct clipping) and multiply by its stack.
    const partials: Float32Array[] = [];
    for (let m = 0; m < M; m++) {
      const columns = neuronCells[m]!.columns;
      const J = columns.length;
      const x = new Float32Array(R * J);
      for (let r = 0; r < R; r++) {
        const src = (start + r) * D;
        for (let jj = 0; jj < J; jj++) {
          const v = features.data[src + columns[jj]!]!;
          x[r * J + jj] = reactClip !== undefined && v > reactClip ? reactClip : v;
        }
      }
      const product = await gemm(kernel, { rows: R, cols: J, data: x }, stacks[m]!, { transB: true });
      partials.push(product.data); // [R x K*C]
    }
    for (let r = 0; r < R; r++) {
      // Partial logits per (weight set, neuron cell).
      for (let s = 0; s < S; s++) {
        const cells = weightSets[s]!;
        for (let m = 0; m < M; m++) {
          const out = (s * M + m) * C;
          const part = partials[m]!;
          const rowBase = r * K * C;
          for (let c = 0; c < C; c++) setPartials[out + c] = 0;
          for (const k of cells) {
            const base = rowBase + k * C;
            for (let c = 0; c < C; c++) setPartials[out + c] = setPartials[out + c]! + part[base + c]!;
          }
        }
      }
      for (let p = 0; p < points.length; p++) {
        const s = pointWeightSet[p]!;
        for (let c = 0; c < C; c++) logitRow[c] = bias[c]!;
        for (const m of pointNeuronCells[p]!) {
          const base = (s * M + m) * C;
          for (let c = 0; c < C; c++) logitRow[c] = logitRow[c]! + setPartials[base + c]!;
        }
        scores[p]![start + r] = scoreRow(logitRow, C, score, T);
      }
    }
  }
  return { points, scores };
}

/** One row's logit score. */
function scoreRow(f: Float64Array, C: number, score: GridLogitScore, T: number): number {
  if (score === 'energy') return rowEnergy(f, 0, C, T);
  let max = -Infinity;
  for (let c = 0; c < C; c++) if (f[c]! > max) max = f[c]!;
  if (score === 'maxlogit') return max;
  // msp = 1 / sum_c exp(f_c - max)
  let sum = 0;
  for (let c = 0; c < C; c++) sum += Math.exp(f[c]! - max);
  return 1 / sum;
}
