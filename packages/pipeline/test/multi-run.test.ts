/**
 * summarizeRuns / meanStd: population mean and standard deviation per cell, degenerate inputs, and runs that
 * are not runs of one evaluation.
 */
import { describe, expect, it } from 'vitest';
import { meanStd, summarizeRuns, type EvalReport } from '../src/index.js';

const report = (values: number[], methods = ['a'], ood = ['x', 'y']): EvalReport => ({
  classes: 2,
  featureDim: 3,
  idAccuracy: 0.5,
  opnp: null,
  selection: { searched: false },
  counts: { train: 1, fit: 0, idTest: 1, ood: Object.fromEntries(ood.map((o) => [o, 1])), skipped: {} },
  methods,
  methodOptions: {},
  results: methods.flatMap((method) => ood.map((o, k) => ({ method, ood: o, fpr95: values[k]!, auroc: 1 - values[k]!, auprIn: 0, auprOut: 0 }))),
  averages: methods.map((method) => ({ method, fpr95: values.reduce((s, v) => s + v, 0) / values.length, auroc: 0, auprIn: 0, auprOut: 0 })),
});

describe('meanStd', () => {
  it('is the population mean and deviation; one value has deviation 0; none is refused', () => {
    expect(meanStd([2, 4, 4, 4, 5, 5, 7, 9])).toEqual({ mean: 5, std: 2 });
    expect(meanStd([0.3])).toEqual({ mean: 0.3, std: 0 });
    expect(meanStd([1e9 + 1, 1e9 + 1, 1e9 + 1]).std).toBe(0);
    expect(() => meanStd([])).toThrow(/no values/);
  });
});

describe('summarizeRuns', () => {
  it('summarises every cell and the per-run averages over the runs', () => {
    const summary = summarizeRuns([{ label: 'r1', report: report([0.1, 0.3]) }, { label: 'r2', report: report([0.3, 0.5]) }]);
    expect(summary.results.map((r) => [r.ood, r.fpr95.mean, r.fpr95.std])).toEqual([['x', 0.2, 0.1], ['y', 0.4, 0.1]].map(([o, m, s]) => [o, expect.closeTo(m as number, 15), expect.closeTo(s as number, 15)]));
    expect(summary.averages[0]!.fpr95.mean).toBeCloseTo(0.3, 15);
    expect(summary.averages[0]!.fpr95.std).toBeCloseTo(0.1, 15);
    expect(summary.idAccuracy).toEqual({ mean: 0.5, std: 0 });
  });

  it('refuses runs of other methods or OOD sets, and no runs', () => {
    expect(() => summarizeRuns([{ label: 'r1', report: report([0.1, 0.2]) }, { label: 'r2', report: report([0.1, 0.2], ['b']) }])).toThrow(/Run r2 evaluated other methods or OOD sets than r1/);
    expect(() => summarizeRuns([{ label: 'r1', report: report([0.1, 0.2]) }, { label: 'r2', report: report([0.1, 0.2], ['a'], ['x', 'z']) }])).toThrow(/other methods or OOD sets/);
    expect(() => summarizeRuns([])).toThrow(/No runs/);
  });
});
