/**
 * Methods fitted on rows that cannot hold what they estimate: classes of the labels without a fit row
 * (mahalanobis, rmds, she), fewer fit rows than feature dimensions (mahalanobis, rmds, vim, residual). The run warns
 * once per method on `onWarning`; a method whose scores come out NaN is refused with its name, the set and the fit
 * as the likely cause, instead of the metrics' `idScores contains a non-finite value`.
 */
import { describe, expect, it } from 'vitest';
import { OpnpError } from '@opnp/core';
import { assertFiniteScores, createMethodRegistry, evaluate, methodMetrics, thinFitWarnings, type ScoreResult } from '../src/index.js';
import type { ScoredSet } from '../src/collect.js';
import { demoEvaluation } from './helpers.js';

const registry = createMethodRegistry();
const HINT = 'raise fitSamples / trainFraction';

/** Distinct labels in [0, C), counted by a Set (the brute-force definition). */
const distinct = (labels: readonly number[], C: number) => new Set(labels.filter((y) => y >= 0 && y < C)).size;

describe('thinFitWarnings', () => {
  it('says once per class-conditional method how many classes have no fit rows', () => {
    const labels = [3, 3, -1, 7, 7, 3]; // unknown labels and repeats do not count
    const present = distinct(labels, 10);
    expect(present).toBe(2);
    const fit = { rows: 6, dim: 4, classes: 10, labels: Int32Array.from(labels) };
    expect(thinFitWarnings(registry, ['energy', 'mahalanobis', 'rmds', 'she', 'knn'], fit)).toEqual([
      `mahalanobis: 8 of the 10 classes have no fit rows (6 fit rows): its scores use the 2 classes that have; ${HINT}`,
      `rmds: 8 of the 10 classes have no fit rows (6 fit rows): its scores use the 2 classes that have; ${HINT}`,
      `she: 8 of the 10 classes have no fit rows (6 fit rows): its scores of samples predicted as one of them are NaN; ${HINT}`,
    ]);
  });

  it('singular forms, the caller\'s option names, and silence when every class has rows', () => {
    const one = { rows: 1, dim: 1, classes: 2, labels: Int32Array.from([1]) };
    expect(thinFitWarnings(registry, ['mahalanobis'], one, { fitSamples: '--fit-samples', trainFraction: '--train-fraction' })).toEqual([
      'mahalanobis: 1 of the 2 classes has no fit rows (1 fit row): its scores use the 1 class that has; raise --fit-samples / --train-fraction',
    ]);
    expect(thinFitWarnings(registry, ['mahalanobis', 'rmds', 'she', 'vim'], { rows: 4, dim: 4, classes: 2, labels: Int32Array.from([0, 1, 1, 0]) })).toEqual([]);
    expect(thinFitWarnings(registry, ['mahalanobis'], { rows: 0, dim: 4, classes: 2, labels: new Int32Array(0) }), 'an empty fit subset is refused by the methods').toEqual([]);
  });

  it('says when a covariance or principal subspace is estimated from fewer rows than dimensions', () => {
    const fit = { rows: 3, dim: 4, classes: 2, labels: Int32Array.from([0, 1, 0]) };
    expect(thinFitWarnings(registry, ['mahalanobis', 'vim', 'residual', 'react'], fit)).toEqual([
      `mahalanobis: its covariance is estimated from 3 fit rows, fewer than the 4 feature dimensions, so it is singular; ${HINT}`,
      `vim: its principal subspace is estimated from 3 fit rows, fewer than the 4 feature dimensions; ${HINT}`,
      `residual: its principal subspace is estimated from 3 fit rows, fewer than the 4 feature dimensions; ${HINT}`,
    ]);
    expect(thinFitWarnings(registry, ['mahalanobis', 'vim'], { ...fit, rows: 4, labels: Int32Array.from([0, 1, 0, 1]) })).toEqual([]);
  });
});

/** A scored set of `scores` under `method`. */
const set = (method: string, scores: number[]): ScoredSet => ({ scores: new Map([[method, Float32Array.from(scores)]]), count: scores.length, correct: 0, labelled: 0, labels: new Int32Array(scores.length).fill(-1), skipped: [] });

describe('non-finite scores', () => {
  it('are refused naming the method, the set, how many and the fit as the likely cause', () => {
    const scores: ScoreResult = { id: set('she', [1, 2, 3]), ood: [['fashion', set('she', [0, Number.NaN, Number.NaN])]] };
    const thrown = (() => {
      try {
        methodMetrics(['she'], scores, { registry, fitRows: 5, optionNames: { fitSamples: '--fit-samples' } });
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(thrown).toBeInstanceOf(OpnpError);
    const e = thrown as OpnpError;
    expect(e.code).toBe('NON_FINITE');
    expect(e.message).toMatch(/^Method "she" gave 2 non-finite scores \(the first: NaN\) for the 3 samples of the OOD set "fashion"/);
    expect(e.offset).toBe(1);
    expect(e.hint).toBe('she is fitted on the training features: its fit likely had classes without fit rows or too few rows (5 fit rows); raise --fit-samples / trainFraction (see the warnings before this)');
  });

  it('of a method that fits nothing point at the model outputs; finite scores pass', () => {
    expect(() => assertFiniteScores(Float32Array.from([Number.POSITIVE_INFINITY]), 'energy', 'the ID test set', { registry })).toThrow(/^Method "energy" gave 1 non-finite score \(the first: Infinity\) for the 1 samples of the ID test set/);
    expect(() => assertFiniteScores(Float32Array.from([1, -2]), 'energy', 'the ID test set')).not.toThrow();
  });
});

describe('an evaluation on a fit subset too small for its classes', () => {
  it('warns once per method on onWarning', async () => {
    const base = { ...(await demoEvaluation(128)), fitSamples: 5 };
    const warnings: string[] = [];
    await evaluate({ ...base, methods: ['mahalanobis', 'vim'], onWarning: (m) => warnings.push(m) });
    expect(warnings).toHaveLength(3);
    const classes = /^mahalanobis: (\d+) of the 10 classes have no fit rows \(5 fit rows\): its scores use the (\d+) class(?:es)? that ha(?:s|ve); raise fitSamples \/ trainFraction$/.exec(warnings[0]!);
    expect(classes, warnings[0]).not.toBeNull();
    // 5 rows hold at most 5 classes.
    expect(Number(classes![1]) + Number(classes![2])).toBe(10);
    expect(Number(classes![2])).toBeLessThanOrEqual(5);
    expect(warnings.slice(1)).toEqual([
      `mahalanobis: its covariance is estimated from 5 fit rows, fewer than the 128 feature dimensions, so it is singular; ${HINT}`,
      `vim: its principal subspace is estimated from 5 fit rows, fewer than the 128 feature dimensions; ${HINT}`,
    ]);
  });

  it('refuses she\'s NaN scores naming she and the ID test set', async () => {
    const base = { ...(await demoEvaluation(128)), fitSamples: 5 };
    await expect(evaluate({ ...base, methods: ['she'], onWarning: () => undefined })).rejects.toThrow(/^Method "she" gave \d+ non-finite scores \(the first: NaN\) for the \d+ samples of the ID test set/);
  });
});
