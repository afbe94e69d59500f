/**
 * Scoring of banded energy grids from their parts (see `BandedGridShape`, `BandedGridParts`): a scorer (the kernel's
 * `bandedGridLogSumExp` accelerator or {@link bandedGridLogSumExpJs}) gives each level combination's shifted
 * log-sum-exp, each grid point reads its combination and adds its group shifts, and rows the scorer cannot be trusted
 * on (below `BANDED_GRID_MIN_LOG_SUM`, or not finite) are re-scored exactly in float64 from the definition.
 */
import { BANDED_GRID_MIN_LOG_SUM, type BandedGridLogSumExp, type BandedGridParts, type BandedGridShape } from '../../kernel-accelerators.js';
import type { PointLevels } from './lattice.js';

/** Computes {@link BandedGridLogSumExp} from parts: a kernel's `bandedGridLogSumExp` or `bandedGridLogSumExpJs`. */
export type BandedScorer = (parts: BandedGridParts, shape: BandedGridShape, bias: Float32Array) => Promise<BandedGridLogSumExp> | BandedGridLogSumExp;

/** Where each grid point reads its value in a {@link BandedGridLogSumExp} result, and which group shifts it adds. */
export interface BandedPointMap {
  /** Level combinations per row. */
  readonly combos: number;
  readonly pointCombo: readonly number[];
  readonly pointShifts: readonly (readonly [boolean, boolean, boolean, boolean])[];
}

/** The level structure of a banded grid: {@link BandedGridShape} without rows and classes. */
export type BandedLevels = Omit<BandedGridShape, 'rows' | 'classes'>;

/** The {@link BandedPointMap} of points with level indices `(a, b, an, bn)` in a lattice of `shape`'s sizes. */
export function bandedPointMap(pointLevels: readonly PointLevels[], shape: BandedLevels): BandedPointMap {
  const { weightLow, weightHigh, neuronLow, neuronHigh } = shape;
  const B = weightHigh + 1, Bn = neuronHigh + 1;
  return {
    combos: weightLow * B * Bn * neuronLow,
    pointCombo: pointLevels.map(([a, b, an, bn]) => ((a * B + b) * Bn + bn) * neuronLow + an),
    pointShifts: pointLevels.map(([, b, , bn]) => [true, bn < neuronHigh, b < weightHigh, b < weightHigh && bn < neuronHigh] as const),
  };
}

/**
 * Scores one block of rows (`start .. start + shape.rows`) from its parts: `scores[p][n] = T * (logSum + shifts)`, and
 * an exact float64 re-scoring of rows whose `logSum` is below {@link BANDED_GRID_MIN_LOG_SUM} or not finite.
 */
export async function scoreBandedBlock(
  parts: BandedGridParts,
  shape: BandedGridShape,
  bias: Float32Array,
  scorer: BandedScorer,
  map: BandedPointMap,
  T: number,
  scores: Float32Array[],
  start: number,
): Promise<void> {
  const { logSum, shifts } = await scorer(parts, shape, bias);
  const { combos, pointCombo, pointShifts } = map;
  const points = pointCombo.length;
  const combo = Int32Array.from(pointCombo);
  // Which of the four group shifts each point adds (in this order, as the definition).
  const use = pointShifts.map((u) => Uint8Array.from(u, (b) => (b ? 1 : 0)));
  const [use0, use1, use2, use3] = [0, 1, 2, 3].map((k) => Uint8Array.from(use, (u) => u[k]!));
  for (let r = 0; r < shape.rows; r++) {
    const base = r * combos;
    let accurate = true;
    for (let g = 0; g < combos && accurate; g++) {
      const v = logSum[base + g]!;
      accurate = v >= BANDED_GRID_MIN_LOG_SUM && v < Infinity;
    }
    const at = start + r;
    if (!accurate) {
      const exact = exactRow(parts, r, shape, bias);
      for (let p = 0; p < points; p++) scores[p]![at] = T * exact[combo[p]!]!;
      continue;
    }
    const s0 = shifts[r * 4]!, s1 = shifts[r * 4 + 1]!, s2 = shifts[r * 4 + 2]!, s3 = shifts[r * 4 + 3]!;
    for (let p = 0; p < points; p++) {
      let value = logSum[base + combo[p]!]!;
      if (use0![p]) value += s0;
      if (use1![p]) value += s1;
      if (use2![p]) value += s2;
      if (use3![p]) value += s3;
      scores[p]![at] = T * value;
    }
  }
}

/**
 * Log-sum-exp of every level combination of row `r`, straight from {@link BandedGridShape}'s definition in
 * float64 (for the rows the scorer's float32 result cannot be trusted on).
 */
export function exactRow(parts: BandedGridParts, r: number, shape: BandedGridShape, bias: Float32Array): Float64Array {
  const { classes: C, weightLow, weightHigh, neuronLow, neuronHigh } = shape;
  const B = weightHigh + 1, Bn = neuronHigh + 1;
  const out = new Float64Array(weightLow * B * neuronLow * Bn);
  const logits = new Float64Array(C);
  let g = 0;
  for (let a = 0; a < weightLow; a++) {
    for (let b = 0; b < B; b++) {
      for (let bn = 0; bn < Bn; bn++) {
        for (let an = 0; an < neuronLow; an++) {
          logits.set(bias);
          const add = (k: number): void => {
            const low = parts.low[k]!, lo = (r * weightLow + a) * C;
            for (let c = 0; c < C; c++) logits[c] = logits[c]! + low[lo + c]!;
            const high = parts.high[k]!, hi = (r * weightHigh + b) * C;
            if (b < weightHigh) for (let c = 0; c < C; c++) logits[c] = logits[c]! + high[hi + c]!;
          };
          for (let k = an; k < neuronLow; k++) add(k);
          for (let k = bn; k < neuronHigh; k++) add(neuronLow + k);
          let max = -Infinity;
          for (let c = 0; c < C; c++) if (logits[c]! > max) max = logits[c]!;
          let sum = 0;
          for (let c = 0; c < C; c++) sum += Math.exp(logits[c]! - max);
          out[g++] = max === -Infinity || max === Infinity ? max : max + Math.log(sum);
        }
      }
    }
  }
  return out;
}
