/**
 * @packageDocumentation
 * `@opnp/backend-tfjs/node`: the TensorFlow.js backend with file access. Re-exports the browser-safe
 * `@opnp/backend-tfjs`, except that `loadTfjsModel`, `loadTfjsFeatureExtractor` and `exportTfjsDetector` here take
 * `model.json` paths (or folders, or `file://` URLs) and write output folders; adds the file-system `IOHandler`
 * (`fileSystemIO`), `model.json` helpers, the `tfjs` backend object for `@opnp/core`'s registry (registered by
 * `@opnp/backend-tfjs/register`) and the installed wasm binaries' folder.
 */
// --- the browser-safe entry, re-exported ---
export { TfjsFeatureExtractor, type TfjsLoadOptions, type TfjsHeadCheck } from '../extractor.js';
export { createTfjsGemmKernel, registerTfjsGemmKernel, TFJS_GEMM_KERNEL_PRIORITY, type TfjsGemmKernel } from '../gemm-kernel.js';
export { initTfjsBackend, type TfjsBackendName, type TfjsBackendOptions, type TfjsBackendInfo } from '../runtime.js';
export {
  detectLayersHead,
  detectGraphHead,
  type TfjsHead,
  type LayersHead,
  type GraphHead,
  type GraphHeadPattern,
  type TfjsHeadOptions,
} from '../head-detection.js';
export { modelKind, type TfjsModelSource, type TfjsModelKind, type LoadedTfjsModel, type LoadedLayersModel, type LoadedGraphModel } from '../model.js';
export { GraphDefBuilder, attr, encodeAttrString, decodeAttrString, type GraphDefJson, type GraphNode, type GraphAttr } from '../graph-def.js';
export { layersToGraph } from '../layers-to-graph.js';
export { odinScores, type OdinOptions, type OdinResult } from '../odin.js';
export { readTfjsDetectorPreprocessing, type ExportTfjsDetectorOptions, type ExportedTfjsDetector } from '../export-detector.js';
// --- Node only ---
// the loaders with model.json paths and output folders
export { loadTfjsModel, loadTfjsFeatureExtractor, exportTfjsDetector } from './loaders.js';
export { fileSystemIO, looksLikeTfjsModel, readModelJson, resolveModelJsonPath } from './fs-io.js';
export { tfjsBackend } from './backend.js';
export { defaultWasmPath } from './wasm-path.js';
