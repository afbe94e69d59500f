/**
 * The OPNP hyperparameter grid and its percentile lattices (docs/numerics.md#grid-search).
 *
 * Each axis pair (`pMin`/`pMax` for weights, `nMin`/`nMax` for neurons) defines ascending lower and descending upper
 * thresholds; an entry's `(lowRank, highRank)` says which of them it clears, so "kept by point `(a, b)`" is
 * `lowRank >= a && highRank >= b` (see {@link bandRanks}).
 */
import { OpnpError } from '../../errors.js';
import { assertPercentage, percentiles } from '../../percentile.js';
import type { PruningPercentages } from '../thresholds.js';

/** Candidate values (percent) of each pruning percentage. */
export interface PruningGrid {
  readonly pMin: readonly number[];
  readonly pMax: readonly number[];
  readonly nMin: readonly number[];
  readonly nMax: readonly number[];
}

/** The paper's default grid (docs/numerics.md#default-grid-and-point-order): 4 x 4 x 3 x 4 = 192 points. */
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

/** Throws `INVALID_ARGUMENT` unless every axis is a non-empty array of percentages. */
export function assertGrid(grid: PruningGrid): void {
  for (const key of ['pMin', 'pMax', 'nMin', 'nMax'] as const) {
    const values = grid[key];
    if (!Array.isArray(values) || values.length === 0) {
      throw new OpnpError('INVALID_ARGUMENT', `Grid axis ${key} must be a non-empty array of percentages`, { actual: values });
    }
    for (const v of values) assertPercentage(v, `grid ${key}`);
  }
}

/** Per-entry `(lowRank, highRank)` of a percentile lattice (see {@link bandRanks}); `-1` = kept by no point. */
export interface LatticeRanks {
  readonly low: Int32Array;
  readonly high: Int32Array;
}

/**
 * `rank[i]` = how many of the ascending lower thresholds `lo` the value clears (`v >= lo`) minus one, and
 * how many of the descending upper thresholds `hi` it stays under (`v <= hi`) minus one. A value is kept
 * by lower index `a` and upper index `b` iff `lowRank >= a` and `highRank >= b` — exactly the inclusive
 * `lo <= v <= hi` test of docs/numerics.md#thresholds-and-keep-masks.
 */
export function bandRanks(values: ArrayLike<number>, lows: readonly number[], highs: readonly number[]): LatticeRanks {
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

/** One grid axis: its sorted distinct values (`levels`) and, for each original entry, its index among them. */
export interface LevelAxis {
  readonly levels: number[];
  readonly index: number[];
}

/** Sorted distinct values with, for each original entry, its index among them. */
export function levelAxis(values: readonly number[]): LevelAxis {
  const levels = [...new Set(values)].sort((a, b) => a - b);
  return { levels, index: values.map((v) => levels.indexOf(v)) };
}

/** Level indices `(a, b, an, bn)` of a grid point on the `pMin`, `pMax`, `nMin` and `nMax` axes. */
export type PointLevels = readonly [number, number, number, number];

/** The {@link PointLevels} of every grid point, in canonical order (see {@link gridPoints}). */
export function pointLevels(pMin: LevelAxis, pMax: LevelAxis, nMin: LevelAxis, nMax: LevelAxis): PointLevels[] {
  const out: [number, number, number, number][] = [];
  for (const a of pMin.index) for (const b of pMax.index) for (const an of nMin.index) for (const bn of nMax.index) out.push([a, b, an, bn]);
  return out;
}

/**
 * True when every entry kept by some point lies on the lattice's top row or right column: below no upper
 * threshold or above no lower one (`levels` = numbers of lower and upper levels).
 */
export function isBandedLattice(ranks: LatticeRanks, levels: readonly [number, number]): boolean {
  const lMax = levels[0] - 1;
  const hMax = levels[1] - 1;
  for (let i = 0; i < ranks.low.length; i++) {
    const l = ranks.low[i]!, h = ranks.high[i]!;
    if (l >= 0 && h >= 0 && l !== lMax && h !== hMax) return false;
  }
  return true;
}
