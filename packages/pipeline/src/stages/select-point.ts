/**
 * Stage 2: the OPNP point. Fixed by the user, or chosen by grid search on validation data only: a seeded
 * split of the ID test set (then left out of the test metrics) and the OOD validation sets
 * ({@link collectValidation}).
 */
import type { GridPointResult, PruningPercentages } from '@opnp/core';
import type { SkippedSample } from '../features-meta.js';
import type { FeatureSource } from '../feature-source.js';
import type { LoadedModel } from '../model.js';
import type { ProgressListener } from '../progress.js';
import { searchOpnpPoint } from '../search.js';
import type { SensitivityResult } from './fit.js';
import { allIndices, collectValidation, type ValidationData } from './validation.js';

export { allIndices } from './validation.js';

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
  /** Validation data already read ({@link collectValidation}); without it the search reads its own. */
  readonly validation?: ValidationData;
  /** Share of the ID test set held out for the search (when no `idValidation` set is given). */
  readonly valFraction: number;
  /** A separate ID validation set: the search uses it and the whole test set stays for the test metrics. */
  readonly idValidation?: FeatureSource;
  readonly seed: number;
  readonly batchSize: number;
  readonly signal?: AbortSignal;
  /** Progress of the validation reads (`validation <set>`) and of the search (`grid search`). */
  readonly onProgress?: ProgressListener;
  readonly onInfo?: (message: string) => void;
  readonly onSkip?: (set: string, skip: SkippedSample) => void;
}

/**
 * Fixes or searches the OPNP point (see the module comment). A fixed point keeps every test sample for the
 * test metrics unless `validation` was read anyway (for the baseline search).
 *
 * @throws OpnpError `INVALID_ARGUMENT` when the validation split leaves no test samples
 */
export async function selectPoint(model: LoadedModel, test: FeatureSource, valOod: readonly (readonly [string, FeatureSource])[], opnp: SensitivityResult, options: SelectPointOptions): Promise<PointSelection> {
  if (options.percentages) return { percentages: options.percentages, searched: false, evalIndices: options.validation?.evalIndices ?? allIndices(test.count) };
  const validation =
    options.validation ??
    (await collectValidation(model, test, valOod, {
      valFraction: options.valFraction,
      seed: options.seed,
      batchSize: options.batchSize,
      ...(options.idValidation ? { idValidation: options.idValidation } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.onSkip ? { onSkip: options.onSkip } : {}),
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    }));
  const idVal = validation.id.features;
  const ood = Object.fromEntries(validation.ood.map((set) => [set.name, set.features]));
  const sizes = Object.fromEntries(validation.ood.map((set) => [set.name, set.features.rows]));
  const { best, results } = await searchOpnpPoint(idVal, ood, { head: model.extractor.head, ...opnp, kernel: model.kernel, ...(options.onProgress ? { onProgress: options.onProgress } : {}) });
  const p = best.percentages;
  options.onInfo?.(
    `grid search (${results.length} points, ${idVal.rows} ID validation samples): chose p_min=${p.pMin} p_max=${p.pMax} n_min=${p.nMin} n_max=${p.nMax} ` +
      `(validation FPR95 ${(best.fpr95 * 100).toFixed(2)}%, AUROC ${(best.auroc * 100).toFixed(2)}%)`,
  );
  return { percentages: p, searched: true, grid: results, validation: { fpr95: best.fpr95, auroc: best.auroc, idSamples: idVal.rows, ood: sizes }, evalIndices: validation.evalIndices };
}
