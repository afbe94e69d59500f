/**
 * @packageDocumentation
 * `@opnp/core/backend`: building blocks for backend authors (not needed to use a backend). Batch checks and
 * fixed-batch splitting, the head check, the task queue that keeps a session single-file, and the shared
 * checks of detector export options (and of the preprocessing recorded in a detector); the small WebAssembly
 * encoder and loader with which core and `@opnp/datasets` assemble their SIMD kernels at run time (no binaries); and
 * `bandedGridLogSumExpWasm`, core's WebAssembly SIMD implementation of the `bandedGridLogSumExp` accelerator, for
 * kernels that offer the accelerator without a faster one of their own.
 *
 * @example
 * ```ts
 * import { SerialQueue, assertBatchMatchesInput, extractInFixedBatches } from '@opnp/core/backend';
 * ```
 */
export {
  AUTO_HEAD_CHECK_ROWS,
  assertBatchMatchesInput,
  compareHead,
  extractInFixedBatches,
  type HeadCheck,
  type HeadCheckTolerance,
} from './batches.js';
export { assertBackend, assertFeatureExtractor, assertExtractResult, assertHeadMatchesLogits, featureExtractorProblems, type ExtractorOwner } from '../extractor-contract.js';
export { SerialQueue } from '../internal/serial-queue.js';
export { DETECTOR_OUTPUT_NAMES, resolveDetectorExportOptions, type ResolvedDetectorExport } from './detector-export.js';
export { DETECTOR_PREPROCESSING_KEY, checkDetectorPreprocessing, encodeDetectorPreprocessing, decodeDetectorPreprocessing } from './detector-preprocessing.js';
export { F64, I32, op, sleb, uleb, V128, wasmModule, type Code, type WasmFunction } from '../internal/wasm-encoding.js';
export { ensureMemory, lazyWasmInstance, type WasmInstance, type WasmMemory } from '../internal/wasm-instance.js';
export { bandedGridLogSumExpWasm } from '../opnp/grid/banded-lse-wasm.js';
