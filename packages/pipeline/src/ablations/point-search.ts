/**
 * Choosing an ablation variant's pruning percentages on validation data, with the rule and the data of the OPNP
 * grid search (docs/numerics.md#best-percentages-on-validation-data): lowest mean FPR95 over the OOD validation sets, ties by higher mean
 * AUROC, then the earliest grid point. Pruners that threshold an importance by the band rule (sensitivity,
 * `|W|`, feature norms) go through the OPNP grid search itself; other pruners (random) are scored point by point.
 */
import { composeScore, evaluateGridPoint, gridPoints, selectGridPoint, type LinearHead, type PruningGrid, type PruningPercentages, type SensitivityLike } from '@opnp/core';
import { oodMetrics } from '@opnp/metrics';
import { phaseReporter } from '../progress.js';
import { searchOpnpPoint } from '../search.js';
import type { AblationSession } from './session.js';

/** A search's choice: the point and its mean validation FPR95 / AUROC. */
export interface ChosenPoint {
  readonly percentages: PruningPercentages;
  readonly validation: { readonly fpr95: number; readonly auroc: number };
}

/** The grid with only its weight axes (`nMin = nMax = 0`): parameter pruning. */
export function weightGrid(grid: PruningGrid): PruningGrid {
  return { pMin: grid.pMin, pMax: grid.pMax, nMin: [0], nMax: [0] };
}

/** The grid with only its neuron axes (`pMin = pMax = 0`): neuron pruning. */
export function neuronGrid(grid: PruningGrid): PruningGrid {
  return { pMin: [0], pMax: [0], nMin: grid.nMin, nMax: grid.nMax };
}

function validationOf(session: AblationSession) {
  if (!session.validation) throw new Error('internal: a search needs the session opened with validation data');
  return session.validation;
}

/** The progress stage of the search of variant `label`. */
const stageOf = (label: string) => `search ${label}`;

/**
 * The OPNP grid search over `grid` with `importance` in place of the sensitivities: the point whose band-rule
 * pruning of the weights by `importance.weights [C x D]` and of the neurons by `importance.neurons [D]` does best.
 * Reports the validation rows scored as stage `search <label>`.
 */
export async function searchBands(session: AblationSession, importance: { readonly weights: SensitivityLike; readonly neurons: ArrayLike<number> }, grid: PruningGrid, label: string): Promise<ChosenPoint> {
  const validation = validationOf(session);
  const { onProgress } = session.config;
  const progress = onProgress ? { onProgress, stage: stageOf(label) } : {};
  const { best } = await searchOpnpPoint(validation.id, validation.ood, { head: session.head, sensitivity: importance.weights, neuronSensitivity: importance.neurons, kernel: session.model.kernel, grid, ...progress });
  return { percentages: best.percentages, validation: { fpr95: best.fpr95, auroc: best.auroc } };
}

/**
 * The point of `grid` whose head (`headAt(point)`, scored with energy) does best on the validation data, point by
 * point (reported as stage `search <label>` in `points`).
 */
export function searchHeads(session: AblationSession, grid: PruningGrid, headAt: (percentages: PruningPercentages) => LinearHead, label: string): ChosenPoint {
  const validation = validationOf(session);
  const points = gridPoints(grid);
  const phase = phaseReporter(session.config.onProgress, stageOf(label), points.length, { unit: 'points' });
  const results = points.map((percentages, index) => {
    phase.step(index);
    const head = headAt(percentages);
    const ood = Object.entries(validation.ood).map(([name, features]) => [name, composeScore(features, { head })] as const);
    return evaluateGridPoint(index, percentages, composeScore(validation.id, { head }), ood, (a, b) => oodMetrics(a, b));
  });
  phase.done(points.length);
  const best = selectGridPoint(results);
  return { percentages: best.percentages, validation: { fpr95: best.fpr95, auroc: best.auroc } };
}
