/**
 * The cells of the grid search's general method. Labelling each weight by `(lowRank, highRank)` (how many of the
 * grid's lower / upper thresholds it clears) partitions the head into a few *weight cells*; neurons are partitioned
 * into *neuron cells* the same way. The logits of a grid point are the bias plus the sum of the partial logits of the
 * cells it keeps (a 2-D suffix of the weight cells times a 2-D suffix of the neuron cells). The partial logits of a
 * block of rows come from one GEMM per neuron cell with the dense weight cells stacked, plus sparse products for the
 * sparse ones ({@link forEachCellBlock}).
 */
import { gemm } from '../../gemm.js';
import type { Matrix } from '../../matrix.js';
import { gatherColumns } from './blocks.js';
import type { GridPlan } from './plan.js';

/** A cell of the `(lowRank, highRank)` lattice. */
export interface Cell {
  readonly low: number;
  readonly high: number;
}

/** The weight and neuron cells of a plan, and how each neuron cell's partial logits are computed. */
export interface CellLayout {
  /** Neuron cells sorted by `(low, high)`, with their columns; neurons that no point keeps are dropped. */
  readonly neuronCells: readonly { readonly cell: Cell; readonly columns: number[] }[];
  /** Weight cells present anywhere in the head, in order of first occurrence. */
  readonly weightCells: readonly Cell[];
  /** Per neuron cell: dense weight cells stacked for one GEMM, sparse ones as column-wise lists. */
  readonly plans: readonly NeuronCellPlan[];
  /** Per neuron cell: its columns. */
  readonly columnLists: readonly Int32Array[];
}

/** The partial logits of one block of rows: per neuron cell, its dense (`[R x denseCells*C]`) and sparse products. */
export interface CellBlock {
  readonly start: number;
  readonly rows: number;
  readonly denseOut: readonly (Float32Array | null)[];
  readonly sparseOut: readonly Float32Array[];
}

/** The cells of `plan` and the per-neuron-cell products. */
export function cellLayout(plan: GridPlan): CellLayout {
  const { rows: C, cols: D, data: W } = plan.head.weight;
  const neuronCells = groupNeuronCells(plan, D);
  const { weightCells, weightCellIndex } = groupWeightCells(plan, C * D);
  const plans = neuronCells.map(({ columns }) => planNeuronCell(W, C, D, columns, weightCellIndex, weightCells.length, plan.sparseBelow));
  return { neuronCells, weightCells, plans, columnLists: plans.map((p) => Int32Array.from(p.columns)) };
}

/** Neuron cells: columns grouped by (lowRank, highRank); neurons that no point keeps are dropped. */
function groupNeuronCells(plan: GridPlan, D: number): { cell: Cell; columns: number[] }[] {
  const { neuronRanks: nRank, neuronLevels: nLevels } = plan;
  const byKey = new Map<number, { cell: Cell; columns: number[] }>();
  for (let j = 0; j < D; j++) {
    const l = nRank.low[j]!, h = nRank.high[j]!;
    if (l < 0 || h < 0) continue;
    const key = l * nLevels[1] + h;
    let entry = byKey.get(key);
    if (!entry) byKey.set(key, (entry = { cell: { low: l, high: h }, columns: [] }));
    entry.columns.push(j);
  }
  return [...byKey.values()].sort((a, b) => a.cell.low - b.cell.low || a.cell.high - b.cell.high);
}

/** Weight cells present anywhere in the head and each weight's cell (`-1`: kept by no point). */
function groupWeightCells(plan: GridPlan, size: number): { weightCells: Cell[]; weightCellIndex: Int32Array } {
  const { weightRanks: wRank, weightLevels: wLevels } = plan;
  const weightCellIndex = new Int32Array(size).fill(-1);
  const weightCells: Cell[] = [];
  const byKey = new Map<number, number>();
  for (let i = 0; i < size; i++) {
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
  return { weightCells, weightCellIndex };
}

/**
 * Computes the cell partial logits of `plan.features` block by block (`blockRows` rows each, with ReAct clipping):
 * dense cells by one GEMM per neuron cell, sparse cells by a loop that also skips zero activations; `visit` consumes
 * each block before the next is computed.
 */
export async function forEachCellBlock(plan: GridPlan, layout: CellLayout, blockRows: number, visit: (block: CellBlock) => Promise<void> | void): Promise<void> {
  const { features, kernel, reactClip } = plan;
  const { rows: N } = features;
  const { rows: C, cols: D } = plan.head.weight;
  for (let start = 0; start < N; start += blockRows) {
    const R = Math.min(blockRows, N - start);
    const denseOut: (Float32Array | null)[] = [];
    const sparseOut: Float32Array[] = [];
    const inputs = gatherColumns(features.data, D, start, R, layout.columnLists, reactClip ?? Infinity);
    for (let m = 0; m < layout.plans.length; m++) {
      const cellPlan = layout.plans[m]!;
      const x = inputs[m]!;
      denseOut.push(cellPlan.dense ? (await gemm(kernel, { rows: R, cols: cellPlan.columns.length, data: x }, cellPlan.dense, { transB: true })).data : null);
      sparseOut.push(sparseProduct(cellPlan, x, R, C));
    }
    await visit({ start, rows: R, denseOut, sparseOut });
    plan.onProgress?.(start + R, N);
  }
}

/**
 * Where block row `r`'s partial logits of weight cell `k` on neuron cell `m` live: `source[base .. base + C)`, or
 * `null` when the weight cell has no weights on the neuron cell's columns.
 */
export function cellPartial(layout: CellLayout, block: CellBlock, k: number, m: number, r: number, C: number): { source: Float32Array; base: number } | null {
  const plan = layout.plans[m]!;
  const slot = plan.slot[k]!;
  if (slot === EMPTY) return null;
  return slot >= 0
    ? { source: block.denseOut[m]!, base: (r * plan.denseCells + slot) * C }
    : { source: block.sparseOut[m]!, base: (r * plan.sparse.length + (-slot - 1)) * C };
}

/** Marks a weight cell with no weights on a neuron cell's columns. */
export const EMPTY = -0x7fffffff;

/** A weight cell's weights on one neuron cell's columns, column by column (CSC). */
export interface SparseCell {
  /** `colStart[jj] .. colStart[jj+1]` index the entries of local column `jj`. */
  readonly colStart: Int32Array;
  readonly classIndex: Int32Array;
  readonly weight: Float32Array;
}

/** How one neuron cell's partial logits are computed. */
export interface NeuronCellPlan {
  readonly columns: readonly number[];
  /** Number of dense weight cells stacked in `dense`. */
  readonly denseCells: number;
  /** Stacked masked weights `[denseCells*C x |J|]` (block = one weight cell), or null when none is dense. */
  readonly dense: Matrix | null;
  readonly sparse: SparseCell[];
  /** Per weight cell: `>= 0` its block in `dense`, `< 0` sparse entry `-slot-1`, or {@link EMPTY}. */
  readonly slot: Int32Array;
}

export function planNeuronCell(W: Float32Array, C: number, D: number, columns: readonly number[], cellOf: Int32Array, K: number, sparseBelow: number): NeuronCellPlan {
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
export function sparseProduct(plan: NeuronCellPlan, x: Float32Array, R: number, C: number): Float32Array {
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
