/**
 * A {@link GemmKernel} on TensorFlow.js: `tf.matMul` on the process-wide TensorFlow.js backend. With the wasm
 * backend (XNNPACK, SIMD) it is several times faster than core's portable kernel, which matters where
 * onnxruntime-node is not available (browsers, other runtimes); with `@tensorflow/tfjs-node` it uses libtensorflow.
 * TensorFlow.js's pure-JavaScript `cpu` backend multiplies more slowly than core's portable kernel, so no kernel is
 * made on it.
 */
import * as tf from '@tensorflow/tfjs-core';
import { OpnpError, registerGemmKernel, transpose, type GemmKernel, type Matrix } from '@opnp/core';
import { initTfjsBackend, type TfjsBackendInfo, type TfjsBackendOptions } from './runtime.js';

/**
 * The `'tfjs'` GEMM kernel, with the TensorFlow.js backend it runs on. It has no accelerator operations
 * (`GemmKernel.accelerators` is absent), so core runs its JavaScript paths around this kernel's GEMM.
 */
export interface TfjsGemmKernel extends GemmKernel {
  readonly name: 'tfjs';
  readonly backend: TfjsBackendInfo;
}

/**
 * Initialises TensorFlow.js (see {@link initTfjsBackend}) and returns a GEMM kernel on it.
 *
 * @throws OpnpError `BACKEND_UNAVAILABLE` when only TensorFlow.js's `cpu` backend runs (use core's
 * `portableGemmKernel` there: it is faster)
 *
 * @example
 * ```ts
 * const kernel = await createTfjsGemmKernel();   // wasm without tfjs-node
 * const acc = new SensitivityAccumulator(head, { kernel });
 * ```
 */
export async function createTfjsGemmKernel(options: TfjsBackendOptions = {}): Promise<TfjsGemmKernel> {
  const backend = await initTfjsBackend(options);
  if (backend.name === 'cpu') {
    throw new OpnpError('BACKEND_UNAVAILABLE', "TensorFlow.js runs on its pure-JavaScript cpu backend, whose matMul is slower than core's portable kernel", {
      actual: backend.skipped,
      hint: "Use @opnp/core's portableGemmKernel, or make the wasm backend available",
    });
  }
  return {
    name: 'tfjs',
    backend,
    async gemm(a: Matrix, b: Matrix, { transA, transB }): Promise<Matrix> {
      const m = transA ? a.cols : a.rows;
      const k = transA ? a.rows : a.cols;
      const n = transB ? b.rows : b.cols;
      if (m === 0 || n === 0 || k === 0) return { rows: m, cols: n, data: new Float32Array(m * n) };
      if (tf.getBackend() !== backend.tfName) {
        throw new OpnpError('BACKEND_FAILURE', `The TensorFlow.js backend changed from "${backend.tfName}" to "${tf.getBackend()}" after this kernel was made`, {
          hint: 'Create the kernel again after switching backends',
        });
      }
      // TensorFlow.js's transposed matMul paths are slow on wasm (measured 0.9 and 3.3 GFLOP/s with transposeA /
      // transposeB against 37 without), so transposed operands are copied into row-major form first.
      const left = transA ? transpose(a) : a;
      const right = transB ? transpose(b) : b;
      const product = tf.tidy(() => tf.matMul(tf.tensor2d(left.data, [m, k]), tf.tensor2d(right.data, [k, n])));
      try {
        return { rows: m, cols: n, data: (await product.data()) as Float32Array };
      } finally {
        product.dispose();
      }
    },
  };
}

/** Priority of the `'tfjs'` kernel in core's registry: above the portable kernel, below onnxruntime's 10. */
export const TFJS_GEMM_KERNEL_PRIORITY = 5;

/**
 * Registers the `'tfjs'` kernel in core's GEMM kernel registry (created on first resolution; when only the `cpu`
 * backend runs, its factory fails and `resolveGemmKernel()` falls back to the next kernel).
 */
export function registerTfjsGemmKernel(priority = TFJS_GEMM_KERNEL_PRIORITY): void {
  registerGemmKernel('tfjs', createKernelOnce, priority);
}

function createKernelOnce(): Promise<TfjsGemmKernel> {
  return createTfjsGemmKernel();
}
