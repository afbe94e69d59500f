/**
 * The divide-and-conquer eigensolver (`symmetricEigen`, `symmetricEigenAsync`) against brute-force definitions:
 * `A v = lambda v` residuals and orthonormality at orders around the leaf, panel and block sizes, prescribed spectra
 * (repeated eigenvalues, a zero matrix, diagonal input, rank deficiency, close pairs, graded scales), the vector
 * range, NaN input, and the kernel path.
 */
import { describe, expect, it } from 'vitest';
import { OpnpError } from '../src/errors.js';
import type { GemmKernel } from '../src/gemm.js';
import { portableGemmKernel } from '../src/gemm.js';
import { product64 } from '../src/scores/eigen/products.js';
import { symmetricEigen, symmetricEigenAsync } from '../src/scores/symmetric-eigen.js';
import { randomOrthogonal, residuals, withSpectrum } from './eigen-helpers.js';
import { rng } from './helpers.js';

function randomSymmetric(n: number, seed: number): Float64Array {
  const r = rng(seed);
  const A = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) A[i * n + j] = A[j * n + i] = r() * 2 - 1;
  return A;
}

/** Largest `|P_got - P_want|` entry of the projectors onto the spans of two sets of rows. */
function projectorGap(got: Float64Array, want: Float64Array, rows: number, n: number): number {
  let worst = 0;
  for (let a = 0; a < n; a++) {
    for (let b = 0; b < n; b++) {
      let g = 0;
      let w = 0;
      for (let i = 0; i < rows; i++) {
        g += got[i * n + a]! * got[i * n + b]!;
        w += want[i * n + a]! * want[i * n + b]!;
      }
      worst = Math.max(worst, Math.abs(g - w));
    }
  }
  return worst;
}

function expectAccurate(A: Float64Array, n: number, what: string): ReturnType<typeof symmetricEigen> {
  const eigen = symmetricEigen(A, n);
  const { residual, orthogonality } = residuals(A, n, eigen.values, eigen.vectors);
  expect(residual, `${what}: residual`).toBeLessThan(1e-13 * Math.max(n, 10));
  expect(orthogonality, `${what}: orthogonality`).toBeLessThan(1e-13 * Math.max(n, 10));
  for (let i = 1; i < n; i++) expect(eigen.values[i]!, `${what}: descending`).toBeLessThanOrEqual(eigen.values[i - 1]!);
  return eigen;
}

describe('symmetricEigen (divide and conquer), brute-force properties', () => {
  it('is accurate at orders around the leaf (32), panel (32) and reflector block (64) sizes', () => {
    for (const n of [2, 3, 31, 32, 33, 64, 65, 97, 150]) expectAccurate(randomSymmetric(n, n), n, `n = ${n}`);
  });

  it('returns a 1 x 1 matrix exactly, and nothing for 0 x 0', () => {
    const one = symmetricEigen([-3.5], 1);
    expect([...one.values, Math.abs(one.vectors[0]!)]).toEqual([-3.5, 1]);
    expect(symmetricEigen([], 0).values.length).toBe(0);
  });

  it('gives zeros and an orthonormal basis for the zero matrix', () => {
    const n = 70;
    const eigen = symmetricEigen(new Float64Array(n * n), n);
    expect(Array.from(eigen.values)).toEqual(new Array<number>(n).fill(0));
    expect(residuals(new Float64Array(n * n), n, eigen.values, eigen.vectors).orthogonality).toBeLessThan(1e-14);
  });

  it.each([
    ['a small diagonal matrix', [0.5, -1, 4, 4, 0, 2.25, 1e-12]],
    ['a diagonal matrix beyond the leaf size', Array.from({ length: 90 }, (_, i) => ((i * 37) % 11) - 5 + (i % 3) * 0.25)],
  ])('returns %s exactly, with unit vectors', (_name, diag) => {
    const n = diag.length;
    const A = new Float64Array(n * n);
    diag.forEach((v, i) => (A[i * n + i] = v));
    const { values, vectors } = symmetricEigen(A, n);
    expect(Array.from(values)).toEqual([...diag].sort((a, b) => b - a));
    for (let k = 0; k < n; k++) {
      const row = Array.from(vectors.subarray(k * n, (k + 1) * n), Math.abs);
      expect(row.filter((v) => v === 1).length).toBe(1);
      expect(row.filter((v) => v === 0).length).toBe(n - 1);
      expect(diag[row.indexOf(1)]).toBe(values[k]);
    }
  });

  it('recovers repeated eigenvalues and their eigenspaces (heavy deflation)', () => {
    const n = 120;
    const lambda = Array.from({ length: n }, (_, i) => (i < 30 ? 2 : i < 90 ? -1 : 0.5));
    const Q = randomOrthogonal(n, 5);
    const A = withSpectrum(lambda, Q, n);
    const { values, vectors } = expectAccurate(A, n, 'three eigenvalues');
    const sorted = [...lambda].sort((a, b) => b - a);
    for (let i = 0; i < n; i++) expect(Math.abs(values[i]! - sorted[i]!)).toBeLessThan(1e-13 * n);
    expect(projectorGap(vectors, Q, 30, n), 'eigenspace of 2').toBeLessThan(1e-12);
  });

  it('handles rank deficiency, close eigenvalue pairs and graded scales', () => {
    const n = 110;
    const r = rng(8);
    const X = Array.from({ length: 9 * n }, () => r() * 2 - 1);
    const lowRank = new Float64Array(n * n);
    for (let t = 0; t < 9; t++) for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) lowRank[i * n + j] = lowRank[i * n + j]! + X[t * n + i]! * X[t * n + j]!;
    const ranked = expectAccurate(lowRank, n, 'rank 9');
    for (let i = 9; i < n; i++) expect(Math.abs(ranked.values[i]!)).toBeLessThan(1e-12 * ranked.values[0]!);
    // Wilkinson's W+ (tridiagonal, |i - m| on the diagonal, ones beside it): pairs of eigenvalues equal to ~1e-15.
    const m = 50;
    const wilkinson = new Float64Array((2 * m + 1) ** 2);
    const w = 2 * m + 1;
    for (let i = 0; i < w; i++) {
      wilkinson[i * w + i] = Math.abs(i - m);
      if (i + 1 < w) wilkinson[i * w + i + 1] = wilkinson[(i + 1) * w + i] = 1;
    }
    expectAccurate(wilkinson, w, 'Wilkinson W+');
    // Graded: eigenvalues from 1 down to 1e-12.
    const graded = withSpectrum(Array.from({ length: n }, (_, i) => 10 ** (-12 * i / (n - 1))), randomOrthogonal(n, 3), n);
    expectAccurate(graded, n, 'graded spectrum');
  });

  it('stays orthogonal on clusters (eigenvalue gaps of 1e-10 and 1e-14) and glued Wilkinson matrices', () => {
    const n = 120;
    const Q = randomOrthogonal(n, 7);
    for (const gap of [1e-10, 1e-14]) {
      const lambda = Array.from({ length: n }, (_, i) => 1 + (i % 40) * gap);
      const { values } = expectAccurate(withSpectrum(lambda, Q, n), n, `gaps of ${gap}`);
      const sorted = [...lambda].sort((a, b) => b - a);
      for (let i = 0; i < n; i++) expect(Math.abs(values[i]! - sorted[i]!)).toBeLessThan(1e-13 * n);
    }
    // Copies of W21+ glued by 1e-10: eigenvalues agreeing to about the glue.
    const glued = new Float64Array(n * n);
    for (let i = 0; i < n; i++) {
      glued[i * n + i] = Math.abs((i % 21) - 10);
      if (i + 1 < n) glued[i * n + i + 1] = glued[(i + 1) * n + i] = (i + 1) % 21 === 0 ? 1e-10 : 1;
    }
    expectAccurate(glued, n, 'glued Wilkinson');
  });

  it('uses the lower triangle (as numpy), and is invariant to scaling by a power of two', () => {
    const n = 40;
    const A = randomSymmetric(n, 12);
    const lowerOnly = A.slice();
    for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) lowerOnly[i * n + j] = 99;
    const base = symmetricEigen(A, n);
    expect(Array.from(symmetricEigen(lowerOnly, n).values)).toEqual(Array.from(base.values));
    const scaled = symmetricEigen(A.map((v) => v * 2 ** 300), n);
    expect(Array.from(scaled.values)).toEqual(Array.from(base.values, (v) => v * 2 ** 300));
    expect(Array.from(scaled.vectors)).toEqual(Array.from(base.vectors));
  });

  it('computes only the asked vectors: the same rows as the full decomposition', () => {
    const n = 100;
    const A = randomSymmetric(n, 17);
    const full = symmetricEigen(A, n);
    const part = symmetricEigen(A, n, { vectors: { from: 60, to: 85 } });
    expect(part.vectorsFrom).toBe(60);
    expect(part.vectors.length).toBe(25 * n);
    expect(Array.from(part.values)).toEqual(Array.from(full.values));
    const { residual, orthogonality } = residuals(A, n, part.values, part.vectors, 60);
    expect(residual).toBeLessThan(1e-13 * n);
    expect(orthogonality).toBeLessThan(1e-13 * n);
    for (let i = 0; i < 25; i++) {
      let dot = 0;
      for (let a = 0; a < n; a++) dot += part.vectors[i * n + a]! * full.vectors[(60 + i) * n + a]!;
      expect(Math.abs(Math.abs(dot) - 1), `vector ${60 + i}`).toBeLessThan(1e-10);
    }
    expect(symmetricEigen(A, n, { vectors: { from: 3, to: 3 } }).vectors.length).toBe(0);
    expect(() => symmetricEigen(A, n, { vectors: { from: 5, to: 4 } })).toThrow(OpnpError);
    expect(() => symmetricEigen(A, n, { vectors: { from: 0, to: n + 1 } })).toThrow(OpnpError);
  });

  it('rejects NaN and infinite input with NON_FINITE naming the offset, and a wrong size with SHAPE_MISMATCH', () => {
    const A = randomSymmetric(5, 1);
    A[7] = NaN;
    expect(() => symmetricEigen(A, 5)).toThrow(expect.objectContaining({ code: 'NON_FINITE', offset: 7 }));
    A[7] = -Infinity;
    expect(() => symmetricEigen(A, 5)).toThrow(expect.objectContaining({ code: 'NON_FINITE' }));
    expect(() => symmetricEigen(new Float64Array(6), 2)).toThrow(expect.objectContaining({ code: 'SHAPE_MISMATCH' }));
  });
});

describe('symmetricEigenAsync', () => {
  it("runs the large products through the kernel's float64Product, with the same result as symmetricEigen", async () => {
    const n = 130;
    const A = randomSymmetric(n, 4);
    let calls = 0;
    const kernel: GemmKernel = {
      ...portableGemmKernel,
      name: 'counting',
      accelerators: {
        float64Product: async (a, b, options) => {
          calls++;
          return product64(a, b, options);
        },
      },
    };
    const got = await symmetricEigenAsync(A, n, { kernel, vectors: { from: 10, to: n } });
    expect(calls).toBeGreaterThan(0);
    const want = symmetricEigen(A, n, { vectors: { from: 10, to: n } });
    expect(Array.from(got.values)).toEqual(Array.from(want.values));
    expect(Array.from(got.vectors)).toEqual(Array.from(want.vectors));
    // Without the accelerator (or without a kernel) it multiplies in JavaScript.
    expect(Array.from((await symmetricEigenAsync(A, n, { kernel: portableGemmKernel })).values)).toEqual(Array.from(want.values));
    await expect(symmetricEigenAsync([NaN], 1)).rejects.toThrow(OpnpError);
  });
});
