/**
 * @packageDocumentation
 * `@opnp/backend-tfjs`: the TensorFlow.js backend of @opnp. Loads LayersModels and GraphModels (`model.json` +
 * weight shards) from a path or an IOHandler, finds the classifier head, extracts penultimate features and logits
 * in one forward pass, computes ODIN scores with input gradients, and exports a graph-model OOD detector
 * (`logits`, `ood_score`).
 *
 * Runs on `@tensorflow/tfjs-node` when installed (optional peer dependency), else on
 * `@tensorflow/tfjs-backend-wasm`, else on `cpu`. Import `@opnp/backend-tfjs/register` to register the `tfjs`
 * backend with `@opnp/core`; everything exported here is side-effect free.
 */
export { tfjsBackend } from './backend.js';
export {
  loadTfjsFeatureExtractor,
  TfjsFeatureExtractor,
  type TfjsLoadOptions,
  type TfjsHeadCheck,
} from './extractor.js';
export { createTfjsGemmKernel, registerTfjsGemmKernel, TFJS_GEMM_KERNEL_PRIORITY, type TfjsGemmKernel } from './gemm-kernel.js';
export { initTfjsBackend, defaultWasmPath, type TfjsBackendName, type TfjsBackendOptions, type TfjsBackendInfo } from './runtime.js';
export {
  detectLayersHead,
  detectGraphHead,
  type TfjsHead,
  type LayersHead,
  type GraphHead,
  type GraphHeadPattern,
  type TfjsHeadOptions,
} from './head-detection.js';
export { loadTfjsModel, type TfjsModelSource, type LoadedTfjsModel, type LoadedLayersModel, type LoadedGraphModel } from './model.js';
export {
  fileSystemIO,
  looksLikeTfjsModel,
  modelKind,
  readModelJson,
  resolveModelJsonPath,
  type TfjsModelKind,
} from './fs-io.js';
export { GraphDefBuilder, attr, encodeAttrString, decodeAttrString, type GraphDefJson, type GraphNode, type GraphAttr } from './graph-def.js';
export { layersToGraph } from './layers-to-graph.js';
export { odinScores, type OdinOptions, type OdinResult } from './odin.js';
export { exportTfjsDetector, type ExportTfjsDetectorOptions, type ExportedTfjsDetector } from './export-detector.js';
