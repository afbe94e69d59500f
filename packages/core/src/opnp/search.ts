/**
 * OPNP hyperparameter selection on validation data (docs/numerics.md#grid-search).
 */
import { OpnpError } from '../errors.js';
import { concatRows, type Matrix } from '../matrix.js';
import { gridScores, type GridScoreOptions } from './grid.js';
import type { PruningPercentages } from './thresholds.js';

/** FPR95 and AUROC of one (ID, OOD) score pair; pass `oodMetrics` from `@opnp/metrics`. */
export type GridEvaluator = (idScores: Float32Array, oodScores: Float32Array) => { fpr95: number; auroc: number };

/** Validation data: ID validation features and one or more named OOD validation sets (`[N x D]` each). */
export interface ValidationFeatures {
  readonly id: Matrix;
  readonly ood: Readonly<Record<string, Matrix>>;
}

/** One grid point's validation result. */
export interface GridPointResult {
  /** Position in canonical grid order (see `gridPoints`). */
  readonly index: number;
  readonly percentages: PruningPercentages;
  /** Mean FPR95 over the OOD validation sets (fraction 0-1). */
  readonly fpr95: number;
  /** Mean AUROC over the OOD validation sets (fraction 0-1). */
  readonly auroc: number;
  readonly perOod: readonly { readonly name: string; readonly fpr95: number; readonly auroc: number }[];
}

/** The search's outcome: every point's result and the selected one. */
export interface GridSearchResult {
  readonly best: GridPointResult;
  readonly results: readonly GridPointResult[];
}

/**
 * The selection rule: lowest mean FPR95, ties broken by higher mean AUROC, then by the earliest grid
 * point. Returns the chosen result.
 */
export function selectGridPoint(results: readonly GridPointResult[]): GridPointResult {
  if (results.length === 0) throw new OpnpError('EMPTY_INPUT', 'selectGridPoint needs at least one result');
  let best = results[0]!;
  for (const r of results) {
    if (r.fpr95 < best.fpr95 || (r.fpr95 === best.fpr95 && (r.auroc > best.auroc || (r.auroc === best.auroc && r.index < best.index)))) best = r;
  }
  return best;
}

/**
 * One point's validation result: FPR95 and AUROC of the ID validation scores `[n]` against each named OOD
 * validation set's scores, and their means over the sets (equal weight). Used by {@link gridSearch}; any
 * other search over pruned heads (e.g. the random pruners of Table 4) evaluates its points with it too, so that
 * {@link selectGridPoint} compares like with like.
 *
 * @throws OpnpError `EMPTY_INPUT` without OOD sets
 */
export function evaluateGridPoint(
  index: number,
  percentages: PruningPercentages,
  idScores: Float32Array,
  oodScores: readonly (readonly [string, Float32Array])[],
  evaluate: GridEvaluator,
): GridPointResult {
  if (oodScores.length === 0) throw new OpnpError('EMPTY_INPUT', 'A grid point needs at least one OOD validation set');
  const perOod = oodScores.map(([name, scores]) => {
    const { fpr95, auroc } = evaluate(idScores, scores);
    return { name, fpr95, auroc };
  });
  let fprSum = 0;
  let aurocSum = 0;
  for (const r of perOod) {
    fprSum += r.fpr95;
    aurocSum += r.auroc;
  }
  return { index, percentages, fpr95: fprSum / perOod.length, auroc: aurocSum / perOod.length, perOod };
}

/**
 * Grid search of `(pMin, pMax, nMin, nMax)` using only validation data: scores every grid point on the
 * ID validation features and each OOD validation set in one pass ({@link gridScores}), evaluates them
 * with `evaluate`, and selects with {@link selectGridPoint}.
 *
 * @example
 * ```ts
 * import { oodMetrics } from '@opnp/metrics';
 * const { best } = await gridSearch({ id: idVal, ood: { noise: noiseVal } }, { head, sensitivity, neuronSensitivity, evaluate: oodMetrics });
 * ```
 */
export async function gridSearch(
  validation: ValidationFeatures,
  options: GridScoreOptions & { evaluate: GridEvaluator },
): Promise<GridSearchResult> {
  const names = Object.keys(validation.ood);
  if (names.length === 0) throw new OpnpError('EMPTY_INPUT', 'gridSearch needs at least one OOD validation set');
  if (validation.id.rows === 0) throw new OpnpError('EMPTY_INPUT', 'gridSearch needs ID validation features');
  const sets = [validation.id, ...names.map((name) => validation.ood[name]!)];
  const { points, scores } = await gridScores(concatRows(sets), options);
  const offsets: number[] = [0];
  for (const set of sets) offsets.push(offsets[offsets.length - 1]! + set.rows);
  const results = points.map((percentages, index): GridPointResult => {
    const all = scores[index]!;
    const oodScores = names.map((name, o) => [name, all.subarray(offsets[o + 1], offsets[o + 2])] as const);
    return evaluateGridPoint(index, percentages, all.subarray(0, offsets[1]), oodScores, options.evaluate);
  });
  return { best: selectGridPoint(results), results };
}

