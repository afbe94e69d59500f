/**
 * Progress events of every long phase, seen by a fake listener: the training pass, the validation reads, the grid
 * search, the baseline search, the fits (with a method's own sub-steps) and the scoring of every set, in an
 * evaluation, a shard of one and an ablation. Each stage's counts rise to its total and end with one `done` event.
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_PRUNING_GRID, composeScore, gridPoints, type Matrix } from '@opnp/core';
import { join } from 'node:path';
import {
  createMethodRegistry,
  createScorers,
  evaluate,
  evaluateShard,
  fitScorers,
  InterruptedError,
  openFeatureSource,
  phaseReporter,
  runAblation,
  runSensitivity,
  runTrainingPass,
  trainingFingerprint,
  trainingIndices,
  writeStateFile,
  type EvaluationConfig,
  type StageProgress,
} from '../src/index.js';
import { demoEvaluation, demoModel, NORMALISE, TRAIN, tempDir } from './helpers.js';

/** A listener recording every event. */
function recorder() {
  const events: StageProgress[] = [];
  return { events, listener: (e: StageProgress) => void events.push(e) };
}

/** Each stage's events, in order. */
function byStage(events: readonly StageProgress[]): Map<string, StageProgress[]> {
  const out = new Map<string, StageProgress[]>();
  for (const e of events) out.set(e.stage, [...(out.get(e.stage) ?? []), e]);
  return out;
}

/** Asserts every stage is well formed: one total, counts that never fall, one `done` event last, at the total. */
function expectWellFormed(events: readonly StageProgress[]): Map<string, StageProgress[]> {
  const stages = byStage(events);
  for (const [stage, list] of stages) {
    expect(new Set(list.map((e) => e.total)).size, `${stage}: one total`).toBe(1);
    for (let i = 1; i < list.length; i++) expect(list[i]!.count, `${stage}: rising counts`).toBeGreaterThanOrEqual(list[i - 1]!.count);
    expect(list.filter((e) => e.done), `${stage}: one done event`).toHaveLength(1);
    expect(list.at(-1)!.done, `${stage}: done last`).toBe(true);
    expect(list.at(-1)!.count, `${stage}: done at the total`).toBe(list[0]!.total);
    expect(new Set(list.map((e) => e.unit)).size, `${stage}: one unit`).toBe(1);
  }
  return stages;
}

/** `{ total, unit }` of a stage, and whether it sent events before its end. */
function summary(stages: Map<string, StageProgress[]>, stage: string) {
  const list = stages.get(stage);
  if (!list) throw new Error(`no events of stage "${stage}" (got ${[...stages.keys()].join(', ')})`);
  return { total: list[0]!.total, unit: list[0]!.unit, steps: list.filter((e) => !e.done).length };
}

const rowMax = (h: Matrix) => Float32Array.from({ length: h.rows }, (_, r) => Math.max(...h.data.subarray(r * h.cols, (r + 1) * h.cols)));

/** A registry with a method whose fit reports four sub-steps. */
function registryWithSlowFit() {
  const registry = createMethodRegistry();
  registry.register('slow', {
    description: 'a fit in four steps',
    defaults: {},
    create: (c) => {
      for (let step = 0; step < 4; step++) c.reportProgress?.(step, 4);
      c.reportProgress?.(4, 4);
      return (h) => rowMax(h);
    },
  });
  return registry;
}

const base = (): Promise<EvaluationConfig> => demoEvaluation(100);

describe('evaluate progress', () => {
  it('reports every phase: training pass, validation, grid search, baseline search, fits with sub-steps, scoring', async () => {
    const { events, listener } = recorder();
    const methods = ['energy', 'knn', 'react', 'vim', 'slow', 'opnp'];
    const { report } = await evaluate({ ...(await base()), methods, registry: registryWithSlowFit(), searchBaselines: true, onProgress: listener });
    const stages = expectWellFormed(events);
    const fashion = report.counts.ood.fashion!;
    expect(summary(stages, 'train')).toMatchObject({ total: 600, unit: undefined });
    expect(summary(stages, 'validation ID')).toMatchObject({ total: 500 });
    expect(summary(stages, 'validation noise')).toMatchObject({ total: 200 });
    // The grid: the ID and OOD validation rows scored at every point.
    expect(summary(stages, 'grid search')).toMatchObject({ total: 700, unit: undefined });
    expect(stages.get('grid search')![0]!.detail).toBe(`${gridPoints(DEFAULT_PRUNING_GRID).length} points`);
    // The baseline search: k at most the 600 fit rows; OpenOOD's four ReAct percentiles.
    expect(summary(stages, 'search knn: fit')).toMatchObject({ total: 4, unit: 'configurations', steps: 4 });
    expect(stages.get('search knn: fit')!.filter((e) => !e.done).map((e) => e.detail)).toEqual(['k=50', 'k=100', 'k=200', 'k=500']);
    expect(summary(stages, 'search react: fit')).toMatchObject({ total: 4, unit: 'configurations' });
    expect(summary(stages, 'search knn: ID validation')).toMatchObject({ total: 500 });
    expect(summary(stages, 'search knn: noise')).toMatchObject({ total: 200 });
    // One event per method as its fit starts, naming it; the asynchronous ViM fit is awaited inside the stage.
    expect(summary(stages, 'fit methods')).toMatchObject({ total: methods.length, unit: 'methods' });
    expect(stages.get('fit methods')!.filter((e) => !e.done).map((e) => [e.count, e.detail])).toEqual(methods.map((m, i) => [i, m]));
    expect(summary(stages, 'fit slow')).toMatchObject({ total: 4, unit: 'steps', steps: 4 });
    expect(stages.get('fit slow')!.map((e) => e.count)).toEqual([0, 1, 2, 3, 4]);
    // The scoring: every method in one pass per set.
    expect(summary(stages, 'score test')).toMatchObject({ total: 2000, unit: undefined });
    expect(summary(stages, 'score test').steps).toBeGreaterThanOrEqual(20);
    expect(summary(stages, 'score fashion')).toMatchObject({ total: fashion });
    // The fits come after the searches, the scoring after the fits.
    const first = (stage: string) => events.findIndex((e) => e.stage === stage);
    expect(first('train')).toBeLessThan(first('grid search'));
    expect(first('grid search')).toBeLessThan(first('search knn: fit'));
    expect(first('search react: fit')).toBeLessThan(first('fit methods'));
    expect(first('fit methods')).toBeLessThan(first('score test'));
  });

  it('reports the scoring of a shard with the shard\'s totals', async () => {
    const { events, listener } = recorder();
    await evaluateShard({ ...(await base()), methods: ['energy', 'opnp'], shard: { index: 2, count: 3 }, out: `${tempDir()}/scores.npy`, onProgress: listener });
    const stages = expectWellFormed(events);
    // Positions [666, 1333) of the 2000 test indices left by the validation split.
    expect(summary(stages, 'score test').total).toBe(667);
    expect(summary(stages, 'grid search').total).toBe(700);
    expect(summary(stages, 'fit methods')).toMatchObject({ total: 2, unit: 'methods' });
  });
});

describe('the fit subset read on its own', () => {
  it('is reported after a saved sensitivity state replaced the training pass', async () => {
    const model = await demoModel();
    const run = await runSensitivity({ model, train: TRAIN, preprocess: NORMALISE, trainFraction: 0.1, seed: 0, batchSize: 100 });
    const state = join(tempDir(), 'state.npy');
    await writeStateFile(state, run.accumulator.toState(), run.provenance);
    const { events, listener } = recorder();
    await evaluate({ ...(await base()), methods: ['react', 'opnp'], sensitivityState: state, onProgress: listener });
    const stages = expectWellFormed(events);
    expect(stages.has('train')).toBe(false);
    expect(summary(stages, 'fit subset')).toMatchObject({ total: 600, unit: undefined });
  });

  it('is reported when a resumed checkpoint covers some of its rows', async () => {
    const model = await demoModel();
    const source = await openFeatureSource(TRAIN, { model, preprocess: NORMALISE });
    const indices = trainingIndices(source.count, 0.1, 0);
    const options = { model, source, indices, fitIndices: indices, batchSize: 100, checkpoint: { path: join(tempDir(), 'ckpt.npy') }, fingerprint: await trainingFingerprint({ model, source, indices, fraction: 0.1, seed: 0 }) };
    const controller = new AbortController();
    let batches = 0;
    await expect(runTrainingPass({ ...options, signal: controller.signal, onProgress: (e) => !e.done && ++batches === 3 && controller.abort() })).rejects.toBeInstanceOf(InterruptedError);
    const { events, listener } = recorder();
    await runTrainingPass({ ...options, onProgress: listener });
    const stages = expectWellFormed(events);
    // The pass's first event follows its first batch of 100 after the samples the checkpoint covers.
    const resumed = stages.get('train')![0]!.count - 100;
    expect(resumed).toBeGreaterThan(0);
    expect(summary(stages, 'fit subset').total).toBe(resumed);
    expect(events.findIndex((e) => e.stage === 'fit subset')).toBeLessThan(events.findIndex((e) => e.stage === 'train'));
  });
});

describe('runAblation progress', () => {
  it('reports each pruner\'s search: grid rows for the band-rule pruners, points for the random ones', async () => {
    const { events, listener } = recorder();
    const config = await base();
    await runAblation({ ...config, model: await demoModel(), kind: 'pruning', onProgress: listener });
    const stages = expectWellFormed(events);
    const weightPoints = gridPoints({ ...DEFAULT_PRUNING_GRID, nMin: [0], nMax: [0] }).length;
    const neuronPoints = gridPoints({ ...DEFAULT_PRUNING_GRID, pMin: [0], pMax: [0] }).length;
    expect(summary(stages, 'search RPP')).toMatchObject({ total: weightPoints, unit: 'points', steps: weightPoints });
    expect(summary(stages, 'search RNP')).toMatchObject({ total: neuronPoints, unit: 'points' });
    for (const pruner of ['TPP', 'OPP', 'TNP', 'ONP']) expect(summary(stages, `search ${pruner}`)).toMatchObject({ total: 700, unit: undefined });
    expect(summary(stages, 'validation ID').total).toBe(500);
    expect(summary(stages, 'score test').total).toBe(2000);
  });
});

describe('fitting scorers', () => {
  const context = async () => ({ head: (await demoModel()).extractor.head, fitFeatures: { rows: 0, cols: 128, data: new Float32Array(0) }, fitLabels: new Int32Array(0) });

  it('ends a method\'s sub-steps when its fit returns before their total', async () => {
    const registry = createMethodRegistry();
    registry.register('partial', { description: 'stops early', defaults: {}, create: (c) => (c.reportProgress?.(1, 3, 'blocks'), (h) => composeScore(h, { head: c.head })) });
    const { events, listener } = recorder();
    await fitScorers(registry, ['partial', 'energy'], await context(), {}, { onProgress: listener });
    expect(events.filter((e) => e.stage === 'fit partial').map((e) => [e.count, e.total, e.unit, e.done])).toEqual([
      [1, 3, 'blocks', false],
      [1, 3, 'blocks', true],
    ]);
    expect(events.filter((e) => e.stage === 'fit methods').map((e) => [e.count, e.done])).toEqual([[0, false], [1, false], [2, true]]);
  });

  it('gives no progress callback when nothing listens; createScorers defers an asynchronous fit to the first batch', async () => {
    const registry = createMethodRegistry();
    let seen: unknown = 'unset';
    registry.register('probe', { description: 'sees its context', defaults: {}, create: (c) => ((seen = c.reportProgress), (h) => rowMax(h)) });
    await fitScorers(registry, ['probe'], await context());
    expect(seen).toBeUndefined();
    let fitted = false;
    registry.register('later', { description: 'fits asynchronously', defaults: {}, create: async () => ((fitted = true), (h: Matrix) => rowMax(h)) });
    const own = await context();
    const h = { rows: 2, cols: 3, data: Float32Array.from([1, 5, 2, 7, 0, 3]) };
    const scorer = createScorers(registry, ['later'], own).get('later')!;
    expect(Array.from(await scorer(h, h))).toEqual([5, 7]);
    expect(fitted).toBe(true);
  });
});

describe('phaseReporter', () => {
  it('counts the rate from its creation on the given clock and ends at the total', () => {
    const { events, listener } = recorder();
    let t = 1000;
    const phase = phaseReporter(listener, 'grid search', 300, { now: () => t });
    phase.step(0, '192 points');
    t += 2000;
    phase.step(100);
    phase.done();
    expect(events).toEqual([
      { stage: 'grid search', count: 0, total: 300, rate: 0, done: false, detail: '192 points' },
      { stage: 'grid search', count: 100, total: 300, rate: 50, done: false },
      { stage: 'grid search', count: 300, total: 300, rate: 0, done: true },
    ]);
    const units = recorder();
    const configurations = phaseReporter(units.listener, 'search knn: fit', 4, { unit: 'configurations', now: () => t });
    configurations.step(1);
    expect(units.events[0]).toMatchObject({ unit: 'configurations', rate: 0 });
  });
});
