/**
 * @packageDocumentation
 * `@opnp/pipeline/extract`: feature extraction alone ({@link extractFeatures}, {@link mergeFeatureShards}, loading the
 * model, the output and shard helpers), the same functions as the main entry's. Importing it loads about a third of
 * the modules the main entry loads (no evaluation, methods, ablations, metrics), which is start-up time of every
 * `opnp extract` process.
 */
export { loadModel, maxBatchSize, assertBatchSize, BATCH_MEMORY_BUDGET, type LoadedModel } from './model.js';
export { extractFeatures, extractionFingerprint, type ExtractCheckpoint, type ExtractOptions, type ExtractOutputs, type ExtractResult } from './extract.js';
export { assertExtractionTargets, extractionTargets, extractionInputs, EXTRACT_OUTPUT_OPTION_NAMES, type ExtractOutputNames } from './extract-targets.js';
export { warmDatasetIdentity, datasetInputFiles } from './feature-source.js';
export { hashFile, type HashOptions } from './fingerprint.js';
export { shardFileName, unshardedFileName, shardSiblings, shardOutputs, featureShard, readAnyFeaturesMeta, type FeatureShard, type FeatureShardMeta, type AnyFeaturesMeta } from './extract-shards.js';
export { mergeFeatureShards, readFeatureShards, type MergeFeatureShardsOptions, type MergedFeatures, type ShardFiles } from './extract-merge.js';
export { optionNames, LIBRARY_OPTION_NAMES, type OptionNames } from './option-names.js';
export { shardFromEnvironment } from './scheduler-shard.js';
export type { ShardInfo } from './state-file.js';
export type { SkippedSample } from './features-meta.js';
export { assertWritableFile, assertOutputTargets, assertNotAnInput, assertParentFolder, type OutputTarget, type InputFile } from './paths.js';
export { InterruptedError, isAbort, isInterrupted } from './interrupted.js';
export { stageReporter, phaseReporter, type StageProgress, type ProgressListener, type PhaseReporter, type PhaseReporterOptions } from './progress.js';
