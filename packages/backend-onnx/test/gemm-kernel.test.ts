import { afterAll, describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import { gemm, gemmSync, gridScores, mulberry32, symmetricEigen, symmetricEigenAsync, listGemmKernels, matrix, resolveGemmKernel, SensitivityAccumulator, sliceRows } from '@opnp/core';
import { bandedShift, describeGemmKernelConformance, expectClose, randomMatrix, refBandedGridLogSumExp, refGemm, refSoftmaxTransposedProduct, splitBandedParts } from '@opnp/core/testing';
import { buildGemmModel, createOnnxGemmKernel, registerOnnxGemmKernel } from '../src/gemm-kernel.js';

/** Seeded PRNG so shapes and values are reproducible. */
const prng = mulberry32;

const kernel = createOnnxGemmKernel({ intraOpNumThreads: 2 });
afterAll(() => kernel.dispose());

describeGemmKernelConformance('onnxruntime', () => createOnnxGemmKernel({ intraOpNumThreads: 2 }));

describe('onnxruntime GEMM kernel', () => {
  it('builds a valid one-node Gemm model', async () => {
    const session = await ort.InferenceSession.create(buildGemmModel(true, false));
    expect(session.inputNames).toEqual(['A', 'B']);
    expect(session.outputNames).toEqual(['Y']);
    await session.release();
  });

  for (const transA of [false, true]) {
    for (const transB of [false, true]) {
      it(`matches the portable kernel and a naive loop (transA=${transA}, transB=${transB})`, async () => {
        const random = prng(7 + (transA ? 2 : 0) + (transB ? 1 : 0));
        const shapes: [number, number, number][] = [[1, 1, 1], [7, 13, 5], [3, 1, 8]];
        for (let t = 0; t < 5; t++) shapes.push([1 + Math.floor(random() * 70), 1 + Math.floor(random() * 300), 1 + Math.floor(random() * 70)]);
        for (const [m, k, n] of shapes) {
          const a = transA ? randomMatrix(k, m, random) : randomMatrix(m, k, random);
          const b = transB ? randomMatrix(n, k, random) : randomMatrix(k, n, random);
          const aCopy = a.data.slice();
          const out = await gemm(kernel, a, b, { transA, transB });
          expect([out.rows, out.cols]).toEqual([m, n]);
          const tol = 1e-5 * k;
          expectClose(out.data, gemmSync(a, b, { transA, transB }).data, { atol: tol, rtol: tol });
          expectClose(out.data, refGemm(a, b, transA, transB), { atol: tol, rtol: tol });
          expect(a.data).toEqual(aCopy);
        }
      });
    }
  }

  it('handles empty dimensions and subarray views', async () => {
    const random = prng(99);
    expect(await gemm(kernel, matrix(0, 4), randomMatrix(4, 3, random))).toEqual({ rows: 0, cols: 3, data: new Float32Array(0) });
    const zeroK = await gemm(kernel, matrix(2, 0), matrix(0, 3));
    expect(Array.from(zeroK.data)).toEqual([0, 0, 0, 0, 0, 0]);
    const big = randomMatrix(10, 6, random);
    const view = sliceRows(big, 3, 8); // data is a subarray with a non-zero byte offset
    const b = randomMatrix(6, 4, random);
    expectClose((await gemm(kernel, view, b)).data, refGemm(view, b, false, false), { atol: 1e-4, rtol: 1e-4 });
  });

  it('runs concurrent products on shared sessions', async () => {
    const random = prng(5);
    const a = randomMatrix(20, 30, random);
    const b = randomMatrix(30, 10, random);
    const results = await Promise.all(Array.from({ length: 6 }, () => gemm(kernel, a, b)));
    for (const r of results) expect(r.data).toEqual(results[0]!.data);
  });

  it('is unusable after dispose (dispose twice is fine)', async () => {
    const own = createOnnxGemmKernel({ intraOpNumThreads: 1 });
    await gemm(own, matrix(1, 1, [2]), matrix(1, 1, [3]));
    await own.dispose();
    await own.dispose();
    await expect(gemm(own, matrix(1, 1, [2]), matrix(1, 1, [3]))).rejects.toMatchObject({ code: 'DISPOSED' });
  });

  it('rejects a bad thread count', () => {
    expect(() => createOnnxGemmKernel({ intraOpNumThreads: 0 })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });

  it('registers in core as the preferred kernel', async () => {
    registerOnnxGemmKernel();
    registerOnnxGemmKernel();
    expect(listGemmKernels()[0]).toBe('onnxruntime');
    const resolved = await resolveGemmKernel();
    expect(resolved.name).toBe('onnxruntime');
    const out = await gemm(resolved, matrix(1, 2, [1, 2]), matrix(2, 1, [3, 4]));
    expect(Array.from(out.data)).toEqual([11]);
    await resolved.dispose?.();
  });
});

describe('fused sensitivity product (softmax(L/T)^T |H|)', () => {
  for (const [T, absolute] of [[1, true], [2, true], [0.5, false]] as const) {
    it(`matches the definition (T = ${T}, ${absolute ? '|H|' : 'signed H'})`, async () => {
      const random = prng(40 + T * 10);
      const L = matrix(37, 9, Float32Array.from({ length: 37 * 9 }, () => (random() - 0.5) * 20));
      const H = randomMatrix(37, 13, random);
      const got = await kernel.accelerators.softmaxTransposedProduct(L, H, { temperature: T, absolute });
      expect([got.rows, got.cols]).toEqual([9, 13]);
      expectClose(got.data, refSoftmaxTransposedProduct(L, H, T, absolute).value, { atol: 1e-5, rtol: 1e-5 });
    });
  }

  it('makes SensitivityAccumulator agree with the portable path', async () => {
    const random = prng(99);
    const W = randomMatrix(11, 17, random);
    const head = { weight: W, bias: Float32Array.from({ length: 11 }, () => random()) };
    const H = randomMatrix(300, 17, random);
    for (const aggregation of ['sum-of-abs', 'abs-of-sum'] as const) {
      const fast = new SensitivityAccumulator(head, { kernel, temperature: 1.5, aggregation });
      const slow = new SensitivityAccumulator(head, { temperature: 1.5, aggregation });
      await fast.add(sliceRows(H, 0, 120));
      await fast.add(sliceRows(H, 120, 300));
      await slow.add(H);
      expectClose(Float32Array.from(fast.result().values), slow.result().values, { atol: 1e-5, rtol: 1e-5 });
    }
  });

  it('includes every awaited batch in toState, merge and result (products are added to the sums lazily)', async () => {
    const random = prng(41);
    const head = { weight: randomMatrix(5, 9, random), bias: Float32Array.from({ length: 5 }, () => random()) };
    const batches = [randomMatrix(40, 9, random), randomMatrix(25, 9, random), randomMatrix(33, 9, random)];
    const reference = async (upTo: number) => {
      const acc = new SensitivityAccumulator(head);
      for (const b of batches.slice(0, upTo)) await acc.add(b);
      return acc.toState();
    };
    const fast = new SensitivityAccumulator(head, { kernel });
    await fast.add(batches[0]!);
    await fast.add(batches[1]!);
    const mid = fast.toState();
    expect(mid.count).toBe(65);
    expectClose(Float32Array.from(mid.sum), (await reference(2)).sum, { atol: 1e-5, rtol: 1e-5 });
    const other = new SensitivityAccumulator(head, { kernel });
    await other.add(batches[2]!);
    fast.merge(other); // other's product is still pending: merge must include it
    expectClose(Float32Array.from(fast.toState().sum), (await reference(3)).sum, { atol: 1e-5, rtol: 1e-5 });
    const resumed = SensitivityAccumulator.fromState(head, mid, { kernel });
    await resumed.add(batches[2]!);
    expectClose(Float32Array.from(resumed.result().values), (await reference(3)).sum.map((v) => v / 98), { atol: 1e-5, rtol: 1e-5 });
  });

  it('makes SensitivityAccumulator reject NaN / Inf inputs, naming the row, without changing its state', async () => {
    const random = prng(5);
    const head = { weight: randomMatrix(4, 6, random), bias: new Float32Array(4) };
    const acc = new SensitivityAccumulator(head, { kernel });
    const good = randomMatrix(10, 6, random);
    await acc.add(good);
    const before = acc.toState().sum.slice();
    const bad = matrix(10, 6, good.data.slice());
    bad.data[7 * 6 + 2] = NaN;
    await expect(acc.add(bad)).rejects.toMatchObject({ code: 'NON_FINITE', offset: 7 });
    const badLogits = matrix(10, 4, new Float32Array(40));
    badLogits.data[3 * 4 + 1] = Infinity;
    await expect(acc.add(good, badLogits)).rejects.toMatchObject({ code: 'NON_FINITE', offset: 3, message: expect.stringContaining('logits') });
    expect(acc.count).toBe(10);
    expect(Array.from(acc.toState().sum)).toEqual(Array.from(before));
  });

  it('returns zeros for an empty batch and rejects mismatched rows', async () => {
    const empty = await kernel.accelerators.softmaxTransposedProduct(matrix(0, 4), matrix(0, 3), { temperature: 1, absolute: true });
    expect(Array.from(empty.data)).toEqual(new Array(12).fill(0));
    await expect(kernel.accelerators.softmaxTransposedProduct(matrix(2, 4), matrix(3, 3), { temperature: 1, absolute: true })).rejects.toThrow(/same number of rows/);
  });
});

describe('grid search scoring through onnxruntime (bandedGridLogSumExp)', () => {
  const random = prng(7);
  const C = 9, D = 31, N = 300;
  const head = { weight: randomMatrix(C, D, random), bias: Float32Array.from({ length: C }, () => random() - 0.5) };
  const sensitivity = { classes: C, dim: D, values: Float64Array.from({ length: C * D }, () => Math.floor(random() * 13)) };
  const neuronSensitivity = Float64Array.from({ length: D }, () => Math.floor(random() * 6));
  const H = matrix(N, D, Float32Array.from({ length: N * D }, () => Math.max(0, random() * 3 - 1)));

  it('returns log sum_c exp(logits) of every level combination as BandedGridShape defines them', async () => {
    for (const [wL, wH, nL, nH] of [[4, 3, 3, 3], [1, 0, 1, 0], [2, 0, 3, 2], [3, 2, 1, 0], [1, 1, 2, 1]] as const) {
      const [R, K] = [13, 11];
      const S = wL + wH;
      const shape = { rows: R, classes: K, weightLow: wL, weightHigh: wH, neuronLow: nL, neuronHigh: nH };
      const parts = splitBandedParts(Array.from({ length: nL + nH }, () => Float32Array.from({ length: R * S * K }, () => random() * 6 - 3)), shape);
      const bias = Float32Array.from({ length: K }, () => random() * 10 - 5);
      const { logSum, shifts } = await kernel.accelerators.bandedGridLogSumExp(parts, shape, bias);
      const combos = wL * (wH + 1) * (nH + 1) * nL;
      expect(logSum).toHaveLength(R * combos);
      expect(shifts).toHaveLength(R * 4);
      const got: number[] = [];
      for (let r = 0; r < R; r++) {
        let g = 0;
        for (let a = 0; a < wL; a++) for (let b = 0; b <= wH; b++) for (let bn = 0; bn <= nH; bn++) for (let an = 0; an < nL; an++) {
          got.push(logSum[r * combos + g++]! + bandedShift(shifts.subarray(r * 4, r * 4 + 4), b, bn, shape));
        }
      }
      const want = refBandedGridLogSumExp(parts, shape, bias).value;
      expectClose(Float32Array.from(got), want, { atol: 1e-5, rtol: 1e-5 });
    }
  });

  it('keeps every factor at most 1 (shifted sums at most log C) and rejects parts that do not fit', async () => {
    const shape = { rows: 2, classes: 3, weightLow: 2, weightHigh: 1, neuronLow: 1, neuronHigh: 1 };
    const parts = splitBandedParts([Float32Array.from({ length: 18 }, (_, i) => 40 * Math.sin(i)), Float32Array.from({ length: 18 }, (_, i) => 30 * Math.cos(i))], shape);
    const { logSum } = await kernel.accelerators.bandedGridLogSumExp(parts, shape, new Float32Array(3));
    for (const v of logSum) expect(v).toBeLessThanOrEqual(Math.log(3) + 1e-6);
    await expect(kernel.accelerators.bandedGridLogSumExp({ low: parts.low.slice(1), high: parts.high.slice(1) }, shape, new Float32Array(3))).rejects.toThrow(/do not fit/);
    await expect(kernel.accelerators.bandedGridLogSumExp({ low: parts.low, high: parts.low }, shape, new Float32Array(3))).rejects.toThrow(/do not fit/);
    await expect(kernel.accelerators.bandedGridLogSumExp(parts, shape, new Float32Array(4))).rejects.toThrow(/do not fit/);
  });

  it('scores every default grid point like the portable path', async () => {
    const fast = await gridScores(H, { head, sensitivity, neuronSensitivity, kernel, blockRows: 128 });
    const slow = await gridScores(H, { head, sensitivity, neuronSensitivity });
    expect(fast.points).toEqual(slow.points);
    fast.scores.forEach((s, p) => expectClose(s, slow.scores[p]!, { atol: 1e-5, rtol: 1e-5 }));
  });

  it('with distinct sensitivities (every weight and neuron band of the default grid populated)', async () => {
    const distinct = { classes: C, dim: D, values: Float64Array.from({ length: C * D }, () => random()) };
    const neurons = Float64Array.from({ length: D }, () => random());
    // 279 weights: 2, 3 and 6 above the 99.5th, 99th and 98th percentiles.
    const sorted = [...distinct.values].sort((x, y) => y - x);
    expect([sorted[1]! > sorted[2]!, sorted[2]! > sorted[3]!, sorted[5]! > sorted[6]!]).toEqual([true, true, true]);
    const fast = await gridScores(H, { head, sensitivity: distinct, neuronSensitivity: neurons, kernel, blockRows: 64, temperature: 1.5 });
    const slow = await gridScores(H, { head, sensitivity: distinct, neuronSensitivity: neurons, temperature: 1.5 });
    fast.scores.forEach((s, p) => expectClose(s, slow.scores[p]!, { atol: 1e-5, rtol: 1e-5 }));
  });

  it('with temperature and ReAct, on a banded grid and on one whose bands overlap (portable path)', async () => {
    for (const grid of [{ pMin: [0, 10, 45], pMax: [0, 10], nMin: [0, 30], nMax: [0, 70] }, { pMin: [0, 10, 95], pMax: [0, 10], nMin: [0, 30], nMax: [0, 70] }]) {
      const fast = await gridScores(H, { head, sensitivity, neuronSensitivity, kernel, grid, temperature: 2.5, reactClip: 1 });
      const slow = await gridScores(H, { head, sensitivity, neuronSensitivity, grid, temperature: 2.5, reactClip: 1 });
      fast.scores.forEach((s, p) => expectClose(s, slow.scores[p]!, { atol: 1e-5, rtol: 1e-5 }));
    }
  });

  it('re-scores exactly the rows whose pruned logits fall far below the unpruned maximum', async () => {
    // Large logits: pruning moves the groups' terms by hundreds, beyond float32's exponential range.
    const big = { weight: matrix(C, D, head.weight.data.map((v) => v * 300)), bias: head.bias.map((v) => v * 100) };
    const grid = { pMin: [0, 50], pMax: [0, 10], nMin: [0, 30], nMax: [0, 30] };
    const fast = await gridScores(H, { head: big, sensitivity, neuronSensitivity, kernel, grid });
    const slow = await gridScores(H, { head: big, sensitivity, neuronSensitivity, grid });
    fast.scores.forEach((s, p) => expectClose(s, slow.scores[p]!, { atol: 1e-5, rtol: 1e-5 }));
  });
});

describe('symmetric eigensolver through onnxruntime (float64Product)', () => {
  it('gives the JavaScript path\'s eigenvalues and subspaces, with A v = lambda v and orthonormal vectors', async () => {
    const n = 260;
    const random = prng(5);
    const A = new Float64Array(n * n);
    for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) A[i * n + j] = A[j * n + i] = random() * 2 - 1;
    const got = await symmetricEigenAsync(A, n, { kernel });
    const want = symmetricEigen(A, n);
    const scale = Math.abs(want.values[0]!);
    for (let i = 0; i < n; i++) expect(Math.abs(got.values[i]! - want.values[i]!)).toBeLessThan(1e-12 * scale);
    let residual = 0;
    let orthogonality = 0;
    for (let k = 0; k < n; k += 7) {
      for (let a = 0; a < n; a++) {
        let s = 0;
        for (let b = 0; b < n; b++) s += A[a * n + b]! * got.vectors[k * n + b]!;
        residual = Math.max(residual, Math.abs(s - got.values[k]! * got.vectors[k * n + a]!) / scale);
      }
      for (let l = 0; l < n; l++) {
        let dot = 0;
        for (let a = 0; a < n; a++) dot += got.vectors[k * n + a]! * got.vectors[l * n + a]!;
        orthogonality = Math.max(orthogonality, Math.abs(dot - (k === l ? 1 : 0)));
      }
    }
    expect(residual).toBeLessThan(1e-13 * n);
    expect(orthogonality).toBeLessThan(1e-13 * n);
  });
});
