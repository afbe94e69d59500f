/**
 * `@opnp/core/testing`: the conformance suites backends run against themselves, and the reference helpers shared
 * by the tests of every `@opnp` package. This entry imports `vitest` (a dev dependency of its users); it is never
 * part of the main entry.
 *
 * - {@link describeFeatureExtractorConformance}: every `FeatureExtractor` implementation.
 * - {@link describeGemmKernelConformance}: every `GemmKernel`, including each accelerator operation it has.
 * - {@link expectClose}, {@link randomMatrix}, {@link lcg}, {@link refPercentile}, {@link refGemm} and the accelerator
 *   definitions {@link refSoftmaxTransposedProduct}, {@link refBandedGridLogSumExp}: seeded data and brute-force
 *   float64 references.
 * - {@link roundedFloat64GemmKernel}, {@link counting} and {@link headLogitBound}: a second kernel, a recording
 *   wrapper and the float32 rounding bound of head products, for tests that a score depends on its kernel only
 *   through rounding and that a method uses the kernel it was given.
 */
export * from './feature-extractor-conformance.js';
export {
  describeGemmKernelConformance,
  type GemmKernelConformanceOptions,
  type GemmKernelConformanceTestName,
} from './gemm-kernel-conformance.js';
export { expectClose, allowedDifference, randomMatrix, lcg, refPercentile, refGemm, settledCode, type Tolerance, type CloseValues } from './reference.js';
export {
  FLOAT32_UNIT_ROUNDOFF,
  counting,
  headLogitBound,
  portableRoundings,
  roundedFloat64GemmKernel,
  rowMaxima,
  type GemmCall,
} from './head-kernels.js';
export {
  refSoftmaxTransposedProduct,
  refBandedGridLogSumExp,
  splitBandedParts,
  bandedShift,
  type SoftmaxProductReference,
  type BandedGridReference,
} from './accelerator-reference.js';
