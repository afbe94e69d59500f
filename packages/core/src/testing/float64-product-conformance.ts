/**
 * The `float64Product` part of `describeGemmKernelConformance`: `op(a) * op(b)` in double precision against its
 * definition (sums of exact float64 products), for every transpose pair, views into larger buffers, a single
 * column, empty dimensions and non-finite inputs.
 */
import { expect } from 'vitest';
import type { Matrix64 } from '../kernel-accelerators.js';
import { mulberry32 } from '../random.js';
import type { KernelSuite } from './gemm-kernel-conformance.js';

/** A `rows x cols` float64 matrix of values in `[-1, 1)`, as a view at `offset` into a larger buffer. */
function randomView(rows: number, cols: number, random: () => number, offset = 0): Matrix64 {
  const buffer = Float64Array.from({ length: offset + rows * cols + 3 }, () => random() * 2 - 1);
  return { rows, cols, data: buffer.subarray(offset, offset + rows * cols) };
}

/** Entry `(i, j)` of `op(m)`. */
function at(m: Matrix64, trans: boolean, i: number, j: number): number {
  return trans ? m.data[j * m.cols + i]! : m.data[i * m.cols + j]!;
}

/**
 * Calls the product and checks every entry against the definition within `2 K u64 sum_k |a_ik b_kj|`
 * (float64 sums in any order; `u64 = 2^-53`).
 */
async function checkProduct(product: (a: Matrix64, b: Matrix64, o: { transA: boolean; transB: boolean }) => Promise<Matrix64>, a: Matrix64, b: Matrix64, transA: boolean, transB: boolean, what: string): Promise<void> {
  const [aCopy, bCopy] = [a.data.slice(), b.data.slice()];
  const m = transA ? a.cols : a.rows;
  const k = transA ? a.rows : a.cols;
  const n = transB ? b.rows : b.cols;
  const got = await product(a, b, { transA, transB });
  expect(`${got.rows} x ${got.cols}`, `${what}: shape`).toBe(`${m} x ${n}`);
  expect(got.data).toBeInstanceOf(Float64Array);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let want = 0;
      let magnitude = 0;
      for (let q = 0; q < k; q++) {
        const p = at(a, transA, i, q) * at(b, transB, q, j);
        want += p;
        magnitude += Math.abs(p);
      }
      const bound = 2 * Math.max(1, k) * 2 ** -53 * magnitude;
      const value = got.data[i * n + j]!;
      if (!(Math.abs(value - want) <= bound)) expect.fail(`${what}: entry (${i}, ${j}): got ${value}, expected ${want} (bound ${bound})`);
    }
  }
  expect(Array.from(a.data), `${what}: a unmodified`).toEqual(Array.from(aCopy));
  expect(Array.from(b.data), `${what}: b unmodified`).toEqual(Array.from(bCopy));
}

/** Registers the `float64Product` test. */
export function describeFloat64Product({ test, accelerator }: KernelSuite): void {
  test('float64Product', 'float64Product: op(a) * op(b) in float64 from its definition, views, one column, empty and non-finite inputs', async (context) => {
    const product = accelerator('float64Product', context);
    const random = mulberry32(41);
    for (const [m, k, n] of [[7, 5, 3], [33, 70, 17], [1, 9, 1], [64, 1, 5]] as const) {
      for (const transA of [false, true]) {
        for (const transB of [false, true]) {
          const a = transA ? randomView(k, m, random, 5) : randomView(m, k, random, 5);
          const b = transB ? randomView(n, k, random, 2) : randomView(k, n, random, 2);
          await checkProduct(product, a, b, transA, transB, `${m} x ${k} x ${n}, transA=${transA}, transB=${transB}`);
        }
      }
    }
    // Values whose float32 rounding would show: 1 + 2^-40 times itself is not 1 in float64.
    const fine = { rows: 1, cols: 1, data: Float64Array.of(1 + 2 ** -40) };
    expect((await product(fine, fine, { transA: false, transB: false })).data[0], 'double precision').toBe((1 + 2 ** -40) ** 2);
    for (const [m, k, n] of [[0, 3, 2], [3, 0, 2], [3, 2, 0]] as const) {
      const got = await product(randomView(m, k, random), randomView(k, n, random), { transA: false, transB: false });
      expect([got.rows, got.cols, ...got.data], `empty ${m} x ${k} x ${n}`).toEqual([m, n, ...new Array<number>(m * n).fill(0)]);
    }
    for (const value of [NaN, Infinity]) {
      const a = randomView(4, 3, random);
      a.data[4] = value;
      const got = await product(a, randomView(3, 2, random), { transA: false, transB: false });
      expect(Array.from(got.data.subarray(2, 4)).every((v) => !Number.isFinite(v)), `${value} in row 1 of a`).toBe(true);
    }
  });
}
