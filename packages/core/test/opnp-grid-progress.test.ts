/**
 * `onProgress` of the grid search: called after every block of rows on every execution path, rising to the row
 * count, and without effect on the scores.
 */
import { describe, expect, it } from 'vitest';
import { gridScores, type GridScoreOptions } from '../src/opnp/grid.js';
import { gridPath, planGrid } from '../src/opnp/grid/plan.js';
import { gridSearch } from '../src/opnp/search.js';
import { gridProblem } from './grid-fixture.js';

const PATHS: readonly [string, Partial<GridScoreOptions>][] = [
  ['banded-dense', { sparseBelowDensity: 0 }],
  ['banded-cells', { sparseBelowDensity: 0.3 }],
  ['cell-sweeps', { score: 'msp', sparseBelowDensity: 0.3 }],
];

describe('gridScores onProgress', () => {
  for (const [path, extra] of PATHS) {
    it(`reports the rows after every block and leaves the scores alone (${path})`, async () => {
      const p = gridProblem(31, true);
      const options: GridScoreOptions = { head: p.head, sensitivity: p.sensitivity, neuronSensitivity: p.neuronSensitivity, blockRows: 8, ...extra };
      expect(gridPath(planGrid(p.features, options))).toBe(path);
      const calls: [number, number][] = [];
      const reported = await gridScores(p.features, { ...options, onProgress: (done, total) => calls.push([done, total]) });
      // 23 rows in blocks of 8.
      expect(calls).toEqual([[8, 23], [16, 23], [23, 23]]);
      const silent = await gridScores(p.features, options);
      expect(reported.scores).toEqual(silent.scores);
    });
  }

  it('is not called for empty features', async () => {
    const p = gridProblem(32, true, 9, 40, 0);
    const calls: number[] = [];
    await gridScores(p.features, { head: p.head, sensitivity: p.sensitivity, neuronSensitivity: p.neuronSensitivity, onProgress: (done) => calls.push(done) });
    expect(calls).toEqual([]);
  });

  it('reaches gridSearch through its options (the ID and OOD rows scored together)', async () => {
    const p = gridProblem(33, true);
    const ood = gridProblem(34, true).features;
    const calls: [number, number][] = [];
    await gridSearch(
      { id: p.features, ood: { o: ood } },
      { head: p.head, sensitivity: p.sensitivity, neuronSensitivity: p.neuronSensitivity, blockRows: 10, evaluate: () => ({ fpr95: 0, auroc: 1 }), onProgress: (done, total) => calls.push([done, total]) },
    );
    expect(calls).toEqual([[10, 46], [20, 46], [30, 46], [40, 46], [46, 46]]);
  });
});
