/**
 * @packageDocumentation
 * `@opnp/backend-onnx`: the ONNX Runtime backend of @opnp. Loads any ONNX classifier (PyTorch, TensorFlow,
 * timm exports...), finds its classifier head automatically, extracts penultimate features and logits in
 * one onnxruntime session, and exports a self-contained ONNX OOD detector (`ood_score`, `is_ood`).
 * The runtime-agnostic parts (parsing, head detection, graphs) live in `@opnp/onnx-common`, shared with the
 * browser backend `@opnp/backend-onnx-web`; they are re-exported here.
 *
 * Import `@opnp/backend-onnx/register` to register the `onnx` backend and the onnxruntime GEMM kernel
 * with `@opnp/core`; everything exported here is side-effect free.
 */
export { onnxBackend } from './backend.js';
export { loadOnnxFeatureExtractor, OnnxFeatureExtractor, modelInputSpec, withExtraOutputs, type OnnxLoadOptions } from './extractor.js';
export { detectHead, headCandidates, describeOnnxDetector, onnxDetectorPreprocessing, type DetectedHead, type HeadDetectionOptions, type HeadPattern, type DetectorDescription } from '@opnp/onnx-common';
export { exportOodDetector, exportOnnxDetector, type ExportOodDetectorOptions, type OnnxDetector } from './export-detector.js';
export { loadOnnxModel, parseOnnxModel, type ParseOnnxOptions } from './onnx-model.js';
export {
  serializeOnnxModel,
  looksLikeOnnx,
  opsetVersion,
  tensorToFloat32,
  float32Tensor,
  onnx,
  type OnnxModel,
  type ModelProto,
  type GraphProto,
  type NodeProto,
  type TensorProto,
} from '@opnp/onnx-common';
export { toOrtSessionOptions, sessionRuntimeInfo, type OnnxSessionOptions, type GraphOptimizationLevel, type ExecutionProvider } from './session-options.js';
export { createOnnxGemmKernel, registerOnnxGemmKernel, type OnnxGemmKernel, type OnnxGemmKernelOptions } from './gemm-kernel.js';
