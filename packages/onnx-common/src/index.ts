/**
 * @packageDocumentation
 * `@opnp/onnx-common`: the runtime-agnostic ONNX code of @opnp, shared by `@opnp/backend-onnx` (onnxruntime-node)
 * and `@opnp/backend-onnx-web` (onnxruntime-web). ONNX models parsed and rewritten with the ONNX protobuf schema
 * (head detection, extra outputs, the detector graph with `ood_score` and `is_ood`), and the feature extractor and
 * GEMM kernel over any onnxruntime that implements onnxruntime-common's API. No file system, no runtime import:
 * it bundles for the browser. Most users install a backend instead.
 */
export {
  parseOnnxModel,
  serializeOnnxModel,
  looksLikeOnnx,
  isOnnxModel,
  opsetVersion,
  tensorToFloat32,
  tensorDims,
  float32Tensor,
  int64Tensor,
  attrNumber,
  attrInts,
  valueInfoShape,
  toNumber,
  formatError,
  onnx,
  DataType,
  type OnnxModel,
  type ParseOnnxOptions,
  type ExternalDataReader,
  type ModelProto,
  type GraphProto,
  type NodeProto,
  type TensorProto,
  type ValueInfoProto,
  type AttributeProto,
} from './onnx-model.js';
export { detectHead, headCandidates, GraphIndex, type DetectedHead, type HeadDetectionOptions, type HeadPattern } from './head-detection.js';
export { modelInputName, modelInputSpec, sessionBytesWithOutputs, withExtraOutputs } from './model-graph.js';
export { prepareOnnxModel, OrtFeatureExtractor, type OrtExtractorOptions, type OrtExtractorRuntime, type PreparedOnnxModel } from './extractor.js';
export { buildOnnxDetector, describeOnnxDetector, onnxDetectorPreprocessing, type DetectorGraphOptions, type DetectorDescription, type OnnxDetector } from './detector-graph.js';
export { buildGemmModel, buildSoftmaxProductModel, buildBandedGridModel, type BandedGridStructure } from './kernel-models.js';
export { createOrtGemmKernel, type OrtGemmKernel, type OrtGemmKernelOptions } from './gemm-kernel.js';
export { runSession, messageOf, type OrtRuntime, type OrtSession, type OrtSessionOptions, type OrtOutputs, type OrtTensor } from './runtime.js';
