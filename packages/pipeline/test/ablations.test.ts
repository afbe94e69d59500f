/**
 * runAblation on the demo data: every kind's table has the paper's shape, and every number equals a direct
 * computation written here from core and metrics (dense pruned heads, brute-force point selection on the validation
 * split, oodMetrics / accuracy on the test sets), never from the ablation code.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import {
  SensitivityAccumulator,
  composeScore,
  gridPoints,
  logits,
  lowNormNeuronMask,
  magnitudeWeightMask,
  neuronSensitivity,
  pruneHead,
  pruningMasks,
  randomNeuronMask,
  randomWeightMask,
  selectGridPoint,
  OpnpError,
  type LinearHead,
  type Matrix,
  type ParameterSensitivity,
  type PruningGrid,
  type PruningPercentages,
} from '@opnp/core';
import { splitIndices, subsetIndices } from '@opnp/datasets';
import { accuracy, argmaxRows, oodMetrics } from '@opnp/metrics';
import { openFeatureSource, runAblation, runTrainingPass, trainingIndices, type AblationConfig, type AblationResult, type LoadedModel } from '../src/index.js';
import { demoModel, FASHION_TEST, FASHION_VAL, NORMALISE, tempDir, TEST, TRAIN } from './helpers.js';

const BATCH = 500;
const TRAIN_FRACTION = 0.25;
const GRID = { pMin: [0, 10, 30, 50], pMax: [0, 0.5, 1, 2], nMin: [0, 10, 30], nMax: [0, 1, 5, 10] };
const WEIGHTS: PruningGrid = { ...GRID, nMin: [0], nMax: [0] };
const NEURONS: PruningGrid = { ...GRID, pMin: [0], pMax: [0] };

interface Reference {
  model: LoadedModel;
  head: LinearHead;
  /** Training batches as the pass visits them (features, logits, dataset indices). */
  trainBatches: { features: Matrix; logits: Matrix; indices: Uint32Array }[];
  trainH: Matrix;
  sensitivity: ParameterSensitivity;
  testH: Matrix;
  testLabels: Int32Array;
  idVal: Matrix;
  idEval: Matrix;
  fval: Matrix;
  fashion: Matrix;
}

function pick(m: Matrix, rows: ArrayLike<number>): Matrix {
  const data = new Float32Array(rows.length * m.cols);
  for (let i = 0; i < rows.length; i++) data.set(m.data.subarray(rows[i]! * m.cols, (rows[i]! + 1) * m.cols), i * m.cols);
  return { rows: rows.length, cols: m.cols, data };
}

function stack(parts: readonly Matrix[]): Matrix {
  return { rows: parts.reduce((n, p) => n + p.rows, 0), cols: parts[0]!.cols, data: Float32Array.from(parts.flatMap((p) => [...p.data])) };
}

async function read(model: LoadedModel, spec: string, subset?: Uint32Array) {
  const source = await openFeatureSource(spec, { model, preprocess: NORMALISE });
  const batches: { features: Matrix; logits: Matrix; indices: Uint32Array; labels: Int32Array }[] = [];
  for await (const b of source.batches({ batchSize: BATCH, ...(subset ? { subset } : {}) })) batches.push(b);
  return { batches, features: stack(batches.map((b) => b.features)), labels: Int32Array.from(batches.flatMap((b) => [...b.labels])) };
}

let ref: Reference;
beforeAll(async () => {
  const model = await demoModel();
  const head = model.extractor.head;
  const train = await read(model, TRAIN, trainingIndices(6000, TRAIN_FRACTION, 0));
  const acc = new SensitivityAccumulator(head, { kernel: model.kernel });
  for (const b of train.batches) await acc.add(b.features, b.logits);
  const test = await read(model, TEST);
  const split = splitIndices(2500, { fraction: 0.2, seed: 0 });
  ref = {
    model,
    head,
    trainBatches: train.batches,
    trainH: train.features,
    sensitivity: acc.result(),
    testH: test.features,
    testLabels: test.labels,
    idVal: pick(test.features, split.validation),
    idEval: pick(test.features, split.train),
    fval: (await read(model, FASHION_VAL)).features,
    fashion: (await read(model, FASHION_TEST)).features,
  };
});

const config = (kind: string, extra: Partial<AblationConfig> = {}): AblationConfig => ({
  kind,
  model: ref.model,
  train: TRAIN,
  trainFraction: TRAIN_FRACTION,
  test: TEST,
  ood: [{ name: 'fashion', spec: FASHION_TEST }],
  valOod: [{ name: 'fval', spec: FASHION_VAL }],
  preprocess: NORMALISE,
  batchSize: BATCH,
  ...extra,
});

/** Brute force: every point's dense head scored with energy on the validation data, selected by the search rule. */
function bestPoint(grid: PruningGrid, headAt: (p: PruningPercentages) => LinearHead) {
  const results = gridPoints(grid).map((percentages, index) => {
    const head = headAt(percentages);
    const m = oodMetrics(composeScore(ref.idVal, { head }), composeScore(ref.fval, { head }));
    return { index, percentages, fpr95: m.fpr95, auroc: m.auroc, perOod: [] };
  });
  return selectGridPoint(results);
}

/** The reported metric of `variant` on `ood` (null = average). */
const value = (result: AblationResult, variant: string, metric: string, ood: string | null = 'fashion') => result.rows.find((r) => r.variant === variant && r.metric === metric && r.ood === ood)!.value;

/** Test metrics of a head: energy on the ID samples left by the validation split against the OOD test set. */
const testMetrics = (head: LinearHead, id: Matrix = ref.idEval) => oodMetrics(composeScore(id, { head }), composeScore(ref.fashion, { head }));

function expectRowsOf(result: AblationResult, variant: string, head: LinearHead, id?: Matrix) {
  const m = testMetrics(head, id);
  for (const metric of ['fpr95', 'auroc', 'auprIn', 'auprOut'] as const) {
    expect(value(result, variant, metric), `${variant} ${metric}`).toBeCloseTo(m[metric], 9);
    // One OOD set: the average is that set's value.
    expect(value(result, variant, metric, null)).toBe(value(result, variant, metric));
  }
}

/** Two points are equivalent when they give the same head. */
function expectSameHead(a: LinearHead, b: LinearHead, what: string) {
  expect(Array.from(a.weight.data), what).toEqual(Array.from(b.weight.data));
}

/** The rows are per variant, per OOD set then the average, per metric: `variants x (sets + 1) x 4`. */
function expectOodShape(result: AblationResult, names: string[]) {
  expect(result.variants.map((v) => v.name)).toEqual(names);
  expect(result.oodSets).toEqual(['fashion']);
  expect(result.rows).toHaveLength(names.length * 2 * 4);
  expect(result.rows.slice(0, 8).map((r) => `${r.variant}/${r.ood}/${r.metric}`)).toEqual([
    ...['fpr95', 'auroc', 'auprIn', 'auprOut'].map((m) => `${names[0]}/fashion/${m}`),
    ...['fpr95', 'auroc', 'auprIn', 'auprOut'].map((m) => `${names[0]}/null/${m}`),
  ]);
}

describe('runAblation', () => {
  it('pruning (Table 4): six pruners, each at its best validation point, scored like a direct computation', async () => {
    const result = await runAblation(config('table4'));
    expect(result).toMatchObject({ kind: 'pruning', source: 'Table 4', layout: ['fpr95'] });
    expectOodShape(result, ['RPP', 'TPP', 'OPP', 'RNP', 'TNP', 'ONP']);
    expect(result.counts).toMatchObject({ train: 1500, fit: 1500, idTest: 2000, idValidation: 500, ood: { fashion: 1500 }, oodValidation: { fval: 500 } });
    const { head, sensitivity } = ref;
    const neurons = neuronSensitivity(sensitivity);
    const heads: Record<string, [PruningGrid, (p: PruningPercentages) => LinearHead]> = {
      RPP: [WEIGHTS, (p) => pruneHead(head, { param: randomWeightMask(head, p.pMin, p.pMax, 0).mask })],
      TPP: [WEIGHTS, (p) => pruneHead(head, { param: magnitudeWeightMask(head, p.pMin, p.pMax).mask })],
      OPP: [WEIGHTS, (p) => pruneHead(head, pruningMasks(sensitivity, neurons, p, 'opp'))],
      RNP: [NEURONS, (p) => pruneHead(head, { neuron: randomNeuronMask(head, p.nMin, p.nMax, 0).mask })],
      TNP: [NEURONS, (p) => pruneHead(head, { neuron: lowNormNeuronMask(ref.trainH, p.nMin, p.nMax).mask })],
      ONP: [NEURONS, (p) => pruneHead(head, pruningMasks(sensitivity, neurons, p, 'onp'))],
    };
    for (const variant of result.variants) {
      const [grid, headAt] = heads[variant.name]!;
      const best = bestPoint(grid, headAt);
      expect(variant.searched).toBe(true);
      expectSameHead(headAt(variant.percentages!), headAt(best.percentages), variant.name);
      expect(variant.validation!.fpr95, variant.name).toBe(best.fpr95);
      expect(variant.validation!.auroc).toBeCloseTo(best.auroc, 6);
      // Weight pruners leave the neurons alone and neuron pruners the weights.
      const p = variant.percentages!;
      expect(grid === WEIGHTS ? p.nMin + p.nMax : p.pMin + p.pMax).toBe(0);
      expectRowsOf(result, variant.name, headAt(p));
    }
    expect(result.variants.filter((v) => v.details?.seed === 0).map((v) => v.name)).toEqual(['RPP', 'RNP']);
  });

  it('fraction (Table 8): OPP with the sensitivity of seeded training subsets, accumulated in the one training pass', async () => {
    const result = await runAblation(config('fraction', { options: { fractions: [0.05, 0.2, 1] } }));
    expect(result).toMatchObject({ kind: 'fraction', source: 'Table 8', layout: ['fpr95', 'auroc'] });
    expectOodShape(result, ['none', '5%', '20%', '100%']);
    expectRowsOf(result, 'none', ref.head);
    const indices = trainingIndices(6000, TRAIN_FRACTION, 0);
    for (const [i, fraction] of [0.05, 0.2, 1].entries()) {
      const variant = result.variants[i + 1]!;
      // The subset: the seeded subset of the run's training indices, accumulated batch by batch as the pass visits it.
      const members = new Set(Array.from(subsetIndices(indices.length, { fraction, seed: 0 }), (k) => indices[k]!));
      const acc = new SensitivityAccumulator(ref.head, { kernel: ref.model.kernel });
      for (const b of ref.trainBatches) {
        const rows = [...b.indices.keys()].filter((r) => members.has(b.indices[r]!));
        if (rows.length > 0) await acc.add(pick(b.features, rows), pick(b.logits, rows));
      }
      const sensitivity = fraction === 1 ? ref.sensitivity : acc.result();
      expect(acc.count).toBe(Math.round(fraction * 1500));
      expect(variant.details).toEqual({ fraction, samples: acc.count });
      const headAt = (p: PruningPercentages) => pruneHead(ref.head, pruningMasks(sensitivity, neuronSensitivity(sensitivity), p, 'opp'));
      const best = bestPoint(WEIGHTS, headAt);
      expectSameHead(headAt(variant.percentages!), headAt(best.percentages), variant.name);
      expect(variant.validation!.fpr95).toBe(best.fpr95);
      expectRowsOf(result, variant.name, headAt(variant.percentages!));
    }
    expect(result.counts.fit).toBe(0);
  });

  it('statistic (Table 9): ONP with every neuron statistic over the classes', async () => {
    const result = await runAblation(config('statistic'));
    expect(result).toMatchObject({ kind: 'statistic', source: 'Table 9', layout: ['fpr95', 'auroc'] });
    expectOodShape(result, ['mean', 'max', 'min', 'median', 'norm', 'variance']);
    for (const variant of result.variants) {
      const neurons = neuronSensitivity(ref.sensitivity, variant.details!.statistic as 'mean');
      const headAt = (p: PruningPercentages) => pruneHead(ref.head, pruningMasks(ref.sensitivity, neurons, p, 'onp'));
      const best = bestPoint(NEURONS, headAt);
      expectSameHead(headAt(variant.percentages!), headAt(best.percentages), variant.name);
      expect(variant.validation!.fpr95).toBe(best.fpr95);
      expectRowsOf(result, variant.name, headAt(variant.percentages!));
    }
    expect(result.variants.find((v) => v.name === 'norm')!.details).toEqual({ statistic: 'l2' });
  });

  it('accuracy (Table 3): the pruned head as the classifier on every labelled ID test sample', async () => {
    const result = await runAblation(config('accuracy', { ood: [] }));
    expect(result).toMatchObject({ kind: 'accuracy', source: 'Table 3', layout: ['accuracy'], oodSets: [] });
    const names = ['none', 'p_max=0.1%', 'p_max=0.5%', 'p_max=1%', 'p_max=2%', 'p_min=10%', 'p_min=20%', 'p_min=30%', 'p_min=40%'];
    expect(result.variants.map((v) => v.name)).toEqual(names);
    expect(result.rows.map((r) => `${r.variant}/${r.ood}/${r.metric}`)).toEqual(names.map((n) => `${n}/null/accuracy`));
    expect(result.counts).toMatchObject({ idTest: 2500, idLabelled: 2500, idValidation: 0 });
    const neurons = neuronSensitivity(ref.sensitivity);
    for (const variant of result.variants) {
      const head = variant.percentages === null ? ref.head : pruneHead(ref.head, pruningMasks(ref.sensitivity, neurons, variant.percentages, 'opnp'));
      expect(result.rows.find((r) => r.variant === variant.name)!.value, variant.name).toBe(accuracy(argmaxRows(logits(head, ref.testH)), ref.testLabels));
    }
    expect(result.rows[0]!.value).toBeGreaterThan(0.95);
  });

  it('sweep (Figure 3): each percentage alone at fixed levels, on the whole ID test set', async () => {
    const levels = { pMin: [10, 50], pMax: [1], nMin: [30], nMax: [0, 5] };
    const result = await runAblation(config('figure3', { options: { levels } }));
    expect(result).toMatchObject({ kind: 'sweep', source: 'Figure 3', layout: ['fpr95', 'auroc'] });
    expectOodShape(result, ['none', 'p_min=10%', 'p_min=50%', 'p_max=1%', 'n_min=30%', 'n_max=5%']);
    expect(result.counts.idTest).toBe(2500);
    const neurons = neuronSensitivity(ref.sensitivity);
    for (const variant of result.variants) {
      expect(variant.searched).toBe(false);
      expectRowsOf(result, variant.name, pruneHead(ref.head, pruningMasks(ref.sensitivity, neurons, variant.percentages!)), ref.testH);
    }
    expect(result.variants[2]).toMatchObject({ percentages: { pMin: 50, pMax: 0, nMin: 0, nMax: 0 }, details: { key: 'p_min', level: 50 } });

    const based = await runAblation(config('sweep', { options: { levels: { pMin: [30], pMax: [1], nMin: [], nMax: [] }, base: { pMin: 10, pMax: 0, nMin: 0, nMax: 5 } } }));
    expect(based.variants.map((v) => [v.name, v.percentages])).toEqual([
      ['p_min=10%,n_max=5%', { pMin: 10, pMax: 0, nMin: 0, nMax: 5 }],
      ['p_min=30%', { pMin: 30, pMax: 0, nMin: 0, nMax: 5 }],
      ['p_max=1%', { pMin: 10, pMax: 1, nMin: 0, nMax: 5 }],
    ]);
  });

  it('refuses unknown kinds, options of other kinds and bad options before any work', async () => {
    const refused = async (c: AblationConfig, pattern: RegExp) => {
      const error = await runAblation(c).then(() => undefined, (e: unknown) => e);
      expect(error, String(pattern)).toBeInstanceOf(OpnpError);
      expect((error as OpnpError).message).toMatch(pattern);
    };
    const notAModel = { model: '/nonexistent/model.onnx' };
    await refused(config('table5', notAModel), /Unknown ablation "table5"/);
    await refused(config('pruning', { ...notAModel, options: { fractions: [0.1] } }), /^The pruning ablation takes no option "fractions"; expected one of [a-zA-Z, ]+$/);
    await refused(config('fraction', { ...notAModel, options: { fractions: [0.5, 1.5] } }), /fraction must be in \(0, 1\]/);
    await refused(config('fraction', { ...notAModel, options: { fractions: [0.5, 0.5] } }), /fractions lists 0.5 twice/);
    await refused(config('statistic', { ...notAModel, options: { statistics: ['mode' as 'mean'] } }), /Unknown neuron statistic "mode"/);
    await refused(config('sweep', { ...notAModel, options: { levels: { pMin: [60], pMax: [], nMin: [], nMax: [] }, base: { pMin: 0, pMax: 50, nMin: 0, nMax: 0 } } }), /p_min \+ p_max must be below 100/);
    await refused(config('sweep', { ...notAModel, options: { levels: { pMin: [], pMax: [], nMin: [], nMax: [] } } }), /no level besides the base point/);
    await refused(config('accuracy', { ...notAModel, options: { settings: [{ name: 'x', percentages: { pMin: 101, pMax: 0, nMin: 0, nMax: 0 } }] } }), /setting x: pMin/);
    await refused(config('pruning', { ...notAModel, options: { grid: { ...GRID, nMax: [] } } }), /Grid axis nMax/);
    await refused(config('pruning', { ...notAModel, ood: [] }), /At least one OOD test set/);
    // Labels are checked once the sets are open, before the training pass.
    await refused(config('accuracy', { test: 'noise:50' }), /has no labels/);
  });

  it('a training pass with an onBatch observer cannot be checkpointed', async () => {
    const source = await openFeatureSource(TRAIN, { model: ref.model, preprocess: NORMALISE });
    const run = runTrainingPass({ model: ref.model, source, indices: new Uint32Array([0, 1]), batchSize: 2, checkpoint: { path: `${tempDir()}/ckpt.npy` }, onBatch: () => undefined });
    await expect(run).rejects.toThrow(/cannot be checkpointed/);
  });
});
