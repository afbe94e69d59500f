/**
 * The WebAssembly SIMD banded grid scoring step (`bandedGridLogSumExpWasm`) against a brute-force float64 log-sum-exp
 * of every level combination written here from `BandedGridShape`'s definition, within the bound of
 * docs/numerics.md#fast-grid-evaluation; its vector exponential against `Math.exp`; and the whole grid against the
 * float64 JavaScript scoring step.
 */
import { describe, expect, it } from 'vitest';
import { portableGemmKernel, type GemmKernel } from '../src/gemm.js';
import { BANDED_GRID_MIN_LOG_SUM, type BandedGridLogSumExp, type BandedGridParts, type BandedGridShape } from '../src/kernel-accelerators.js';
import { gridScores } from '../src/opnp/grid.js';
import { bandedGridLogSumExpJs } from '../src/opnp/grid/banded-lse-js.js';
import { bandedGridLogSumExpWasm, shiftedExpWasm } from '../src/opnp/grid/banded-lse-wasm.js';
import { splitBandedParts } from '../src/testing/accelerator-reference.js';
import { gridProblem } from './grid-fixture.js';
import { rng } from './helpers.js';

const u = 2 ** -24;
type Levels = readonly [number, number, number, number];

/** Combination `(a, b, an, bn)`'s float64 logits and the largest per-class sum of absolute terms (bias and partial logits). */
function logitsOf(parts: BandedGridParts, shape: BandedGridShape, bias: Float32Array, r: number, [a, b, an, bn]: Levels): [number[], number] {
  const { classes: C, weightLow: wL, weightHigh: wH, neuronLow: nL, neuronHigh: nH } = shape;
  const neurons = [...Array.from({ length: nL - an }, (_, i) => an + i), ...Array.from({ length: nH - bn }, (_, i) => nL + bn + i)];
  const logits: number[] = [];
  let magnitude = 0;
  for (let c = 0; c < C; c++) {
    const terms = [bias[c]!];
    for (const k of neurons) {
      terms.push(parts.low[k]![(r * wL + a) * C + c]!);
      if (b < wH) terms.push(parts.high[k]![(r * wH + b) * C + c]!);
    }
    logits.push(terms.reduce((s, t) => s + t, 0));
    magnitude = Math.max(magnitude, terms.reduce((s, t) => s + Math.abs(t), 0));
  }
  return [logits, magnitude];
}

/** `log sum_c exp(f_c)` in float64: `+Infinity` with an infinite logit, NaN with a NaN, `-Infinity` when all are. */
function logSumExp(f: number[]): number {
  if (f.some(Number.isNaN)) return NaN;
  const m = Math.max(...f);
  if (m === Infinity || m === -Infinity) return m;
  return m + Math.log(f.reduce((s, v) => s + Math.exp(v - m), 0));
}

/** Level combinations in `BandedGridLogSumExp.logSum` order. */
function combinations({ weightLow: wL, weightHigh: wH, neuronLow: nL, neuronHigh: nH }: BandedGridShape): Levels[] {
  const out: Levels[] = [];
  for (let a = 0; a < wL; a++) for (let b = 0; b <= wH; b++) for (let bn = 0; bn <= nH; bn++) for (let an = 0; an < nL; an++) out.push([a, b, an, bn]);
  return out;
}

/** The total shift of a combination: group 0, plus 1 if `bn < nH`, 2 if `b < wH`, 3 if both. */
function shiftOf(shifts: Float32Array, r: number, [, b, , bn]: Levels, shape: BandedGridShape): number {
  const high = b < shape.weightHigh, highNeuron = bn < shape.neuronHigh;
  return shifts[4 * r]! + (highNeuron ? shifts[4 * r + 1]! : 0) + (high ? shifts[4 * r + 2]! : 0) + (high && highNeuron ? shifts[4 * r + 3]! : 0);
}

const usable = (v: number): boolean => v >= BANDED_GRID_MIN_LOG_SUM && v < Infinity;

/**
 * Checks `result` row by row: every combination the grid search takes (finite `logSum >= BANDED_GRID_MIN_LOG_SUM`)
 * is within `2u (terms + C + 8) (1 + magnitude)` of the definition; rows in `mustReject` have at least one combination
 * not taken (so the grid search re-scores them exactly), the others none unless `anyRow`.
 */
function check(result: BandedGridLogSumExp, parts: BandedGridParts, shape: BandedGridShape, bias: Float32Array, what: string, mustReject: ReadonlySet<number> = new Set(), anyRow = false): void {
  const combos = combinations(shape);
  expect([result.logSum.length, result.shifts.length], `${what}: lengths`).toEqual([shape.rows * combos.length, shape.rows * 4]);
  const terms = 1 + 2 * (shape.neuronLow + shape.neuronHigh);
  for (let r = 0; r < shape.rows; r++) {
    let rejected = false;
    combos.forEach((levels, g) => {
      const v = result.logSum[r * combos.length + g]!;
      if (!usable(v)) return void (rejected = true);
      const [logits, magnitude] = logitsOf(parts, shape, bias, r, levels);
      const want = logSumExp(logits);
      const got = v + shiftOf(result.shifts, r, levels, shape);
      const bound = 2 * u * (terms + shape.classes + 8) * (1 + magnitude);
      if (!(Math.abs(got - want) <= bound)) expect.fail(`${what}: row ${r} ${JSON.stringify(levels)}: got ${got}, want ${want} (bound ${bound})`);
    });
    if (mustReject.has(r)) expect(rejected, `${what}: row ${r} must be left to exact re-scoring`).toBe(true);
    else if (!anyRow) expect(rejected, `${what}: row ${r}: every combination usable`).toBe(false);
  }
}

/** Random parts, values from `f(uniform)` drawn row by row (each row's low entries, then its high ones). */
function randomParts(shape: BandedGridShape, random: () => number, f: (x: number) => number): BandedGridParts {
  const n = shape.rows * (shape.weightLow + shape.weightHigh) * shape.classes;
  return splitBandedParts(Array.from({ length: shape.neuronLow + shape.neuronHigh }, () => Float32Array.from({ length: n }, () => f(random()))), shape);
}

function scored(parts: BandedGridParts, shape: BandedGridShape, bias: Float32Array): BandedGridLogSumExp {
  const result = bandedGridLogSumExpWasm(parts, shape, bias);
  expect(result, 'WebAssembly SIMD runs under Node').not.toBeNull();
  return result!;
}

/** The default grid's levels, degenerate ones, and more high-side neuron levels than one block of four. */
const LEVELS: readonly Levels[] = [[4, 3, 3, 3], [1, 0, 1, 0], [2, 0, 3, 2], [3, 2, 1, 0], [1, 1, 2, 1], [2, 1, 1, 5]];
/** Every remainder of the 4-float lanes and 16-float vectors, one class, and a few wider heads. */
const CLASSES = [1, 2, 3, 4, 5, 7, 15, 16, 17, 31, 32, 33, 63, 65, 100];

describe('bandedGridLogSumExpWasm', () => {
  it('equals the float64 definition for every level structure and class count', () => {
    const random = rng(41);
    for (const [weightLow, weightHigh, neuronLow, neuronHigh] of LEVELS) {
      for (const classes of CLASSES) {
        const shape = { rows: 3, classes, weightLow, weightHigh, neuronLow, neuronHigh };
        const bias = Float32Array.from({ length: classes }, () => random() * 4 - 2);
        const parts = randomParts(shape, random, (x) => (x - 0.5) * 3);
        check(scored(parts, shape, bias), parts, shape, bias, `levels ${weightLow},${weightHigh},${neuronLow},${neuronHigh}, C = ${classes}`);
      }
    }
  });

  it('ties: equal logits in every class give log C', () => {
    for (const classes of [1, 5, 16, 33]) {
      // One level per group: every group value is the same in every class, so every factor is exactly 1.
      const one = { rows: 2, classes, weightLow: 1, weightHigh: 1, neuronLow: 1, neuronHigh: 1 };
      const tied = randomParts(one, () => 0, () => 0.25);
      const result = scored(tied, one, new Float32Array(classes).fill(-3));
      check(result, tied, one, new Float32Array(classes).fill(-3), `ties, one level, C = ${classes}`);
      for (const v of result.logSum) expect(Math.abs(v - Math.log(classes)), `ties, C = ${classes}`).toBeLessThanOrEqual(4 * u * Math.log(classes));
      const shape = { ...one, weightLow: 2, neuronLow: 2, neuronHigh: 2 };
      const parts = randomParts(shape, () => 0, () => 0.25);
      check(scored(parts, shape, new Float32Array(classes).fill(-3)), parts, shape, new Float32Array(classes).fill(-3), `ties, C = ${classes}`);
    }
  });

  it('leaves rows with NaN or +Infinity logits to re-scoring, and takes a -Infinity logit as a zero term', () => {
    const random = rng(42);
    const shape = { rows: 5, classes: 21, weightLow: 4, weightHigh: 3, neuronLow: 3, neuronHigh: 3 };
    const wL = 4, wH = 3, C = 21;
    const parts = randomParts(shape, random, (x) => x * 2 - 1);
    const bias = Float32Array.from({ length: C }, () => random() - 0.5);
    parts.low[1]![(1 * wL + 2) * C + 4] = NaN; // row 1, low weight entry 2 of a low neuron part
    parts.high[4]![(2 * wH + 1) * C + 20] = Infinity; // row 2, high weight entry of a high neuron part, last class
    parts.low[0]![(3 * wL + 0) * C + 7] = -Infinity; // row 3, one class
    parts.high[2]![(4 * wH + 2) * C + 0] = -Infinity; // row 4, first class of a high entry
    check(scored(parts, shape, bias), parts, shape, bias, 'non-finite logits', new Set([1, 2]));
  });

  it('logits of +-1000: combinations far below their group maxima are left to re-scoring, the rest are exact', () => {
    const random = rng(43);
    const shape = { rows: 6, classes: 9, weightLow: 4, weightHigh: 3, neuronLow: 3, neuronHigh: 3 };
    const parts = randomParts(shape, random, (x) => (x * 2 - 1) * 1000);
    const bias = Float32Array.from({ length: 9 }, () => random() * 2000 - 1000);
    const result = scored(parts, shape, bias);
    check(result, parts, shape, bias, '+-1000', new Set(), true);
  });

  it('no rows: empty results', () => {
    const shape = { rows: 0, classes: 3, weightLow: 4, weightHigh: 3, neuronLow: 3, neuronHigh: 3 };
    const result = scored(randomParts(shape, rng(44), (x) => x), shape, new Float32Array(3));
    expect([result.logSum.length, result.shifts.length]).toEqual([0, 0]);
  });
});

describe('the vector exponential', () => {
  it('is within 2 ulp of exp in float32 from ln(2^-126) to 0, 0 below, NaN for NaN and +Infinity', () => {
    const random = rng(45);
    const x = Float32Array.from({ length: 50_001 }, (_, i) => (i < 50_000 ? -87.3 * random() : -0));
    const got = shiftedExpWasm(x, 0)!;
    for (let i = 0; i < x.length; i++) {
      const want = Math.exp(x[i]!);
      const ulp = 2 ** (Math.floor(Math.log2(want)) - 23);
      if (!(Math.abs(got[i]! - want) <= 2 * ulp)) expect.fail(`exp(${x[i]}) = ${got[i]}, want ${want}`);
    }
    const special = shiftedExpWasm(Float32Array.of(-88, -1e30, -Infinity, NaN, Infinity, 3), 3)!;
    expect(Array.from(special)).toEqual([0, 0, 0, NaN, NaN, 1]);
  });
});

describe('grid scores with the WebAssembly scoring step', () => {
  it('equal those of the float64 JavaScript step within the bound, at every point', async () => {
    const accelerated = (scorer: GemmKernel['accelerators']): GemmKernel => ({ ...portableGemmKernel, name: 'banded', accelerators: scorer });
    const wasm = accelerated({ bandedGridLogSumExp: async (p, s, b) => bandedGridLogSumExpWasm(p, s, b)! });
    const js = accelerated({ bandedGridLogSumExp: async (p, s, b) => bandedGridLogSumExpJs(p, s, b) });
    for (const [C, T] of [[19, 1], [33, 1.5]] as const) {
      const p = gridProblem(46, true, C, 40, 23);
      const options = { head: p.head, sensitivity: p.sensitivity, neuronSensitivity: p.neuronSensitivity, temperature: T, blockRows: 8 };
      const [got, want] = [await gridScores(p.features, { ...options, kernel: wasm }), await gridScores(p.features, { ...options, kernel: js })];
      expect(got.points).toEqual(want.points);
      // The largest per-class sum of absolute terms of any point's logits / T: |b| + sum_j |w_cj h_j|.
      const D = 40, W = p.head.weight.data, H = p.features.data;
      const magnitude = (r: number): number => {
        let m = 0;
        for (let c = 0; c < C; c++) {
          let s = Math.abs(p.head.bias[c]!);
          for (let j = 0; j < D; j++) s += Math.abs(W[c * D + j]! * H[r * D + j]!);
          m = Math.max(m, s / T);
        }
        return m;
      };
      const terms = 1 + 2 * 6; // 3 + 3 neuron parts on the default grid
      got.scores.forEach((scores, point) => {
        for (let r = 0; r < p.features.rows; r++) {
          const bound = T * 2 * u * (terms + C + 8) * (1 + magnitude(r)) + 2 * u * Math.abs(want.scores[point]![r]!);
          if (!(Math.abs(scores[r]! - want.scores[point]![r]!) <= bound)) expect.fail(`C = ${C}, point ${point}, row ${r}: ${scores[r]} vs ${want.scores[point]![r]} (bound ${bound})`);
        }
      });
    }
  });
});
