/**
 * The onnxruntime kernel's `bandedGridLogSumExp` where WebAssembly SIMD cannot run (core's `bandedGridLogSumExpWasm`
 * mocked to give null, as it does there): the banded grid scoring model, fed each row's `BandedGridParts` low entries
 * followed by its high ones, against the brute-force definition (the conformance suite, and rows spanning several
 * chunks of the model).
 */
import { afterAll, describe, expect, it, vi } from 'vitest';
import { mulberry32 } from '@opnp/core';
import { bandedShift, describeGemmKernelConformance, expectClose, refBandedGridLogSumExp } from '@opnp/core/testing';
import type * as CoreBackend from '@opnp/core/backend';
import type * as CoreNode from '@opnp/core/node';
import { createOnnxGemmKernel } from '../src/gemm-kernel.js';

const wasmCalls = vi.hoisted(() => ({ count: 0 }));
vi.mock('@opnp/core/backend', async (importOriginal) => ({
  ...(await importOriginal<typeof CoreBackend>()),
  bandedGridLogSumExpWasm: () => {
    wasmCalls.count++;
    return null;
  },
}));
// The node kernel asks the two-thread scorer of @opnp/core/node first: it is WebAssembly too.
vi.mock('@opnp/core/node', async (importOriginal) => ({
  ...(await importOriginal<typeof CoreNode>()),
  offloadedBandedGridLogSumExp: async () => {
    wasmCalls.count++;
    return null;
  },
}));

describeGemmKernelConformance('onnxruntime without WebAssembly SIMD', () => createOnnxGemmKernel({ intraOpNumThreads: 2 }));

describe('bandedGridLogSumExp on the banded grid scoring model', () => {
  const kernel = createOnnxGemmKernel({ intraOpNumThreads: 2 });
  afterAll(() => kernel.dispose());

  it('gives the definition on rows that span several chunks of the model, with and without high weight entries', async () => {
    const random = mulberry32(17);
    // 1000 classes on the default grid's levels: 16 rows per model run, so 37 rows take three runs (the last partial).
    for (const [wL, wH, nL, nH] of [[4, 3, 3, 3], [4, 0, 3, 3]] as const) {
      const shape = { rows: 37, classes: 1000, weightLow: wL, weightHigh: wH, neuronLow: nL, neuronHigh: nH };
      const draw = (entries: number) => Float32Array.from({ length: shape.rows * entries * shape.classes }, () => random() * 4 - 2);
      const parts = { low: Array.from({ length: nL + nH }, () => draw(wL)), high: Array.from({ length: nL + nH }, () => draw(wH)) };
      const bias = Float32Array.from({ length: shape.classes }, () => random() - 0.5);
      const before = wasmCalls.count;
      const { logSum, shifts } = await kernel.accelerators.bandedGridLogSumExp(parts, shape, bias);
      expect(wasmCalls.count, 'the WebAssembly scorer was asked first').toBe(before + 1);
      const combos = wL * (wH + 1) * (nH + 1) * nL;
      const got = new Float64Array(shape.rows * combos);
      for (let r = 0, i = 0; r < shape.rows; r++) {
        for (let a = 0; a < wL; a++) for (let b = 0; b <= wH; b++) for (let bn = 0; bn <= nH; bn++) for (let an = 0; an < nL; an++, i++) {
          got[i] = logSum[i]! + bandedShift(shifts.subarray(r * 4, r * 4 + 4), b, bn, shape);
        }
      }
      expectClose(got, refBandedGridLogSumExp(parts, shape, bias).value, { atol: 1e-4, rtol: 1e-5 });
    }
  });
});
