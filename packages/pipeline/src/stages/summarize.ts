/**
 * Stage 4: the metrics of every method on every OOD set (ID = positive class), their averages over
 * the OOD sets, and the report; with the figure inputs when they were scored.
 */
import { OpnpError } from '@opnp/core';
import { oodMetrics } from '@opnp/metrics';
import type { ScoredSet } from '../collect.js';
import type { CalibrationInputs, EvalArtifacts, EvalReport, MethodResult, SetScores } from '../evaluation-types.js';
import type { SkippedSample } from '../features-meta.js';
import { methodOptionsFor, type MethodOptionOverrides, type MethodRegistry } from '../methods/registry.js';
import type { SensitivityResult } from './fit.js';
import type { PointSelection } from './select-point.js';
import { artifactKey, type ScoreResult } from './score.js';
import type { BaselineSearchResult } from './search-baselines.js';
import { assertFiniteScores, type FiniteScoresContext } from './finite-scores.js';
import type { OptionNames } from '../option-names.js';

/** The training samples the sensitivity covers and the rows of the fit subset (and of KNN's subset, when used). */
export interface FitCounts {
  readonly trainCount: number;
  readonly fitFeatures: { readonly rows: number };
  readonly knnFitFeatures?: { readonly rows: number };
}

/** The chosen OPNP point and how it was chosen (a {@link PointSelection} without the test indices). */
export type ChosenPoint = Omit<PointSelection, 'evalIndices'>;

/** Inputs of {@link summarize}. */
export interface SummaryInputs {
  readonly classes: number;
  readonly featureDim: number;
  readonly methods: readonly string[];
  /** The methods' definitions (for their hyper-parameters); not needed with `resolvedMethodOptions`. */
  readonly registry?: MethodRegistry;
  readonly methodOptions?: MethodOptionOverrides;
  /** The run's temperature, when one was given. */
  readonly temperature?: number;
  /** What the baseline search chose. */
  readonly baselineSearch?: BaselineSearchResult;
  /** Every method's hyper-parameters as it ran with them (instead of `registry` and `methodOptions`). */
  readonly resolvedMethodOptions?: Readonly<Record<string, Record<string, number | string | boolean>>>;
  /** What the report counts of the training pass (a `FitResult` has it). */
  readonly fit: FitCounts;
  /** Present when an OPNP method ran or artifacts were collected. */
  readonly selection?: ChosenPoint;
  readonly scores: ScoreResult;
  /** Whether the OPNP point was determined for this run (an OPNP method, or the figure inputs): the report's `opnp` field. */
  readonly opnpEvaluated: boolean;
  /** Every skipped sample per set key (`train`, `test`, `ood:<name>`, `val:<name>`). */
  readonly skipped: Readonly<Record<string, readonly SkippedSample[]>>;
  /** What messages call the options (see {@link OptionNames}). */
  readonly optionNames?: OptionNames;
}

function scoresOf(set: ScoredSet, method: string, name: string): Float32Array {
  const scores = set.scores.get(method);
  if (!scores) throw new OpnpError('INVALID_ARGUMENT', `No scores of method "${method}" for ${name}`);
  return scores;
}

/**
 * Metrics per (method, OOD set) and per method averaged over the sets.
 *
 * @throws OpnpError `NON_FINITE` naming the method, the set and the likely cause (`context`) when a score is NaN or infinite
 */
export function methodMetrics(methods: readonly string[], scores: ScoreResult, context: FiniteScoresContext = {}): { results: MethodResult[]; averages: Omit<MethodResult, 'ood'>[] } {
  const results: MethodResult[] = [];
  const averages: Omit<MethodResult, 'ood'>[] = [];
  for (const method of methods) {
    const sum = { fpr95: 0, auroc: 0, auprIn: 0, auprOut: 0 };
    const id = scoresOf(scores.id, method, 'the ID test set');
    assertFiniteScores(id, method, 'the ID test set', context);
    for (const [name, set] of scores.ood) {
      const ood = scoresOf(set, method, name);
      assertFiniteScores(ood, method, `the OOD set "${name}"`, context);
      const m = oodMetrics(id, ood);
      results.push({ method, ood: name, fpr95: m.fpr95, auroc: m.auroc, auprIn: m.auprIn, auprOut: m.auprOut });
      sum.fpr95 += m.fpr95;
      sum.auroc += m.auroc;
      sum.auprIn += m.auprIn;
      sum.auprOut += m.auprOut;
    }
    const k = scores.ood.length;
    averages.push({ method, fpr95: sum.fpr95 / k, auroc: sum.auroc / k, auprIn: sum.auprIn / k, auprOut: sum.auprOut / k });
  }
  return { results, averages };
}

/** Every method's hyper-parameters as it ran with them (the values methods chose for absent options included). */
export function resolvedOptions(inputs: Pick<SummaryInputs, 'methods' | 'registry' | 'methodOptions' | 'resolvedMethodOptions' | 'featureDim' | 'classes'>): Record<string, Record<string, number | string | boolean>> {
  if (inputs.resolvedMethodOptions) return Object.fromEntries(inputs.methods.map((m) => [m, { ...inputs.resolvedMethodOptions![m] }]));
  const registry = inputs.registry;
  if (!registry) throw new OpnpError('INVALID_ARGUMENT', 'summarize needs the method registry or the resolved method options');
  const head = { features: inputs.featureDim, classes: inputs.classes };
  return Object.fromEntries(inputs.methods.map((m) => [m, { ...methodOptionsFor(m, registry.get(m), inputs.methodOptions?.[m], head) }]));
}

/** The report (see {@link EvalReport}). */
export function summarize(inputs: SummaryInputs): EvalReport {
  const { scores, selection } = inputs;
  const p = inputs.opnpEvaluated ? selection?.percentages : undefined;
  const finite = { ...(inputs.registry ? { registry: inputs.registry } : {}), fitRows: inputs.fit.fitFeatures.rows, ...(inputs.optionNames ? { optionNames: inputs.optionNames } : {}) };
  const { results, averages } = methodMetrics(inputs.methods, scores, finite);
  return {
    classes: inputs.classes,
    featureDim: inputs.featureDim,
    idAccuracy: scores.id.labelled > 0 ? scores.id.correct / scores.id.labelled : null,
    opnp: p ? { p_min: p.pMin, p_max: p.pMax, n_min: p.nMin, n_max: p.nMax } : null,
    selection: selection?.validation ? { searched: true, validation: selection.validation } : { searched: false },
    counts: {
      train: inputs.fit.trainCount,
      fit: inputs.fit.fitFeatures.rows,
      ...(inputs.fit.knnFitFeatures ? { knnFit: inputs.fit.knnFitFeatures.rows } : {}),
      idTest: scores.id.count,
      ood: Object.fromEntries(scores.ood.map(([name, set]) => [name, set.count])),
      skipped: Object.fromEntries(Object.entries(inputs.skipped).filter(([, list]) => list.length > 0).map(([key, list]) => [key, list.length])),
    },
    methods: [...inputs.methods],
    methodOptions: resolvedOptions(inputs),
    ...(inputs.temperature !== undefined ? { temperature: inputs.temperature } : {}),
    ...(inputs.baselineSearch ? { baselineSearch: inputs.baselineSearch } : {}),
    results,
    averages,
  };
}

/** Calibration inputs of the labelled samples from the artifact scores. */
function calibrationOf(set: ScoredSet, which: 'original' | 'pruned'): CalibrationInputs {
  const conf = scoresOf(set, artifactKey(`conf:${which}`), 'the ID test set');
  const pred = scoresOf(set, artifactKey(`pred:${which}`), 'the ID test set');
  const keep: number[] = [];
  for (let i = 0; i < set.labels.length; i++) if (set.labels[i]! >= 0) keep.push(i);
  return { confidence: Float32Array.from(keep, (i) => conf[i]!), correct: Uint8Array.from(keep, (i) => (pred[i] === set.labels[i] ? 1 : 0)) };
}

/** The figure inputs of a run whose scores include the artifact scorers. */
export function collectArtifacts(fit: { readonly opnp: SensitivityResult }, selection: ChosenPoint, scores: ScoreResult, skipped: SummaryInputs['skipped']): EvalArtifacts {
  const setScores = (key: 'energy' | 'opnp'): SetScores => ({
    id: scoresOf(scores.id, artifactKey(key), 'the ID test set'),
    ood: Object.fromEntries(scores.ood.map(([name, set]) => [name, scoresOf(set, artifactKey(key), name)])),
  });
  const labelled = scores.id.labels.some((l) => l >= 0);
  return {
    sensitivity: fit.opnp.sensitivity,
    neuronSensitivity: fit.opnp.neuronSensitivity,
    percentages: selection.percentages,
    ...(selection.grid ? { grid: selection.grid } : {}),
    scores: { energy: setScores('energy'), opnp: setScores('opnp') },
    ...(labelled ? { calibration: { original: calibrationOf(scores.id, 'original'), pruned: calibrationOf(scores.id, 'pruned') } } : {}),
    skipped,
  };
}
