/**
 * Several runs of one evaluation (models trained with different seeds, as OpenOOD's three checkpoints, or
 * one model evaluated with different `--seed`s): every metric as mean and standard deviation over the
 * runs. The deviation is the population one (divisor n, numpy's default `ddof = 0`), as OpenOOD's
 * `scripts/eval_ood.py` computes it (`np.std(all_metrics, axis=0)`); the averages over OOD sets are
 * averaged per run first, then summarised like every other cell (see docs/numerics.md).
 */
import { OpnpError } from '@opnp/core';
import type { EvalReport, MethodResult } from './evaluation-types.js';
import { optionNames, type OptionNames } from './option-names.js';

/** Mean and population standard deviation of a metric over the runs (fractions 0-1). */
export interface MeanStd {
  readonly mean: number;
  readonly std: number;
}

type Metric = 'fpr95' | 'auroc' | 'auprIn' | 'auprOut';
const METRICS: readonly Metric[] = ['fpr95', 'auroc', 'auprIn', 'auprOut'];

/** One (method, OOD set) cell over the runs. */
export type MethodStats = { readonly method: string; readonly ood: string } & Readonly<Record<Metric, MeanStd>>;

/** What {@link summarizeRuns} returns. */
export interface MultiRunReport {
  /** What the deviation is: `population` (divisor n). */
  readonly std: 'population';
  /** The runs in order: a label each (model file, seed) and its report. */
  readonly runs: readonly { readonly label: string; readonly report: EvalReport }[];
  readonly methods: readonly string[];
  readonly oodSets: readonly string[];
  /** ID accuracy over the runs, or null when a run had no labels. */
  readonly idAccuracy: MeanStd | null;
  readonly results: readonly MethodStats[];
  /** Per method: the per-run averages over the OOD sets, summarised. */
  readonly averages: readonly (Omit<MethodStats, 'ood'>)[];
}

/** Mean and population standard deviation of `values` (float64 sums; the deviation from the mean, not from E[x^2] - mean^2). */
export function meanStd(values: readonly number[]): MeanStd {
  if (values.length === 0) throw new OpnpError('EMPTY_INPUT', 'meanStd of no values');
  let sum = 0;
  for (const v of values) sum += v;
  const mean = sum / values.length;
  let squares = 0;
  for (const v of values) squares += (v - mean) * (v - mean);
  return { mean, std: Math.sqrt(squares / values.length) };
}

function cells(rows: readonly Omit<MethodResult, 'ood'>[], method: string, label: string): Omit<MethodResult, 'ood'> {
  const row = rows.find((r) => r.method === method);
  if (!row) throw new OpnpError('INVALID_ARGUMENT', `Run ${label} has no results of ${method}`);
  return row;
}

function stats(rows: readonly Omit<MethodResult, 'ood'>[]): Readonly<Record<Metric, MeanStd>> {
  return Object.fromEntries(METRICS.map((m) => [m, meanStd(rows.map((r) => r[m]))])) as Record<Metric, MeanStd>;
}

/** How to make runs comparable, in the caller's names of the options. */
function sameRunsHint(names: OptionNames | undefined): string {
  const n = optionNames(names);
  return `Give every run the same ${n.methods} and ${n.ood} (methods dropped for lack of labels differ too: pass ${n.methods})`;
}

/**
 * Summarises runs of one evaluation (see the module comment).
 *
 * @throws OpnpError `INVALID_ARGUMENT` when the runs differ in methods or OOD sets (they are not runs of one evaluation)
 */
export function summarizeRuns(runs: readonly { readonly label: string; readonly report: EvalReport }[], names?: OptionNames): MultiRunReport {
  if (runs.length === 0) throw new OpnpError('INVALID_ARGUMENT', 'No runs to summarise');
  const first = runs[0]!;
  const oodSets = Object.keys(first.report.counts.ood);
  for (const run of runs) {
    const same = run.report.methods.join('\u0000') === first.report.methods.join('\u0000') && Object.keys(run.report.counts.ood).join('\u0000') === oodSets.join('\u0000');
    if (!same) throw new OpnpError('INVALID_ARGUMENT', `Run ${run.label} evaluated other methods or OOD sets than ${first.label}`, { hint: sameRunsHint(names) });
  }
  const { methods } = first.report;
  const results = methods.flatMap((method) =>
    oodSets.map((ood) => ({ method, ood, ...stats(runs.map((r) => cells(r.report.results.filter((x) => x.ood === ood), method, r.label))) })),
  );
  const averages = methods.map((method) => ({ method, ...stats(runs.map((r) => cells(r.report.averages, method, r.label))) }));
  const accuracies = runs.map((r) => r.report.idAccuracy);
  const idAccuracy = accuracies.every((a): a is number => a !== null) ? meanStd(accuracies) : null;
  return { std: 'population', runs: [...runs], methods: [...methods], oodSets, idAccuracy, results, averages };
}
