/**
 * The grid search's path for banded energy grids when sparse products are wanted (the portable kernel) and the
 * kernel has no `bandedGridLogSumExp` accelerator: the cell partial logits (`cells.ts`, with sparse products) are
 * assembled into the banded parts of `BandedGridShape` (`BandedGridParts`) and scored like the dense banded path, by
 * {@link bandedGridLogSumExpJs}.
 */
import type { BandedGridParts, BandedGridShape } from '../../kernel-accelerators.js';
import { defaultBlockRows } from './blocks.js';
import { bandedGridLogSumExpJs } from './banded-lse-js.js';
import { bandedPointMap, scoreBandedBlock, type BandedLevels, type BandedPointMap } from './banded-scoring.js';
import { cellPartial, forEachCellBlock, type Cell, type CellBlock, type CellLayout } from './cells.js';
import type { PointLevels } from './lattice.js';
import type { GridPlan } from './plan.js';

/** How the cell partials become banded parts for {@link bandedGridLogSumExpJs}. */
export interface BandedAssembly {
  readonly levels: BandedLevels;
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

/** Scores every grid point of a banded energy plan into `scores[p][n]` from its cell partials. */
export async function scoreBandedCells(plan: GridPlan, layout: CellLayout, scores: Float32Array[]): Promise<void> {
  const { rows: C } = plan.head.weight;
  const T = plan.temperature;
  const assembly = bandedAssembly(layout.weightCells, layout.neuronCells.map(({ cell }) => cell), plan.weightLevels, plan.neuronLevels, plan.pointLevels);
  const biasOverT = Float32Array.from(plan.head.bias, (v) => v / T);
  const blockRows = plan.blockRows ?? defaultBlockRows(layout.weightCells.length * layout.neuronCells.length * C);
  await forEachCellBlock(plan, layout, blockRows, async (block) => {
    const shape: BandedGridShape = { rows: block.rows, classes: C, ...assembly.levels };
    await scoreBandedBlock(bandedParts(layout, block, assembly, C, T), shape, biasOverT, bandedGridLogSumExpJs, assembly.map, T, scores, block.start);
  });
}

/** The {@link BandedAssembly} of a banded lattice's cells. */
export function bandedAssembly(
  weightCells: readonly Cell[],
  neuronCells: readonly Cell[],
  wLevels: readonly [number, number],
  nLevels: readonly [number, number],
  pointLevels: readonly PointLevels[],
): BandedAssembly {
  const levels = { weightLow: wLevels[0], weightHigh: wLevels[1] - 1, neuronLow: nLevels[0], neuronHigh: nLevels[1] - 1 };
  const chainCell = new Int32Array(levels.weightLow + levels.weightHigh).fill(-1);
  weightCells.forEach(({ low, high }, k) => (chainCell[high === levels.weightHigh ? low : levels.weightLow + high] = k));
  return {
    levels,
    stacks: levels.weightLow + levels.weightHigh,
    partOfNeuronCell: Int32Array.from(neuronCells, ({ low, high }) => (high === levels.neuronHigh ? low : levels.neuronLow + high)),
    chainCell,
    map: bandedPointMap(pointLevels, levels),
  };
}

/**
 * The banded parts of a block ({@link BandedGridParts}: per neuron part `[R x weightLow x C]` low-side and
 * `[R x weightHigh x C]` high-side entries, scaled by `1/T`) from its cell partials, each stack entry a running suffix
 * sum: entry `a` = low-side weight cell of lower rank `a` + entry `a + 1` (the centre last), entry `weightLow + b` =
 * high-side cell of upper rank `b` + entry `weightLow + b + 1`.
 */
export function bandedParts(layout: CellLayout, block: CellBlock, assembly: BandedAssembly, C: number, T: number): BandedGridParts {
  const { stacks, partOfNeuronCell, chainCell, levels } = assembly;
  const R = block.rows;
  const { weightLow: wL, weightHigh: wH } = levels;
  const count = levels.neuronLow + levels.neuronHigh;
  const low = Array.from({ length: count }, () => new Float32Array(R * wL * C));
  const high = Array.from({ length: count }, () => new Float32Array(R * wH * C));
  const invT = 1 / T;
  for (let m = 0; m < layout.plans.length; m++) {
    const k = partOfNeuronCell[m]!;
    for (let s = stacks - 1; s >= 0; s--) {
      // The cell this entry adds (or none) and the entry it continues (none at the end of each chain).
      const cell = chainCell[s]!;
      const last = s === wL - 1 || s === stacks - 1;
      // Entries s and s + 1 live in the same array: the low one (s < wL) or the high one.
      const [out, entries, entry] = s < wL ? [low[k]!, wL, s] : [high[k]!, wH, s - wL];
      for (let r = 0; r < R; r++) {
        const partial = cell >= 0 ? cellPartial(layout, block, cell, m, r, C) : null;
        const o = (r * entries + entry) * C;
        const n = o + C;
        if (partial && !last) for (let c = 0; c < C; c++) out[o + c] = partial.source[partial.base + c]! * invT + out[n + c]!;
        else if (partial) for (let c = 0; c < C; c++) out[o + c] = partial.source[partial.base + c]! * invT;
        else if (!last) out.copyWithin(o, n, n + C);
      }
    }
  }
  return { low, high };
}
