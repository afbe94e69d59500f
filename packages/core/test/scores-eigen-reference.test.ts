/**
 * `symmetricEigen` against numpy.linalg.eigh (committed fixture from tools/fixtures/core/make_eigh_reference.py;
 * no Python needed) and brute-force checks: residuals, orthonormality, repeated, diagonal and rank-deficient spectra.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { symmetricEigen } from '../src/scores/symmetric-eigen.js';
import { randomOrthogonal, residuals, withSpectrum } from './eigen-helpers.js';
import { rng } from './helpers.js';

interface EighCase {
  name: string;
  n: number;
  k: number;
  upper: number[];
  values: number[];
  projectorUpper: number[];
}
const fixture = JSON.parse(readFileSync(new URL('./fixtures/eigh-reference.json', import.meta.url), 'utf8')) as { cases: EighCase[] };

function fromUpper(upper: readonly number[], n: number): Float64Array {
  const A = new Float64Array(n * n);
  let o = 0;
  for (let i = 0; i < n; i++) for (let j = i; j < n; j++) A[i * n + j] = A[j * n + i] = upper[o++]!;
  return A;
}

describe('symmetricEigen vs numpy.linalg.eigh (committed fixture)', () => {
  for (const c of fixture.cases) {
    it(`${c.name}: eigenvalues and the top-${c.k} subspace to 1e-9 relative`, () => {
      const { n, k } = c;
      const A = fromUpper(c.upper, n);
      const { values, vectors } = symmetricEigen(A, n);
      const scale = Math.max(...c.values.map(Math.abs));
      for (let i = 0; i < n; i++) expect(Math.abs(values[i]! - c.values[i]!), `eigenvalue ${i}`).toBeLessThanOrEqual(1e-9 * scale);
      const P = fromUpper(c.projectorUpper, n);
      let worst = 0;
      for (let a = 0; a < n; a++) {
        for (let b = 0; b < n; b++) {
          let s = 0;
          for (let i = 0; i < k; i++) s += vectors[i * n + a]! * vectors[i * n + b]!;
          worst = Math.max(worst, Math.abs(s - P[a * n + b]!));
        }
      }
      expect(worst, 'projector onto the top-k eigenvectors').toBeLessThanOrEqual(1e-9);
      const { residual, orthogonality } = residuals(A, n, values, vectors);
      expect(residual).toBeLessThan(1e-13 * n);
      expect(orthogonality).toBeLessThan(1e-13 * n);
    });
  }
});

describe('symmetricEigen, brute-force properties', () => {
  it('recovers a prescribed spectrum with repeated eigenvalues, and spans each repeated eigenspace', () => {
    const n = 40;
    const lambda = Array.from({ length: n }, (_, i) => (i < 5 ? 3 : i < 25 ? 1 : i < 30 ? -2 : 0.5 + i / 100));
    const Q = randomOrthogonal(n, 9);
    const A = withSpectrum(lambda, Q, n);
    const { values, vectors } = symmetricEigen(A, n);
    const sorted = [...lambda].sort((a, b) => b - a);
    for (let i = 0; i < n; i++) expect(Math.abs(values[i]! - sorted[i]!)).toBeLessThan(1e-13 * n);
    const { residual, orthogonality } = residuals(A, n, values, vectors);
    expect(residual).toBeLessThan(1e-13 * n);
    expect(orthogonality).toBeLessThan(1e-13 * n);
    // The computed 3-eigenspace (first 5 vectors) equals the prescribed one: projectors agree.
    let worst = 0;
    for (let a = 0; a < n; a++) {
      for (let b = 0; b < n; b++) {
        let got = 0;
        let want = 0;
        for (let i = 0; i < 5; i++) {
          got += vectors[i * n + a]! * vectors[i * n + b]!;
          want += Q[i * n + a]! * Q[i * n + b]!;
        }
        worst = Math.max(worst, Math.abs(got - want));
      }
    }
    expect(worst).toBeLessThan(1e-12);
  });
  it('handles rank-deficient PSD matrices (zero eigenvalues at round-off level)', () => {
    const n = 50;
    const rank = 7;
    const r = rng(21);
    const X = Array.from({ length: rank * n }, () => r() * 2 - 1);
    const A = new Float64Array(n * n);
    for (let t = 0; t < rank; t++) for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) A[i * n + j] = A[i * n + j]! + X[t * n + i]! * X[t * n + j]!;
    const { values, vectors } = symmetricEigen(A, n);
    for (let i = rank; i < n; i++) expect(Math.abs(values[i]!)).toBeLessThan(1e-12 * values[0]!);
    expect(values[rank - 1]!).toBeGreaterThan(1e-3 * values[0]!);
    const { residual, orthogonality } = residuals(A, n, values, vectors);
    expect(residual).toBeLessThan(1e-13 * n);
    expect(orthogonality).toBeLessThan(1e-13 * n);
  });
  it('is deterministic and accurate on a dense n = 200 matrix (blocked reduction and back-transformation)', () => {
    const n = 200;
    const r = rng(33);
    const A = new Float64Array(n * n);
    for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) A[i * n + j] = A[j * n + i] = r() * 2 - 1;
    const first = symmetricEigen(A, n);
    const second = symmetricEigen(A, n);
    expect(Array.from(second.vectors)).toEqual(Array.from(first.vectors));
    const { residual, orthogonality } = residuals(A, n, first.values, first.vectors);
    expect(residual).toBeLessThan(1e-13 * n);
    expect(orthogonality).toBeLessThan(1e-13 * n);
  });
});
