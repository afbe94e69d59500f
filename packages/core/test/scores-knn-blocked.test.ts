/**
 * KNN through blocked GEMMs and partial selection (docs/numerics.md#knn) against a brute force written here:
 * full sort of the cosine similarities of the L2-normalised rows.
 */
import { describe, expect, it } from 'vitest';
import { matrix, portableGemmKernel, type GemmKernel, type Matrix } from '@opnp/core';
import { fitKnn, knnBlockRows, knnScore, knnScoreAsync, selectKth } from '../src/scores/knn.js';
import { randomMatrix, rng } from './helpers.js';

/** Float64 unit rows (zero rows stay zero). */
function unitRows(m: Matrix): number[][] {
  return Array.from({ length: m.rows }, (_, i) => {
    const row = Array.from(m.data.subarray(i * m.cols, (i + 1) * m.cols));
    const n = Math.sqrt(row.reduce((s, v) => s + v * v, 0));
    return row.map((v) => (n > 0 ? v / n : 0));
  });
}

/**
 * Brute force by cosine similarity: `||z - t||^2 = |z|^2 + |t|^2 - 2 z.t`; sort all candidates by descending
 * similarity (ascending squared distance, so zero rows order correctly), take the k-th. NaN rows score NaN.
 */
function bruteCosineKnn(train: Matrix, test: Matrix, k: number): number[] {
  const T = unitRows(train);
  const sq = T.map((t) => t.reduce((s, v) => s + v * v, 0));
  return unitRows(test).map((z, i) => {
    if (Array.from(test.data.subarray(i * test.cols, (i + 1) * test.cols)).some((v) => !Number.isFinite(v))) return NaN;
    const zz = z.reduce((s, v) => s + v * v, 0);
    const d2 = T.map((t, n) => zz + sq[n]! - 2 * t.reduce((s, v, j) => s + v * z[j]!, 0)).sort((a, b) => a - b);
    return -Math.sqrt(Math.max(0, d2[k - 1]!));
  });
}

function expectScores(actual: Float32Array, expected: number[], tol: number, what: string): void {
  expect(actual.length).toBe(expected.length);
  expected.forEach((e, i) => {
    if (Number.isNaN(e)) expect(actual[i], `${what} ${i}`).toBeNaN();
    else expect(Math.abs(actual[i]! - e), `${what} ${i}: ${actual[i]} vs ${e}`).toBeLessThanOrEqual(tol);
  });
}

/** An asynchronous kernel (portable arithmetic) that counts its calls and records block heights. */
function countingKernel(): GemmKernel & { heights: number[] } {
  const heights: number[] = [];
  return {
    name: 'counting',
    heights,
    async gemm(a, b, options) {
      heights.push(a.rows);
      await new Promise((resolve) => setTimeout(resolve, 0));
      return portableGemmKernel.gemmSync(a, b, options);
    },
  };
}

describe('KNN, blocked GEMM + partial selection', () => {
  it('matches the cosine brute force for k = 1, middle k and k = N, sync and async, across block sizes', async () => {
    const train = randomMatrix(97, 13, rng(11));
    const test = randomMatrix(41, 13, rng(12));
    for (const k of [1, 2, 17, 96, 97]) {
      const model = fitKnn(train, { k });
      const want = bruteCosineKnn(train, test, k);
      const full = knnScore(model, test);
      expectScores(full, want, 2e-6, `k=${k}`);
      for (const budget of [1, 97 * 4 * 5, 97 * 4 * 41]) {
        expect(Array.from(knnScore(model, test, { blockBudgetBytes: budget })), `k=${k} budget ${budget}`).toEqual(Array.from(full));
        const kernel = countingKernel();
        expect(Array.from(await knnScoreAsync(model, test, { kernel, blockBudgetBytes: budget }))).toEqual(Array.from(full));
        const B = knnBlockRows(97, budget);
        expect(kernel.heights.length).toBe(Math.ceil(41 / B));
        expect(Math.max(...kernel.heights)).toBeLessThanOrEqual(B);
      }
      expect(Array.from(await knnScoreAsync(model, test))).toEqual(Array.from(full));
    }
  });
  it('handles duplicated training rows and exact ties (lowest index among equal candidates)', async () => {
    // Three copies of e1 (one scaled), two of e2, one -e1 and one zero row.
    const train = matrix(7, 2, [1, 0, 3, 0, 1, 0, 0, 1, 0, 2, -1, 0, 0, 0]);
    const test = matrix(5, 2, [2, 0, 0, 5, 1, 1, -1, 0, 0, 0]);
    for (let k = 1; k <= 7; k++) {
      const model = fitKnn(train, { k });
      const want = bruteCosineKnn(train, test, k);
      expectScores(knnScore(model, test), want, 1e-7, `k=${k}`);
      expectScores(await knnScoreAsync(model, test), want, 1e-7, `async k=${k}`);
    }
    // A query equal to its k-th (duplicated) neighbour scores exactly +0.
    const s = knnScore(fitKnn(train, { k: 3 }), matrix(1, 2, [4, 0]));
    expect(Object.is(s[0], 0)).toBe(true);
  });
  it('keeps zero vectors zero and scores NaN / infinite rows NaN', async () => {
    const train = matrix(4, 3, [0, 0, 0, 1, 2, 3, -1, 0, 1, 0, 0, 0]);
    const test = matrix(5, 3, [0, 0, 0, 1, 2, 3, NaN, 1, 1, 0, Infinity, 0, 2, 2, -1]);
    for (const k of [1, 2, 3, 4]) {
      const model = fitKnn(train, { k });
      const want = bruteCosineKnn(train, test, k);
      expectScores(knnScore(model, test, { blockBudgetBytes: 16 }), want, 1e-7, `k=${k}`);
      expectScores(await knnScoreAsync(model, test, { blockBudgetBytes: 16 }), want, 1e-7, `async k=${k}`);
    }
    expect(Array.from(knnScore(fitKnn(train, { k: 1 }), matrix(1, 3)))).toEqual([0]);
    expect(knnScore(fitKnn(train, { k: 3 }), matrix(1, 3))[0]).toBe(-1);
  });
  it('returns an empty array for no queries and rejects a bad block budget', async () => {
    const model = fitKnn(randomMatrix(5, 3, rng(3)), { k: 2 });
    expect((await knnScoreAsync(model, matrix(0, 3))).length).toBe(0);
    expect(() => knnScore(model, matrix(1, 3), { blockBudgetBytes: 0 })).toThrow(/blockBudgetBytes/);
    await expect(knnScoreAsync(model, matrix(1, 4))).rejects.toThrow(/width/);
    expect(knnBlockRows(20_000)).toBe(Math.floor((64 * 1024 * 1024) / (4 * 20_000)));
  });
  it('selectKth returns the k-th smallest of sorted, reversed, tied and random inputs', () => {
    const r = rng(5);
    const cases = [
      Array.from({ length: 50 }, (_, i) => i),
      Array.from({ length: 50 }, (_, i) => 50 - i),
      Array.from({ length: 50 }, () => 3),
      Array.from({ length: 200 }, () => Math.floor(r() * 7)),
      Array.from({ length: 201 }, () => r() - 0.5),
    ];
    for (const values of cases) {
      const sorted = [...values].sort((a, b) => a - b);
      for (const k of [1, 2, Math.ceil(values.length / 2), values.length]) {
        expect(selectKth(Float64Array.from(values), values.length, k)).toBe(sorted[k - 1]);
      }
    }
  });
});
