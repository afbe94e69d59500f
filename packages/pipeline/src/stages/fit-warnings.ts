/**
 * After the training pass: warnings about methods fitted on rows that cannot hold what they estimate
 * (`MethodDefinition.estimates`): classes of the labels without a fit row, or fewer fit rows than feature
 * dimensions for a covariance or principal subspace (docs/numerics.md#thin-fits). The run goes on; the warnings say
 * how far its numbers can be trusted and which option gives the methods more rows.
 */
import type { MethodRegistry } from '../methods/registry.js';
import { optionNames, type OptionNames } from '../option-names.js';

/** The fit rows the methods are fitted on. */
export interface FitRowsInfo {
  /** Fit rows `n_fit`. */
  readonly rows: number;
  /** Feature dimension `D`. */
  readonly dim: number;
  /** Classes `C` of the head. */
  readonly classes: number;
  /** `[n_fit]` labels of the fit rows (-1 = unknown). */
  readonly labels: Int32Array;
}

const plural = (n: number, one: string, many: string): string => `${n} ${n === 1 ? one : many}`;

/** Classes in `[0, classes)` that have at least one row of `labels`. */
export function classesWithRows(labels: Int32Array, classes: number): number {
  const seen = new Uint8Array(classes);
  for (const y of labels) if (y >= 0 && y < classes) seen[y] = 1;
  return seen.reduce((n, v) => n + v, 0);
}

/** What raises the fit rows, in the caller's names of the options. */
function moreRowsHint(names: OptionNames | undefined): string {
  const n = optionNames(names);
  return `raise ${n.fitSamples} / ${n.trainFraction}`;
}

function missingClassesWarning(method: string, kind: 'nearest' | 'predicted', fit: FitRowsInfo, present: number, hint: string): string {
  const missing = fit.classes - present;
  const effect = kind === 'nearest' ? `its scores use the ${plural(present, 'class that has', 'classes that have')}` : 'its scores of samples predicted as one of them are NaN';
  return `${method}: ${missing} of the ${plural(fit.classes, 'class', 'classes')} ${missing === 1 ? 'has' : 'have'} no fit rows (${plural(fit.rows, 'fit row', 'fit rows')}): ${effect}; ${hint}`;
}

function spreadWarning(method: string, spread: 'covariance' | 'subspace', fit: FitRowsInfo, hint: string): string {
  const rows = `${plural(fit.rows, 'fit row', 'fit rows')}, fewer than the ${fit.dim} feature dimensions`;
  const what = spread === 'covariance' ? `its covariance is estimated from ${rows}, so it is singular` : `its principal subspace is estimated from ${rows}`;
  return `${method}: ${what}; ${hint}`;
}

/**
 * The warnings of `methods` fitted on `fit` (see the module comment), at most one per method and kind, in the order
 * of `methods`; none when the fit subset is empty (the methods refuse it on their own).
 */
export function thinFitWarnings(registry: MethodRegistry, methods: readonly string[], fit: FitRowsInfo, names?: OptionNames): string[] {
  if (fit.rows === 0) return [];
  const hint = moreRowsHint(names);
  const present = classesWithRows(fit.labels, fit.classes);
  const out: string[] = [];
  for (const method of methods) {
    const estimates = registry.get(method).estimates;
    if (estimates?.perClass && present > 0 && present < fit.classes) out.push(missingClassesWarning(method, estimates.perClass, fit, present, hint));
    if (estimates?.spread && fit.rows < fit.dim) out.push(spreadWarning(method, estimates.spread, fit, hint));
  }
  return out;
}
