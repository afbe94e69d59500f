/**
 * Side-effect entry point (Node): `import '@opnp/backend-tfjs/register'` registers the `tfjs` backend (which loads
 * `model.json` paths) with `@opnp/core`'s backend registry and the `'tfjs'` GEMM kernel with its kernel registry
 * (TensorFlow.js itself is initialised lazily, on the first load or kernel resolution). In a browser, call
 * `registerTfjsGemmKernel()` of `@opnp/backend-tfjs` and pass extractors explicitly.
 */
import { registerBackend } from '@opnp/core';
import { tfjsBackend } from './node/backend.js';
import { registerTfjsGemmKernel } from './gemm-kernel.js';

/** Priority of the `tfjs` backend in `loadFeatureExtractor` (below `onnx`'s 10; they load different files). */
export const TFJS_BACKEND_PRIORITY = 5;

const factory = () => tfjsBackend;

registerBackend('tfjs', factory, TFJS_BACKEND_PRIORITY);
registerTfjsGemmKernel();
