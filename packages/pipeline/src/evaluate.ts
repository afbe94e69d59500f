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
import { methodNeeds } from './methods/registry.js';
import type { LoadedModel } from './model.js';
import { withLoadedModel } from './with-model.js';
import { resolveConfig, type ResolvedConfig } from './stages/config.js';
import { fitRun } from './stages/fit.js';
import { skipLog } from './stages/skips.js';
import { openSources, type EvaluationSources } from './stages/sources.js';
import { allIndices, selectPoint, type PointSelection } from './stages/select-point.js';
import { score } from './stages/score.js';
import { collectArtifacts, summarize } from './stages/summarize.js';

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
  const resolved = resolveConfig(config);
  const info = config.onInfo ?? (() => undefined);
  for (const name of Object.keys(config.methodOptions ?? {})) {
    if (!resolved.methods.includes(name)) info(`options for ${name} are not used: ${name} is not among the methods`);
  }
  const options = { batchSize: resolved.batchSize, ...(config.signal ? { signal: config.signal } : {}), onInfo: info };
  return withLoadedModel(config.model, options, (model) => evaluateLoaded(model, resolved, info));
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

async function evaluateLoaded(model: LoadedModel, config: ResolvedConfig, info: (m: string) => void): Promise<EvaluationResult> {
  const head = model.extractor.head;
  const sources = await openSources(model, config, info);
  const methods = await usableMethods(config, sources, info);
  const collect = config.collectArtifacts === true;
  const needs = methodNeeds(config.registry, methods);
  const skips = skipLog(config.onSkip);
  const fitted = await fitRun(model, sources, config, { opnp: needs.opnp || collect, fit: needs.fit }, (s) => skips.add('train', s));
  const common = { batchSize: config.batchSize, ...(config.signal ? { signal: config.signal } : {}) };
  let selection: PointSelection | undefined;
  if (fitted.opnp) {
    selection = await selectPoint(model, sources.test, sources.valOod, fitted.opnp, {
      ...common,
      ...(config.percentages ? { percentages: config.percentages } : {}),
      valFraction: config.valFraction,
      seed: config.seed,
      onInfo: info,
      onSkip: skips.add,
    });
  }
  const opnpState = fitted.opnp && selection ? { ...fitted.opnp, percentages: selection.percentages } : undefined;
  const scores = await score(sources.test, sources.ood, {
    ...common,
    registry: config.registry,
    methods,
    ...(config.methodOptions ? { methodOptions: config.methodOptions } : {}),
    context: { head, kernel: model.kernel, fitFeatures: fitted.fitFeatures, fitLabels: fitted.fitLabels, ...(opnpState ? { opnp: opnpState } : {}) },
    evalIndices: selection?.evalIndices ?? allIndices(sources.test.count),
    ...(collect && opnpState ? { artifacts: opnpState } : {}),
    ...(config.onProgress ? { onProgress: config.onProgress } : {}),
    onSkip: skips.add,
  });
  const report = summarize({
    classes: head.weight.rows,
    featureDim: head.weight.cols,
    methods,
    registry: config.registry,
    ...(config.methodOptions ? { methodOptions: config.methodOptions } : {}),
    fit: fitted,
    ...(selection ? { selection } : {}),
    scores,
    opnpEvaluated: fitted.opnp !== undefined,
    skipped: skips.sets,
  });
  if (!collect || !fitted.opnp || !selection) return { report };
  return { report, artifacts: collectArtifacts({ ...fitted, opnp: fitted.opnp }, selection, scores, skips.sets) };
}
