/** The grid search's lattice and plan: band ranks, banded lattices, level orders, validation and path routing. */
import { describe, expect, it } from 'vitest';
import { portableGemmKernel, type GemmKernel } from '../src/gemm.js';
import { defaultBlockRows, gatherColumns } from '../src/opnp/grid/blocks.js';
import { bandRanks, DEFAULT_PRUNING_GRID, gridPoints, isBandedLattice, levelAxis, pointLevels } from '../src/opnp/grid/lattice.js';
import { gridPath, planGrid } from '../src/opnp/grid/plan.js';
import { bandedGridLogSumExpJs } from '../src/opnp/grid/banded-lse-js.js';
import { gridProblem } from './grid-fixture.js';
import { refKeep } from './helpers.js';

describe('grid lattice', () => {
  it('band ranks say exactly which (lower, upper) level pairs keep each value (inclusive bounds of docs/numerics.md, ties)', () => {
    const { sensitivity } = gridProblem(3, false);
    const lows = [0, 10, 30, 50], highs = [0, 0.5, 1, 2, 60];
    const ranks = bandRanks(sensitivity.values, lows, highs);
    lows.forEach((lo, a) => highs.forEach((hi, b) => {
      const keep = refKeep(sensitivity.values, lo, hi);
      expect(Array.from(ranks.low, (l, i) => (l >= a && ranks.high[i]! >= b ? 1 : 0)), `(${lo}, ${hi})`).toEqual(keep);
    }));
    expect(() => bandRanks([], [0], [0])).toThrow(/empty/);
  });
  it('recognises banded lattices (no entry both below a lower and above an upper threshold)', () => {
    const { sensitivity } = gridProblem(4, true);
    expect(isBandedLattice(bandRanks(sensitivity.values, [0, 10, 30, 50], [0, 0.5, 1, 2]), [4, 4])).toBe(true);
    expect(isBandedLattice(bandRanks(sensitivity.values, [0, 10, 95], [0, 10]), [3, 2])).toBe(false);
  });
  it('orders point levels like gridPoints, with repeated and unsorted axis values', () => {
    const grid = { pMin: [50, 10, 10], pMax: [1, 40], nMin: [30, 10], nMax: [10, 45] };
    const axes = [levelAxis(grid.pMin), levelAxis(grid.pMax), levelAxis(grid.nMin), levelAxis(grid.nMax)] as const;
    expect(axes[0]).toEqual({ levels: [10, 50], index: [1, 0, 0] });
    const levels = pointLevels(...axes);
    expect(levels.map(([a, b, an, bn]) => ({ pMin: axes[0].levels[a], pMax: axes[1].levels[b], nMin: axes[2].levels[an], nMax: axes[3].levels[bn] }))).toEqual(gridPoints(grid));
  });
});

describe('grid plan', () => {
  const problem = gridProblem(5, true);
  const options = { head: problem.head, sensitivity: problem.sensitivity, neuronSensitivity: problem.neuronSensitivity };
  const accelerated: GemmKernel = { ...portableGemmKernel, name: 'accelerated', accelerators: { bandedGridLogSumExp: async (p, s, b) => bandedGridLogSumExpJs(p, s, b) } };
  const plain: GemmKernel = { name: 'plain', gemm: portableGemmKernel.gemm.bind(portableGemmKernel) };
  it('routes banded energy grids to the dense or cell banded path, everything else to the cell sweeps', () => {
    const path = (extra: object) => gridPath(planGrid(problem.features, { ...options, ...extra }));
    expect(path({})).toBe('banded-cells'); // portable kernel: sparse products, no accelerator
    expect(path({ sparseBelowDensity: 0 })).toBe('banded-dense');
    expect(path({ kernel: accelerated })).toBe('banded-dense');
    expect(path({ kernel: plain })).toBe('banded-dense'); // a registered kernel defaults to dense products
    expect(path({ kernel: plain, sparseBelowDensity: 0.3 })).toBe('banded-cells');
    expect(path({ score: 'msp', kernel: accelerated })).toBe('cell-sweeps');
    expect(path({ grid: { ...DEFAULT_PRUNING_GRID, pMin: [0, 95], pMax: [0, 10] }, kernel: accelerated })).toBe('cell-sweeps');
    expect(gridPath(planGrid({ rows: 0, cols: 40, data: new Float32Array(0) }, { ...options, kernel: accelerated }))).toBe('cell-sweeps');
  });
  it('validates its arguments', () => {
    expect(() => planGrid(problem.features, { ...options, blockRows: 0 })).toThrow(/blockRows/);
    expect(() => planGrid(problem.features, { ...options, temperature: -1 })).toThrow(/temperature/);
    expect(() => planGrid(problem.features, { ...options, neuronSensitivity: new Float64Array(3) })).toThrow(/Neuron sensitivity/);
    expect(() => planGrid(problem.features, { ...options, sensitivity: { ...problem.sensitivity, classes: 2 } })).toThrow(/Sensitivity shape/);
  });
});

describe('grid blocks', () => {
  it('default block rows keep a block within 256 MB of partial logits', () => {
    expect(defaultBlockRows(1)).toBe(512);
    expect(defaultBlockRows(6 * 7 * 20_000)).toBe(79);
    expect(defaultBlockRows(1e12)).toBe(1);
  });
  it('gathers column lists of a block of rows, clipped', () => {
    const data = Float32Array.from({ length: 12 }, (_, i) => i);
    const [a, b] = gatherColumns(data, 4, 1, 2, [Int32Array.of(0, 3), Int32Array.of(2)], 9.5);
    expect(Array.from(a!)).toEqual([4, 7, 8, 9.5]);
    expect(Array.from(b!)).toEqual([6, 9.5]);
  });
});
