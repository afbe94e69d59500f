import { describe, expect, it } from 'vitest';
import { OpnpError } from '@opnp/core';
import { effectiveRank, symmetricEigen, symmetricPseudoInverse } from '../src/scores/symmetric-eigen.js';
import { rng, inverse } from './helpers.js';


function matmul(A: ArrayLike<number>, B: ArrayLike<number>, n: number): Float64Array {
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let k = 0; k < n; k++) for (let j = 0; j < n; j++) out[i * n + j]! += A[i * n + k]! * B[k * n + j]!;
  return out;
}

function maxAbsDiff(A: ArrayLike<number>, B: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < A.length; i++) m = Math.max(m, Math.abs(A[i]! - B[i]!));
  return m;
}

/** A random PSD matrix X^T X of rank `rank` (X is rank x n). */
function randomPsd(n: number, rank: number, seed: number): Float64Array {
  const r = rng(seed);
  const X = Array.from({ length: rank * n }, () => r() * 2 - 1);
  const A = new Float64Array(n * n);
  for (let k = 0; k < rank; k++) for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) A[i * n + j]! += X[k * n + i]! * X[k * n + j]!;
  return A;
}


describe('symmetricEigen', () => {
  it('gives A v = lambda v with orthonormal vectors and descending values', () => {
    for (const n of [1, 2, 3, 17, 60]) {
      const r = rng(n);
      const A = new Float64Array(n * n);
      for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) A[i * n + j] = A[j * n + i] = r() * 2 - 1;
      const copy = Float64Array.from(A);
      const { values, vectors } = symmetricEigen(A, n);
      expect(A).toEqual(copy);
      for (let k = 0; k < n; k++) {
        if (k > 0) expect(values[k]!).toBeLessThanOrEqual(values[k - 1]!);
        for (let a = 0; a < n; a++) {
          let s = 0;
          for (let b = 0; b < n; b++) s += A[a * n + b]! * vectors[k * n + b]!;
          expect(Math.abs(s - values[k]! * vectors[k * n + a]!)).toBeLessThan(1e-12 * n);
        }
        for (let l = 0; l < n; l++) {
          let dot = 0;
          for (let a = 0; a < n; a++) dot += vectors[k * n + a]! * vectors[l * n + a]!;
          expect(Math.abs(dot - (k === l ? 1 : 0))).toBeLessThan(1e-12 * n);
        }
      }
      // Trace is preserved.
      let trace = 0;
      for (let i = 0; i < n; i++) trace += A[i * n + i]!;
      expect(values.reduce((s, v) => s + v, 0)).toBeCloseTo(trace, 10);
    }
  });
  it('handles diagonal, zero and repeated-eigenvalue matrices', () => {
    expect(Array.from(symmetricEigen([3, 0, 0, 0, 1, 0, 0, 0, 2], 3).values)).toEqual([3, 2, 1]);
    expect(Array.from(symmetricEigen(new Float64Array(9), 3).values)).toEqual([0, 0, 0]);
    const I = symmetricEigen([2, 0, 0, 2], 2);
    expect(Array.from(I.values)).toEqual([2, 2]);
    expect(symmetricEigen([], 0).values.length).toBe(0);
  });
  it('rejects NaN and bad shapes', () => {
    expect(() => symmetricEigen([1, NaN, NaN, 1], 2)).toThrow(OpnpError);
    expect(() => symmetricEigen([1, 2, 3], 2)).toThrow(OpnpError);
  });
});

describe('symmetricPseudoInverse', () => {
  it('equals the inverse of a full-rank matrix', () => {
    const n = 12;
    const A = randomPsd(n, 20, 3);
    expect(maxAbsDiff(symmetricPseudoInverse(A, n), inverse(A, n))).toBeLessThan(1e-8);
  });
  it('satisfies the Moore-Penrose conditions for a rank-deficient matrix', () => {
    const n = 15;
    const A = randomPsd(n, 6, 4);
    const eigen = symmetricEigen(A, n);
    expect(effectiveRank(eigen)).toBe(6);
    const P = symmetricPseudoInverse(A, n);
    const scaleA = Math.max(...Array.from(A, Math.abs));
    const scaleP = Math.max(...Array.from(P, Math.abs));
    expect(maxAbsDiff(matmul(matmul(A, P, n), A, n), A)).toBeLessThan(1e-9 * scaleA);
    expect(maxAbsDiff(matmul(matmul(P, A, n), P, n), P)).toBeLessThan(1e-9 * scaleP);
    const AP = matmul(A, P, n);
    const PA = matmul(P, A, n);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        expect(Math.abs(AP[i * n + j]! - AP[j * n + i]!)).toBeLessThan(1e-9);
        expect(Math.abs(PA[i * n + j]! - PA[j * n + i]!)).toBeLessThan(1e-9);
      }
    }
  });
  it('treats eigenvalues below 1e-6 times the largest as zero', () => {
    // diag(1, 1e-7, 2e-6): 1e-7 is below the cutoff, 2e-6 above.
    const P = symmetricPseudoInverse([1, 0, 0, 0, 1e-7, 0, 0, 0, 2e-6], 3);
    expect(P[0]).toBeCloseTo(1, 12);
    expect(P[4]).toBe(0);
    expect(P[8]! / 5e5).toBeCloseTo(1, 10);
    expect(Array.from(symmetricPseudoInverse(new Float64Array(4), 2))).toEqual([0, 0, 0, 0]);
  });
});
