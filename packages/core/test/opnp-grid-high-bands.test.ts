/**
 * The banded grid's sparse products of the high-side weight entries (`grid/high-bands.ts`), in JavaScript and in
 * WebAssembly SIMD, against the brute-force definition: entry `b` of row `r`, class `c` is the float64 sum of
 * `w[c, j] * x[r, j]` over the weights of bands `>= b` (zero weights never multiplied).
 */
import { describe, expect, it } from 'vitest';
import { highBandProductJs, highBandWeights, type HighBandOutput, type HighBandWeights } from '../src/opnp/grid/high-bands.js';
import { highBandProductWasm } from '../src/opnp/grid/high-bands-wasm.js';
import { planGrid } from '../src/opnp/grid/plan.js';
import { scoreBandedDense } from '../src/opnp/grid/banded-dense-path.js';
import { expectClose } from '../src/testing/index.js';
import { denseLogits, gridProblem } from './grid-fixture.js';
import { refEnergy, rng } from './helpers.js';

/** A problem: `band[c * J + j]` is the weight's band (`-1`: not a high-side weight), `x [R x J]`. */
interface Problem {
  C: number;
  J: number;
  R: number;
  bands: number;
  band: Int32Array;
  w: Float32Array;
  x: Float32Array;
}

function problem(seed: number, C: number, J: number, R: number, bands: number, density: number): Problem {
  const random = rng(seed);
  const band = Int32Array.from({ length: C * J }, () => (bands > 0 && random() < density ? Math.floor(random() * bands) : -1));
  const w = Float32Array.from({ length: C * J }, () => random() * 2 - 1);
  const x = Float32Array.from({ length: R * J }, () => random() * 3 - 1);
  return { C, J, R, bands, band, w, x };
}

/** The weights of a problem, visited in a scrambled order (the collector must not depend on it). */
function weightsOf(p: Problem): HighBandWeights {
  const entries: [number, number, number, number][] = [];
  for (let i = 0; i < p.C * p.J; i++) if (p.band[i]! >= 0) entries.push([Math.floor(i / p.J), i % p.J, p.band[i]!, p.w[i]!]);
  entries.reverse();
  return highBandWeights(p.C, p.bands, entries);
}

/** The definition: `[R x bands x C]` float64 sums over the weights of bands `>= b`. */
function reference(p: Problem): number[] {
  const out: number[] = [];
  for (let r = 0; r < p.R; r++) {
    for (let b = 0; b < p.bands; b++) {
      for (let c = 0; c < p.C; c++) {
        let s = 0;
        for (let j = 0; j < p.J; j++) if (p.band[c * p.J + j]! >= b) s += p.w[c * p.J + j]! * p.x[r * p.J + j]!;
        out.push(s);
      }
    }
  }
  return out;
}

type Product = (weights: HighBandWeights, x: Float32Array, R: number, J: number, target: HighBandOutput) => unknown;

const PRODUCTS: [string, Product][] = [
  ['JavaScript', highBandProductJs],
  ['WebAssembly', highBandProductWasm],
];

/**
 * Runs `product` into an output with a 3-float prefix and a row stride `gap` floats larger than the entries (0: rows
 * contiguous; sentinels around them) and returns the entries `[R x bands x C]`; checks that nothing else was written.
 */
function run(product: Product, p: Problem, gap = 2): number[] {
  const perRow = p.bands * p.C;
  const rowStride = perRow + gap;
  const offset = 3;
  const out = new Float32Array(offset + p.R * rowStride + 1).fill(-7);
  product(weightsOf(p), p.x, p.R, p.J, { out, offset, rowStride });
  const entries: number[] = [];
  for (let i = 0; i < out.length; i++) {
    const r = Math.floor((i - offset) / rowStride);
    const inside = i >= offset && r < p.R && (i - offset) % rowStride < perRow;
    if (inside) entries.push(out[i]!);
    else expect(out[i], `untouched float ${i}`).toBe(-7);
  }
  return entries;
}

describe('high-band sparse products', () => {
  it('the WebAssembly SIMD kernel runs here (so its tests below are not the JavaScript path twice)', () => {
    const p = problem(1, 2, 3, 1, 1, 1);
    expect(highBandProductWasm(weightsOf(p), p.x, 1, 3, { out: new Float32Array(2), offset: 0, rowStride: 2 })).toBe(true);
  });

  for (const [name, product] of PRODUCTS) {
    it(`${name}: equals the definition on every shape (tiles of 16 rows and remainders, C = 1, J = 1, one band, empty bands; rows apart or contiguous)`, () => {
      let seed = 100;
      for (const [C, J, R, bands, density] of [
        [1, 1, 1, 1, 1],
        [1, 9, 17, 3, 0.5],
        [7, 1, 16, 2, 0.6],
        [13, 40, 37, 3, 0.3],
        [5, 33, 33, 4, 0.1],
        [11, 20, 48, 3, 0.02],
        [4, 6, 5, 3, 0], // no weight at all: every entry 0
      ] as const) {
        const p = problem(seed++, C, J, R, bands, density);
        for (const gap of [2, 0]) expectClose(run(product, p, gap), reference(p), 1e-6, `${name} C=${C} J=${J} R=${R} bands=${bands} density=${density}, gap ${gap}`);
      }
    });

    it(`${name}: an empty band repeats the higher bands' sum; a class with no weight gives 0`, () => {
      const p = problem(7, 3, 8, 18, 3, 0);
      p.band.set([2, 2, -1, -1, -1, -1, -1, 0], 0); // class 0: bands 2 and 0 only (band 1 empty)
      p.band.set([1, -1, -1, -1, -1, -1, -1, -1], 16); // class 2: band 1 only; class 1: nothing
      const got = run(product, p);
      expectClose(got, reference(p), 1e-6, name);
      for (let r = 0; r < p.R; r++) {
        expect(got[r * 9 + 3 + 0]).toBe(got[r * 9 + 6 + 0]); // class 0: entry 1 = entry 2
        for (let b = 0; b < 3; b++) expect(got[r * 9 + b * 3 + 1]).toBe(0);
        expect(got[r * 9 + 6 + 2]).toBe(0); // class 2 has nothing in band 2
      }
    });

    it(`${name}: NaN and infinite features reach only the classes with a weight on them`, () => {
      const p = problem(8, 6, 10, 20, 2, 0.4);
      p.x[3 * 10 + 4] = Number.NaN;
      p.x[5 * 10 + 1] = Number.POSITIVE_INFINITY;
      p.x[19 * 10 + 9] = Number.NEGATIVE_INFINITY;
      p.band[0 * 10 + 4] = -1; // class 0 has no weight on the NaN column
      p.band[1 * 10 + 4] = 1;
      const got = run(product, p);
      expectClose(got, reference(p), 1e-6, `${name}, non-finite features`); // NaN where the definition is NaN, equal infinities
      expect(Number.isFinite(got[3 * 12 + 0])).toBe(true); // row 3, band 0, class 0
      expect(got[3 * 12 + 1]).toBeNaN();
    });

    it(`${name}: no rows and no bands write nothing`, () => {
      expect(run(product, problem(9, 3, 4, 0, 2, 0.5))).toEqual([]);
      expect(run(product, problem(9, 3, 4, 5, 0, 0.5))).toEqual([]);
    });
  }

  it('highBandWeights orders each class by band, highest first, keeping the given order within a band', () => {
    const w = highBandWeights(2, 2, [
      [1, 0, 0, 0.5],
      [0, 3, 1, 1.5],
      [0, 1, 0, 2.5],
      [0, 2, 1, 3.5],
    ]);
    expect(Array.from(w.start)).toEqual([0, 2, 3, 3, 4]);
    expect(Array.from(w.column)).toEqual([3, 2, 1, 0]);
    expect(Array.from(w.weight)).toEqual([1.5, 3.5, 2.5, 0.5]);
  });
});

describe('banded dense path with sparse high bands', () => {
  for (const pMax of [[0], [0, 5], [0, 0.5, 1, 2, 20]]) {
    it(`equals dense evaluation with ${pMax.length - 1} high weight level(s), on more rows than a tile`, async () => {
      const p = gridProblem(21, true, 6, 30, 41);
      const grid = { pMin: [0, 10, 30], pMax, nMin: [0, 20], nMax: [0, 10] };
      const gp = planGrid(p.features, { head: p.head, sensitivity: p.sensitivity, neuronSensitivity: p.neuronSensitivity, grid, blockRows: 35, sparseBelowDensity: 0 });
      const scores = gp.points.map(() => new Float32Array(gp.features.rows));
      await scoreBandedDense(gp, scores);
      gp.points.forEach((point, k) => {
        const want = denseLogits(gp, p.sensitivity.values, p.neuronSensitivity, point).map((f) => refEnergy(f));
        expectClose(scores[k]!, want, 1e-5, `point ${k} ${JSON.stringify(point)}`);
      });
    });
  }
});
