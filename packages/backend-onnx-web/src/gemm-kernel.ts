/**
 * The `'onnxruntime-web'` {@link GemmKernel}: `@opnp/onnx-common`'s onnxruntime kernel (GEMM, fused sensitivity
 * product, banded grid scoring) on onnxruntime-web's wasm SGEMM (SIMD; threaded when the page is cross-origin
 * isolated). Sensitivity accumulation and grid scoring in a page run through it.
 */
import { registerGemmKernel, type GemmKernel } from '@opnp/core';
import { createOrtGemmKernel, type OrtGemmKernel } from '@opnp/onnx-common';
import { webRuntime } from './session-options.js';

/** The onnxruntime-web GEMM kernel, with every accelerator operation; `dispose` releases its sessions. */
export type OnnxWebGemmKernel = OrtGemmKernel<'onnxruntime-web'>;

/**
 * Creates the `'onnxruntime-web'` GEMM kernel on the wasm execution provider (small products are faster on wasm than
 * on a GPU round trip). Sessions are created lazily on first use.
 *
 * @example
 * ```ts
 * const kernel = createOnnxWebGemmKernel();
 * const acc = new SensitivityAccumulator(extractor.head, { kernel });
 * // ... await acc.add(features, logits) per batch
 * await kernel.dispose();
 * ```
 */
export function createOnnxWebGemmKernel(): OnnxWebGemmKernel {
  return createOrtGemmKernel(webRuntime, { name: 'onnxruntime-web', sessionOptions: { executionProviders: ['wasm'], graphOptimizationLevel: 'all' } });
}

let registeredFactory: (() => GemmKernel) | undefined;

/**
 * Registers the `'onnxruntime-web'` kernel in core's GEMM kernel registry (lazily created on first resolution).
 * Calling it again is a no-op (only raises the priority).
 */
export function registerOnnxWebGemmKernel(priority = 5): void {
  registeredFactory ??= () => createOnnxWebGemmKernel();
  registerGemmKernel('onnxruntime-web', registeredFactory, priority);
}
