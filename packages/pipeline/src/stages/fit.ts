/**
 * Stage 1: the training pass. One streaming pass over the training set gives the OPNP sensitivity (when
 * an OPNP method runs) and the bounded fit subset of training features (when a method fits on them).
 * A saved sensitivity state can replace the accumulation; it must belong to this run.
 */
import { neuronSensitivity, OpnpError, SensitivityAccumulator, type Matrix, type ParameterSensitivity } from '@opnp/core';
import type { SkippedSample } from '../features-meta.js';
import type { FeatureBatch, FeatureBatchOptions, FeatureSource } from '../feature-source.js';
import { assertSameRun, type RunFingerprint } from '../fingerprint.js';
import type { LoadedModel } from '../model.js';
import { stageReporter, type ProgressListener } from '../progress.js';
import { assertFinishedState } from '../finished-state.js';
import { readSavedState } from '../sensitivity-run.js';
import { FitRows, runTrainingPass, trainingFingerprint, trainingIndices, type CheckpointOptions } from '../training-pass.js';
import { fitSubsets, pickRows, type FitSubsets } from './fit-subsets.js';
import type { ResolvedConfig } from './config.js';
import type { EvaluationSources } from './sources.js';
import { optionNames, type OptionNames } from '../option-names.js';

/** The OPNP sensitivities of a run. */
export interface SensitivityResult {
  /** Parameter sensitivity `s [C x D]`. */
  readonly sensitivity: ParameterSensitivity;
  /** Neuron sensitivity `s_j [D]` (mean over classes). */
  readonly neuronSensitivity: Float64Array;
}

/** What {@link fit} produced. */
export interface FitResult {
  /** Present when the sensitivity was asked for. */
  readonly opnp?: SensitivityResult;
  /** `[n_fit x D]` training features of the fit subset (0 rows when not asked for). */
  readonly fitFeatures: Matrix;
  /** `[n_fit]` their labels (-1 = unknown). */
  readonly fitLabels: Int32Array;
  /** `[n_fit]` their dataset indices (ascending; unreadable samples absent). */
  readonly fitRowIndices: Uint32Array;
  /** `[n_knn x D]` training features of KNN's subset ({@link fitRun} with `needs.knnFit`). */
  readonly knnFitFeatures?: Matrix;
  /** Training samples the sensitivity covers (0 without it). */
  readonly trainCount: number;
  /** Unreadable training samples left out. */
  readonly skipped: readonly SkippedSample[];
}

/** Options of {@link fit}. */
export interface FitOptions {
  /** Compute the sensitivity. */
  readonly sensitivity: boolean;
  /** Ascending training indices of the run. */
  readonly indices: Uint32Array;
  /** Ascending subset of `indices` whose features are kept. */
  readonly fitIndices: Uint32Array;
  /** The training pass's fingerprint (checked against checkpoints and saved states). */
  readonly fingerprint: RunFingerprint;
  readonly batchSize: number;
  readonly checkpoint?: CheckpointOptions;
  /** A saved state used instead of accumulating. */
  readonly sensitivityState?: string;
  readonly signal?: AbortSignal;
  readonly onProgress?: ProgressListener;
  readonly onInfo?: (message: string) => void;
  readonly onSkip?: (skip: SkippedSample) => void;
  /** Sees every training batch of the pass (as `runTrainingPass`'s `onBatch`); not with `checkpoint` or `sensitivityState`. */
  readonly onBatch?: (batch: FeatureBatch) => void | Promise<void>;
  /** What messages call the options (see {@link OptionNames}). */
  readonly optionNames?: OptionNames;
}

const withNeurons = (sensitivity: ParameterSensitivity): SensitivityResult => ({ sensitivity, neuronSensitivity: neuronSensitivity(sensitivity) });

/** How to proceed from a saved state of another run, in the caller's names of the options. */
function savedStateHint(names: OptionNames | undefined): string {
  const n = optionNames(names);
  return `Compute it for this run (same model, data, preprocessing, ${n.trainFraction} and ${n.seed}), or drop ${n.sensitivityState}`;
}

/** Field `key` of a run's fingerprint when it is an object (the recorded `train`, `sensitivity`, ...). */
function fingerprintObject(fingerprint: RunFingerprint | undefined, key: string): Readonly<Record<string, unknown>> | undefined {
  const value = fingerprint?.fields[key];
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Readonly<Record<string, unknown>>) : undefined;
}

/** Whether a run's training input was cached features or data files (images, arrays), from its fingerprint. */
function trainInputKind(fingerprint: RunFingerprint | undefined): 'cached features' | 'data files' | undefined {
  const train = fingerprintObject(fingerprint, 'train');
  if (train === undefined) return undefined;
  if ('features' in train) return 'cached features';
  return 'files' in train ? 'data files' : undefined;
}

/**
 * Refuses a saved state computed from another kind of training input (data files against cached features, or the
 * reverse) in those words, before the field-by-field comparison would list the fields of one kind against the other.
 */
function assertSameTrainKind(path: string, recorded: RunFingerprint | undefined, current: RunFingerprint, names: OptionNames | undefined): void {
  const [was, now] = [trainInputKind(recorded), trainInputKind(current)];
  if (was === undefined || now === undefined || was === now) return;
  const n = optionNames(names);
  throw new OpnpError('STATE_MISMATCH', `The sensitivity state ${path} was computed from ${was} as the training set, but this run's ${n.train} is ${now}: a state belongs to the one training input it was computed from`, {
    file: path,
    hint: `Pass ${n.train} the same way to the ${n.sensitivityRun} that computes the state, or drop ${n.sensitivityState}`,
  });
}

/** The sensitivity temperature a run's fingerprint records, if any. */
function sensitivityTemperature(fingerprint: RunFingerprint | undefined): number | undefined {
  const temperature = fingerprintObject(fingerprint, 'sensitivity')?.temperature;
  return typeof temperature === 'number' ? temperature : undefined;
}

/**
 * Refuses a saved state computed at another sensitivity temperature in those words: an evaluation's temperature
 * option sets its scores' temperature, not the sensitivity's, so "was 2, now 1" alone reads as if it were ignored.
 */
function assertSameSensitivityTemperature(path: string, recorded: RunFingerprint | undefined, current: RunFingerprint): void {
  const [was, now] = [sensitivityTemperature(recorded), sensitivityTemperature(current)];
  if (was === undefined || now === undefined || was === now) return;
  throw new OpnpError('STATE_MISMATCH', `The sensitivity state ${path} was computed at sensitivity temperature ${was}, but this run computes the sensitivity at temperature ${now}: the temperature of the scores (of energy, OPNP and the other methods) is a separate setting and does not change it`, {
    file: path,
    hint: `Compute the state at temperature ${now} (the sensitivity's default is 1), or drop the saved state`,
  });
}

/** Reads a saved state of this run (refusing states of other runs, unfinished states and single shards) and says what it covers. */
async function savedSensitivity(model: LoadedModel, path: string, options: FitOptions): Promise<ParameterSensitivity> {
  const { state, meta, shardFiles } = await readSavedState(path);
  assertSameTrainKind(path, meta.fingerprint, options.fingerprint, options.optionNames);
  assertSameSensitivityTemperature(path, meta.fingerprint, options.fingerprint);
  assertSameRun(meta.fingerprint, options.fingerprint, { file: shardFiles?.[0] ?? path, what: shardFiles ? `The shard states of ${path}` : 'The sensitivity state', plural: shardFiles !== undefined, restart: savedStateHint(options.optionNames) });
  if (shardFiles) options.onInfo?.(`sensitivity: ${state.count} samples from the ${shardFiles.length} shard states of ${path} (merged in memory)`);
  else {
    assertFinishedState(path, meta, state.count, options.optionNames);
    options.onInfo?.(`sensitivity: ${state.count} samples from ${path}`);
  }
  return SensitivityAccumulator.fromState(model.extractor.head, state, { kernel: model.kernel }).result();
}

/** The fit subset's rows read on their own (a saved state replaced the training pass), as stage `fit subset`. */
async function collectFitSubset(train: FeatureSource, options: FitOptions, batch: Omit<FeatureBatchOptions, 'subset' | 'onProgress'>, dim: number) {
  const stage = stageReporter(options.onProgress, 'fit subset', options.fitIndices.length);
  const rows = new FitRows(options.fitIndices, dim);
  for await (const b of train.batches({ ...batch, subset: options.fitIndices, onProgress: stage.onProgress })) rows.keep(b);
  stage.done(options.fitIndices.length);
  return rows.result();
}

/**
 * Runs the training pass (see the module comment).
 *
 * @throws OpnpError `STATE_MISMATCH` for a checkpoint or saved state of another run
 * @throws InterruptedError when `signal` aborts
 */
export async function fit(model: LoadedModel, train: FeatureSource, options: FitOptions): Promise<FitResult> {
  const D = model.extractor.head.weight.cols;
  const empty = { fitFeatures: { rows: 0, cols: D, data: new Float32Array(0) }, fitLabels: new Int32Array(0), fitRowIndices: new Uint32Array(0), trainCount: 0, skipped: [] };
  const skipped: SkippedSample[] = [];
  const onSkip = (skip: SkippedSample) => {
    skipped.push(skip);
    options.onSkip?.(skip);
  };
  const batch = { batchSize: options.batchSize, onSkip, ...(options.signal ? { signal: options.signal } : {}) };
  if (options.onBatch && options.sensitivityState !== undefined) throw new OpnpError('INVALID_ARGUMENT', 'A saved sensitivity state replaces the training pass, so no batch can be observed (onBatch)');
  if (options.sensitivity && options.sensitivityState !== undefined) {
    const sensitivity = await savedSensitivity(model, options.sensitivityState, options);
    const fitSet = options.fitIndices.length > 0 ? await collectFitSubset(train, options, batch, D) : {};
    return { ...empty, opnp: withNeurons(sensitivity), trainCount: sensitivity.count, ...fitSet, skipped };
  }
  if (!options.sensitivity && options.fitIndices.length === 0) return empty;
  const pass = await runTrainingPass({
    model,
    source: train,
    indices: options.sensitivity ? options.indices : options.fitIndices,
    batchSize: options.batchSize,
    fitIndices: options.fitIndices,
    fingerprint: options.fingerprint,
    ...(options.checkpoint && options.sensitivity ? { checkpoint: options.checkpoint } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    ...(options.onInfo ? { onInfo: options.onInfo } : {}),
    ...(options.onBatch ? { onBatch: options.onBatch } : {}),
    ...(options.optionNames ? { optionNames: options.optionNames } : {}),
    onSkip,
  });
  return {
    ...(options.sensitivity ? { opnp: withNeurons(pass.accumulator.result()) } : {}),
    fitFeatures: pass.fitFeatures,
    fitLabels: pass.fitLabels,
    fitRowIndices: pass.fitRowIndices,
    trainCount: options.sensitivity ? pass.accumulator.count : 0,
    skipped,
  };
}

/** What {@link fitRun} computes: the sensitivity, the fit subset, KNN's subset. */
export interface FitNeeds {
  readonly opnp: boolean;
  readonly fit: boolean;
  readonly knnFit?: boolean;
}

/** `fitted` (rows of `subsets.kept`) with the fit subset and KNN's subset picked out (stages/fit-subsets.ts). */
function splitSubsets(fitted: FitResult, subsets: FitSubsets): FitResult {
  const kept = { features: fitted.fitFeatures, labels: fitted.fitLabels, indices: fitted.fitRowIndices };
  const fit = pickRows(kept, subsets.fit, subsets.kept);
  return {
    ...fitted,
    fitFeatures: fit.features,
    fitLabels: fit.labels,
    fitRowIndices: fit.indices,
    ...(subsets.knn.length > 0 ? { knnFitFeatures: pickRows(kept, subsets.knn, subsets.kept).features } : {}),
  };
}

/**
 * {@link fit} for a resolved run: its training indices (`trainFraction`, `seed`), fit subset (`fitSamples`) and KNN's
 * subset (`knnFitSamples`, with `needs.knnFit`), fingerprint, checkpoint or saved state, progress and signal.
 */
export async function fitRun(model: LoadedModel, sources: EvaluationSources, config: ResolvedConfig, needs: FitNeeds, onSkip: (skip: SkippedSample) => void, onBatch?: FitOptions['onBatch']): Promise<FitResult & { fingerprint: RunFingerprint }> {
  const indices = trainingIndices(sources.train.count, config.trainFraction, config.seed);
  const subsets = fitSubsets(indices, config, { fit: needs.fit, knnFit: needs.knnFit === true });
  const fitIndices = subsets.kept;
  const fingerprint = await trainingFingerprint({ model, source: sources.train, indices, ...(config.trainFraction !== undefined ? { fraction: config.trainFraction } : {}), seed: config.seed });
  const checkpoint = typeof config.checkpoint === 'string' ? { path: config.checkpoint } : config.checkpoint;
  const fitted = await fit(model, sources.train, {
    sensitivity: needs.opnp,
    indices,
    fitIndices,
    fingerprint,
    batchSize: config.batchSize,
    ...(checkpoint ? { checkpoint } : {}),
    ...(config.sensitivityState !== undefined ? { sensitivityState: config.sensitivityState } : {}),
    ...(config.signal ? { signal: config.signal } : {}),
    ...(config.onProgress ? { onProgress: config.onProgress } : {}),
    ...(config.onInfo ? { onInfo: config.onInfo } : {}),
    ...(onBatch ? { onBatch } : {}),
    ...(config.optionNames ? { optionNames: config.optionNames } : {}),
    onSkip,
  });
  return { ...splitSubsets(fitted, subsets), fingerprint };
}
