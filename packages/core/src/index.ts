/**
 * @packageDocumentation
 * `@opnp/core`: OPNP (Optimal Parameter and Neuron Pruning, NeurIPS 2023) and the post-hoc OOD
 * baselines as pure math on row-major float32 matrices, plus the backend-agnostic contracts
 * ({@link FeatureExtractor}, {@link GemmKernel}) that model backends implement.
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
  linearHead,
  assertHead,
  assertFeaturesMatchHead,
  numClasses,
  featureDim,
  logits,
  logitsWith,
  type LinearHead,
} from './head.js';
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
} from './feature-extractor.js';
