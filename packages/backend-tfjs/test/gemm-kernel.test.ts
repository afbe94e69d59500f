import { describe, expect, it } from 'vitest';
import { gemm, listGemmKernels, mulberry32, portableGemmKernel, resolveGemmKernel, SensitivityAccumulator } from '@opnp/core';
import { describeGemmKernelConformance, expectClose, randomMatrix as seededMatrix } from '@opnp/core/testing';
import { createTfjsGemmKernel } from '../src/node/index.js';
import '../src/register.js';

const random = mulberry32(17);
const randomMatrix = (rows: number, cols: number) => seededMatrix(rows, cols, random);

describeGemmKernelConformance('tfjs (wasm)', () => createTfjsGemmKernel());

describe("the 'tfjs' GEMM kernel (TensorFlow.js wasm here)", () => {
  it('multiplies like the portable kernel for every transA / transB and odd shapes', async () => {
    const kernel = await createTfjsGemmKernel();
    expect(kernel.name).toBe('tfjs');
    expect(kernel.backend.name).toBe('wasm');
    for (const [m, k, n] of [[1, 1, 1], [7, 13, 5], [64, 257, 33], [300, 40, 129]] as const) {
      for (const transA of [false, true]) {
        for (const transB of [false, true]) {
          const a = transA ? randomMatrix(k, m) : randomMatrix(m, k);
          const b = transB ? randomMatrix(n, k) : randomMatrix(k, n);
          const tol = 1e-5 * Math.sqrt(k);
          expectClose(await gemm(kernel, a, b, { transA, transB }), await gemm(portableGemmKernel, a, b, { transA, transB }), { atol: tol, rtol: tol });
        }
      }
    }
  });

  it('returns zeros for empty inner dimensions and empty results for empty outer ones', async () => {
    const kernel = await createTfjsGemmKernel();
    expect(await gemm(kernel, randomMatrix(3, 0), randomMatrix(0, 2))).toEqual({ rows: 3, cols: 2, data: new Float32Array(6) });
    expect((await gemm(kernel, randomMatrix(0, 4), randomMatrix(4, 2))).data).toHaveLength(0);
  });

  it('gives SensitivityAccumulator the portable results', async () => {
    const kernel = await createTfjsGemmKernel();
    const head = { weight: randomMatrix(10, 24), bias: Float32Array.from({ length: 10 }, () => random()) };
    const features = randomMatrix(150, 24);
    const fast = new SensitivityAccumulator(head, { kernel });
    const slow = new SensitivityAccumulator(head);
    await fast.add(features);
    await slow.add(features);
    const want = slow.result().values;
    fast.result().values.forEach((v, i) => expect(Math.abs(v - want[i]!)).toBeLessThanOrEqual(1e-5 * (1 + Math.abs(want[i]!))));
  });

  it("'@opnp/backend-tfjs/register' makes it core's fastest kernel when onnxruntime is not registered", async () => {
    expect(listGemmKernels()).toEqual(['tfjs', 'portable-js']);
    expect((await resolveGemmKernel()).name).toBe('tfjs');
  });
});
