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
 *
 * Energy scores of *banded* grids (every `pMin + pMax <= 100` and `nMin + nMax <= 100`, like the default) are
 * scored as `banded-grid.ts` describes: the partial logits fall into four groups that each depend on two of the four
 * levels, so exponentials are taken once per group entry instead of once per grid point (by the kernel's
 * {@link GemmKernel.bandedGridLogSumExp}, or in JavaScript). Its parts come from suffix-stacked dense GEMMs, or, when
 * sparse products are wanted (the portable kernel), from the cells below. Other scores and overlapping grids use a
 * product of per-cell exponentials while the logits stay within float64's range, and exact sums otherwise.
 */
import { OpnpError } from '../errors.js';
import { gemm, portableGemmKernel, type GemmKernel } from '../gemm.js';
import { assertFeaturesMatchHead, assertHead, type LinearHead } from '../head.js';
import type { Matrix } from '../matrix.js';
import { assertPercentage, percentiles } from '../percentile.js';
import type { LogitScore } from '../scores/logit-scores.js';
import { bandedGridLogSumExpJs, bandedPointMap, gatherColumns, isBandedLattice, scoreBandedBlock, scoreBandedGrid, type BandedPointMap } from './banded-grid.js';
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
  score?: LogitScore;
  /** Temperature of `energy` (default 1). */
  temperature?: number;
  /** ReAct clip `c`: features are replaced by `min(h, c)` before the head (OPNP + ReAct). */
  reactClip?: number;
  /**
   * GEMM kernel for the partial logits (default: the portable kernel). A kernel with
   * {@link GemmKernel.bandedGridLogSumExp} also scores banded grids (energy only).
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
   * Ignored for banded energy grids when the kernel has `bandedGridLogSumExp` (its products are all dense).
   */
  sparseBelowDensity?: number;
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
function bandRanks(values: ArrayLike<number>, lows: readonly number[], highs: readonly number[]): { low: Int32Array; high: Int32Array } {
  if (values.length === 0) throw new OpnpError('EMPTY_INPUT', 'Cannot search a grid over an empty sensitivity array');
  const thresholds = percentiles(values, [...lows.filter((q) => q > 0), ...highs.filter((q) => q > 0).map((q) => 100 - q)], 'sensitivity');
  let next = 0;
  const loThr = lows.map((q) => (q > 0 ? thresholds[next++]! : -Infinity));
  const hiThr = highs.map((q) => (q > 0 ? thresholds[next++]! : Infinity));
  const n = values.length;
  const low = new Int32Array(n);
  const high = new Int32Array(n);
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
  const requestedBlockRows = options.blockRows;
  if (requestedBlockRows !== undefined && (!Number.isInteger(requestedBlockRows) || requestedBlockRows < 1)) {
    throw new OpnpError('INVALID_ARGUMENT', 'blockRows must be a positive integer', { actual: requestedBlockRows });
  }
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

  const scores = points.map(() => new Float32Array(N));
  const banded = score === 'energy' && N > 0 && C > 0 && D > 0 && isBandedLattice(wRank, wLevels) && isBandedLattice(nRank, nLevels);
  const pointLevels: [number, number, number, number][] = [];
  for (const a of pMinAxis.index) for (const b of pMaxAxis.index) for (const an of nMinAxis.index) for (const bn of nMaxAxis.index) pointLevels.push([a, b, an, bn]);
  const sparseBelow = options.sparseBelowDensity ?? (kernel === portableGemmKernel ? 0.3 : 0);
  // Banded energy grids: suffix-stacked dense GEMMs scored in one pass, unless sparse products are wanted (the
  // portable kernel), which the cell path below provides before the same banded scoring.
  if (banded && (kernel.bandedGridLogSumExp || sparseBelow === 0)) {
    await scoreBandedGrid({
      features,
      head,
      kernel,
      weightRanks: wRank,
      neuronRanks: nRank,
      weightLevels: wLevels,
      neuronLevels: nLevels,
      pointLevels,
      temperature: T,
      reactClip: options.reactClip,
      // Partial logits per row: one [S x C] stack per neuron band, S = pMin levels + pMax levels - 1.
      blockRows: requestedBlockRows ?? defaultBlockRows((nLevels[0] + nLevels[1] - 1) * (wLevels[0] + wLevels[1] - 1) * C),
      scores,
    });
    return { points, scores };
  }

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
  const weightCellIndex = new Int32Array(C * D).fill(-1);
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

  // Per neuron cell: dense weight cells stacked for one GEMM, sparse ones as column-wise lists.
  const plans = neuronCells.map(({ columns }) => planNeuronCell(W, C, D, columns, weightCellIndex, K, sparseBelow));
  const columnLists = plans.map((plan) => Int32Array.from(plan.columns));

  // Group the points by kept weight cells (few distinct sets), then by nMin level; within a group the
  // nMax levels are swept from the largest down so each step only adds the newly kept neuron cells.
  const weightSetKeys = new Map<string, number>();
  const weightSets: number[][] = [];
  const sweeps: NeuronSweep[][] = [];
  {
    let p = 0;
    for (const a of pMinAxis.index) for (const b of pMaxAxis.index) for (const an of nMinAxis.index) for (const bn of nMaxAxis.index) {
      const cells = weightCells.flatMap((cell, k) => (cell.low >= a && cell.high >= b ? [k] : []));
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
          // steps[i] is nMax level nLevels[1]-1-i: add the neuron cells with that high rank (and low >= an).
          steps: Array.from({ length: nLevels[1] }, (_, i) => ({
            addCells: neuronCells.flatMap(({ cell }, m) => (cell.low >= an && cell.high === nLevels[1] - 1 - i ? [m] : [])),
            points: [] as number[],
          })),
        };
        sweeps[set]!.push(sweep);
      }
      sweep.steps[nLevels[1] - 1 - bn]!.points.push(p);
      p++;
    }
  }

  const M = neuronCells.length;
  const S = weightSets.length;
  const blockRows = requestedBlockRows ?? defaultBlockRows(K * M * C);
  const reactClip = options.reactClip;
  const bias = head.bias;
  // Temperature of the exponentials (msp is defined at T = 1) and the bias part of the logit bound.
  const scoreT = score === 'msp' ? 1 : T;
  let biasBound = 0;
  for (let c = 0; c < C; c++) biasBound = Math.max(biasBound, Math.abs(bias[c]!) / scoreT);
  const biasExp = Float64Array.from(bias, (v) => Math.exp(v / scoreT));
  // Per row scratch: where each (weight cell k, neuron cell m) partial lives (index k*M + m) ...
  const cellArray: (Float32Array | null)[] = new Array<Float32Array | null>(K * M).fill(null);
  const cellBase = new Int32Array(K * M);
  // ... their exponentials (product path), per (weight set, neuron cell) sums or products, and the
  // running logits / exponentials of the neuron cells kept so far in a sweep.
  const cellExp = new Float64Array(K * M * C);
  const setValues = new Float64Array(S * M * C);
  const kept = new Float64Array(C);
  const bandedJs = banded ? bandedAssembly(weightCells, neuronCells.map(({ cell }) => cell), wLevels, nLevels, pointLevels) : undefined;
  const biasOverT = Float32Array.from(bias, (v) => v / T);

  for (let start = 0; start < N; start += blockRows) {
    const R = Math.min(blockRows, N - start);
    // Gather each neuron cell's columns of the block (with ReAct clipping); dense cells by one GEMM,
    // sparse cells by a loop that also skips zero activations.
    const denseOut: (Float32Array | null)[] = [];
    const sparseOut: Float32Array[] = [];
    const inputs = gatherColumns(features.data, D, start, R, columnLists, reactClip ?? Infinity);
    for (let m = 0; m < M; m++) {
      const plan = plans[m]!;
      const x = inputs[m]!;
      denseOut.push(plan.dense ? (await gemm(kernel, { rows: R, cols: plan.columns.length, data: x }, plan.dense, { transB: true })).data : null);
      sparseOut.push(sparseProduct(plan, x, R, C));
    }
    if (bandedJs) {
      const shape = { rows: R, classes: C, ...bandedJs.levels };
      await scoreBandedBlock(bandedParts(R, denseOut, sparseOut, bandedJs), shape, biasOverT, bandedGridLogSumExpJs, bandedJs.map, T, scores, start);
      continue;
    }
    for (let r = 0; r < R; r++) {
      const bound = prepareRow(r, denseOut, sparseOut);
      if (score !== 'maxlogit' && bound < SAFE_EXPONENT) scoreRowByProducts(start + r);
      else scoreRowBySums(start + r);
    }
  }

  /**
   * The banded parts of a block (`[R x stacks x C]` per neuron part, scaled by `1/T`) from its cell partials, each
   * stack entry a running suffix sum: entry `a` = low-side weight cell of lower rank `a` + entry `a + 1` (the centre
   * last), entry `weightLow + b` = high-side cell of upper rank `b` + entry `weightLow + b + 1`.
   */
  function bandedParts(R: number, denseOut: (Float32Array | null)[], sparseOut: Float32Array[], assembly: BandedAssembly): Float32Array[] {
    const { stacks, partOfNeuronCell, chainCell, levels } = assembly;
    const parts = Array.from({ length: levels.neuronLow + levels.neuronHigh }, () => new Float32Array(R * stacks * C));
    const invT = 1 / T;
    for (let m = 0; m < M; m++) {
      const out = parts[partOfNeuronCell[m]!]!;
      const plan = plans[m]!;
      for (let s = stacks - 1; s >= 0; s--) {
        // The cell this entry adds (or none) and the entry it continues (none at the end of each chain).
        const k = chainCell[s]!;
        const next = s === levels.weightLow - 1 || s === stacks - 1 ? -1 : s + 1;
        const slot = k >= 0 ? plan.slot[k]! : EMPTY;
        const present = slot !== EMPTY;
        const [source, stride, index] = !present ? [null, 0, 0] : slot >= 0 ? [denseOut[m]!, plan.denseCells, slot] : [sparseOut[m]!, plan.sparse.length, -slot - 1];
        for (let r = 0; r < R; r++) {
          const o = (r * stacks + s) * C;
          const base = (r * stride + index) * C;
          const n = (r * stacks + next) * C;
          if (source && next >= 0) for (let c = 0; c < C; c++) out[o + c] = source[base + c]! * invT + out[n + c]!;
          else if (source) for (let c = 0; c < C; c++) out[o + c] = source[base + c]! * invT;
          else if (next >= 0) out.copyWithin(o, n, n + C);
        }
      }
    }
    return parts;
  }

  /**
   * Points `cellArray` / `cellBase` at the (weight cell, neuron cell) partials of block row `r` and returns
   * a bound on `|logit| / T` over every grid point.
   */
  function prepareRow(r: number, denseOut: (Float32Array | null)[], sparseOut: Float32Array[]): number {
    let bound = biasBound;
    for (let m = 0; m < M; m++) {
      const plan = plans[m]!;
      for (let k = 0; k < K; k++) {
        const slot = plan.slot[k]!;
        const at = k * M + m;
        if (slot === EMPTY) {
          cellArray[at] = null;
          continue;
        }
        const part = slot >= 0 ? denseOut[m]! : sparseOut[m]!;
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

  /**
   * Product path for row `n`: every point's logits are `bias + sum of kept partials`, all within `[-bound, bound] * T`,
   * so `exp(f / T)` is the product of the partials' exponentials (no overflow or underflow below
   * {@link SAFE_EXPONENT}): exponentials are taken once per (weight cell, neuron cell) instead of once per point.
   */
  function scoreRowByProducts(n: number): void {
    for (let at = 0; at < K * M; at++) {
      const part = cellArray[at];
      if (!part) continue;
      const base = cellBase[at]!;
      const out = at * C;
      for (let c = 0; c < C; c++) cellExp[out + c] = Math.exp(part[base + c]! / scoreT);
    }
    for (let set = 0; set < S; set++) {
      const cells = weightSets[set]!;
      for (let m = 0; m < M; m++) {
        const out = (set * M + m) * C;
        for (let c = 0; c < C; c++) setValues[out + c] = 1;
        for (const k of cells) {
          if (!cellArray[k * M + m]) continue;
          const base = (k * M + m) * C;
          for (let c = 0; c < C; c++) setValues[out + c] = setValues[out + c]! * cellExp[base + c]!;
        }
      }
      for (const sweep of sweeps[set]!) {
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
  }

  /** Sum path for row `n` (any logit range, and `maxlogit`): partial logits are added, then each point is scored. */
  function scoreRowBySums(n: number): void {
    for (let set = 0; set < S; set++) {
      const cells = weightSets[set]!;
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
      for (const sweep of sweeps[set]!) {
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
  }
  return { points, scores };
}

/** Bytes of partial logits a block holds at most by default. */
const DEFAULT_BLOCK_BYTES = 256 * 2 ** 20;

/** The default block size: 512 rows, fewer when a row's `partialsPerRow` float32 partial logits would exceed {@link DEFAULT_BLOCK_BYTES}. */
function defaultBlockRows(partialsPerRow: number): number {
  return Math.max(1, Math.min(512, Math.floor(DEFAULT_BLOCK_BYTES / (4 * Math.max(1, partialsPerRow)))));
}

/**
 * Largest `|logit| / T` bound for which the product path is used: `exp(+-600)` and products of such
 * factors stay far from float64 overflow and underflow (`exp(709)`, `exp(-745)`).
 */
const SAFE_EXPONENT = 600;

/** How the generic path turns its cell partials into banded parts for {@link bandedGridLogSumExpJs}. */
interface BandedAssembly {
  readonly levels: { readonly weightLow: number; readonly weightHigh: number; readonly neuronLow: number; readonly neuronHigh: number };
  /** Stack entries per part: `weightLow + weightHigh`. */
  readonly stacks: number;
  /** The part of each neuron cell: its lower rank on the low side (the centre last), `neuronLow + upper rank` on the high side. */
  readonly partOfNeuronCell: Int32Array;
  /**
   * Per stack entry, the weight cell it adds (-1: none): entry `a < weightLow` the low-side cell of lower rank `a`
   * (the centre for the last), entry `weightLow + b` the high-side cell of upper rank `b`.
   */
  readonly chainCell: Int32Array;
  readonly map: BandedPointMap;
}

function bandedAssembly(
  weightCells: readonly Cell[],
  neuronCells: readonly Cell[],
  wLevels: readonly [number, number],
  nLevels: readonly [number, number],
  pointLevels: readonly (readonly [number, number, number, number])[],
): BandedAssembly {
  const levels = { weightLow: wLevels[0], weightHigh: wLevels[1] - 1, neuronLow: nLevels[0], neuronHigh: nLevels[1] - 1 };
  return {
    levels,
    stacks: levels.weightLow + levels.weightHigh,
    partOfNeuronCell: Int32Array.from(neuronCells, ({ low, high }) => (high === levels.neuronHigh ? low : levels.neuronLow + high)),
    chainCell: (() => {
      const chain = new Int32Array(levels.weightLow + levels.weightHigh).fill(-1);
      weightCells.forEach(({ low, high }, k) => (chain[high === levels.weightHigh ? low : levels.weightLow + high] = k));
      return chain;
    })(),
    map: bandedPointMap(pointLevels, levels),
  };
}

/** Points sharing a weight set and an nMin level, swept over the nMax levels from the largest down. */
interface NeuronSweep {
  readonly nMinLevel: number;
  readonly steps: { readonly addCells: number[]; readonly points: number[] }[];
}

/** Marks a weight cell with no weights on a neuron cell's columns. */
const EMPTY = -0x7fffffff;

/** A weight cell's weights on one neuron cell's columns, column by column (CSC). */
interface SparseCell {
  /** `colStart[jj] .. colStart[jj+1]` index the entries of local column `jj`. */
  readonly colStart: Int32Array;
  readonly classIndex: Int32Array;
  readonly weight: Float32Array;
}

/** How one neuron cell's partial logits are computed. */
interface NeuronCellPlan {
  readonly columns: readonly number[];
  /** Number of dense weight cells stacked in `dense`. */
  readonly denseCells: number;
  /** Stacked masked weights `[denseCells*C x |J|]` (block = one weight cell), or null when none is dense. */
  readonly dense: Matrix | null;
  readonly sparse: SparseCell[];
  /** Per weight cell: `>= 0` its block in `dense`, `< 0` sparse entry `-slot-1`, or {@link EMPTY}. */
  readonly slot: Int32Array;
}

function planNeuronCell(W: Float32Array, C: number, D: number, columns: readonly number[], cellOf: Int32Array, K: number, sparseBelow: number): NeuronCellPlan {
  const J = columns.length;
  const count = new Float64Array(K);
  for (let c = 0; c < C; c++) for (const j of columns) { const k = cellOf[c * D + j]!; if (k >= 0) count[k]!++; }
  const slot = new Int32Array(K).fill(EMPTY);
  let denseCells = 0;
  const sparseCells: number[] = [];
  for (let k = 0; k < K; k++) {
    if (count[k] === 0) continue;
    if (count[k]! / (C * J) < sparseBelow) slot[k] = -(sparseCells.push(k)); // -1, -2, ...
    else slot[k] = denseCells++;
  }
  const dense = denseCells > 0 ? { rows: denseCells * C, cols: J, data: new Float32Array(denseCells * C * J) } : null;
  const sparse: SparseCell[] = sparseCells.map((k) => ({ colStart: new Int32Array(J + 1), classIndex: new Int32Array(count[k]!), weight: new Float32Array(count[k]!) }));
  const fill = new Int32Array(sparseCells.length);
  for (let jj = 0; jj < J; jj++) {
    const j = columns[jj]!;
    for (let s = 0; s < sparse.length; s++) sparse[s]!.colStart[jj] = fill[s]!;
    for (let c = 0; c < C; c++) {
      const k = cellOf[c * D + j]!;
      if (k < 0) continue;
      const at = slot[k]!;
      if (at >= 0) dense!.data[(at * C + c) * J + jj] = W[c * D + j]!;
      else {
        const s = -at - 1;
        const cell = sparse[s]!;
        cell.classIndex[fill[s]!] = c;
        cell.weight[fill[s]!] = W[c * D + j]!;
        fill[s]!++;
      }
    }
  }
  for (let s = 0; s < sparse.length; s++) sparse[s]!.colStart[J] = fill[s]!;
  return { columns, denseCells, dense, sparse, slot };
}

/** Partial logits of a plan's sparse cells for `x [R x |J|]`: `[R x sparse.length*C]`. */
function sparseProduct(plan: NeuronCellPlan, x: Float32Array, R: number, C: number): Float32Array {
  const S = plan.sparse.length;
  const J = plan.columns.length;
  const out = new Float32Array(R * S * C);
  if (S === 0) return out;
  const acc = new Float64Array(S * C);
  for (let r = 0; r < R; r++) {
    acc.fill(0);
    for (let s = 0; s < S; s++) {
      const { colStart, classIndex, weight } = plan.sparse[s]!;
      const base = s * C;
      for (let jj = 0; jj < J; jj++) {
        const v = x[r * J + jj]!;
        if (v === 0) continue;
        for (let e = colStart[jj]!, end = colStart[jj + 1]!; e < end; e++) {
          const at = base + classIndex[e]!;
          acc[at] = acc[at]! + v * weight[e]!;
        }
      }
    }
    out.set(acc, r * S * C);
  }
  return out;
}

/** One row's logit score of `bias + z`, with float64 math. */
function scoreRow(bias: Float32Array, z: Float64Array, C: number, score: LogitScore, T: number): number {
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
