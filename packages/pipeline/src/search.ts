/**
 * Choosing the OPNP point by grid search on validation data only (docs/numerics.md "Grid search"): an ID
 * validation split held out of the ID test set and one or more OOD validation sets.
 */
import { DEFAULT_PRUNING_GRID, gridSearch, type GemmKernel, type GridSearchResult, type LinearHead, type Matrix, type PruningGrid, type SensitivityLike } from '@opnp/core';
import { oodMetrics } from '@opnp/metrics';

/** Options of {@link searchOpnpPoint}. */
export interface SearchOptions {
  readonly head: LinearHead;
  /** Parameter sensitivity `s [C x D]` (or any per-weight importance thresholded by the same band rule). */
  readonly sensitivity: SensitivityLike;
  /** Neuron sensitivity `s_j [D]` (or any per-neuron importance). */
  readonly neuronSensitivity: ArrayLike<number>;
  readonly kernel: GemmKernel;
  readonly grid?: PruningGrid;
}

/**
 * Scores every grid point on the validation features (`id [n x D]`, each OOD set `[m x D]`) and selects
 * the point with the lowest mean FPR95 (ties: higher mean AUROC, then the earliest point).
 */
export function searchOpnpPoint(id: Matrix, ood: Readonly<Record<string, Matrix>>, options: SearchOptions): Promise<GridSearchResult> {
  return gridSearch(
    { id, ood },
    {
      head: options.head,
      sensitivity: options.sensitivity,
      neuronSensitivity: options.neuronSensitivity,
      grid: options.grid ?? DEFAULT_PRUNING_GRID,
      kernel: options.kernel,
      evaluate: (a, b) => oodMetrics(a, b),
    },
  );
}
