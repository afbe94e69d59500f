/**
 * An evaluation as explicit stages, each usable alone ({@link openSources}, {@link fit},
 * {@link selectPoint}, {@link score}, {@link summarize}); {@link evaluate} runs them in order:
 *
 * 1. open every set and settle the preprocessing (fails fast on missing data);
 * 2. fit: the training pass (sensitivity + fit subset; checkpointable, or a saved state of this run);
 * 3. validation ({@link collectValidation}), when something is searched: the OPNP point (fixed, or grid search
 *    on validation data only, {@link selectPoint}) and, with `searchBaselines`, the baselines' hyper-parameters
 *    ({@link searchBaselines}), on the same validation data;
 * 4. score the ID test samples and every OOD set with every method;
 * 5. summarize: metrics per (method, OOD set) and their averages.
 */
import { OpnpError } from '@opnp/core';
import type { EvalArtifacts, EvalReport, EvaluationConfig } from './evaluation-types.js';
import type { SkippedSample } from './features-meta.js';
import { methodNeeds, type MethodContext, type MethodOptionOverrides } from './methods/registry.js';
import type { LoadedModel } from './model.js';
import { withLoadedModel } from './with-model.js';
import { resolveConfig, validationNeeds, type ResolvedConfig } from './stages/config.js';
import { checkMethods } from './stages/check-methods.js';
import { adaptToTrainingRows } from './stages/adapt-methods.js';
import { thinFitWarnings } from './stages/fit-warnings.js';
import { searchBaselines, type BaselineSearchResult } from './stages/search-baselines.js';
import { collectValidation, type ValidationData } from './stages/validation.js';
import { fitRun } from './stages/fit.js';
import { skipLog } from './stages/skips.js';
import { openSources, type EvaluationSources } from './stages/sources.js';
import { allIndices, selectPoint, type PointSelection } from './stages/select-point.js';
import { score, type ScoreOptions, type ScoreResult } from './stages/score.js';
import { collectArtifacts, summarize, type SummaryInputs } from './stages/summarize.js';
import type { RunFingerprint } from './fingerprint.js';
import type { OpnpState } from './methods/registry.js';
import type { ShardInfo } from './state-file.js';
import type { FitResult } from './stages/fit.js';
import type { SkipLog } from './stages/skips.js';
import { optionNames } from './option-names.js';

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
 * Resolves `config`, loads its model (when given as a file) and runs `body` with both; the model is released
 * afterwards and an abort becomes {@link InterruptedError}. Shared by {@link evaluate} and the sharded evaluation.
 */
export async function withEvaluationModel<T>(config: EvaluationConfig, body: (model: LoadedModel, resolved: ResolvedConfig, info: (m: string) => void) => Promise<T>): Promise<T> {
  const resolved = resolveConfig(config);
  const info = config.onInfo ?? (() => undefined);
  // A warning (an option the user set has no effect on the results), not a note: it must survive a quiet run.
  const warn = config.onWarning ?? info;
  for (const name of Object.keys(config.methodOptions ?? {})) {
    if (!resolved.methods.includes(name)) warn(`options for ${name} are not used: ${name} is not among the methods`);
  }
  const options = { batchSize: resolved.batchSize, batchSizeExplicit: config.batchSize !== undefined, ...(config.signal ? { signal: config.signal } : {}), onInfo: info, ...(config.optionNames ? { optionNames: config.optionNames } : {}) };
  return withLoadedModel(config.model, options, (model, batchSize) => body(model, { ...resolved, batchSize }, info));
}

/** Drops methods that need training labels when there are none and the user did not ask for them explicitly. */
async function usableMethods(config: ResolvedConfig, sources: EvaluationSources, info: (m: string) => void): Promise<string[]> {
  const needing = config.methods.filter((m) => config.registry.get(m).needs?.labels === true);
  if (needing.length === 0) return [...config.methods];
  const labels = await sources.train.readLabels();
  if (labels.some((l) => l >= 0)) return [...config.methods];
  const names = optionNames(config.optionNames);
  const need = `${needing.join(', ')} need${needing.length === 1 ? 's' : ''} training labels`;
  if (config.trainLabels !== undefined) {
    // A labels file was given but holds none: an unlabelled set's labels (all -1), not a file to ignore.
    throw new OpnpError('INVALID_ARGUMENT', `${need}, but ${names.trainLabels} ${config.trainLabels} holds none: every one of its ${labels.length} entries is -1 (the labels of an unlabelled set, such as a #nolabels extraction)`, {
      file: config.trainLabels,
      hint: `Give the training set's labels file, or leave ${needing.join(', ')} out of ${names.methods}`,
    });
  }
  if (config.methodsExplicit) {
    throw new OpnpError('INVALID_ARGUMENT', need, { hint: `Pass ${names.trainLabels} (a labels file), or leave ${needing.join(', ')} out of ${names.methods}` });
  }
  info(`no training labels: skipping ${needing.join(', ')} (pass ${names.trainLabels} to include ${needing.length === 1 ? 'it' : 'them'})`);
  return config.methods.filter((m) => !needing.includes(m));
}

/** The validation data, when the OPNP point or the baselines are searched. */
async function runValidation(model: LoadedModel, sources: EvaluationSources, config: ResolvedConfig, methods: readonly string[], onSkip: (set: string, skip: SkippedSample) => void): Promise<ValidationData | undefined> {
  const needs = validationNeeds(config, methods);
  if (!needs.opnp && !needs.baselines) return undefined;
  return collectValidation(model, sources.test, sources.valOod, {
    valFraction: config.valFraction,
    seed: config.seed,
    batchSize: config.batchSize,
    ...(config.signal ? { signal: config.signal } : {}),
    ...(config.onProgress ? { onProgress: config.onProgress } : {}),
    onSkip,
  });
}

/** The user's method options with the values the baseline search chose (the user's own are never searched). */
function withSearched(options: MethodOptionOverrides, search: BaselineSearchResult | undefined): MethodOptionOverrides {
  if (!search) return options;
  const out: Record<string, Readonly<Record<string, number | string | boolean>>> = { ...options };
  for (const [method, searched] of Object.entries(search.methods)) out[method] = { ...options[method], ...searched.chosen };
  return out;
}

/** The per-channel normalisation std of the sets run through the model, for ODIN's step. */
function inputStdOf(sources: EvaluationSources): readonly number[] | undefined {
  const std = sources.test.preprocess?.std;
  return std === undefined ? undefined : typeof std === 'number' ? [std] : [...std];
}

/** An evaluation up to its scoring: the sets opened, the methods fitted, the OPNP point and the baselines' values chosen. */
export interface PreparedEvaluation {
  readonly sources: EvaluationSources;
  readonly methods: readonly string[];
  readonly fitted: FitResult & { readonly fingerprint: RunFingerprint };
  readonly selection?: PointSelection;
  /** The fitted OPNP state at the chosen point, when one was determined. */
  readonly opnpState?: OpnpState;
  /** What the methods are fitted and scored with. */
  readonly context: MethodContext;
  /** What the baseline search chose (with `searchBaselines`). */
  readonly baselineSearch?: BaselineSearchResult;
  /** The user's method options with the searched values. */
  readonly methodOptions: MethodOptionOverrides;
  /** Ascending ID test indices of the test metrics. */
  readonly evalIndices: Uint32Array;
  readonly skips: SkipLog;
}

/** Opens the sets, runs the training pass, reads the validation data and fixes or searches the OPNP point and the baselines (stages 1-3). */
export async function prepareEvaluation(model: LoadedModel, config: ResolvedConfig, info: (m: string) => void): Promise<PreparedEvaluation> {
  const sources = await openSources(model, config, info);
  const methods = await usableMethods(config, sources, info);
  checkMethods(model, config, methods, sources, info);
  const needs = methodNeeds(config.registry, methods);
  if (config.percentages && !needs.opnp) info('the OPNP percentages given are not used: none of the methods prunes with them (add opnp to the methods)');
  const skips = skipLog(config.onSkip);
  const fitted = await fitRun(model, sources, config, { opnp: needs.opnp || config.collectArtifacts === true, fit: needs.fit, knnFit: needs.knnFit === true }, (s) => skips.add('train', s));
  const common = { batchSize: config.batchSize, ...(config.signal ? { signal: config.signal } : {}) };
  const progress = config.onProgress ? { onProgress: config.onProgress } : {};
  const validation = await runValidation(model, sources, config, methods, skips.add);
  let selection: PointSelection | undefined;
  if (fitted.opnp) {
    selection = await selectPoint(model, sources.test, sources.valOod, fitted.opnp, {
      ...common,
      ...progress,
      ...(config.percentages ? { percentages: config.percentages } : {}),
      ...(validation ? { validation } : {}),
      valFraction: config.valFraction,
      seed: config.seed,
      onInfo: info,
      onSkip: skips.add,
    });
  }
  const opnpState = fitted.opnp && selection ? { ...fitted.opnp, percentages: selection.percentages } : undefined;
  const inputStd = inputStdOf(sources);
  const context: MethodContext = { head: model.extractor.head, kernel: model.kernel, extractor: model.extractor, ...(inputStd ? { inputStd } : {}), fitFeatures: fitted.fitFeatures, fitLabels: fitted.fitLabels, ...(fitted.knnFitFeatures ? { knnFitFeatures: fitted.knnFitFeatures } : {}), ...(opnpState ? { opnp: opnpState } : {}) };
  const baselineSearch = validation && config.searchBaselines ? await searchBaselines(validation, { ...common, ...progress, registry: config.registry, methods, methodOptions: config.methodOptions, context, onInfo: info, ...(config.optionNames ? { optionNames: config.optionNames } : {}) }) : undefined;
  const trainingRows = { fit: fitted.fitFeatures.rows, knnFit: (fitted.knnFitFeatures ?? fitted.fitFeatures).rows };
  const warn = config.onWarning ?? info;
  const methodOptions = adaptToTrainingRows(config.registry, methods, withSearched(config.methodOptions, baselineSearch), trainingRows, warn);
  const head = model.extractor.head;
  const fitRows = { rows: fitted.fitFeatures.rows, dim: head.weight.cols, classes: head.weight.rows, labels: fitted.fitLabels };
  for (const warning of thinFitWarnings(config.registry, methods, fitRows, config.optionNames)) warn(warning);
  const evalIndices = validation?.evalIndices ?? selection?.evalIndices ?? allIndices(sources.test.count);
  return { sources, methods, fitted, ...(selection ? { selection } : {}), ...(opnpState ? { opnpState } : {}), context, ...(baselineSearch ? { baselineSearch } : {}), methodOptions, evalIndices, skips };
}

/** The options of the scoring stage of a prepared evaluation (all of each set, or one shard of each with `shard`). */
export function scoreOptionsOf(_model: LoadedModel, config: ResolvedConfig, prepared: PreparedEvaluation, artifacts: boolean, shard?: ShardInfo): ScoreOptions {
  const { opnpState } = prepared;
  return {
    batchSize: config.batchSize,
    ...(config.signal ? { signal: config.signal } : {}),
    registry: config.registry,
    methods: prepared.methods,
    methodOptions: prepared.methodOptions,
    context: prepared.context,
    evalIndices: prepared.evalIndices,
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
    methodOptions: prepared.methodOptions,
    ...(config.temperature !== undefined ? { temperature: config.temperature } : {}),
    ...(prepared.baselineSearch ? { baselineSearch: prepared.baselineSearch } : {}),
    fit: prepared.fitted,
    ...(prepared.selection ? { selection: prepared.selection } : {}),
    scores,
    opnpEvaluated: prepared.fitted.opnp !== undefined,
    skipped: prepared.skips.sets,
    ...(config.optionNames ? { optionNames: config.optionNames } : {}),
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
