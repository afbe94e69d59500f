/** Shared test helpers: a seeded PRNG and brute-force reference definitions (plain loops, float64). */
import type { Matrix } from '../src/matrix.js';

import { refPercentile } from '../src/testing/reference.js';

/** The seeded LCG, random matrices and the percentile of docs/numerics.md are shared with every package's tests (`@opnp/core/testing`). */
export { lcg as rng, randomMatrix, refPercentile } from '../src/testing/reference.js';

export function refKeep(values: ArrayLike<number>, low: number, high: number): number[] {
  const lo = low > 0 ? refPercentile(values, low) : -Infinity;
  const hi = high > 0 ? refPercentile(values, 100 - high) : Infinity;
  return Array.from(values, (v) => (lo <= v && v <= hi ? 1 : 0));
}

export function refLogits(W: Matrix, b: ArrayLike<number>, H: Matrix, keep?: (c: number, j: number) => boolean, clip = Infinity): number[][] {
  const out: number[][] = [];
  for (let n = 0; n < H.rows; n++) {
    const row: number[] = [];
    for (let c = 0; c < W.rows; c++) {
      let s = b[c]!;
      for (let j = 0; j < W.cols; j++) if (!keep || keep(c, j)) s += W.data[c * W.cols + j]! * Math.min(H.data[n * H.cols + j]!, clip);
      row.push(s);
    }
    out.push(row);
  }
  return out;
}

export function refEnergy(f: number[], T = 1): number {
  const m = Math.max(...f.map((v) => v / T));
  return T * (m + Math.log(f.reduce((s, v) => s + Math.exp(v / T - m), 0)));
}

export function refMsp(f: number[]): number {
  const m = Math.max(...f);
  const z = f.reduce((s, v) => s + Math.exp(v - m), 0);
  return Math.max(...f.map((v) => Math.exp(v - m) / z));
}

/** Rows of a matrix as plain arrays. */
export function rowsOf(m: Matrix): number[][] {
  return Array.from({ length: m.rows }, (_, i) => Array.from(m.data.subarray(i * m.cols, (i + 1) * m.cols)));
}

/** Gauss-Jordan inverse with partial pivoting (brute force, float64). */
export function inverse(A: ArrayLike<number>, n: number): Float64Array {
  const M = Array.from({ length: n }, (_, i) => [...Array.from({ length: n }, (_, j) => A[i * n + j]!), ...Array.from({ length: n }, (_, j) => (i === j ? 1 : 0))]);
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(M[r]![c]!) > Math.abs(M[p]![c]!)) p = r;
    [M[c], M[p]] = [M[p]!, M[c]!];
    const piv = M[c]![c]!;
    for (let j = 0; j < 2 * n; j++) M[c]![j]! /= piv;
    for (let r = 0; r < n; r++) {
      if (r === c) continue;
      const f = M[r]![c]!;
      for (let j = 0; j < 2 * n; j++) M[r]![j]! -= f * M[c]![j]!;
    }
  }
  return Float64Array.from(M.flatMap((row) => row.slice(n)));
}

/**
 * The exact input gradient of `sum(w * logits)` for the linear ReLU extractor `f = W relu(P x) + b` (brute force,
 * float64): `P^T (1[P x > 0] * (W^T w))` per sample, with `relu'(0) = 0`.
 */
export function linearReluInputGradient(projection: Matrix, weight: Matrix, x: ArrayLike<number>, w: Matrix): Float32Array {
  const { rows: D, cols: I } = projection;
  const C = weight.rows;
  const out = new Float32Array(w.rows * I);
  for (let n = 0; n < w.rows; n++) {
    for (let j = 0; j < D; j++) {
      let pre = 0;
      for (let i = 0; i < I; i++) pre += projection.data[j * I + i]! * x[n * I + i]!;
      if (!(Math.fround(pre) > 0)) continue;
      let back = 0;
      for (let c = 0; c < C; c++) back += weight.data[c * D + j]! * w.data[n * C + c]!;
      for (let i = 0; i < I; i++) out[n * I + i] = out[n * I + i]! + projection.data[j * I + i]! * back;
    }
  }
  return out;
}
