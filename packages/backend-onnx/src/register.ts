/**
 * Side-effect entry point: `import '@opnp/backend-onnx/register'` registers the `onnx` backend with
 * `@opnp/core`'s backend registry and the onnxruntime GEMM kernel with its kernel registry.
 */
import { registerBackend } from '@opnp/core/base';
import { onnxBackend } from './backend.js';
import { registerOnnxGemmKernel } from './gemm-kernel.js';

/** Priority of the `onnx` backend in `loadFeatureExtractor`. */
export const ONNX_BACKEND_PRIORITY = 10;

const factory = () => onnxBackend;

registerBackend('onnx', factory, ONNX_BACKEND_PRIORITY);
registerOnnxGemmKernel();
