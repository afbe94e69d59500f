import { describe, expect, it } from 'vitest';
import { DEFAULT_PRUNING_GRID, gridPoints, gridScores } from '../src/opnp/grid.js';
import { evaluateGridPoint, gridSearch, selectGridPoint, type GridPointResult } from '../src/opnp/search.js';
import { OpnpError } from '../src/errors.js';
import { portableGemmKernel, type GemmKernel } from '../src/gemm.js';
import type { BandedGridShape } from '../src/kernel-accelerators.js';
import { rng, randomMatrix, refEnergy, refKeep, refLogits, refMsp, refPercentile } from './helpers.js';
import { expectClose } from '../src/testing/reference.js';

const random = rng(2024);
const C = 7, D = 23, N = 37;
const W = randomMatrix(C, D, random);
const bias = Float32Array.from({ length: C }, () => random() - 0.5);
const head = { weight: W, bias };
// Sensitivities with many ties so thresholds land exactly on repeated values.
const sens = { classes: C, dim: D, values: Float64Array.from({ length: C * D }, () => Math.floor(random() * 9) / 8) };
const neuronSens = Float64Array.from({ length: D }, () => Math.floor(random() * 5));
const H = randomMatrix(N, D, random, (u) => Math.max(0, u * 3 - 1));

/** Scores of one grid point by pruning densely, in float64, straight from docs/numerics.md. */
function denseScores(p: { pMin: number; pMax: number; nMin: number; nMax: number }, score: (f: number[]) => number, clip = Infinity): number[] {
  const keepP = refKeep(sens.values, p.pMin, p.pMax);
  const keepN = refKeep(neuronSens, p.nMin, p.nMax);
  return refLogits(W, bias, H, (c, j) => keepP[c * D + j] === 1 && keepN[j] === 1, clip).map(score);
}

describe('gridPoints', () => {
  it('enumerates the 192 default points with pMin outermost and nMax innermost', () => {
    const points = gridPoints();
    expect(points).toHaveLength(192);
    expect(points[0]).toEqual({ pMin: 0, pMax: 0, nMin: 0, nMax: 0 });
    expect(points[1]).toEqual({ pMin: 0, pMax: 0, nMin: 0, nMax: 1 });
    expect(points[4]).toEqual({ pMin: 0, pMax: 0, nMin: 10, nMax: 0 });
    expect(points[191]).toEqual({ pMin: 50, pMax: 2, nMin: 30, nMax: 10 });
  });
  it('rejects empty axes and out-of-range percentages', () => {
    expect(() => gridPoints({ ...DEFAULT_PRUNING_GRID, pMin: [] })).toThrow(OpnpError);
    expect(() => gridPoints({ ...DEFAULT_PRUNING_GRID, nMax: [120] })).toThrow(OpnpError);
  });
});

describe('gridScores equals dense evaluation at every grid point', () => {
  for (const sparseBelowDensity of [0, 0.3, 1.01]) {
    it(`energy, default grid (cells below density ${sparseBelowDensity} multiplied sparsely)`, async () => {
      const { points, scores } = await gridScores(H, { head, sensitivity: sens, neuronSensitivity: neuronSens, blockRows: 16, sparseBelowDensity });
      expect(points).toHaveLength(192);
      points.forEach((p, i) => expectClose(scores[i]!, denseScores(p, (f) => refEnergy(f)), 1e-5, `point ${i} ${JSON.stringify(p)}`));
    });
  }
  it('energy, default grid, distinct sensitivities (every weight and neuron band populated)', async () => {
    const C2 = 12, D2 = 60, N2 = 40;
    const W2 = randomMatrix(C2, D2, random);
    const b2 = Float32Array.from({ length: C2 }, () => random() - 0.5);
    const s2 = Float64Array.from({ length: C2 * D2 }, () => random());
    const n2 = Float64Array.from({ length: D2 }, () => random());
    const H2 = randomMatrix(N2, D2, random, (u) => Math.max(0, u * 3 - 1));
    // Every band of the default grid holds weights (top 0.5% of 720 = 3.6) and neurons (top 1% of 60: 1).
    const hiW = [99.5, 99, 98].map((q) => refPercentile(s2, q));
    expect(hiW.map((t) => s2.filter((v) => v > t).length)).toEqual([4, 8, 15]);
    for (const kernelOptions of [{}, { kernel: contractKernel(new Set([2]), { count: 0 }) }]) {
      const { points, scores } = await gridScores(H2, { head: { weight: W2, bias: b2 }, sensitivity: { classes: C2, dim: D2, values: s2 }, neuronSensitivity: n2, ...kernelOptions });
      points.forEach((p, i) => {
        const keepP = refKeep(s2, p.pMin, p.pMax);
        const keepN = refKeep(n2, p.nMin, p.nMax);
        const want = refLogits(W2, b2, H2, (c, j) => keepP[c * D2 + j] === 1 && keepN[j] === 1).map((f) => refEnergy(f));
        expectClose(scores[i]!, want, 1e-5, `point ${i} ${JSON.stringify(p)}`);
      });
    }
  });
  it('energy with temperature and ReAct clipping', async () => {
    const grid = { pMin: [0, 30], pMax: [0, 2], nMin: [0, 10], nMax: [5] };
    const { points, scores } = await gridScores(H, { head, sensitivity: sens, neuronSensitivity: neuronSens, grid, temperature: 2, reactClip: 0.8, sparseBelowDensity: 0.5 });
    points.forEach((p, i) => expectClose(scores[i]!, denseScores(p, (f) => refEnergy(f, 2), 0.8), 1e-5, `point ${i}`));
  });
  it('msp and maxlogit, and grids whose axes have no zero (weights no point keeps) or repeated, unsorted values', async () => {
    const grid = { pMin: [50, 10, 10], pMax: [1, 40], nMin: [30, 10], nMax: [10, 45] };
    for (const [score, ref] of [['msp', refMsp], ['maxlogit', (f: number[]) => Math.max(...f)]] as const) {
      const { points, scores } = await gridScores(H, { head, sensitivity: sens, neuronSensitivity: neuronSens, grid, score });
      expect(points).toHaveLength(3 * 2 * 2 * 2);
      points.forEach((p, i) => expectClose(scores[i]!, denseScores(p, ref), 1e-5, `${score} point ${i}`));
    }
  });
  it('logits of +-1000 (beyond the exponential product path) still match', async () => {
    const bigHead = { weight: { ...W, data: W.data.map((v) => v * 400) }, bias: bias.map((v) => v * 1000) };
    const grid = { pMin: [0, 30], pMax: [0, 2], nMin: [0, 10], nMax: [0, 5] };
    const { points, scores } = await gridScores(H, { head: bigHead, sensitivity: sens, neuronSensitivity: neuronSens, grid });
    points.forEach((p, i) => {
      const keepP = refKeep(sens.values, p.pMin, p.pMax);
      const keepN = refKeep(neuronSens, p.nMin, p.nMax);
      const want = refLogits(bigHead.weight, bigHead.bias, H, (c, j) => keepP[c * D + j] === 1 && keepN[j] === 1).map((f) => refEnergy(f));
      expect(Math.max(...want.map(Math.abs))).toBeGreaterThan(600);
      expectClose(scores[i]!, want, 1e-5, `large-logit point ${i}`);
    });
  });
  it('grids with more than 127 levels on an axis (no small-integer overflow in the band ranks)', async () => {
    const grid = { pMin: Array.from({ length: 140 }, (_, i) => i * 0.5), pMax: [0], nMin: [0], nMax: [0, 20] };
    const { points, scores } = await gridScores(H, { head, sensitivity: sens, neuronSensitivity: neuronSens, grid });
    expect(points).toHaveLength(280);
    for (const i of [0, 1, 139, 200, 279]) expectClose(scores[i]!, denseScores(points[i]!, (f) => refEnergy(f)), 1e-5, `point ${i}`);
  });
  it('overlapping bands that prune everything give the bias-only logits', async () => {
    const grid = { pMin: [80], pMax: [50], nMin: [0], nMax: [0] };
    const { scores } = await gridScores(H, { head, sensitivity: sens, neuronSensitivity: neuronSens, grid });
    expectClose(scores[0]!, Array.from({ length: N }, () => refEnergy(Array.from(bias))), 1e-5, 'all pruned');
  });
  it('handles zero rows and validates shapes', async () => {
    const empty = { rows: 0, cols: D, data: new Float32Array(0) };
    const { scores } = await gridScores(empty, { head, sensitivity: sens, neuronSensitivity: neuronSens });
    expect(scores[0]).toHaveLength(0);
    await expect(gridScores(randomMatrix(2, D + 1, random), { head, sensitivity: sens, neuronSensitivity: neuronSens })).rejects.toThrow(OpnpError);
    await expect(gridScores(H, { head, sensitivity: sens, neuronSensitivity: neuronSens.subarray(1) })).rejects.toThrow(OpnpError);
    await expect(gridScores(H, { head, sensitivity: sens, neuronSensitivity: neuronSens, temperature: 0 })).rejects.toThrow(OpnpError);
  });
});

/**
 * A kernel whose bandedGridLogSumExp accelerator follows the contract's definition literally (float64, logits summed from the
 * parts as BandedGridShape defines them) and reports arbitrary group shifts; rows in `unreliable` come back as
 * -Infinity (as a float32 kernel does on underflow), which the caller must re-score exactly.
 */
function contractKernel(unreliable: Set<number>, calls: { count: number }): GemmKernel {
  return {
    name: 'contract-reference',
    gemm: (a, b, o) => portableGemmKernel.gemm(a, b, o),
    accelerators: {
      async bandedGridLogSumExp(parts, shape: BandedGridShape, bias) {
        calls.count++;
        const { rows: R, classes: C, weightLow: wL, weightHigh: wH, neuronLow: nL, neuronHigh: nH } = shape;
        const combos = wL * (wH + 1) * (nH + 1) * nL;
        const logSum = new Float32Array(R * combos);
        const shifts = new Float32Array(R * 4);
        const lo = (k: number, r: number, a: number, c: number) => parts.low[k]![(r * wL + a) * C + c]!;
        const hi = (k: number, r: number, b: number, c: number) => parts.high[k]![(r * wH + b) * C + c]!;
        for (let r = 0; r < R; r++) {
          const groupShift = [1.5, -0.25, 0.75, 2]; // any values: only their bookkeeping is under test
          shifts.set(groupShift, r * 4);
          let g = 0;
          for (let a = 0; a < wL; a++) for (let b = 0; b <= wH; b++) for (let bn = 0; bn <= nH; bn++) for (let an = 0; an < nL; an++) {
            const f: number[] = [];
            for (let c = 0; c < C; c++) {
              let v = bias[c]!;
              const add = (k: number) => (v += lo(k, r, a, c) + (b < wH ? hi(k, r, b, c) : 0));
              for (let k = an; k < nL; k++) add(k);
              for (let k = bn; k < nH; k++) add(nL + k);
              f.push(v);
            }
            const shift = groupShift[0]! + (bn < nH ? groupShift[1]! : 0) + (b < wH ? groupShift[2]! : 0) + (b < wH && bn < nH ? groupShift[3]! : 0);
            logSum[r * combos + g++] = unreliable.has(r) ? -Infinity : refEnergy(f) - shift;
          }
        }
        return { logSum, shifts };
      },
    },
  };
}

describe('gridScores through a kernel with the bandedGridLogSumExp accelerator', () => {
  it('default grid: every point equals dense evaluation, including rows the kernel cannot score', async () => {
    const calls = { count: 0 };
    const kernel = contractKernel(new Set([0, 5, 16]), calls);
    const { points, scores } = await gridScores(H, { head, sensitivity: sens, neuronSensitivity: neuronSens, kernel, blockRows: 16 });
    expect(calls.count).toBe(Math.ceil(N / 16));
    points.forEach((p, i) => expectClose(scores[i]!, denseScores(p, (f) => refEnergy(f)), 1e-5, `point ${i} ${JSON.stringify(p)}`));
  });
  it('temperature, ReAct and axes without a zero level or without upper levels', async () => {
    for (const grid of [
      { pMin: [30, 0, 10], pMax: [2, 0.5], nMin: [10, 0], nMax: [5, 0] },
      { pMin: [10, 50], pMax: [0], nMin: [0, 30], nMax: [0] },
      { pMin: [0], pMax: [1, 0], nMin: [20], nMax: [0, 10, 40] },
    ]) {
      const calls = { count: 0 };
      const { points, scores } = await gridScores(H, { head, sensitivity: sens, neuronSensitivity: neuronSens, grid, kernel: contractKernel(new Set([3]), calls), temperature: 2, reactClip: 0.8 });
      expect(calls.count).toBe(1);
      points.forEach((p, i) => expectClose(scores[i]!, denseScores(p, (f) => refEnergy(f, 2), 0.8), 1e-5, `${JSON.stringify(grid)} point ${i}`));
    }
  });
  it('processes fewer rows per block for wide heads (partial logits of the two blocks in flight stay within 256 MB)', async () => {
    const wideC = 20_000, wideD = 8, rows = 200;
    const wide = { weight: randomMatrix(wideC, wideD, random), bias: new Float32Array(wideC) };
    const wideSens = { classes: wideC, dim: wideD, values: Float64Array.from({ length: wideC * wideD }, () => random()) };
    const blocks: number[] = [];
    const recording: GemmKernel = {
      name: 'recording',
      gemm: (a, b, o) => portableGemmKernel.gemm(a, b, o),
      accelerators: {
        async bandedGridLogSumExp(parts, shape) {
          blocks.push(shape.rows);
          expect(parts.low).toHaveLength(shape.neuronLow + shape.neuronHigh);
          expect(parts.high).toHaveLength(shape.neuronLow + shape.neuronHigh);
          return { logSum: new Float32Array(shape.rows * 192), shifts: new Float32Array(shape.rows * 4) };
        },
      },
    };
    await gridScores(randomMatrix(rows, wideD, random), { head: wide, sensitivity: wideSens, neuronSensitivity: Float64Array.from({ length: wideD }, (_, j) => j), kernel: recording });
    // Default grid: 6 neuron parts x 7 weight stacks x C floats per row, two sets; 256 MB / (2 * 4 * 6 * 7 * 20000) = 39.9 rows.
    expect(blocks).toEqual([39, 39, 39, 39, 39, 5]);
  });
  it('is not used for overlapping bands or for other scores', async () => {
    const calls = { count: 0 };
    const kernel = contractKernel(new Set(), calls);
    const overlapping = { pMin: [0, 90], pMax: [0, 90], nMin: [0], nMax: [0] };
    const { points, scores } = await gridScores(H, { head, sensitivity: sens, neuronSensitivity: neuronSens, grid: overlapping, kernel });
    points.forEach((p, i) => expectClose(scores[i]!, denseScores(p, (f) => refEnergy(f)), 1e-5, `overlapping point ${i}`));
    await gridScores(H, { head, sensitivity: sens, neuronSensitivity: neuronSens, kernel, score: 'msp' });
    expect(calls.count).toBe(0);
  });
});

describe('gridSearch selection rule', () => {
  const result = (index: number, fpr95: number, auroc: number): GridPointResult => ({ index, fpr95, auroc, percentages: { pMin: 0, pMax: 0, nMin: 0, nMax: 0 }, perOod: [] });
  it('prefers lower FPR95, then higher AUROC, then the earlier point', () => {
    expect(selectGridPoint([result(0, 0.5, 0.9), result(1, 0.4, 0.1)]).index).toBe(1);
    expect(selectGridPoint([result(0, 0.4, 0.8), result(1, 0.4, 0.9)]).index).toBe(1);
    expect(selectGridPoint([result(3, 0.4, 0.9), result(1, 0.4, 0.9), result(2, 0.4, 0.9)]).index).toBe(1);
    expect(() => selectGridPoint([])).toThrow(OpnpError);
  });
  it('averages the metrics over OOD sets and uses only the given validation data', async () => {
    const id = { rows: 20, cols: D, data: H.data.subarray(0, 20 * D) };
    const oodA = { rows: 10, cols: D, data: H.data.subarray(20 * D, 30 * D) };
    const oodB = { rows: 7, cols: D, data: H.data.subarray(30 * D, 37 * D) };
    // A deliberately simple evaluator: fpr = mean OOD score, auroc = mean ID score (exercises the bookkeeping).
    const mean = (x: Float32Array): number => x.reduce((s, v) => s + v, 0) / x.length;
    const calls: number[][] = [];
    const { best, results } = await gridSearch(
      { id, ood: { a: oodA, b: oodB } },
      { head, sensitivity: sens, neuronSensitivity: neuronSens, evaluate: (i, o) => (calls.push([i.length, o.length]), { fpr95: mean(o), auroc: mean(i) }) },
    );
    expect(results).toHaveLength(192);
    expect(calls).toHaveLength(384);
    expect(calls.slice(0, 2)).toEqual([[20, 10], [20, 7]]);
    const p = results[77]!;
    const scoreOf = (rows: number[]) => rows.map((r) => denseScores(p.percentages, (f) => refEnergy(f))[r]!);
    const avg = (v: number[]) => v.reduce((s, x) => s + x, 0) / v.length;
    const expectedFpr = (avg(scoreOf([...Array(10).keys()].map((k) => 20 + k))) + avg(scoreOf([...Array(7).keys()].map((k) => 30 + k)))) / 2;
    expect(p.fpr95).toBeCloseTo(expectedFpr, 4);
    expect(p.perOod.map((r) => r.name)).toEqual(['a', 'b']);
    expect(best).toBe(selectGridPoint(results));
  });
  it('evaluateGridPoint averages each OOD set with equal weight and refuses no sets', () => {
    const id = new Float32Array([1, 2, 3]);
    const sets = [['x', new Float32Array([0, 1])], ['y', new Float32Array([5])]] as const;
    const seen: string[] = [];
    const r = evaluateGridPoint(4, { pMin: 10, pMax: 0, nMin: 0, nMax: 1 }, id, sets, (i, o) => (seen.push(`${i.length}:${o.length}`), { fpr95: o[0]!, auroc: o.length / 10 }));
    expect(seen).toEqual(['3:2', '3:1']);
    expect(r).toEqual({ index: 4, percentages: { pMin: 10, pMax: 0, nMin: 0, nMax: 1 }, fpr95: (0 + 5) / 2, auroc: (0.2 + 0.1) / 2, perOod: [{ name: 'x', fpr95: 0, auroc: 0.2 }, { name: 'y', fpr95: 5, auroc: 0.1 }] });
    expect(() => evaluateGridPoint(0, r.percentages, id, [], () => ({ fpr95: 0, auroc: 0 }))).toThrow(OpnpError);
  });
});
