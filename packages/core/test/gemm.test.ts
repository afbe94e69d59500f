import { describe, expect, it } from 'vitest';
import {
  gemm,
  gemmShape,
  gemmSync,
  listGemmKernels,
  portableGemmKernel,
  registerGemmKernel,
  resolveGemmKernel,
  type GemmKernel,
} from '../src/gemm.js';
import { OpnpError } from '../src/errors.js';
import { matrix, type Matrix } from '../src/matrix.js';
import { mulberry32 } from '../src/random.js';
import { expectClose, randomMatrix, refGemm } from '../src/testing/reference.js';

function operands(m: number, k: number, n: number, transA: boolean, transB: boolean, seed: number): [Matrix, Matrix] {
  const a = transA ? randomMatrix(k, m, mulberry32(seed)) : randomMatrix(m, k, mulberry32(seed));
  const b = transB ? randomMatrix(n, k, mulberry32(seed + 1)) : randomMatrix(k, n, mulberry32(seed + 1));
  return [a, b];
}

const shapes: [number, number, number][] = [
  [1, 1, 1],
  [0, 3, 4],
  [3, 0, 4],
  [3, 4, 0],
  [7, 13, 5],
  [5, 7, 13],
  [4, 4, 4],
  [9, 300, 6], // k crosses the 256-long k-block
  [131, 3, 10], // m crosses the 128-row m-block
  [17, 513, 33],
  [2, 5, 4099], // n crosses the 4096-column n-block
];

describe('portable GEMM kernel', () => {
  for (const transA of [false, true]) {
    for (const transB of [false, true]) {
      it(`matches a naive triple loop (transA=${transA}, transB=${transB})`, () => {
        let seed = 11;
        for (const [m, k, n] of shapes) {
          const [a, b] = operands(m, k, n, transA, transB, seed++);
          const aCopy = a.data.slice();
          const bCopy = b.data.slice();
          const out = gemmSync(a, b, { transA, transB });
          expect(out.rows).toBe(m);
          expect(out.cols).toBe(n);
          const tol = 1e-5 * Math.max(1, Math.sqrt(k));
          expectClose(out.data, refGemm(a, b, transA, transB), { atol: tol, rtol: tol });
          expect(a.data).toEqual(aCopy);
          expect(b.data).toEqual(bCopy);
        }
      });
    }
  }

  it('gives exact results on small integers and propagates NaN/Inf', () => {
    const a = matrix(2, 3, [1, 2, 3, 4, 5, 6]);
    const b = matrix(3, 2, [7, 8, 9, 10, 11, 12]);
    expect(Array.from(gemmSync(a, b).data)).toEqual([58, 64, 139, 154]);
    const bad = matrix(2, 3, [1, Number.NaN, 3, Infinity, 5, 6]);
    const out = gemmSync(bad, b).data;
    expect(Number.isNaN(out[0])).toBe(true);
    expect(out[2]).toBe(Infinity);
  });

  it('async gemm equals gemmSync', async () => {
    const [a, b] = operands(6, 9, 5, true, false, 3);
    const sync = gemmSync(a, b, { transA: true });
    const asyncOut = await gemm(portableGemmKernel, a, b, { transA: true });
    expect(asyncOut.data).toEqual(sync.data);
  });

  it('rejects mismatched inner dimensions and malformed matrices', () => {
    const a = randomMatrix(3, 4, mulberry32(1));
    const b = randomMatrix(5, 2, mulberry32(2));
    expect(() => gemmSync(a, b)).toThrow(OpnpError);
    expect(() => gemmShape(a, b)).toThrow(/inner dimensions/);
    expect(gemmShape(a, randomMatrix(5, 3, mulberry32(3)), { transA: true, transB: true })).toEqual({ m: 4, k: 3, n: 5 });
    const malformed = { rows: 2, cols: 2, data: new Float32Array(3) };
    expect(() => gemmSync(malformed, a)).toThrow(expect.objectContaining({ code: 'SHAPE_MISMATCH' }));
  });
});

describe('GEMM kernel registry', () => {
  it('resolves the portable kernel by name and prefers higher priority', async () => {
    expect(await resolveGemmKernel('portable-js')).toBe(portableGemmKernel);
    const custom: GemmKernel = { name: 'test-double', gemm: (a, b, o) => portableGemmKernel.gemm(a, b, o) };
    registerGemmKernel('test-double', () => custom, 50);
    expect(listGemmKernels()[0]).toBe('test-double');
    expect(await resolveGemmKernel()).toBe(custom);
    await expect(resolveGemmKernel('no-such-kernel')).rejects.toMatchObject({ code: 'BACKEND_UNAVAILABLE' });
  });
});
