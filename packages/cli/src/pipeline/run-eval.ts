/**
 * `opnp eval` as a library function: datasets -> backend -> core -> metrics.
 *
 * 1. Training pass: sensitivity accumulated batch by batch (checkpointable), plus a bounded fit subset
 *    of training features for ReAct / DICE / Mahalanobis / KNN.
 * 2. OPNP point: fixed (`percentages`), or chosen by grid search on a validation split of the ID test set
 *    and OOD validation sets.
 * 3. Scoring: the ID test set (minus the validation split) and every OOD set streamed through every
 *    method's scorer; only scores are kept.
 * 4. Metrics per (method, OOD set) and their averages.
 */
import {
  OpnpError,
  SensitivityAccumulator,
  composeScore,
  energy,
  logits as headLogits,
  msp,
  neuronSensitivity,
  pruneHead,
  pruningMasks,
  type GridPointResult,
  type LinearHead,
  type Matrix,
  type ParameterSensitivity,
  type PruningPercentages,
} from '@opnp/core';
import { splitIndices } from '@opnp/datasets';
import { argmaxRows, oodMetrics } from '@opnp/metrics';
import type { Progress } from '../progress.js';
import { collectFeatures, scoreSet } from './collect.js';
import { openFeatureSource, type FeatureSource, type PreprocessFlags } from './feature-source.js';
import { createScorers, methodNeeds, type Scorer } from './methods.js';
import { loadModel, type LoadedModel } from './model.js';
import { searchOpnpPoint } from './search.js';
import { fitSubset, runTrainingPass, trainingIndices } from './sensitivity.js';
import { readStateFile } from './state-file.js';

/** A named dataset argument. */
export interface NamedSpec {
  readonly name: string;
  readonly spec: string;
}

/** Configuration of {@link runEval}. */
export interface EvalConfig {
  readonly model: string;
  readonly train: string;
  readonly trainLabels?: string;
  readonly trainFraction?: number;
  readonly test: string;
  readonly testLabels?: string;
  readonly ood: readonly NamedSpec[];
  /** Image preprocessing (normalisation, resize, crop, kernel); unset parts follow the model input. */
  readonly preprocess?: PreprocessFlags;
  readonly methods: readonly string[];
  /** Whether `methods` was given explicitly (else methods that cannot run, e.g. Mahalanobis without labels, are dropped with a note). */
  readonly methodsExplicit: boolean;
  readonly percentages?: PruningPercentages;
  readonly valFraction: number;
  readonly valOod: readonly NamedSpec[];
  /** Size of the noise OOD validation set used when `valOod` is empty. */
  readonly valNoise: number;
  readonly seed: number;
  readonly batchSize: number;
  /** Largest number of training rows kept in memory for ReAct / DICE / Mahalanobis / KNN. */
  readonly fitSamples: number;
  readonly knnK: number;
  readonly checkpoint?: string;
  /** A finished sensitivity state (`opnp sensitivity merge --state-out`) used instead of the training pass. */
  readonly sensitivityState?: string;
  /**
   * Also collect the figure inputs ({@link EvalArtifacts}: sensitivities, grid results, energy and OPNP
   * score arrays, calibration inputs). The OPNP point is then always determined (searched unless
   * `percentages` is given), even when no OPNP method is in `methods`.
   */
  readonly collectArtifacts?: boolean;
  readonly signal?: AbortSignal;
  readonly onInfo?: (message: string) => void;
  readonly progress?: (label: string) => Progress;
}

/** One method's metrics on one OOD set (fractions 0-1). */
export interface MethodResult {
  readonly method: string;
  readonly ood: string;
  readonly fpr95: number;
  readonly auroc: number;
  readonly auprIn: number;
  readonly auprOut: number;
}

/** The JSON report of `opnp eval` (fractions 0-1, OPNP percentages in percent). */
export interface EvalReport {
  readonly classes: number;
  readonly featureDim: number;
  /** Top-1 accuracy of the model on the evaluated ID test samples, or null without labels. */
  readonly idAccuracy: number | null;
  /** The OPNP point in percent, or null when no OPNP method ran. */
  readonly opnp: { p_min: number; p_max: number; n_min: number; n_max: number } | null;
  readonly selection: {
    readonly searched: boolean;
    /** Mean validation FPR95 / AUROC of the chosen point (search only). */
    readonly validation?: { fpr95: number; auroc: number; idSamples: number; ood: Record<string, number> };
  };
  readonly counts: { train: number; fit: number; idTest: number; ood: Record<string, number> };
  readonly methods: string[];
  readonly results: MethodResult[];
  /** Per method: metrics averaged over the OOD sets. */
  readonly averages: Omit<MethodResult, 'ood'>[];
}

/** Scores `[n]` of the ID test set and of each OOD set (in `config.ood` order). */
export interface SetScores {
  readonly id: Float32Array;
  readonly ood: Readonly<Record<string, Float32Array>>;
}

/** Calibration inputs of one head on the labelled ID test samples: max softmax `[n]` and correctness `[n]` (0/1). */
export interface CalibrationInputs {
  readonly confidence: Float32Array;
  readonly correct: Uint8Array;
}

/** What `opnp report` draws, collected by {@link runEvalWithArtifacts}. */
export interface EvalArtifacts {
  /** Parameter sensitivity `s [C x D]`. */
  readonly sensitivity: ParameterSensitivity;
  /** Neuron sensitivity `s_j [D]` (mean over classes). */
  readonly neuronSensitivity: Float64Array;
  /** The OPNP point used for the `opnp` scores. */
  readonly percentages: PruningPercentages;
  /** Every grid point's validation result, when the point was searched. */
  readonly grid?: readonly GridPointResult[];
  /** Energy of the original head and of the OPNP-pruned head (mode `opnp`, no ReAct). */
  readonly scores: { readonly energy: SetScores; readonly opnp: SetScores };
  /** Original and pruned head on the labelled ID test samples; undefined without labels. */
  readonly calibration?: { readonly original: CalibrationInputs; readonly pruned: CalibrationInputs };
}

const ARTIFACT = '\u0000artifact:';

/** Scorers of the artifact arrays (prefixed keys so they never clash with method names). */
function artifactScorers(head: LinearHead, pruned: LinearHead): Map<string, Scorer> {
  const predicted = (f: Matrix) => Float32Array.from(argmaxRows(f));
  return new Map<string, Scorer>([
    [`${ARTIFACT}energy`, (_h, f) => energy(f)],
    [`${ARTIFACT}opnp`, (h) => composeScore(h, { head: pruned })],
    [`${ARTIFACT}conf:original`, (_h, f) => msp(f)],
    [`${ARTIFACT}pred:original`, (_h, f) => predicted(f)],
    [`${ARTIFACT}conf:pruned`, (h) => msp(headLogits(pruned, h))],
    [`${ARTIFACT}pred:pruned`, (h) => predicted(headLogits(pruned, h))],
  ]);
}

/** Calibration inputs of the labelled samples from the artifact scores. */
function calibrationOf(scores: ReadonlyMap<string, Float32Array>, labels: Int32Array, which: 'original' | 'pruned'): CalibrationInputs {
  const conf = scores.get(`${ARTIFACT}conf:${which}`)!;
  const pred = scores.get(`${ARTIFACT}pred:${which}`)!;
  const keep: number[] = [];
  for (let i = 0; i < labels.length; i++) if (labels[i]! >= 0) keep.push(i);
  return {
    confidence: Float32Array.from(keep, (i) => conf[i]!),
    correct: Uint8Array.from(keep, (i) => (pred[i] === labels[i] ? 1 : 0)),
  };
}

const silentProgress = (): Progress => ({ update: () => undefined, done: () => undefined });

function allIndices(n: number): Uint32Array {
  return Uint32Array.from({ length: n }, (_, i) => i);
}

/** Runs the whole evaluation and returns the report. */
export async function runEval(config: EvalConfig): Promise<EvalReport> {
  return (await runEvalWithArtifacts({ ...config, collectArtifacts: false })).report;
}

/** Runs the whole evaluation; with `collectArtifacts` also returns the figure inputs. */
export async function runEvalWithArtifacts(config: EvalConfig): Promise<{ report: EvalReport; artifacts?: EvalArtifacts }> {
  const info = config.onInfo ?? (() => undefined);
  const progress = config.progress ?? silentProgress;
  const model = await loadModel(config.model, (m) => info(`model: ${m}`));
  try {
    return await evaluateWith(model, config, info, progress);
  } finally {
    await model.extractor.dispose();
  }
}

async function evaluateWith(
  model: LoadedModel,
  config: EvalConfig,
  info: (m: string) => void,
  progress: (label: string) => Progress,
): Promise<{ report: EvalReport; artifacts?: EvalArtifacts }> {
  const head = model.extractor.head;
  const C = head.weight.rows;
  const D = head.weight.cols;
  const common = { model, ...(config.preprocess ? { preprocess: config.preprocess } : {}) };
  const open = (spec: string, labelsFile?: string) => openFeatureSource(spec, { ...common, ...(labelsFile !== undefined ? { labelsFile } : {}) });
  const train = await open(config.train, config.trainLabels);
  const test = await open(config.test, config.testLabels);
  const oodSources: [string, FeatureSource][] = [];
  for (const { name, spec } of config.ood) oodSources.push([name, await open(spec)]);
  if (oodSources.length === 0) throw new OpnpError('INVALID_ARGUMENT', 'At least one --ood <name>=<dataset> is needed');

  let methods = [...config.methods];
  const indices = trainingIndices(train.count, config.trainFraction, config.seed);
  if (methodNeeds(methods).labels) {
    const labels = await train.readLabels();
    if (!indices.some((i) => labels[i]! >= 0)) {
      if (config.methodsExplicit) throw new OpnpError('INVALID_ARGUMENT', 'mahalanobis needs training labels', { hint: 'Pass --train-labels <file>, or leave mahalanobis out of --methods' });
      methods = methods.filter((m) => m !== 'mahalanobis');
      info('no training labels: skipping mahalanobis (pass --train-labels to include it)');
    }
  }
  const collect = config.collectArtifacts === true;
  const needs = { ...methodNeeds(methods) };
  // The figures need the sensitivity and an OPNP point even when no OPNP method is evaluated.
  if (collect) needs.opnp = true;
  const fit = needs.fit ? fitSubset(indices, config.fitSamples, config.seed) : new Uint32Array(0);
  const batch = { batchSize: config.batchSize, ...(config.signal ? { signal: config.signal } : {}) };

  // 1. Training pass.
  let accumulator: SensitivityAccumulator | undefined;
  let fitFeatures: Matrix = { rows: 0, cols: D, data: new Float32Array(0) };
  let fitLabels: Int32Array = new Int32Array(0);
  if (config.sensitivityState !== undefined && needs.opnp) {
    const { state } = await readStateFile(config.sensitivityState);
    accumulator = SensitivityAccumulator.fromState(head, state, { kernel: model.kernel });
    info(`sensitivity: ${state.count} samples from ${config.sensitivityState}`);
    if (fit.length > 0) ({ features: fitFeatures, labels: fitLabels } = await collectFeatures(train, { ...batch, subset: fit, dim: D }));
  } else if (needs.opnp || needs.fit) {
    const pass = await runTrainingPass({
      model,
      source: train,
      indices: needs.opnp ? indices : fit,
      batchSize: config.batchSize,
      fitIndices: fit,
      progress: progress('train'),
      ...(config.checkpoint !== undefined && needs.opnp ? { checkpoint: { path: config.checkpoint } } : {}),
      ...(config.signal ? { signal: config.signal } : {}),
      onInfo: info,
    });
    if (needs.opnp) accumulator = pass.accumulator;
    fitFeatures = pass.fitFeatures;
    fitLabels = pass.fitLabels;
  }
  const sensitivity = accumulator?.result();
  const neuron = sensitivity ? neuronSensitivity(sensitivity) : new Float64Array(D);

  // 2. The OPNP point.
  let percentages = config.percentages;
  let evalIndices = allIndices(test.count);
  let validation: EvalReport['selection']['validation'];
  let grid: readonly GridPointResult[] | undefined;
  if (needs.opnp && percentages === undefined) {
    const split = splitIndices(test.count, { fraction: config.valFraction, seed: config.seed });
    evalIndices = split.train;
    if (evalIndices.length === 0) throw new OpnpError('INVALID_ARGUMENT', '--val-fraction leaves no ID test samples to evaluate', { actual: config.valFraction });
    const idVal = (await collectFeatures(test, { ...batch, subset: split.validation, dim: D })).features;
    const valOod: Record<string, Matrix> = {};
    const valSpecs = config.valOod.length > 0 ? config.valOod : [{ name: 'noise', spec: `noise:${config.valNoise}#seed=${config.seed + 1001}` }];
    if (config.valOod.length === 0) info(`no --val-ood: using ${config.valNoise} seeded uniform-noise images as the OOD validation set`);
    const valCounts: Record<string, number> = {};
    for (const { name, spec } of valSpecs) {
      const source = await open(spec);
      valOod[name] = (await collectFeatures(source, { ...batch, dim: D })).features;
      valCounts[name] = source.count;
    }
    const { best, results } = await searchOpnpPoint(idVal, valOod, { head, sensitivity: sensitivity!, neuronSensitivity: neuron, kernel: model.kernel });
    percentages = best.percentages;
    grid = results;
    validation = { fpr95: best.fpr95, auroc: best.auroc, idSamples: idVal.rows, ood: valCounts };
    info(
      `grid search (${results.length} points, ${idVal.rows} ID validation samples): chose p_min=${percentages.pMin} p_max=${percentages.pMax} ` +
        `n_min=${percentages.nMin} n_max=${percentages.nMax} (validation FPR95 ${(best.fpr95 * 100).toFixed(2)}%, AUROC ${(best.auroc * 100).toFixed(2)}%)`,
    );
  }

  // 3. Scoring.
  const scorers = createScorers(methods, {
    head,
    fitFeatures,
    fitLabels,
    sensitivity: sensitivity ?? { classes: C, dim: D, count: 0, values: new Float64Array(C * D) },
    neuronSensitivity: neuron,
    percentages: percentages ?? { pMin: 0, pMax: 0, nMin: 0, nMax: 0 },
    reactPercentile: 90,
    dicePercentile: 90,
    ashPercentile: 90,
    knnK: config.knnK,
  });
  const prunedHead = collect ? pruneHead(head, pruningMasks(sensitivity!, neuron, percentages!, 'opnp')) : undefined;
  const allScorers = prunedHead ? new Map([...scorers, ...artifactScorers(head, prunedHead)]) : scorers;
  const id = await scoreSet(test, allScorers, { ...batch, subset: evalIndices, count: evalIndices.length }, progress('test'));
  const results: MethodResult[] = [];
  const oodCounts: Record<string, number> = {};
  const oodScores: [string, Map<string, Float32Array>][] = [];
  for (const [name, source] of oodSources) {
    const scored = await scoreSet(source, allScorers, { ...batch, count: source.count }, progress(name));
    oodCounts[name] = scored.count;
    oodScores.push([name, scored.scores]);
  }

  // 4. Metrics.
  const averages: Omit<MethodResult, 'ood'>[] = [];
  for (const method of methods) {
    const sum = { fpr95: 0, auroc: 0, auprIn: 0, auprOut: 0 };
    for (const [name, scores] of oodScores) {
      const m = oodMetrics(id.scores.get(method)!, scores.get(method)!);
      results.push({ method, ood: name, fpr95: m.fpr95, auroc: m.auroc, auprIn: m.auprIn, auprOut: m.auprOut });
      sum.fpr95 += m.fpr95;
      sum.auroc += m.auroc;
      sum.auprIn += m.auprIn;
      sum.auprOut += m.auprOut;
    }
    const k = oodScores.length;
    averages.push({ method, fpr95: sum.fpr95 / k, auroc: sum.auroc / k, auprIn: sum.auprIn / k, auprOut: sum.auprOut / k });
  }
  const p = needs.opnp ? percentages! : undefined;
  const report: EvalReport = {
    classes: C,
    featureDim: D,
    idAccuracy: id.labelled > 0 ? id.correct / id.labelled : null,
    opnp: p ? { p_min: p.pMin, p_max: p.pMax, n_min: p.nMin, n_max: p.nMax } : null,
    selection: validation ? { searched: true, validation } : { searched: false },
    counts: { train: needs.opnp ? (accumulator?.count ?? 0) : 0, fit: fitFeatures.rows, idTest: id.count, ood: oodCounts },
    methods,
    results,
    averages,
  };
  if (!collect) return { report };
  const setScores = (key: string): SetScores => ({
    id: id.scores.get(`${ARTIFACT}${key}`)!,
    ood: Object.fromEntries(oodScores.map(([name, scores]) => [name, scores.get(`${ARTIFACT}${key}`)!])),
  });
  const labelled = id.labels.some((l) => l >= 0);
  return {
    report,
    artifacts: {
      sensitivity: sensitivity!,
      neuronSensitivity: neuron,
      percentages: percentages!,
      ...(grid ? { grid } : {}),
      scores: { energy: setScores('energy'), opnp: setScores('opnp') },
      ...(labelled ? { calibration: { original: calibrationOf(id.scores, id.labels, 'original'), pruned: calibrationOf(id.scores, id.labels, 'pruned') } } : {}),
    },
  };
}
