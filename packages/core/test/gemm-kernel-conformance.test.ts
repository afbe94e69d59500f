/**
 * The kernel conformance suite on core's kernels: the portable kernel (GEMM only), and the portable kernel with
 * core's JavaScript fallbacks plugged in as accelerators, so that the suite's accelerator checks run here too.
 */
import { describe, expect, it } from 'vitest';
import { portableGemmKernel, type GemmKernel } from '../src/gemm.js';
import { KERNEL_ACCELERATOR_NAMES, kernelAccelerator, type KernelAccelerators } from '../src/kernel-accelerators.js';
import type { Matrix } from '../src/matrix.js';
import { bandedGridLogSumExpJs } from '../src/opnp/grid/banded-lse-js.js';
import { product64 } from '../src/scores/eigen/products.js';
import { describeGemmKernelConformance } from '../src/testing/index.js';

/** `softmax(L / T)^T op(H)`: float64 softmax rounded to float32, then the portable GEMM (as SensitivityAccumulator's JavaScript path). */
async function softmaxTransposedProductJs(logits: Matrix, features: Matrix, options: { temperature: number; absolute: boolean }): Promise<Matrix> {
  const { rows: n, cols: C } = logits;
  const p = new Float32Array(n * C);
  for (let i = 0; i < n; i++) {
    const row = Array.from(logits.data.subarray(i * C, (i + 1) * C), (v) => v / options.temperature);
    const m = Math.max(...row);
    const e = row.map((v) => Math.exp(v - m));
    const z = e.reduce((s, v) => s + v, 0);
    e.forEach((v, c) => (p[i * C + c] = v / z));
  }
  const h = options.absolute ? { ...features, data: features.data.map(Math.abs) } : features;
  return portableGemmKernel.gemm({ rows: n, cols: C, data: p }, h, { transA: true, transB: false });
}

const jsAccelerators: KernelAccelerators = {
  softmaxTransposedProduct: softmaxTransposedProductJs,
  bandedGridLogSumExp: async (parts, shape, bias) => bandedGridLogSumExpJs(parts, shape, bias),
  float64Product: async (a, b, options) => product64(a, b, options),
};

describeGemmKernelConformance('portable-js', () => portableGemmKernel);
describeGemmKernelConformance('portable-js with the JavaScript accelerators', () => ({ ...portableGemmKernel, name: 'portable-js+accelerators', accelerators: jsAccelerators }));

describe('kernelAccelerator', () => {
  it('finds the operations a kernel lists, bound to its accelerators object, and nothing else', async () => {
    const seen: unknown[] = [];
    const accelerators = {
      marker: 42,
      async bandedGridLogSumExp(this: { marker: number }) {
        seen.push(this.marker);
        return { logSum: new Float32Array(0), shifts: new Float32Array(0) };
      },
    };
    const kernel: GemmKernel = { name: 'partial', gemm: portableGemmKernel.gemm.bind(portableGemmKernel), accelerators };
    expect(kernelAccelerator(kernel, 'softmaxTransposedProduct')).toBeUndefined();
    const op = kernelAccelerator(kernel, 'bandedGridLogSumExp')!;
    await op({ low: [], high: [] }, { rows: 0, classes: 1, weightLow: 1, weightHigh: 0, neuronLow: 1, neuronHigh: 0 }, new Float32Array(1));
    expect(seen).toEqual([42]);
    expect(kernelAccelerator(portableGemmKernel, 'bandedGridLogSumExp')).toBeUndefined();
    expect(KERNEL_ACCELERATOR_NAMES).toEqual(['softmaxTransposedProduct', 'bandedGridLogSumExp', 'float64Product']);
  });
});
