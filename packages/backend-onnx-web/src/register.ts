/**
 * Side-effect entry point: `import '@opnp/backend-onnx-web/register'` registers the `onnx-web` backend with
 * `@opnp/core`'s backend registry and the onnxruntime-web GEMM kernel with its kernel registry.
 */
import { registerBackend } from '@opnp/core';
import { onnxWebBackend } from './backend.js';
import { registerOnnxWebGemmKernel } from './gemm-kernel.js';

/** Priority of the `onnx-web` backend in `loadFeatureExtractor` (below onnxruntime-node's `onnx` where both are registered). */
export const ONNX_WEB_BACKEND_PRIORITY = 5;

const factory = () => onnxWebBackend;

registerBackend('onnx-web', factory, ONNX_WEB_BACKEND_PRIORITY);
registerOnnxWebGemmKernel();
