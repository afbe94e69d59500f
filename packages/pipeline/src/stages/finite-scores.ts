/**
 * The check of a method's scores before its metrics: a NaN or infinite score is refused with the method, the set and
 * the likely cause, instead of the metrics' own `idScores contains a non-finite value` (which names neither and
 * blames the model's outputs). A method fitted on the training features gives NaN when its fit could not hold what
 * it estimates (classes without fit rows, too few rows; see `thinFitWarnings`).
 */
import { OpnpError } from '@opnp/core';
import type { MethodRegistry } from '../methods/registry.js';
import { optionNames, type OptionNames } from '../option-names.js';

/** What {@link assertFiniteScores} says about the cause. */
export interface FiniteScoresContext {
  /** The methods' definitions: methods fitted on the fit subset get the fit as the likely cause. */
  readonly registry?: MethodRegistry;
  /** Rows of the fit subset. */
  readonly fitRows?: number;
  readonly optionNames?: OptionNames;
}

function causeHint(method: string, context: FiniteScoresContext): string {
  const needs = context.registry?.has(method) ? context.registry.get(method).needs : undefined;
  if (!needs?.fit && !needs?.knnFit) return 'Metrics are undefined for NaN or infinite scores; check the model outputs (features and logits) for NaN or infinite values';
  const n = optionNames(context.optionNames);
  const rows = context.fitRows !== undefined ? ` (${context.fitRows} fit row${context.fitRows === 1 ? '' : 's'})` : '';
  return `${method} is fitted on the training features: its fit likely had classes without fit rows or too few rows${rows}; raise ${n.fitSamples} / ${n.trainFraction} (see the warnings before this)`;
}

/**
 * Throws `NON_FINITE` naming `method`, `set` (the ID test set, an OOD set), how many of its scores are not finite and
 * the first offset, when any score is NaN or infinite.
 */
export function assertFiniteScores(scores: Float32Array, method: string, set: string, context: FiniteScoresContext = {}): void {
  let first = -1;
  let count = 0;
  for (let i = 0; i < scores.length; i++) {
    if (Number.isFinite(scores[i])) continue;
    if (first < 0) first = i;
    count++;
  }
  if (first < 0) return;
  throw new OpnpError('NON_FINITE', `Method "${method}" gave ${count} non-finite score${count === 1 ? '' : 's'} (the first: ${String(scores[first])}) for the ${scores.length} samples of ${set}`, {
    offset: first,
    hint: causeHint(method, context),
  });
}
