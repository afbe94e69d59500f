/**
 * Each execution path of the grid search on its own, against dense pruning from the definition in docs/numerics.md: the banded dense
 * path (with and without an accelerator), the banded cell path, and the cell sweeps by products and by sums; plus the
 * pieces they share (cells, banded parts, re-scoring).
 */
import { describe, expect, it } from 'vitest';
import { portableGemmKernel, type GemmKernel } from '../src/gemm.js';
import type { LogitScore } from '../src/scores/logit-scores.js';
import { bandedAssembly, bandedParts, scoreBandedCells } from '../src/opnp/grid/banded-cell-path.js';
import { scoreBandedDense } from '../src/opnp/grid/banded-dense-path.js';
import { bandedGridLogSumExpJs } from '../src/opnp/grid/banded-lse-js.js';
import { exactRow, scoreBandedBlock } from '../src/opnp/grid/banded-scoring.js';
import { cellLayout, forEachCellBlock, type CellBlock } from '../src/opnp/grid/cells.js';
import { defaultRowPath, scoreCellSweeps, sweepStructure } from '../src/opnp/grid/cell-sweeps.js';
import { planGrid, type GridPlan, type GridScoreOptions } from '../src/opnp/grid/plan.js';
import { expectClose, refBandedGridLogSumExp } from '../src/testing/index.js';
import { denseLogits, gridProblem } from './grid-fixture.js';
import { refEnergy, refMsp } from './helpers.js';

const SCORES: Record<LogitScore, (f: number[], T: number) => number> = {
  energy: (f, T) => refEnergy(f, T),
  msp: (f) => refMsp(f),
  maxlogit: (f) => Math.max(...f),
};

function plan(seed: number, distinct: boolean, extra: Partial<GridScoreOptions> = {}): { plan: GridPlan; values: Float64Array; neuron: Float64Array } {
  const p = gridProblem(seed, distinct);
  const options = { head: p.head, sensitivity: p.sensitivity, neuronSensitivity: p.neuronSensitivity, blockRows: 8, ...extra };
  return { plan: planGrid(p.features, options), values: p.sensitivity.values, neuron: p.neuronSensitivity };
}

/** Asserts every point's scores equal dense evaluation. */
function expectDense(scores: Float32Array[], { plan: gp, values, neuron }: ReturnType<typeof plan>, what: string): void {
  gp.points.forEach((point, p) => {
    const want = denseLogits(gp, values, neuron, point).map((f) => SCORES[gp.score](f, gp.temperature));
    expectClose(scores[p]!, want, 1e-5, `${what}: point ${p} ${JSON.stringify(point)}`);
  });
}

const newScores = (gp: GridPlan) => gp.points.map(() => new Float32Array(gp.features.rows));

describe('banded dense path', () => {
  const accelerated: GemmKernel = { ...portableGemmKernel, name: 'accelerated', accelerators: { bandedGridLogSumExp: async (p, s, b) => bandedGridLogSumExpJs(p, s, b) } };
  for (const [name, extra] of [['JavaScript scoring', {}], ['accelerator', { kernel: accelerated }], ['T = 2, ReAct', { temperature: 2, reactClip: 0.8 }]] as const) {
    it(`equals dense evaluation (${name})`, async () => {
      for (const distinct of [true, false]) {
        const p = plan(11, distinct, extra);
        const scores = newScores(p.plan);
        await scoreBandedDense(p.plan, scores);
        expectDense(scores, p, `${name}, distinct=${distinct}`);
      }
    });
  }
  it("gives the scorer each GEMM's output as the part's low entries, in two sets of buffers the blocks alternate between", async () => {
    // 23 rows in blocks of 8: two full blocks and a remainder of 7.
    const p = plan(12, true);
    const products: Float32Array[] = [];
    const buffers: ArrayBufferLike[][] = [];
    const kernel: GemmKernel = {
      name: 'recording',
      gemm: async (a, b, o) => {
        const product = await portableGemmKernel.gemm(a, b, o);
        products.push(product.data);
        return product;
      },
      accelerators: {
        async bandedGridLogSumExp(parts, shape, bias) {
          const block = buffers.length + 1;
          expect(products, `block ${block}: one GEMM per neuron part`).toHaveLength(shape.neuronLow + shape.neuronHigh);
          parts.low.forEach((low, k) => {
            expect(low.length, `block ${block}, part ${k}: rows x weightLow x classes`).toBe(shape.rows * shape.weightLow * shape.classes);
            expect(Array.from(low), `block ${block}, part ${k}: the GEMM's output`).toEqual(Array.from(products[k]!));
          });
          buffers.push(parts.low.map((low) => low.buffer));
          products.length = 0;
          return bandedGridLogSumExpJs(parts, shape, bias);
        },
      },
    };
    const scores = newScores(p.plan);
    await scoreBandedDense({ ...p.plan, kernel }, scores);
    expect(buffers).toHaveLength(3);
    buffers[0]!.forEach((buffer, k) => {
      expect(buffer, `part ${k}: on shared memory (a kernel may score it on another thread)`).toBeInstanceOf(SharedArrayBuffer);
      expect(buffers[1]![k], `part ${k}: block 2 uses the other set`).not.toBe(buffer);
      expect(buffers[2]![k], `part ${k}: block 3 reuses block 1's set`).toBe(buffer);
    });
    expectDense(scores, p, 'recording kernel');
  });
  it('starts the next blocks\' products before a block is scored, and reuses its buffers only once it is', async () => {
    // 40 rows in blocks of 8: five blocks. The scorer reads its parts only when a timer fires, after everything the
    // loop can do without waiting: had a set been refilled before its block was scored, the scores would be wrong.
    const g = gridProblem(15, true, 9, 40, 40);
    const events: string[] = [];
    let gemms = 0;
    const kernel: GemmKernel = {
      name: 'late scorer',
      gemm: async (a, b, o) => {
        gemms++;
        return portableGemmKernel.gemm(a, b, o);
      },
      accelerators: {
        bandedGridLogSumExp: (parts, shape, bias) =>
          new Promise((resolve) => {
            events.push(`score requested after ${gemms} GEMMs`);
            setTimeout(() => resolve(bandedGridLogSumExpJs(parts, shape, bias)), 0);
          }),
      },
    };
    const p = { plan: planGrid(g.features, { head: g.head, sensitivity: g.sensitivity, neuronSensitivity: g.neuronSensitivity, kernel, blockRows: 8 }), values: g.sensitivity.values, neuron: g.neuronSensitivity };
    const progress: number[] = [];
    const scores = newScores(p.plan);
    await scoreBandedDense({ ...p.plan, onProgress: (done) => progress.push(done) }, scores);
    const parts = p.plan.neuronLevels[0] + p.plan.neuronLevels[1] - 1;
    // Blocks 1 and 2 are both computed before block 1's scoring ends; block 3 waits for it.
    expect(events.slice(0, 2)).toEqual([`score requested after ${parts} GEMMs`, `score requested after ${2 * parts} GEMMs`]);
    expect(progress, 'progress in row order as blocks are scored').toEqual([8, 16, 24, 32, 40]);
    expectDense(scores, p, 'late scorer');
  });
});

describe('banded cell path', () => {
  it('equals dense evaluation with sparse, mixed and dense cell products', async () => {
    for (const sparseBelowDensity of [1.01, 0.3, 0]) {
      const p = plan(12, true, { sparseBelowDensity, temperature: 1.5, reactClip: 1 });
      const scores = newScores(p.plan);
      await scoreBandedCells(p.plan, cellLayout(p.plan), scores);
      expectDense(scores, p, `sparse below ${sparseBelowDensity}`);
    }
  });
  it('assembles the parts BandedGridShape defines (same log-sum-exp as the definition)', async () => {
    const p = plan(13, true, { sparseBelowDensity: 0.3 });
    const layout = cellLayout(p.plan);
    const { weightCells, neuronCells } = layout;
    const assembly = bandedAssembly(weightCells, neuronCells.map((m) => m.cell), p.plan.weightLevels, p.plan.neuronLevels, p.plan.pointLevels);
    const C = p.plan.head.weight.rows;
    let block: CellBlock | undefined;
    await forEachCellBlock(p.plan, layout, 5, (b) => void (block ??= b));
    const parts = bandedParts(layout, block!, assembly, C, 1);
    const shape = { rows: 5, classes: C, ...assembly.levels };
    const want = refBandedGridLogSumExp(parts, shape, p.plan.head.bias).value;
    const direct = Float64Array.from({ length: want.length }, (_, i) => exactRow(parts, Math.floor(i / assembly.map.combos), shape, p.plan.head.bias)[i % assembly.map.combos]!);
    expectClose(direct, want, 1e-9, 'exactRow vs definition');
    // Point 0 keeps everything: its combination is the full logits' log-sum-exp.
    const full = denseLogits(p.plan, p.values, p.neuron, p.plan.points[0]!).slice(0, 5).map((f) => refEnergy(f));
    expectClose(Array.from({ length: 5 }, (_, r) => want[r * assembly.map.combos + assembly.map.pointCombo[0]!]!), full, 1e-5, 'point 0');
  });
});

describe('banded scoring', () => {
  it('re-scores exactly the rows a scorer cannot be trusted on (below the minimum, or not finite)', async () => {
    const p = plan(14, true, { sparseBelowDensity: 0 });
    const scores = newScores(p.plan);
    let calls = 0;
    const kernel: GemmKernel = {
      ...portableGemmKernel,
      accelerators: {
        async bandedGridLogSumExp(parts, shape, bias) {
          const result = bandedGridLogSumExpJs(parts, shape, bias);
          const combos = result.logSum.length / shape.rows;
          result.logSum[(calls++ % shape.rows) * combos] = -Infinity; // one unreliable row per block
          result.logSum[(shape.rows - 1) * combos + 1] = -25;
          return result;
        },
      },
    };
    await scoreBandedDense({ ...p.plan, kernel }, scores);
    expect(calls).toBe(Math.ceil(p.plan.features.rows / 8));
    expectDense(scores, p, 'with unreliable rows');
  });
  it('writes each block at its row offset', async () => {
    const shape = { rows: 1, classes: 2, weightLow: 1, weightHigh: 0, neuronLow: 1, neuronHigh: 0 };
    const scores = [new Float32Array(3)];
    const map = { combos: 1, pointCombo: [0], pointShifts: [[true, false, false, false] as const] };
    await scoreBandedBlock({ low: [Float32Array.of(1, 2)], high: [new Float32Array(0)] }, shape, Float32Array.of(0, 0), bandedGridLogSumExpJs, map, 2, scores, 2);
    expect(scores[0]![2]).toBeCloseTo(2 * Math.log(Math.exp(1) + Math.exp(2)), 5);
    expect(Array.from(scores[0]!.subarray(0, 2))).toEqual([0, 0]);
  });
});

describe('cell sweeps', () => {
  const grids = [undefined, { pMin: [0, 10, 95], pMax: [0, 10], nMin: [0, 30], nMax: [0, 70] }, { pMin: [50, 10, 10], pMax: [1, 40], nMin: [30, 10], nMax: [10, 45] }];
  for (const rows of ['products', 'sums'] as const) {
    for (const score of rows === 'products' ? (['energy', 'msp'] as const) : (['energy', 'msp', 'maxlogit'] as const)) {
      it(`by ${rows}: ${score} equals dense evaluation on banded, overlapping and unsorted grids`, async () => {
        for (const grid of grids) {
          const p = plan(15, false, { grid, score, temperature: 1.5, reactClip: 1.2, sparseBelowDensity: 0.3 });
          const scores = newScores(p.plan);
          const seen: number[] = [];
          await scoreCellSweeps(p.plan, cellLayout(p.plan), scores, (bound) => (seen.push(bound), rows));
          expect(seen).toHaveLength(p.plan.features.rows);
          expectDense(scores, p, `${rows} ${JSON.stringify(grid)}`);
        }
      });
    }
  }
  it('picks sums beyond the safe exponent and for maxlogit', async () => {
    const p = plan(16, false);
    const big = { ...p.plan, head: { weight: { ...p.plan.head.weight, data: p.plan.head.weight.data.map((v) => v * 400) }, bias: p.plan.head.bias } };
    const picked: string[] = [];
    await scoreCellSweeps(big, cellLayout(big), newScores(big), (bound, score) => {
      const choice = defaultRowPath(bound, score);
      picked.push(choice);
      return choice;
    });
    expect(picked).toContain('sums');
    expect(defaultRowPath(10, 'maxlogit')).toBe('sums');
    expect(defaultRowPath(10, 'energy')).toBe('products');
  });
  it('sweeps every point exactly once', () => {
    const p = plan(17, false, { grid: { pMin: [50, 10, 10], pMax: [1, 40], nMin: [30, 10], nMax: [10, 45] } });
    const { sweeps } = sweepStructure(p.plan, cellLayout(p.plan));
    const points = sweeps.flat().flatMap((s) => s.steps.flatMap((step) => step.points)).sort((a, b) => a - b);
    expect(points).toEqual(p.plan.points.map((_, i) => i));
  });
});
