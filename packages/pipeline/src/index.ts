/**
 * @packageDocumentation
 * `@opnp/pipeline`: the OPNP evaluation workflow as a library, between the backends, datasets and
 * metrics and the `opnp` command. {@link evaluate} runs an evaluation as explicit stages
 * ({@link openSources} -> {@link fit} -> {@link collectValidation} -> {@link selectPoint} / {@link searchBaselines}
 * -> {@link score} -> {@link summarize}), each
 * usable alone; {@link extractFeatures} and {@link runSensitivity} / {@link mergeStates} are the cached
 * and sharded building blocks. Every resumable or reusable artefact carries a {@link RunFingerprint} and
 * is refused by any other run.
 */
export { evaluate, prepareEvaluation, scoreOptionsOf, summaryInputsOf, withEvaluationModel, type EvaluationResult, type PreparedEvaluation } from './evaluate.js';
export { evaluateShard, mergeEvalShards, evalShardFiles, EVAL_SHARD_FORMAT, type EvalShardMeta, type EvalShardSet, type EvalShardResult } from './eval-shard.js';
export { optionNames, LIBRARY_OPTION_NAMES, type OptionNames } from './option-names.js';
export { summarizeRuns, meanStd, type MultiRunReport, type MethodStats, type MeanStd } from './multi-run.js';
export { BENCHMARKS, benchmark, type Benchmark, type BenchmarkName } from './benchmarks.js';
export { checkShardSet, type ShardEntry, type ShardSetOptions } from './shard-set.js';
export type { EvaluationConfig, KnnFitSamples, EvalReport, EvalArtifacts, MethodResult, NamedSpec, SetScores, CalibrationInputs } from './evaluation-types.js';
export { resolveConfig, assertUniqueNames, validationNeeds, temperatureMethods, withTemperature, type ResolvedConfig } from './stages/config.js';
export { openSources, type EvaluationSources } from './stages/sources.js';
export { fit, fitRun, type FitOptions, type FitNeeds, type FitResult, type SensitivityResult } from './stages/fit.js';
export { DEFAULT_KNN_FIT_SAMPLES, knnFitCount, plannedTrainingRows } from './stages/fit-subsets.js';
export { skipLog, type SkipLog } from './stages/skips.js';
export { collectValidation, type ValidationData, type ValidationSet, type ValidationOptions } from './stages/validation.js';
export { selectPoint, allIndices, type PointSelection, type SelectPointOptions } from './stages/select-point.js';
export {
  searchBaselines,
  baselineGridPoints,
  searchedLabel,
  BASELINE_SEARCH_RULE,
  type BaselineSearchOptions,
  type BaselineSearchResult,
  type BaselineGridPoint,
  type SearchedMethod,
} from './stages/search-baselines.js';
export { checkMethods } from './stages/check-methods.js';
export { thinFitWarnings, classesWithRows, type FitRowsInfo } from './stages/fit-warnings.js';
export { assertFiniteScores, type FiniteScoresContext } from './stages/finite-scores.js';
export { score, artifactKey, type ScoreOptions, type ScoreResult } from './stages/score.js';
export { summarize, methodMetrics, collectArtifacts, resolvedOptions, type SummaryInputs, type FitCounts, type ChosenPoint } from './stages/summarize.js';

export * from './methods/index.js';

// The paper's ablations (Tables 3, 4, 8, 9 and Figure 3)
export { runAblation, checkAblation } from './ablations/run.js';
export { ABLATIONS, ablationDefinition } from './ablations/registry.js';
export type { AblationDefinition } from './ablations/definition.js';
export { DEFAULT_ACCURACY_SETTINGS } from './ablations/accuracy.js';
export { DEFAULT_FRACTIONS, fractionLabel } from './ablations/fraction.js';
export { DEFAULT_STATISTICS, statisticLabel } from './ablations/statistic.js';
export { DEFAULT_SWEEP_LEVELS, sweepPoints } from './ablations/sweep.js';
export { pointLabel, PERCENTAGE_KEYS } from './ablations/point-label.js';
export {
  ABLATION_KINDS,
  type AblationKind,
  type AblationConfig,
  type AblationRunConfig,
  type AblationOptions,
  type AblationResult,
  type AblationRow,
  type AblationMetric,
  type AblationVariant,
  type AblationCounts,
  type AccuracySetting,
  type SweepLevels,
} from './ablations/types.js';

export { loadModel, maxBatchSize, assertBatchSize, BATCH_MEMORY_BUDGET, type LoadedModel } from './model.js';
export { openFeatureSource, assertFiniteBatch, warmDatasetIdentity, datasetInputFiles, type FeatureSource, type FeatureBatch, type FeatureBatchOptions, type FeatureSourceOptions } from './feature-source.js';
export { parseFeaturesSpec } from './cached-features.js';
export { arrayFeatureSource, type ArraySourceOptions } from './array-source.js';
export { parseNoiseSpec, noiseDataset, noisePixels, type NoiseOptions } from './noise-dataset.js';
export { loadLabelsFile } from './labels-file.js';
export { collectFeatures, scoreSet, type ScoredSet, type ScoreSetOptions } from './collect.js';
export { searchOpnpPoint, type SearchOptions } from './search.js';
export { withLoadedModel, type WithModelOptions } from './with-model.js';
export { fpr95Threshold, minCountForRate } from '@opnp/metrics';

export { runTrainingPass, trainingIndices, trainingFingerprint, shardOf, fitSubset, type TrainingPassOptions, type TrainingPassResult, type TrainingRun, type CheckpointOptions, type SensitivitySettings } from './training-pass.js';
export { runSensitivity, mergeStates, readSavedState, type SensitivityRunOptions, type SensitivityRun, type MergeOptions, type MergedStates, type SavedState } from './sensitivity-run.js';
export { assertFinishedState } from './finished-state.js';
export { readStateFile, writeStateFile, removeStateFile, sidecarPath, type StateMeta, type StateProvenance, type ShardInfo } from './state-file.js';
export { shardFromEnvironment } from './scheduler-shard.js';
export { extractFeatures, extractionFingerprint, type ExtractCheckpoint, type ExtractOptions, type ExtractOutputs, type ExtractResult } from './extract.js';
export { assertExtractionTargets, extractionTargets, extractionInputs, EXTRACT_OUTPUT_OPTION_NAMES, type ExtractOutputNames } from './extract-targets.js';
export { shardFileName, unshardedFileName, shardSiblings, shardOutputs, featureShard, readAnyFeaturesMeta, type FeatureShard, type FeatureShardMeta, type AnyFeaturesMeta } from './extract-shards.js';
export { mergeFeatureShards, readFeatureShards, type MergeFeatureShardsOptions, type MergedFeatures, type ShardFiles } from './extract-merge.js';
export { readFeaturesMeta, featuresMetaPath, type FeaturesMeta, type SkippedSample } from './features-meta.js';

export {
  makeFingerprint,
  fingerprintDifferences,
  fingerprintChanges,
  describeFingerprintChanges,
  showFingerprintValue,
  assertSameRun,
  isRunFingerprint,
  canonicalJson,
  hashFile,
  hashNpyRows,
  modelIdentity,
  datasetFilesIdentity,
  indicesDigest,
  type RunFingerprint,
  type HashOptions,
  type FingerprintChange,
  type JsonValue,
} from './fingerprint.js';
export { assertWritableFile, assertOutputTargets, assertNotAnInput, assertParentFolder, type OutputTarget, type InputFile } from './paths.js';
export { assertRunFiles, assertInputsReadable, type RunFiles, type RunInput, type OutputFolder } from './run-files.js';
export { InterruptedError, isAbort, isInterrupted } from './interrupted.js';
export { stageReporter, phaseReporter, type StageProgress, type ProgressListener, type PhaseReporter, type PhaseReporterOptions } from './progress.js';
export { PIPELINE_VERSION } from './version.js';
export {
  writeResultsDir,
  readResults,
  assertResultsTarget,
  RESULTS_FORMAT,
  RESULTS_VERSION,
  type ResultsManifest,
  type LoadedResults,
  type LoadedRun,
  type LoadedRuns,
  type SelectionJson,
  type GridPointJson,
  type BandJson,
} from './results-dir.js';
