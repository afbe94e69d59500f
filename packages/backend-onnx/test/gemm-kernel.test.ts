import { afterAll, describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import { gemm, gemmSync, listGemmKernels, matrix, resolveGemmKernel, sliceRows, type Matrix } from '@opnp/core';
import { buildGemmModel, createOnnxGemmKernel, registerOnnxGemmKernel } from '../src/gemm-kernel.js';

/** Small seeded PRNG (mulberry32) so shapes and values are reproducible. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomMatrix(rows: number, cols: number, random: () => number): Matrix {
  return matrix(rows, cols, Float32Array.from({ length: rows * cols }, () => random() * 2 - 1));
}

/** Float64 brute force `op(a) * op(b)`. */
function naive(a: Matrix, b: Matrix, transA: boolean, transB: boolean): Float64Array {
  const m = transA ? a.cols : a.rows;
  const k = transA ? a.rows : a.cols;
  const n = transB ? b.rows : b.cols;
  const out = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let l = 0; l < k; l++) s += (transA ? a.data[l * a.cols + i]! : a.data[i * a.cols + l]!) * (transB ? b.data[j * b.cols + l]! : b.data[l * b.cols + j]!);
      out[i * n + j] = s;
    }
  }
  return out;
}

function expectClose(actual: Float32Array, expected: ArrayLike<number>, tol: number): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    const e = expected[i]!;
    if (!(Math.abs(actual[i]! - e) <= tol * (1 + Math.abs(e)))) expect.fail(`index ${i}: got ${actual[i]}, expected ${e} (tolerance ${tol})`);
  }
}

const kernel = createOnnxGemmKernel({ intraOpNumThreads: 2 });
afterAll(() => kernel.dispose());

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
          expectClose(out.data, gemmSync(a, b, { transA, transB }).data, tol);
          expectClose(out.data, naive(a, b, transA, transB), tol);
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
    expectClose((await gemm(kernel, view, b)).data, naive(view, b, false, false), 1e-4);
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
