/**
 * @packageDocumentation
 * `@opnp/backend-tfjs`: the TensorFlow.js backend of @opnp. Loads LayersModels and GraphModels from a URL, a
 * `tf.io.IOHandler` or in-memory `ModelArtifacts`, finds the classifier head, extracts penultimate features and
 * logits in one forward pass, computes ODIN scores with input gradients, multiplies matrices for `@opnp/core`
 * (the `'tfjs'` GEMM kernel), and builds a graph-model OOD detector (`logits`, `ood_score`).
 *
 * This entry runs in browsers and workers as well as Node: it imports nothing from Node (a string source is a
 * URL, fetched or routed by `tf.io`). `@opnp/backend-tfjs/node` re-exports it with `model.json` paths instead of
 * URLs, the file-system `IOHandler` and the `tfjs` backend object; `@opnp/backend-tfjs/register` (Node)
 * registers that backend and the GEMM kernel with `@opnp/core`.
 *
 * Runs on `@tensorflow/tfjs-node` when installed (optional peer dependency, Node), else on
 * `@tensorflow/tfjs-backend-wasm`, else on `cpu`. Everything exported here is side-effect free.
 */
export {
  loadTfjsFeatureExtractor,
  TfjsFeatureExtractor,
  type TfjsLoadOptions,
  type TfjsHeadCheck,
} from './extractor.js';
export { createTfjsGemmKernel, registerTfjsGemmKernel, TFJS_GEMM_KERNEL_PRIORITY, type TfjsGemmKernel } from './gemm-kernel.js';
export { initTfjsBackend, type TfjsBackendName, type TfjsBackendOptions, type TfjsBackendInfo } from './runtime.js';
export {
  detectLayersHead,
  detectGraphHead,
  type TfjsHead,
  type LayersHead,
  type GraphHead,
  type GraphHeadPattern,
  type TfjsHeadOptions,
} from './head-detection.js';
export { loadTfjsModel, modelKind, type TfjsModelSource, type TfjsModelKind, type LoadedTfjsModel, type LoadedLayersModel, type LoadedGraphModel } from './model.js';
export { GraphDefBuilder, attr, encodeAttrString, decodeAttrString, type GraphDefJson, type GraphNode, type GraphAttr } from './graph-def.js';
export { layersToGraph } from './layers-to-graph.js';
export { odinScores, type OdinOptions, type OdinResult } from './odin.js';
export { exportTfjsDetector, readTfjsDetectorPreprocessing, type ExportTfjsDetectorOptions, type ExportedTfjsDetector } from './export-detector.js';
