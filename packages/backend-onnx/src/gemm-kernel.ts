/**
 * The `'onnxruntime'` {@link GemmKernel}: `@opnp/onnx-common`'s onnxruntime kernel on onnxruntime-node's
 * multi-threaded MLAS SGEMM. Typically tens of times faster than core's portable kernel, and what makes
 * sensitivity accumulation and dense head evaluation fast.
 */
import { availableParallelism } from 'node:os';
import * as ort from 'onnxruntime-node';
import { OpnpError, registerGemmKernel, type GemmKernel } from '@opnp/core/base';
import { createOrtGemmKernel, type OrtGemmKernel } from '@opnp/onnx-common';

export { buildGemmModel, buildSoftmaxProductModel, buildBandedGridModel } from '@opnp/onnx-common';

/** Options of {@link createOnnxGemmKernel}. */
export interface OnnxGemmKernelOptions {
  /** Threads of onnxruntime's intra-op pool. Default `os.availableParallelism()`. */
  intraOpNumThreads?: number;
}

/** The onnxruntime-node GEMM kernel, with every accelerator operation; `dispose` releases its sessions. */
export type OnnxGemmKernel = OrtGemmKernel<'onnxruntime'>;

/**
 * Creates the `'onnxruntime'` GEMM kernel, with every accelerator operation (`softmaxTransposedProduct`, `float64Product`,
 * `bandedGridLogSumExp`). Sessions are created lazily on first use; inputs are passed zero-copy.
 *
 * @example
 * ```ts
 * const kernel = createOnnxGemmKernel();
 * const acc = new SensitivityAccumulator(head, { kernel });
 * // ...
 * await kernel.dispose();
 * ```
 */
export function createOnnxGemmKernel(options: OnnxGemmKernelOptions = {}): OnnxGemmKernel {
  const threads = options.intraOpNumThreads ?? availableParallelism();
  if (!Number.isInteger(threads) || threads < 1) {
    throw new OpnpError('INVALID_ARGUMENT', 'intraOpNumThreads must be a positive integer', { actual: threads });
  }
  return createOrtGemmKernel(ort, {
    name: 'onnxruntime',
    sessionOptions: {
      intraOpNumThreads: threads,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: 'all',
      // The kernel's sessions run one after another (GEMMs, then scoring); a finished session's pool spinning
      // while waiting for more work takes the cores from the next one.
      extra: { session: { intra_op: { allow_spinning: '0' } } },
    },
    // session.run computes on the main thread: the grid search's scoring goes to a worker thread meanwhile (loaded
    // on first use: extraction never scores a grid).
    bandedScorer: async (parts, shape, bias) => (await import('@opnp/core/node')).offloadedBandedGridLogSumExp(parts, shape, bias),
  });
}

let registeredFactory: (() => GemmKernel) | undefined;

/**
 * Registers the `'onnxruntime'` kernel in core's GEMM kernel registry (lazily created on first
 * resolution). Calling it again is a no-op (only raises the priority).
 */
export function registerOnnxGemmKernel(priority = 10): void {
  registeredFactory ??= () => createOnnxGemmKernel();
  registerGemmKernel('onnxruntime', registeredFactory, priority);
}
