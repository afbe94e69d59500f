/**
 * Reference helpers shared by the tests of every `@opnp` package and by the conformance suites: seeded data,
 * brute-force float64 definitions, and one closeness assertion.
 *
 * This module imports `vitest` (for `expect`), so it is exported from `@opnp/core/testing`, never from the main entry.
 *
 * @example
 * ```ts
 * import { expectClose, randomMatrix, refGemm } from '@opnp/core/testing';
 * import { gemm, mulberry32 } from '@opnp/core';
 * const a = randomMatrix(7, 13, mulberry32(1));
 * const b = randomMatrix(13, 5, mulberry32(2));
 * expectClose(await gemm(kernel, a, b), refGemm(a, b), { atol: 1e-5, rtol: 1e-5 }, 'a b');
 * ```
 */
import { expect } from 'vitest';
import type { Matrix } from '../matrix.js';
import { isOpnpError } from '../errors.js';

/**
 * Tolerance of {@link expectClose}: a number `tol` accepts `|a - e| <= tol * max(1, |e|)` (relative above 1,
 * absolute below); `{ atol, rtol }` accepts `|a - e| <= atol + rtol * |e|` (both default 0).
 */
export type Tolerance = number | { readonly atol?: number; readonly rtol?: number };

/** Values {@link expectClose} compares: a plain array-like, or a {@link Matrix} (then shapes are compared too). */
export type CloseValues = ArrayLike<number> | Matrix;

function isMatrix(values: CloseValues): values is Matrix {
  return typeof values === 'object' && values !== null && 'data' in values && 'rows' in values && 'cols' in values;
}

/** The largest difference {@link expectClose} accepts against `expected`. */
export function allowedDifference(expected: number, tolerance: Tolerance): number {
  if (typeof tolerance === 'number') return tolerance * Math.max(1, Math.abs(expected));
  return (tolerance.atol ?? 0) + (tolerance.rtol ?? 0) * Math.abs(expected);
}

/**
 * Asserts `actual` and `expected` have the same length (and shape, for matrices) and are close entry by entry
 * (see {@link Tolerance}); a NaN expected value requires NaN, an infinite one the same infinity. Fails naming `what`
 * and the first differing entry (with its row and column for matrices).
 */
export function expectClose(actual: CloseValues, expected: CloseValues, tolerance: Tolerance, what = 'values'): void {
  const columns = isMatrix(expected) ? expected.cols : 0;
  if (isMatrix(actual) && isMatrix(expected)) {
    expect(`${actual.rows} x ${actual.cols}`, `${what}: shape`).toBe(`${expected.rows} x ${expected.cols}`);
  }
  const a = isMatrix(actual) ? actual.data : actual;
  const e = isMatrix(expected) ? expected.data : expected;
  expect(a.length, `${what}: length`).toBe(e.length);
  for (let i = 0; i < e.length; i++) {
    const want = e[i]!;
    const got = a[i]!;
    const ok = Number.isNaN(want) ? Number.isNaN(got) : Number.isFinite(want) ? Math.abs(got - want) <= allowedDifference(want, tolerance) : got === want;
    if (!ok) {
      const where = columns > 0 ? `row ${Math.floor(i / columns)}, column ${i % columns}` : `index ${i}`;
      expect.fail(`${what}: first difference at ${where}: got ${got}, expected ${want} (tolerance ${JSON.stringify(tolerance)})`);
    }
  }
}

/**
 * A `rows x cols` matrix of `f(random())` values, row-major (default `f`: uniform in `[-1, 1)` for a uniform `[0, 1)`
 * generator such as `mulberry32(seed)` or {@link lcg}).
 */
export function randomMatrix(rows: number, cols: number, random: () => number, f: (u: number) => number = (u) => u * 2 - 1): Matrix {
  const data = new Float32Array(rows * cols);
  for (let i = 0; i < data.length; i++) data[i] = f(random());
  return { rows, cols, data };
}

/** A small linear congruential generator: uniform floats in `[0, 1)`, deterministic per seed. */
export function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

/** docs/numerics.md#percentiles `P(x, q)`: numpy's 'linear' percentile (`q` in percent), written from the definition. */
export function refPercentile(values: ArrayLike<number>, q: number): number {
  const v = Array.from(values).sort((a, b) => a - b);
  const r = (q / 100) * (v.length - 1);
  const lo = Math.floor(r);
  const hi = Math.ceil(r);
  return v[lo]! + (r - lo) * (v[hi]! - v[lo]!);
}

/** `op(a) * op(b)` in float64, straight from the definition (`op` transposes when `transA` / `transB`). */
export function refGemm(a: Matrix, b: Matrix, transA = false, transB = false): Float64Array {
  const m = transA ? a.cols : a.rows;
  const k = transA ? a.rows : a.cols;
  const n = transB ? b.rows : b.cols;
  const out = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let l = 0; l < k; l++) {
        const x = transA ? a.data[l * a.cols + i]! : a.data[i * a.cols + l]!;
        const y = transB ? b.data[j * b.cols + l]! : b.data[l * b.cols + j]!;
        s += x * y;
      }
      out[i * n + j] = s;
    }
  }
  return out;
}

/**
 * How `promise` settles, for asserting error codes: `'resolved'`, the `OpnpError` code it rejects with, or
 * `not an OpnpError: ...` for any other rejection.
 */
export async function settledCode(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    return isOpnpError(error) ? error.code : `not an OpnpError: ${String(error)}`;
  }
  return 'resolved';
}
