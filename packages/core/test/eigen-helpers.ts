/** Brute-force checks and test matrices of the symmetric eigensolver tests (plain loops, float64). */
import { rng } from './helpers.js';

/**
 * Largest residual `|A v - lambda v|` and largest `|V V^T - I|` entry, relative to `max |lambda|`, over the rows of
 * `vectors` (row `k` belongs to `values[from + k]`).
 */
export function residuals(A: Float64Array, n: number, values: Float64Array, vectors: Float64Array, from = 0): { residual: number; orthogonality: number } {
  const scale = Math.max(1e-300, ...Array.from(values, Math.abs));
  const rows = n === 0 ? 0 : vectors.length / n;
  let residual = 0;
  let orthogonality = 0;
  for (let k = 0; k < rows; k++) {
    for (let a = 0; a < n; a++) {
      let s = 0;
      for (let b = 0; b < n; b++) s += A[a * n + b]! * vectors[k * n + b]!;
      residual = Math.max(residual, Math.abs(s - values[from + k]! * vectors[k * n + a]!) / scale);
    }
    for (let l = k; l < rows; l++) {
      let dot = 0;
      for (let a = 0; a < n; a++) dot += vectors[k * n + a]! * vectors[l * n + a]!;
      orthogonality = Math.max(orthogonality, Math.abs(dot - (k === l ? 1 : 0)));
    }
  }
  return { residual, orthogonality };
}

/** A random orthogonal `n x n` matrix (rows), by Gram-Schmidt of random rows (twice, for full float64 orthogonality). */
export function randomOrthogonal(n: number, seed: number): Float64Array {
  const r = rng(seed);
  const Q = Float64Array.from({ length: n * n }, () => r() * 2 - 1);
  for (let i = 0; i < n; i++) {
    for (let pass = 0; pass < 2; pass++) {
      for (let j = 0; j < i; j++) {
        let dot = 0;
        for (let a = 0; a < n; a++) dot += Q[i * n + a]! * Q[j * n + a]!;
        for (let a = 0; a < n; a++) Q[i * n + a] = Q[i * n + a]! - dot * Q[j * n + a]!;
      }
    }
    let norm = 0;
    for (let a = 0; a < n; a++) norm += Q[i * n + a]! ** 2;
    for (let a = 0; a < n; a++) Q[i * n + a] = Q[i * n + a]! / Math.sqrt(norm);
  }
  return Q;
}

/** `Q^T diag(lambda) Q` for orthogonal rows `Q`. */
export function withSpectrum(lambda: readonly number[], Q: Float64Array, n: number): Float64Array {
  const A = new Float64Array(n * n);
  for (let k = 0; k < n; k++) for (let a = 0; a < n; a++) for (let b = 0; b < n; b++) A[a * n + b] = A[a * n + b]! + lambda[k]! * Q[k * n + a]! * Q[k * n + b]!;
  for (let a = 0; a < n; a++) for (let b = 0; b < a; b++) A[a * n + b] = A[b * n + a]!;
  return A;
}
