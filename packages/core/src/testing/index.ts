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
 */
export * from './feature-extractor-conformance.js';
export {
  describeGemmKernelConformance,
  type GemmKernelConformanceOptions,
  type GemmKernelConformanceTestName,
} from './gemm-kernel-conformance.js';
export { expectClose, allowedDifference, randomMatrix, lcg, refPercentile, refGemm, settledCode, type Tolerance, type CloseValues } from './reference.js';
export {
  refSoftmaxTransposedProduct,
  refBandedGridLogSumExp,
  bandedShift,
  type SoftmaxProductReference,
  type BandedGridReference,
} from './accelerator-reference.js';
