/**
 * Choosing the OPNP point by grid search on validation data only (docs/numerics.md "Grid search"): an ID
 * validation split held out of the ID test set and one or more OOD validation sets.
 */
import { DEFAULT_PRUNING_GRID, gridPoints, gridSearch, type GemmKernel, type GridSearchResult, type LinearHead, type Matrix, type PruningGrid, type SensitivityLike } from '@opnp/core';
import { oodMetrics } from '@opnp/metrics';
import { phaseReporter, type ProgressListener } from './progress.js';

/** Options of {@link searchOpnpPoint}. */
export interface SearchOptions {
  readonly head: LinearHead;
  /** Parameter sensitivity `s [C x D]` (or any per-weight importance thresholded by the same band rule). */
  readonly sensitivity: SensitivityLike;
  /** Neuron sensitivity `s_j [D]` (or any per-neuron importance). */
  readonly neuronSensitivity: ArrayLike<number>;
  readonly kernel: GemmKernel;
  readonly grid?: PruningGrid;
  /** Progress: the validation rows scored at every grid point (ID and OOD together), the point count as the detail. */
  readonly onProgress?: ProgressListener;
  /** Stage of the progress events (default `'grid search'`). */
  readonly stage?: string;
}

/**
 * Scores every grid point on the validation features (`id [n x D]`, each OOD set `[m x D]`) and selects
 * the point with the lowest mean FPR95 (ties: higher mean AUROC, then the earliest point).
 */
export async function searchOpnpPoint(id: Matrix, ood: Readonly<Record<string, Matrix>>, options: SearchOptions): Promise<GridSearchResult> {
  const grid = options.grid ?? DEFAULT_PRUNING_GRID;
  const rows = Object.values(ood).reduce((n, m) => n + m.rows, id.rows);
  const phase = phaseReporter(options.onProgress, options.stage ?? 'grid search', rows);
  const detail = `${gridPoints(grid).length} points`;
  phase.step(0, detail);
  const result = await gridSearch(
    { id, ood },
    {
      head: options.head,
      sensitivity: options.sensitivity,
      neuronSensitivity: options.neuronSensitivity,
      grid,
      kernel: options.kernel,
      evaluate: (a, b) => oodMetrics(a, b),
      ...(options.onProgress ? { onProgress: (done: number) => phase.step(done, detail) } : {}),
    },
  );
  phase.done(rows);
  return result;
}
