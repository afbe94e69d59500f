/**
 * Stage 2: the OPNP point. Fixed by the user, or chosen by grid search on validation data only: a seeded
 * split of the ID test set (then left out of the test metrics) and the OOD validation sets.
 */
import { OpnpError, type GridPointResult, type Matrix, type PruningPercentages } from '@opnp/core';
import { splitIndices } from '@opnp/datasets';
import { collectFeatures } from '../collect.js';
import type { SkippedSample } from '../features-meta.js';
import type { FeatureSource } from '../feature-source.js';
import type { LoadedModel } from '../model.js';
import { searchOpnpPoint } from '../search.js';
import type { SensitivityResult } from './fit.js';

/** The chosen point and which ID test samples remain for the test metrics. */
export interface PointSelection {
  readonly percentages: PruningPercentages;
  readonly searched: boolean;
  /** Every grid point's validation result (search only). */
  readonly grid?: readonly GridPointResult[];
  /** Mean validation FPR95 / AUROC of the chosen point and the validation set sizes (search only). */
  readonly validation?: { fpr95: number; auroc: number; idSamples: number; ood: Record<string, number> };
  /** Ascending ID test indices left for the test metrics. */
  readonly evalIndices: Uint32Array;
}

/** Options of {@link selectPoint}. */
export interface SelectPointOptions {
  /** A fixed point: no search. */
  readonly percentages?: PruningPercentages;
  /** Share of the ID test set held out for the search (when no `idValidation` set is given). */
  readonly valFraction: number;
  /** A separate ID validation set: the search uses it and the whole test set stays for the test metrics. */
  readonly idValidation?: FeatureSource;
  readonly seed: number;
  readonly batchSize: number;
  readonly signal?: AbortSignal;
  readonly onInfo?: (message: string) => void;
  readonly onSkip?: (set: string, skip: SkippedSample) => void;
}

/** All indices `0 .. n-1`. */
export function allIndices(n: number): Uint32Array {
  return Uint32Array.from({ length: n }, (_, i) => i);
}

/** Validation features of the grid search and the ID test indices left for the test metrics. */
export interface ValidationSplit {
  /** `[n_val x D]` ID validation features. */
  readonly id: Matrix;
  /** `[m x D]` features of each OOD validation set, by name. */
  readonly ood: Readonly<Record<string, Matrix>>;
  /** Samples per OOD validation set. */
  readonly sizes: Readonly<Record<string, number>>;
  /** Ascending ID test indices left for the test metrics. */
  readonly evalIndices: Uint32Array;
}

/** Options of {@link collectValidation}: {@link SelectPointOptions} without the fixed point. */
export type ValidationOptions = Omit<SelectPointOptions, 'percentages' | 'onInfo'>;

/**
 * Reads the validation data into memory: the seeded `valFraction` split of the ID test set (or the separate
 * `idValidation` set, leaving the whole test set for the test metrics) and every OOD validation set.
 *
 * @throws OpnpError `INVALID_ARGUMENT` when the validation split leaves no test samples
 */
export async function collectValidation(model: LoadedModel, test: FeatureSource, valOod: readonly (readonly [string, FeatureSource])[], options: ValidationOptions): Promise<ValidationSplit> {
  const D = model.extractor.head.weight.cols;
  const batch = (set: string) => ({ batchSize: options.batchSize, dim: D, ...(options.signal ? { signal: options.signal } : {}), onSkip: (s: SkippedSample) => options.onSkip?.(set, s) });
  let evalIndices = allIndices(test.count);
  let id: Matrix;
  if (options.idValidation) id = (await collectFeatures(options.idValidation, batch('val:id'))).features;
  else {
    const split = splitIndices(test.count, { fraction: options.valFraction, seed: options.seed });
    if (split.train.length === 0) throw new OpnpError('INVALID_ARGUMENT', 'The validation fraction leaves no ID test samples to evaluate', { actual: options.valFraction });
    evalIndices = split.train;
    id = (await collectFeatures(test, { ...batch('test'), subset: split.validation })).features;
  }
  const ood: Record<string, Matrix> = {};
  const sizes: Record<string, number> = {};
  for (const [name, source] of valOod) {
    ood[name] = (await collectFeatures(source, batch(`val:${name}`))).features;
    sizes[name] = ood[name].rows;
  }
  return { id, ood, sizes, evalIndices };
}

/**
 * Fixes or searches the OPNP point (see the module comment).
 *
 * @throws OpnpError `INVALID_ARGUMENT` when the validation split leaves no test samples
 */
export async function selectPoint(model: LoadedModel, test: FeatureSource, valOod: readonly (readonly [string, FeatureSource])[], opnp: SensitivityResult, options: SelectPointOptions): Promise<PointSelection> {
  if (options.percentages) return { percentages: options.percentages, searched: false, evalIndices: allIndices(test.count) };
  const validation = await collectValidation(model, test, valOod, options);
  const { best, results } = await searchOpnpPoint(validation.id, validation.ood, { head: model.extractor.head, ...opnp, kernel: model.kernel });
  const p = best.percentages;
  options.onInfo?.(
    `grid search (${results.length} points, ${validation.id.rows} ID validation samples): chose p_min=${p.pMin} p_max=${p.pMax} n_min=${p.nMin} n_max=${p.nMax} ` +
      `(validation FPR95 ${(best.fpr95 * 100).toFixed(2)}%, AUROC ${(best.auroc * 100).toFixed(2)}%)`,
  );
  return { percentages: p, searched: true, grid: results, validation: { fpr95: best.fpr95, auroc: best.auroc, idSamples: validation.id.rows, ood: { ...validation.sizes } }, evalIndices: validation.evalIndices };
}
