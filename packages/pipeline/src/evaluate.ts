/**
 * An evaluation as explicit stages, each usable alone ({@link openSources}, {@link fit},
 * {@link selectPoint}, {@link score}, {@link summarize}); {@link evaluate} runs them in order:
 *
 * 1. open every set and settle the preprocessing (fails fast on missing data);
 * 2. fit: the training pass (sensitivity + fit subset; checkpointable, or a saved state of this run);
 * 3. select the OPNP point: fixed, or grid search on validation data only;
 * 4. score the ID test samples and every OOD set with every method;
 * 5. summarize: metrics per (method, OOD set) and their averages.
 */
import { OpnpError } from '@opnp/core';
import type { EvalArtifacts, EvalReport, EvaluationConfig } from './evaluation-types.js';
import type { SkippedSample } from './features-meta.js';
import { InterruptedError, isAbort } from './interrupted.js';
import { methodNeeds } from './methods/registry.js';
import { assertBatchSize, loadModel, type LoadedModel } from './model.js';
import { resolveConfig, type ResolvedConfig } from './stages/config.js';
import { fit, type FitResult } from './stages/fit.js';
import { openSources, type EvaluationSources } from './stages/sources.js';
import { allIndices, selectPoint, type PointSelection } from './stages/select-point.js';
import { score, type ScoreOptions, type ScoreResult } from './stages/score.js';
import { collectArtifacts, summarize, type SummaryInputs } from './stages/summarize.js';
import type { RunFingerprint } from './fingerprint.js';
import type { OpnpState } from './methods/registry.js';
import type { ShardInfo } from './state-file.js';
import { fitSubset, trainingFingerprint, trainingIndices } from './training-pass.js';

/** What {@link evaluate} returns. */
export interface EvaluationResult {
  readonly report: EvalReport;
  /** With `collectArtifacts`. */
  readonly artifacts?: EvalArtifacts;
}

/**
 * Runs a whole evaluation (see the module comment) and returns the report.
 *
 * @throws OpnpError for bad configuration or data (before any work where it can be known up front)
 * @throws InterruptedError when `config.signal` aborts
 *
 * @example
 * ```ts
 * import '@opnp/backend-onnx/register';
 * const { report } = await evaluate({ model: 'model.onnx', train: 'idx:train-images-idx3-ubyte', test: 'idx:t10k-images-idx3-ubyte', ood: [{ name: 'fashion', spec: 'idx:fashion-t10k-images-idx3-ubyte' }] });
 * ```
 */
export async function evaluate(config: EvaluationConfig): Promise<EvaluationResult> {
  return withEvaluationModel(config, evaluateLoaded);
}

/**
 * Resolves the configuration, loads the model (unless given loaded), runs `body` and releases the model;
 * an abort becomes an {@link InterruptedError}.
 */
export async function withEvaluationModel<T>(config: EvaluationConfig, body: (model: LoadedModel, resolved: ResolvedConfig, info: (m: string) => void) => Promise<T>): Promise<T> {
  const resolved = resolveConfig(config);
  const info = config.onInfo ?? (() => undefined);
  for (const name of Object.keys(config.methodOptions ?? {})) {
    if (!resolved.methods.includes(name)) info(`options for ${name} are not used: ${name} is not among the methods`);
  }
  const model = typeof config.model === 'string' ? await loadModel(config.model, { onWarning: (m) => info(`model: ${m}`) }) : config.model;
  try {
    assertBatchSize(model, resolved.batchSize);
    return await body(model, resolved, info);
  } catch (error) {
    if (error instanceof InterruptedError || !isAbort(error, config.signal)) throw error;
    throw new InterruptedError('interrupted; no results were written');
  } finally {
    if (typeof config.model === 'string') await model.extractor.dispose();
  }
}

/** Every skipped sample per set key (`train`, `test`, `ood:<name>`, `val:<name>`), and how to add one. */
export interface SkipLog {
  readonly sets: Record<string, SkippedSample[]>;
  readonly add: (set: string, skip: SkippedSample) => void;
}

/** Collects every skipped sample per set and tells the caller about each. */
function skipLog(config: ResolvedConfig): SkipLog {
  const sets: Record<string, SkippedSample[]> = {};
  const add = (set: string, skip: SkippedSample) => {
    (sets[set] ??= []).push(skip);
    config.onSkip?.(set, skip);
  };
  return { sets, add };
}

async function runFit(model: LoadedModel, sources: EvaluationSources, config: ResolvedConfig, needs: { opnp: boolean; fit: boolean }, onSkip: (skip: SkippedSample) => void): Promise<FitResult & { fingerprint: RunFingerprint }> {
  const indices = trainingIndices(sources.train.count, config.trainFraction, config.seed);
  const fitIndices = needs.fit ? fitSubset(indices, config.fitSamples, config.seed) : new Uint32Array(0);
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
    onSkip,
  });
  return { ...fitted, fingerprint };
}

/** Drops methods that need training labels when there are none and the user did not ask for them explicitly. */
async function usableMethods(config: ResolvedConfig, sources: EvaluationSources, info: (m: string) => void): Promise<string[]> {
  const needing = config.methods.filter((m) => config.registry.get(m).needs?.labels === true);
  if (needing.length === 0) return [...config.methods];
  const labels = await sources.train.readLabels();
  if (labels.some((l) => l >= 0)) return [...config.methods];
  if (config.methodsExplicit) {
    throw new OpnpError('INVALID_ARGUMENT', `${needing.join(', ')} need${needing.length === 1 ? 's' : ''} training labels`, { hint: `Pass --train-labels <file>, or leave ${needing.join(', ')} out of --methods` });
  }
  info(`no training labels: skipping ${needing.join(', ')} (pass --train-labels to include ${needing.length === 1 ? 'it' : 'them'})`);
  return config.methods.filter((m) => !needing.includes(m));
}

/** An evaluation up to its scoring: the sets opened, the methods fitted and the OPNP point fixed. */
export interface PreparedEvaluation {
  readonly sources: EvaluationSources;
  readonly methods: readonly string[];
  readonly fitted: FitResult & { readonly fingerprint: RunFingerprint };
  readonly selection?: PointSelection;
  /** The fitted OPNP state at the chosen point, when one was determined. */
  readonly opnpState?: OpnpState;
  readonly skips: SkipLog;
}

/** Opens the sets, runs the training pass and fixes or searches the OPNP point (stages 1-3). */
export async function prepareEvaluation(model: LoadedModel, config: ResolvedConfig, info: (m: string) => void): Promise<PreparedEvaluation> {
  const sources = await openSources(model, config, info);
  const methods = await usableMethods(config, sources, info);
  const needs = methodNeeds(config.registry, methods);
  const skips = skipLog(config);
  const fitted = await runFit(model, sources, config, { opnp: needs.opnp || config.collectArtifacts === true, fit: needs.fit }, (s) => skips.add('train', s));
  let selection: PointSelection | undefined;
  if (fitted.opnp) {
    selection = await selectPoint(model, sources.test, sources.valOod, fitted.opnp, {
      batchSize: config.batchSize,
      ...(config.signal ? { signal: config.signal } : {}),
      ...(config.percentages ? { percentages: config.percentages } : {}),
      valFraction: config.valFraction,
      seed: config.seed,
      onInfo: info,
      onSkip: skips.add,
    });
  }
  const opnpState = fitted.opnp && selection ? { ...fitted.opnp, percentages: selection.percentages } : undefined;
  return { sources, methods, fitted, ...(selection ? { selection } : {}), ...(opnpState ? { opnpState } : {}), skips };
}

/** The options of the scoring stage of a prepared evaluation (all of each set, or one shard of each with `shard`). */
export function scoreOptionsOf(model: LoadedModel, config: ResolvedConfig, prepared: PreparedEvaluation, artifacts: boolean, shard?: ShardInfo): ScoreOptions {
  const { fitted, opnpState } = prepared;
  return {
    batchSize: config.batchSize,
    ...(config.signal ? { signal: config.signal } : {}),
    registry: config.registry,
    methods: prepared.methods,
    ...(config.methodOptions ? { methodOptions: config.methodOptions } : {}),
    context: { head: model.extractor.head, kernel: model.kernel, fitFeatures: fitted.fitFeatures, fitLabels: fitted.fitLabels, ...(opnpState ? { opnp: opnpState } : {}) },
    evalIndices: prepared.selection?.evalIndices ?? allIndices(prepared.sources.test.count),
    ...(artifacts && opnpState ? { artifacts: opnpState } : {}),
    ...(shard ? { shard } : {}),
    ...(config.onProgress ? { onProgress: config.onProgress } : {}),
    onSkip: prepared.skips.add,
  };
}

/** The summary inputs of a prepared and scored evaluation. */
export function summaryInputsOf(model: LoadedModel, config: ResolvedConfig, prepared: PreparedEvaluation, scores: ScoreResult): SummaryInputs {
  const head = model.extractor.head;
  return {
    classes: head.weight.rows,
    featureDim: head.weight.cols,
    methods: prepared.methods,
    registry: config.registry,
    ...(config.methodOptions ? { methodOptions: config.methodOptions } : {}),
    fit: prepared.fitted,
    ...(prepared.selection ? { selection: prepared.selection } : {}),
    scores,
    opnpEvaluated: prepared.fitted.opnp !== undefined,
    skipped: prepared.skips.sets,
  };
}

async function evaluateLoaded(model: LoadedModel, config: ResolvedConfig, info: (m: string) => void): Promise<EvaluationResult> {
  const prepared = await prepareEvaluation(model, config, info);
  const collect = config.collectArtifacts === true;
  const scores = await score(prepared.sources.test, prepared.sources.ood, scoreOptionsOf(model, config, prepared, collect));
  const report = summarize(summaryInputsOf(model, config, prepared, scores));
  const { fitted, selection } = prepared;
  if (!collect || !fitted.opnp || !selection) return { report };
  return { report, artifacts: collectArtifacts({ opnp: fitted.opnp }, selection, scores, prepared.skips.sets) };
}
