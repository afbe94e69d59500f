/**
 * The baseline search against a brute force written here: every grid point scored with the core functions,
 * AUROC counted over all ID x OOD pairs (ties one half), averaged over the OOD validation sets, the highest
 * kept and the first on ties; and, end to end, on the same validation split as the OPNP grid search.
 */
import { describe, expect, it } from 'vitest';
import { composeScore, featureMean, diceHead, linearHead, logits, mulberry32, reactThreshold, type Matrix } from '@opnp/core';
import { randomMatrix } from '@opnp/core/testing';
import { splitIndices } from '@opnp/datasets';
import {
  BUILTIN_METHODS,
  baselineGridPoints,
  collectFeatures,
  createMethodRegistry,
  evaluate,
  openFeatureSource,
  searchBaselines,
  trainingIndices,
  type EvaluationConfig,
  type FeatureSource,
  type MethodContext,
  type ValidationData,
} from '../src/index.js';
import { demoEvaluation, demoModel, FASHION_VAL, NORMALISE, TEST, TRAIN } from './helpers.js';

/** AUROC by definition: the share of (ID, OOD) pairs with the ID score higher, ties counting one half. */
function bruteAuroc(id: ArrayLike<number>, ood: ArrayLike<number>): number {
  let wins = 0;
  for (let i = 0; i < id.length; i++) for (let j = 0; j < ood.length; j++) wins += id[i]! > ood[j]! ? 1 : id[i] === ood[j] ? 0.5 : 0;
  return wins / (id.length * ood.length);
}

/** Index of the highest value, the first on ties. */
const firstBest = (values: readonly number[]) => values.reduce((best, v, i) => (v > values[best]! ? i : best), 0);

const unusedSource = { spec: 'unused', kind: 'features', count: 0, preprocess: undefined } as unknown as FeatureSource;

function validationOf(head: MethodContext['head'], id: Matrix, ood: Record<string, Matrix>): ValidationData {
  const set = (name: string, features: Matrix) => ({ name, source: unusedSource, features, logits: logits(head, features) });
  return { id: set('id', id), ood: Object.entries(ood).map(([name, m]) => set(name, m)), evalIndices: new Uint32Array(0) };
}

describe('baselineGridPoints', () => {
  it('enumerates the first option fastest (OpenOOD recursive_generator) and drops empty options', () => {
    expect(baselineGridPoints({ a: [1, 2], b: ['x', 'y'], c: [] })).toEqual([
      { a: 1, b: 'x' },
      { a: 2, b: 'x' },
      { a: 1, b: 'y' },
      { a: 2, b: 'y' },
    ]);
    expect(baselineGridPoints({ a: [] })).toEqual([{}]);
  });
});

describe('searchBaselines', () => {
  const head = linearHead(randomMatrix(5, 12, mulberry32(1)), randomMatrix(1, 5, mulberry32(2)).data);
  const fitFeatures = randomMatrix(400, 12, mulberry32(3), (u) => Math.max(0, u * 3 - 1));
  const context: MethodContext = { head, fitFeatures, fitLabels: new Int32Array(400).fill(-1) };
  const id = randomMatrix(60, 12, mulberry32(4), (u) => Math.max(0, u * 3 - 1));
  const ood = { near: randomMatrix(50, 12, mulberry32(5), (u) => Math.max(0, u * 2.5 - 1)), far: randomMatrix(40, 12, mulberry32(6), (u) => Math.max(0, u * 4 - 2)) };
  const validation = validationOf(head, id, ood);
  const meanAuroc = (score: (h: Matrix) => Float32Array) => (bruteAuroc(score(id), score(ood.near)) + bruteAuroc(score(id), score(ood.far))) / 2;

  it('keeps the ReAct percentile and DICE sparsity of the highest mean validation AUROC, scored as core scores them', async () => {
    const result = await searchBaselines(validation, { registry: createMethodRegistry(), methods: ['energy', 'react', 'dice'], context, batchSize: 17 });
    const reactGrid = [85, 90, 95, 99];
    const reactAurocs = reactGrid.map((p) => meanAuroc((h) => composeScore(h, { head, transform: { kind: 'react', clip: reactThreshold(fitFeatures, p) } })));
    const diceGrid = [10, 30, 50, 70, 90];
    const diceAurocs = diceGrid.map((p) => meanAuroc((h) => composeScore(h, { head: diceHead(head, featureMean(fitFeatures), { percentile: p }).head })));
    expect(Object.keys(result.methods)).toEqual(['react', 'dice']);
    expect(result.methods.react!.grid.map((g) => g.options)).toEqual(reactGrid.map((percentile) => ({ percentile })));
    result.methods.react!.grid.forEach((g, i) => expect(g.auroc).toBeCloseTo(reactAurocs[i]!, 12));
    expect(result.methods.react!.chosen).toEqual({ percentile: reactGrid[firstBest(reactAurocs)] });
    expect(result.methods.dice!.chosen).toEqual({ percentile: diceGrid[firstBest(diceAurocs)] });
    expect(result.methods.react!.label).toBe(`react (p=${reactGrid[firstBest(reactAurocs)]})`);
    expect(result.validation).toEqual({ idSamples: 60, ood: { near: 50, far: 40 } });
    // The data must make the choice matter, or the test could not fail.
    expect(new Set(reactAurocs).size).toBeGreaterThan(1);
  });

  it('keeps the first point on ties, does not search options the user set, and says why', async () => {
    const registry = createMethodRegistry();
    // `offset` shifts every score alike: all points tie, so the first must win.
    registry.register('shifted', {
      description: 'energy plus a constant',
      defaults: { offset: 0, scale: 1 },
      search: { grid: { offset: [3, 1, 2], scale: [1, 2] }, source: 'test' },
      create: (c, o) => (h) => composeScore(h, { head: c.head }).map((v) => v * (o.scale as number) + (o.offset as number)),
    });
    const result = await searchBaselines(validation, { registry, methods: ['shifted', 'knn', 'react'], methodOptions: { react: { percentile: 95 } }, context, batchSize: 64 });
    expect(result.methods.shifted!.chosen).toEqual({ offset: 3, scale: 1 });
    expect(result.methods.shifted!.label).toBe('shifted (offset=3, scale=1)');
    expect(result.notSearched).toEqual({ react: 'every searched option is set explicitly' });
    // KNN's k goes up to the fit rows (400): 50, 100, 200.
    expect(result.methods.knn!.grid.map((g) => g.options.k)).toEqual([50, 100, 200]);
  });

  it('declares the OpenOOD v1.5 grids next to each method', () => {
    const grid = (name: string) => {
      const search = BUILTIN_METHODS[name]!.search!;
      return typeof search.grid === 'function' ? search.grid({ ...context, head: linearHead(randomMatrix(1000, 2048, mulberry32(7)), new Float32Array(1000)), fitFeatures: { rows: 20000, cols: 2048, data: new Float32Array(0) } }) : search.grid;
    };
    expect(grid('react')).toEqual({ percentile: [85, 90, 95, 99] });
    expect(grid('ash-s')).toEqual({ percentile: [65, 70, 75, 80, 85, 90, 95] });
    expect(grid('knn')).toEqual({ k: [50, 100, 200, 500, 1000] });
    expect(grid('vim')).toEqual({ dim: [256, 1000] });
    expect(grid('gen')).toEqual({ gamma: [0.01, 0.1, 0.5, 1, 2, 5, 10], M: [10, 50, 100, 200, 500, 1000] });
    for (const name of ['msp', 'energy', 'mahalanobis', 'opnp', 'opnp+react']) expect(BUILTIN_METHODS[name]!.search, name).toBeUndefined();
  });
});

describe('evaluate with searchBaselines', () => {
  const base = (): Promise<EvaluationConfig> => demoEvaluation(250, 300);

  it('searches ReAct on the validation split and noise set of the OPNP grid search and scores the test set with the choice', async () => {
    const { report } = await evaluate({ ...(await base()), methods: ['react', 'opnp'], searchBaselines: true });
    const search = report.baselineSearch!;
    expect(search.validation).toEqual({ idSamples: report.selection.validation!.idSamples, ood: report.selection.validation!.ood });
    expect(report.counts.idTest).toBe(2000);
    // Brute force: the same split and noise set, read here.
    const model = await demoModel();
    const read = async (spec: string, subset?: Uint32Array) => (await collectFeatures(await openFeatureSource(spec, { model, preprocess: NORMALISE }), { batchSize: 250, dim: 128, ...(subset ? { subset } : {}) })).features;
    const split = splitIndices(2500, { fraction: 0.2, seed: 0 });
    const [idVal, noise, trainRows] = [await read(TEST, split.validation), await read('noise:300#seed=1001'), await read(TRAIN, trainingIndices(6000, 0.1, 0))];
    expect(trainRows.rows).toBe(600);
    const grid = [85, 90, 95, 99];
    const react = (p: number) => (h: Matrix) => composeScore(h, { head: model.extractor.head, transform: { kind: 'react', clip: reactThreshold(trainRows, p) } });
    const aurocs = grid.map((p) => bruteAuroc(react(p)(idVal), react(p)(noise)));
    search.methods.react!.grid.forEach((g, i) => expect(g.auroc).toBeCloseTo(aurocs[i]!, 10));
    const chosen = grid[firstBest(aurocs)]!;
    expect(report.methodOptions.react).toEqual({ percentile: chosen });
    // The test metrics use the chosen percentile on the 2000 test samples left.
    const idTest = await read(TEST, split.train);
    const fashion = await read(FASHION_VAL);
    const result = report.results.find((r) => r.method === 'react')!;
    expect(result.auroc).toBeCloseTo(bruteAuroc(react(chosen)(idTest), react(chosen)(fashion)), 6);
  }, 120_000);

  it('without the flag, keeps every default and reports no search; with a fixed OPNP point it still holds the split out', async () => {
    const fixed = { pMin: 10, pMax: 1, nMin: 10, nMax: 1 };
    const plain = (await evaluate({ ...(await base()), methods: ['react', 'knn', 'opnp'], percentages: fixed })).report;
    expect(plain.baselineSearch).toBeUndefined();
    expect(plain.methodOptions).toMatchObject({ react: { percentile: 90 }, knn: { k: 50 } });
    expect(plain.counts.idTest).toBe(2500);
    const searched = (await evaluate({ ...(await base()), methods: ['react', 'opnp'], percentages: fixed, searchBaselines: true })).report;
    expect(searched.counts.idTest).toBe(2000);
    expect(searched.opnp).toEqual({ p_min: 10, p_max: 1, n_min: 10, n_max: 1 });
    expect(Object.keys(searched.baselineSearch!.methods)).toEqual(['react']);
  }, 120_000);
});
