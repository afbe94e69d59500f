/**
 * @packageDocumentation
 * `@opnp/backend-onnx-web`: the ONNX Runtime Web backend of @opnp. Loads ONNX classifiers in a page (bytes of a
 * picked file, or a URL), finds the classifier head, extracts penultimate features and logits with onnxruntime-web
 * (WebGPU when the browser has it, else wasm), runs OPNP's GEMMs on wasm, and builds deployable detectors as bytes.
 * The model parsing and graph code is `@opnp/onnx-common`'s, shared with the Node backend `@opnp/backend-onnx`.
 *
 * Import `@opnp/backend-onnx-web/register` to register the `onnx-web` backend and the `onnxruntime-web` GEMM kernel
 * with `@opnp/core`; everything exported here is side-effect free.
 */
export { onnxWebBackend } from './backend.js';
export { loadOnnxWebFeatureExtractor, OnnxWebFeatureExtractor, type OnnxWebLoadOptions, type DetectorBuildOptions } from './extractor.js';
export { exportOnnxWebDetector, type WebDetectorOptions } from './export-detector.js';
export { loadOnnxWebModel, type WebModelSource } from './model-source.js';
export { loadOnnxWebDetector, OnnxWebDetector, type DetectorScores, type OnnxWebDetectorOptions } from './detector-runner.js';
export {
  configureOnnxRuntimeWeb,
  resolveExecutionProviders,
  webGpuAvailable,
  type OnnxWebRuntimeConfig,
  type OnnxWebSessionOptions,
  type WebExecutionProvider,
  type GraphOptimizationLevel,
} from './session-options.js';
export { createOnnxWebGemmKernel, registerOnnxWebGemmKernel, type OnnxWebGemmKernel } from './gemm-kernel.js';
export {
  detectHead,
  describeOnnxDetector,
  onnxDetectorPreprocessing,
  modelInputSpec,
  type DetectedHead,
  type DetectorDescription,
  type OnnxDetector,
  type OnnxModel,
} from '@opnp/onnx-common';
