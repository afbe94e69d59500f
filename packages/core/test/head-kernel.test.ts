/**
 * Scores through a (pruned or transformed) head with any GEMM kernel: `composeScoreAsync`, `vimScoreAsync`,
 * `fitVimAsync`'s training logits and `fitShe`'s `trainLogits`. With the portable kernel they equal the synchronous
 * functions bit for bit; with another kernel they differ by no more than the float32 rounding of the logits allows
 * (docs/numerics.md#score-composition); and they compute the head product with the kernel they are given.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  applyFeatureTransform,
  composeScore,
  composeScoreAsync,
  diceHead,
  featureMean,
  fitShe,
  fitVim,
  fitVimAsync,
  linearHead,
  logits,
  logitsWith,
  portableGemmKernel,
  pruneHead,
  pruningMasks,
  fitResidual,
  residualScore,
  residualScoreAsync,
  computeSensitivity,
  neuronSensitivity,
  reactThreshold,
  vimScore,
  vimScoreAsync,
  type GemmKernel,
  type LinearHead,
  type Matrix,
  type Matrix64,
  type ScoreSpec,
} from '@opnp/core';
import { FLOAT32_UNIT_ROUNDOFF, counting, headLogitBound, portableRoundings, randomMatrix, roundedFloat64GemmKernel, rowMaxima, settledCode } from '@opnp/core/testing';
import { residualNorms, residualNormsWith } from '../src/scores/vim.js';
import { rng } from './helpers.js';

const D = 600; // three slices of 256 products in the portable kernel
const C = 23;
const head = linearHead(randomMatrix(C, D, rng(1), (u) => (u * 2 - 1) * 0.1), randomMatrix(1, C, rng(2), (u) => u - 0.5).data);
const train = randomMatrix(160, D, rng(3), (u) => Math.max(0, u * 3 - 1));
/** Test rows with a NaN row and a row of zeros. */
const test = ((): Matrix => {
  const m = randomMatrix(41, D, rng(4), (u) => Math.max(0, u * 3 - 1));
  m.data[7 * D + 5] = NaN;
  m.data.fill(0, 9 * D, 10 * D);
  return m;
})();

/** Roundings of the portable kernel and the rounded-float64 reference together, along one dot product. */
const ROUNDINGS = portableRoundings(D) + 1;

/** Every kind of composed score: logit scores, feature transforms, DICE and OPNP-pruned heads. */
async function specs(): Promise<Record<string, ScoreSpec>> {
  const sensitivity = await computeSensitivity(head, train);
  const pruned = pruneHead(head, pruningMasks(sensitivity, neuronSensitivity(sensitivity), { pMin: 20, pMax: 5, nMin: 10, nMax: 5 }, 'opnp'));
  const clip = reactThreshold(train, 90);
  return {
    energy: { head },
    'energy T=2': { head, temperature: 2 },
    msp: { head, score: 'msp' },
    maxlogit: { head, score: 'maxlogit' },
    react: { head, transform: { kind: 'react', clip } },
    'ash-p': { head, transform: { kind: 'ash', variant: 'p', percentile: 80 } },
    'ash-b': { head, transform: { kind: 'ash', variant: 'b' } },
    'ash-s': { head, transform: { kind: 'ash', variant: 's', percentile: 65 } },
    scale: { head, transform: { kind: 'scale' } },
    dice: { head: diceHead(head, featureMean(train), { percentile: 70 }).head },
    opnp: { head: pruned },
    'opnp+react': { head: pruned, transform: { kind: 'react', clip } },
    'msp+opnp': { head: pruned, score: 'msp' },
  };
}

/**
 * Asserts `a` and `b` (scores of the same rows through two kernels) differ by at most the per-row logit bound
 * `rowBound` (energy and maxlogit move by at most the largest logit change, msp by at most half of it over `T`), plus
 * one float32 rounding of each score; NaN exactly where the other is NaN.
 */
function expectWithinRounding(a: Float32Array, b: Float32Array, rowBound: Float64Array, what: string): void {
  expect(a.length, what).toBe(b.length);
  for (let n = 0; n < a.length; n++) {
    if (Number.isNaN(b[n]!)) {
      expect(a[n], `${what} row ${n}`).toBeNaN();
      continue;
    }
    const allowed = rowBound[n]! + FLOAT32_UNIT_ROUNDOFF * (Math.abs(a[n]!) + Math.abs(b[n]!));
    expect(Math.abs(a[n]! - b[n]!), `${what} row ${n}: ${a[n]} vs ${b[n]}`).toBeLessThanOrEqual(allowed);
  }
}

/** The per-row logit bound of `spec` on `features` (over its temperature for msp), NaN rows left at NaN. */
function specRowBound(spec: ScoreSpec, features: Matrix): Float64Array {
  const transformed = spec.transform ? applyFeatureTransform(features, spec.transform) : features;
  const rows = rowMaxima(headLogitBound(transformed, spec.head, ROUNDINGS), spec.head.weight.rows);
  return spec.score === 'msp' ? rows.map((v) => v / (spec.temperature ?? 1)) : rows;
}

afterEach(() => vi.restoreAllMocks());

describe('composeScoreAsync', () => {
  it('equals composeScore bit for bit with the portable kernel (given or default), for every kind of spec', async () => {
    for (const [name, spec] of Object.entries(await specs())) {
      const want = Array.from(composeScore(test, spec));
      expect(Array.from(await composeScoreAsync(test, spec, { kernel: portableGemmKernel })), name).toEqual(want);
      expect(Array.from(await composeScoreAsync(test, spec)), name).toEqual(want);
    }
    expect(Array.from(await composeScoreAsync({ rows: 0, cols: D, data: new Float32Array(0) }, { head }))).toEqual([]);
  });

  it('differs from the portable scores by no more than the float32 rounding of the logits, with another kernel', async () => {
    let differs = 0;
    for (const [name, spec] of Object.entries(await specs())) {
      const portable = composeScore(test, spec);
      const other = await composeScoreAsync(test, spec, { kernel: roundedFloat64GemmKernel });
      expectWithinRounding(other, portable, specRowBound(spec, test), name);
      if (other.some((v, n) => v !== portable[n] && !Number.isNaN(v))) differs++;
    }
    // The two kernels do round differently here (else the check above would be empty).
    expect(differs).toBeGreaterThan(0);
  });

  it("computes the head product with the given kernel, once, on the spec's head; never with the portable kernel", async () => {
    const all = await specs(); // the sensitivity of the pruned heads goes through the portable kernel
    const portable = vi.spyOn(portableGemmKernel, 'gemmSync');
    for (const [name, spec] of Object.entries(all)) {
      const run = counting(roundedFloat64GemmKernel);
      await composeScoreAsync(test, spec, { kernel: run.kernel });
      expect(run.calls.map((c) => [c.m, c.k, c.n, c.transB]), name).toEqual([[test.rows, D, C, true]]);
      expect(run.calls[0]!.b, name).toBe(spec.head.weight);
    }
    expect(portable).not.toHaveBeenCalled();
  });

  it('throws as composeScore for features that do not match the head, before calling the kernel', async () => {
    const run = counting(roundedFloat64GemmKernel);
    expect(await settledCode(composeScoreAsync(randomMatrix(2, D - 1, rng(5)), { head }, { kernel: run.kernel }))).toBe('SHAPE_MISMATCH');
    expect(run.calls).toEqual([]);
  });
});

describe('ViM through a kernel', () => {
  const dim = 500;

  it('vimScoreAsync equals vimScore with the portable kernel, and is within the rounding of its energy with another', async () => {
    const model = fitVim(train, head, { dim });
    expect(Array.from(await vimScoreAsync(model, test, { kernel: portableGemmKernel }))).toEqual(Array.from(vimScore(model, test)));
    expect(Array.from(await vimScoreAsync(model, test))).toEqual(Array.from(vimScore(model, test)));
    const run = counting(roundedFloat64GemmKernel);
    const other = await vimScoreAsync(model, test, { kernel: run.kernel });
    expect(run.calls.map((c) => [c.m, c.k, c.n])).toEqual([[test.rows, D, C]]);
    expect(run.calls[0]!.b).toBe(head.weight);
    // The score is the float32 energy minus a float64 residual term that does not depend on the kernel: the energy's
    // logit bound, one rounding of each energy and one of each score.
    const energyRounding = rowMaxima(headLogitBound(test, head, ROUNDINGS), C).map((v, n) => v + FLOAT32_UNIT_ROUNDOFF * 2 * Math.abs(vimScore(model, test)[n]! + 1));
    expectWithinRounding(other, vimScore(model, test), energyRounding, 'vim');
  });

  it("fitVimAsync computes the training logits of alpha with the kernel: alpha moves by at most their rounding", async () => {
    const portable = fitVim(train, head, { dim });
    const run = counting(roundedFloat64GemmKernel);
    const model = await fitVimAsync(train, head, { dim, kernel: run.kernel });
    expect(run.calls.filter((c) => c.b === head.weight).map((c) => [c.m, c.k, c.n])).toEqual([[train.rows, D, C]]);
    expect(Array.from(model.residualBasis)).toEqual(Array.from(portable.residualBasis));
    // alpha = mean_n max_c f_nc / mean_n ||residual_n||: the mean of the maxima moves by at most the largest bound.
    const meanNorm = residualNorms(train, portable.origin, portable.residualBasis, D - dim).reduce((s, v) => s + v, 0) / train.rows;
    const maxBound = Math.max(...rowMaxima(headLogitBound(train, head, ROUNDINGS), C));
    expect(Math.abs(model.alpha - portable.alpha)).toBeLessThanOrEqual(maxBound / meanNorm + 1e-12 * portable.alpha);
    // With the portable kernel, the model of fitVim.
    expect((await fitVimAsync(train, head, { dim, kernel: portableGemmKernel })).alpha).toBe(portable.alpha);
  });
});

/**
 * `roundedFloat64GemmKernel` with a `float64Product` accelerator summing each dot product from its last term to its
 * first (another summation order than JavaScript's), counting its calls.
 */
function withReversedFloat64Product(): { kernel: GemmKernel; calls: () => number } {
  let calls = 0;
  const float64Product = async (a: Matrix64, b: Matrix64, o: { transA: boolean; transB: boolean }): Promise<Matrix64> => {
    calls++;
    const [m, k, n] = [o.transA ? a.cols : a.rows, o.transA ? a.rows : a.cols, o.transB ? b.rows : b.cols];
    const data = new Float64Array(m * n);
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let q = k - 1; q >= 0; q--) s += (o.transA ? a.data[q * a.cols + i]! : a.data[i * a.cols + q]!) * (o.transB ? b.data[j * b.cols + q]! : b.data[q * b.cols + j]!);
        data[i * n + j] = s;
      }
    }
    return { rows: m, cols: n, data };
  };
  return { kernel: { ...roundedFloat64GemmKernel, accelerators: { float64Product } }, calls: () => calls };
}

describe('ViM and Residual projections on the kernel', () => {
  const dim = 500;

  it("residualScoreAsync projects on the kernel's float64Product: residualScore's scores up to the summation order", async () => {
    const model = fitResidual(train, head, { dim });
    const want = residualScore(model, test);
    expect(Array.from(await residualScoreAsync(model, test))).toEqual(Array.from(want));
    expect(Array.from(await residualScoreAsync(model, test, { kernel: portableGemmKernel }))).toEqual(Array.from(want));
    const run = withReversedFloat64Product();
    const got = await residualScoreAsync(model, test, { kernel: run.kernel });
    expect(run.calls()).toBeGreaterThan(0);
    // float64 sums of D products of size <= |h - u| |v| in another order (1e-12 of the norm), then one float32 rounding.
    expectWithinRounding(got, want, Float64Array.from(want, (v) => 1e-12 * (Math.abs(v) + 1)), 'residual');
  });

  it('vimScoreAsync and fitVimAsync project the residual on the kernel too', async () => {
    const run = withReversedFloat64Product();
    const model = await fitVimAsync(train, head, { dim, kernel: run.kernel });
    const afterFit = run.calls();
    expect(afterFit).toBeGreaterThan(0);
    const got = await vimScoreAsync(model, test, { kernel: run.kernel });
    expect(run.calls()).toBeGreaterThan(afterFit);
    const want = vimScore(model, test);
    // The energy's logit bound (the test kernel's GEMM), 1e-12 of alpha times each residual norm, roundings.
    const norms = residualNorms(test, model.origin, model.residualBasis, D - dim);
    const bound = rowMaxima(headLogitBound(test, head, ROUNDINGS), C).map((v, n) => v + 1e-12 * model.alpha * norms[n]! + FLOAT32_UNIT_ROUNDOFF * 2 * (Math.abs(want[n]!) + 1));
    expectWithinRounding(got, want, bound, 'vim');
  });
});

describe('fitShe with given training logits', () => {
  const labels = Int32Array.from({ length: train.rows }, (_, n) => n % C);
  /** The training labels the head predicts, so every class has correctly classified samples. */
  const predicted = (h: LinearHead): Int32Array => {
    const f = logits(h, train);
    return Int32Array.from({ length: train.rows }, (_, n) => {
      let y = 0;
      for (let c = 1; c < C; c++) if (f.data[n * C + c]! > f.data[n * C + y]!) y = c;
      return y;
    });
  };

  it('stores the patterns of the predictions of the given logits', async () => {
    const y = predicted(head);
    const plain = fitShe(train, y, head);
    const given = fitShe(train, y, head, { trainLogits: await logitsWith(portableGemmKernel, head, train) });
    expect(Array.from(given.patterns)).toEqual(Array.from(plain.patterns));
    // Logits of another head predict other classes: the patterns follow the logits given, not the head.
    const other = linearHead(randomMatrix(C, D, rng(6), (u) => u * 2 - 1), new Float32Array(C));
    const moved = fitShe(train, y, head, { trainLogits: logits(other, train) });
    expect(Array.from(moved.counts)).not.toEqual(Array.from(plain.counts));
    expect(fitShe(train, labels, head, { trainLogits: logits(head, train) }).counts).toEqual(fitShe(train, labels, head).counts);
  });

  it('refuses logits that are not N x C', () => {
    expect(() => fitShe(train, labels, head, { trainLogits: { rows: train.rows, cols: C - 1, data: new Float32Array(train.rows * (C - 1)) } })).toThrow(/logits/);
    expect(() => fitShe(train, labels, head, { trainLogits: { rows: 3, cols: C, data: new Float32Array(3 * C) } })).toThrow();
  });
});

describe('residualNormsWith on a float64Product accelerator', () => {
  it('equals the brute-force residual norms over several row blocks (the block buffer is reused)', async () => {
    const random = rng(17);
    const [N, D, k] = [2500, 64, 24]; // three blocks of at most 1024 rows, each above the kernel's flop threshold
    const features = { rows: N, cols: D, data: Float32Array.from({ length: N * D }, () => random() * 4 - 2) };
    const origin = Float64Array.from({ length: D }, () => random() - 0.5);
    const basis = Float64Array.from({ length: D * D }, () => random() - 0.5);
    // float64 product of (H - u) [rows x D] and basis[:k]^T, written out
    const float64Product = async (a: { rows: number; cols: number; data: Float64Array }, b: { rows: number; cols: number; data: Float64Array }) => {
      const out = new Float64Array(a.rows * b.rows);
      for (let q = 0; q < a.rows; q++) for (let i = 0; i < b.rows; i++) {
        let s = 0;
        for (let j = 0; j < a.cols; j++) s += a.data[q * a.cols + j]! * b.data[i * b.cols + j]!;
        out[q * b.rows + i] = s;
      }
      return { rows: a.rows, cols: b.rows, data: out };
    };
    let calls = 0;
    const kernel = { ...portableGemmKernel, name: 'float64-test', accelerators: { float64Product: (a: never, b: never) => (calls++, float64Product(a, b)) } };
    const norms = await residualNormsWith(kernel, features, origin, basis, k);
    expect(calls).toBe(3);
    for (let n = 0; n < N; n++) {
      let s = 0;
      for (let i = 0; i < k; i++) {
        let p = 0;
        for (let j = 0; j < D; j++) p += (features.data[n * D + j]! - origin[j]!) * basis[i * D + j]!;
        s += p * p;
      }
      expect(Math.abs(norms[n]! - Math.sqrt(s))).toBeLessThanOrEqual(1e-12 * Math.sqrt(s));
    }
  });
});
