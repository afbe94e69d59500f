/**
 * KNN's own training subset (`knnFitSamples`): the seeded subset of its size, nested with the fit subset so one
 * training pass keeps both, the fit subset of the other methods unchanged by it, KNN scored on it, the report
 * counting it, and the sizes checked.
 */
import { describe, expect, it } from 'vitest';
import { fitKnn, knnScore, logits, mulberry32, type Matrix } from '@opnp/core';
import {
  BUILTIN_METHODS,
  collectFeatures,
  createMethodRegistry,
  createScorers,
  DEFAULT_KNN_FIT_SAMPLES,
  evaluate,
  fitRun,
  fitSubset,
  knnFitCount,
  openSources,
  plannedTrainingRows,
  resolveConfig,
  trainingIndices,
  type EvaluationConfig,
  type FitNeeds,
} from '../src/index.js';
import { demoEvaluation, demoModel, TEST, TRAIN } from './helpers.js';

const base = (): Promise<EvaluationConfig> => demoEvaluation(128);

/** The training pass of `config` with `needs`, and the run's training indices. */
async function fitted(config: EvaluationConfig, needs: FitNeeds) {
  const model = await demoModel();
  const resolved = resolveConfig(config);
  const sources = await openSources(model, resolved, () => undefined);
  const result = await fitRun(model, sources, resolved, needs, () => undefined);
  return { result, indices: trainingIndices(sources.train.count, 0.1, 0), train: sources.train };
}

/** The features of `subset` of the training set, read directly. */
async function rowsOf(train: Awaited<ReturnType<typeof fitted>>['train'], subset: Uint32Array): Promise<Matrix> {
  return (await collectFeatures(train, { batchSize: 128, subset, dim: 128 })).features;
}

describe('knnFitSamples', () => {
  it('keeps the seeded subset of its size next to the unchanged fit subset, one inside the other', async () => {
    const cases: [EvaluationConfig['knnFitSamples'], number][] = [
      [400, 400], // larger than the fit subset: the pass keeps KNN's rows and picks the fit subset out
      [{ fraction: 0.1 }, 60], // smaller: picked out of the fit subset
      [undefined, 600], // default: all 600 (at most 50,000)
    ];
    const alone = await fitted({ ...(await base()), fitSamples: 200 }, { opnp: false, fit: true });
    for (const [knnFitSamples, rows] of cases) {
      const config = { ...(await base()), fitSamples: 200, ...(knnFitSamples !== undefined ? { knnFitSamples } : {}) };
      const { result, indices, train } = await fitted(config, { opnp: false, fit: true, knnFit: true });
      const fit = fitSubset(indices, 200, 0);
      const knn = fitSubset(indices, rows, 0);
      expect(Array.from(result.fitRowIndices)).toEqual(Array.from(fit));
      expect(Array.from(result.fitFeatures.data)).toEqual(Array.from((await rowsOf(train, fit)).data));
      expect(Array.from(result.fitFeatures.data), 'the other methods fit on the same rows as without KNN').toEqual(Array.from(alone.result.fitFeatures.data));
      expect(result.knnFitFeatures!.rows).toBe(rows);
      expect(Array.from(result.knnFitFeatures!.data)).toEqual(Array.from((await rowsOf(train, knn)).data));
      // Nested: the smaller subset lies inside the larger.
      const [small, large] = fit.length <= knn.length ? [fit, new Set(knn)] : [knn, new Set(fit)];
      expect(Array.from(small).every((i) => large.has(i))).toBe(true);
    }
  });

  it('keeps only KNN\'s rows when no other method fits on training features', async () => {
    const { result, indices, train } = await fitted({ ...(await base()), knnFitSamples: 250 }, { opnp: false, fit: false, knnFit: true });
    expect(result.fitFeatures.rows).toBe(0);
    expect(Array.from(result.knnFitFeatures!.data)).toEqual(Array.from((await rowsOf(train, fitSubset(indices, 250, 0))).data));
  });

  it('is what KNN searches (its baseline grid too); the fit subset without it; the report counts it', async () => {
    const random = mulberry32(7);
    const matrix = (rows: number): Matrix => ({ rows, cols: 128, data: Float32Array.from({ length: rows * 128 }, () => random()) });
    const head = (await demoModel()).extractor.head;
    const [fit, knn, test] = [matrix(80), matrix(120), matrix(30)];
    const context = { head, fitFeatures: fit, fitLabels: new Int32Array(80).fill(-1) };
    const scores = (c: typeof context & { knnFitFeatures?: Matrix }) => createScorers(createMethodRegistry(), ['knn'], c, { knn: { k: 5 } }).get('knn')!(test, logits(head, test));
    expect(Array.from(await scores({ ...context, knnFitFeatures: knn }))).toEqual(Array.from(knnScore(fitKnn(knn, { k: 5 }), test)));
    expect(Array.from(await scores(context))).toEqual(Array.from(knnScore(fitKnn(fit, { k: 5 }), test)));
    const grid = BUILTIN_METHODS.knn!.search!.grid as (c: unknown) => { k: number[] };
    expect(grid({ ...context, knnFitFeatures: matrix(600) }).k).toEqual([50, 100, 200, 500]);
    expect(grid(context).k).toEqual([50]);

    const { report } = await evaluate({ ...(await base()), methods: ['react', 'knn', 'opnp'], fitSamples: 200, knnFitSamples: 400, percentages: { pMin: 10, pMax: 1, nMin: 10, nMax: 1 } });
    expect(report.counts).toMatchObject({ train: 600, fit: 200, knnFit: 400 });
    const without = await evaluate({ ...(await base()), methods: ['react'], fitSamples: 200, percentages: { pMin: 10, pMax: 1, nMin: 10, nMax: 1 } });
    expect(without.report.counts.fit).toBe(200);
    expect('knnFit' in without.report.counts).toBe(false);
  });

  it('refuses knn.k above the rows KNN searches (no silent cap to the row count), naming k, the rows and what to do', async () => {
    const random = mulberry32(8);
    const matrix = (rows: number): Matrix => ({ rows, cols: 128, data: Float32Array.from({ length: rows * 128 }, () => random()) });
    const head = (await demoModel()).extractor.head;
    const [fit, knn, test] = [matrix(6), matrix(12), matrix(4)];
    const context = { head, fitFeatures: fit, fitLabels: new Int32Array(6).fill(-1) };
    const scores = async (c: typeof context & { knnFitFeatures?: Matrix }, k?: number) => createScorers(createMethodRegistry(), ['knn'], c, k === undefined ? {} : { knn: { k } }).get('knn')!(test, logits(head, test));
    const refused = (k: number, rows: number) => expect.objectContaining({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(new RegExp(`^knn\\.k is ${k} but KNN searches ${rows} training rows.*Lower knn\\.k to at most ${rows}.*--knn-fit-samples or --train-fraction`)) });
    await expect(scores(context)).rejects.toEqual(refused(50, 6)); // the default k = 50
    await expect(scores(context, 7)).rejects.toEqual(refused(7, 6));
    await expect(scores({ ...context, knnFitFeatures: knn }, 13)).rejects.toEqual(refused(13, 12));
    // k = rows is allowed: the farthest training row.
    expect(Array.from(await scores({ ...context, knnFitFeatures: knn }, 12))).toEqual(Array.from(knnScore(fitKnn(knn, { k: 12 }), test)));
  });

  it('refuses knn.k above the rows KNN will search before the training pass reads a sample', async () => {
    // 600 training samples (trainFraction 0.1 of 6000): KNN plans min(600, knnFitSamples) rows, or round(f * 600).
    const cases: [Partial<EvaluationConfig>, number][] = [
      [{ knnFitSamples: 100 }, 100],
      [{ knnFitSamples: { fraction: 0.05 } }, 30],
      [{}, 600], // the default: every training sample of the run
    ];
    for (const [options, rows] of cases) {
      const stages: string[] = [];
      const run = evaluate({ ...(await base()), ...options, methods: ['knn'], methodOptions: { knn: { k: rows + 1 } }, onProgress: (e) => stages.push(e.stage) });
      await expect(run).rejects.toEqual(expect.objectContaining({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(new RegExp(`^knn\\.k is ${rows + 1} but KNN searches ${rows} training rows`)) }));
      expect(stages, JSON.stringify(options)).toEqual([]);
    }
    // k = the planned rows passes the early check (and runs).
    const { report } = await evaluate({ ...(await base()), knnFitSamples: 100, methods: ['knn'], methodOptions: { knn: { k: 100 } } });
    expect(report.methodOptions.knn).toEqual({ k: 100 });
    expect(plannedTrainingRows(6000, { trainFraction: 0.1, seed: 0, fitSamples: 200, knnFitSamples: 400 })).toEqual({ fit: 200, knnFit: 400 });
    expect(plannedTrainingRows(6000, { seed: 3, fitSamples: 20_000, knnFitSamples: { fraction: 0.01 } })).toEqual({ fit: 6000, knnFit: 60 });
    expect(plannedTrainingRows(6000, { trainFraction: 0.1, seed: 0, fitSamples: 20_000, knnFitSamples: 50_000 })).toEqual({ fit: trainingIndices(6000, 0.1, 0).length, knnFit: 600 });
  });

  it('takes a count or a fraction, and refuses others', () => {
    expect(DEFAULT_KNN_FIT_SAMPLES).toBe(50_000);
    expect(knnFitCount(600, 50_000)).toBe(600);
    expect(knnFitCount(60_000, 50_000)).toBe(50_000);
    expect(knnFitCount(1_281_167, { fraction: 0.01 })).toBe(12_812);
    expect(knnFitCount(50, { fraction: 0.001 })).toBe(1);
    expect(knnFitCount(50_000, { fraction: 1 })).toBe(50_000);
    for (const bad of [0, -3, 2.5, { fraction: 0 }, { fraction: 1.5 }, { fraction: Number.NaN }]) {
      expect(() => resolveConfig({ train: TRAIN, test: TEST, model: 'm.onnx', ood: [{ name: 'o', spec: TEST }], knnFitSamples: bad }), JSON.stringify(bad)).toThrow(/knnFitSamples/);
    }
  });
});
