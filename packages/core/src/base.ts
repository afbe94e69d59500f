/**
 * `@opnp/core/base`: what every other package builds on, without the scores, OPNP and statistics: errors
 * ({@link OpnpError}), row-major matrices, GEMM kernels and their registry, backends and feature extractors, the
 * linear head, seeded randomness. The same exports as the main entry's; importing this entry alone loads a tenth of
 * its modules (feature extraction, the ONNX backends and the dataset readers need no more).
 */
export { OpnpError, isOpnpError, type OpnpErrorCode, type OpnpErrorDetails } from './errors.js';
export { matrix, assertMatrix, row, sliceRows, concatRows, transpose, type Matrix } from './matrix.js';
export {
  gemm,
  gemmSync,
  gemmShape,
  portableGemmKernel,
  registerGemmKernel,
  resolveGemmKernel,
  listGemmKernels,
  type GemmKernel,
  type SyncGemmKernel,
  type GemmOptions,
} from './gemm.js';
export {
  kernelAccelerator,
  KERNEL_ACCELERATOR_NAMES,
  type KernelAccelerators,
  type KernelAcceleratorName,
  type Matrix64,
  type SoftmaxTransposedProductOptions,
  type SoftmaxTransposedProduct,
  type BandedGridShape,
  type BandedGridParts,
  type BandedGridLogSumExp,
  BANDED_GRID_MIN_LOG_SUM,
} from './kernel-accelerators.js';
export {
  linearHead,
  assertHead,
  assertFeaturesMatchHead,
  numClasses,
  featureDim,
  logits,
  logitsWith,
  type LinearHead,
} from './head.js';
export { roundHalfEven } from './round.js';
export { mulberry32, partialShuffle, sampleIndices } from './random.js';
export { percentile, percentiles, percentileOfSorted, sortedCopy, assertPercentage } from './percentile.js';
export {
  registerBackend,
  resolveBackend,
  listBackends,
  loadFeatureExtractor,
  type Backend,
  type FeatureExtractor,
  type ExtractResult,
  type InputBatch,
  type InputSpec,
  type InputLayout,
  type LoadOptions,
  type ModelSource,
  type RuntimeInfo,
  type DetectorExportOptions,
  type DetectorExportResult,
  type DetectorOutputs,
  type DetectorFormat,
  type DetectorPreprocessing,
} from './feature-extractor.js';
export {
  assertBackend,
  assertFeatureExtractor,
  assertExtractResult,
  assertHeadMatchesLogits,
  featureExtractorProblems,
  type ExtractorOwner,
} from './extractor-contract.js';
