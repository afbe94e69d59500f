/**
 * evaluate() as stages: each stage alone gives what evaluate() gives; methods come from a registry a user
 * extends; hyper-parameters are options with defaults.
 */
import { describe, expect, it } from 'vitest';
import { composeScore, energy, logits, reactThreshold, type Matrix } from '@opnp/core';
import { oodMetrics } from '@opnp/metrics';
import {
  collectFeatures,
  createMethodRegistry,
  evaluate,
  fit,
  fitSubset,
  openFeatureSource,
  openSources,
  resolveConfig,
  score,
  selectPoint,
  summarize,
  trainingFingerprint,
  trainingIndices,
  type EvaluationConfig,
} from '../src/index.js';
import { demoEvaluation, demoModel, FASHION_VAL, NORMALISE, TEST, TRAIN } from './helpers.js';

const base = (): Promise<EvaluationConfig> => demoEvaluation(250);

/** The row maxima of features `[n x D]`: a toy score for a user-defined method. */
function rowMax(h: Matrix): Float32Array {
  const out = new Float32Array(h.rows);
  for (let r = 0; r < h.rows; r++) out[r] = Math.max(...h.data.subarray(r * h.cols, (r + 1) * h.cols));
  return out;
}

describe('evaluate', () => {
  it('equals its stages run one by one', async () => {
    const config = { ...(await base()), methods: ['energy', 'react', 'opnp'] };
    const { report } = await evaluate(config);
    const model = await demoModel();
    const resolved = resolveConfig(config);
    const sources = await openSources(model, resolved, () => undefined);
    const indices = trainingIndices(sources.train.count, 0.1, 0);
    const fitted = await fit(model, sources.train, { sensitivity: true, indices, fitIndices: fitSubset(indices, 20000, 0), fingerprint: await trainingFingerprint({ model, source: sources.train, indices, fraction: 0.1, seed: 0 }), batchSize: 250 });
    const selection = await selectPoint(model, sources.test, sources.valOod, fitted.opnp!, { valFraction: 0.2, seed: 0, batchSize: 250 });
    const state = { ...fitted.opnp!, percentages: selection.percentages };
    const scores = await score(sources.test, sources.ood, { registry: resolved.registry, methods: config.methods, context: { head: model.extractor.head, fitFeatures: fitted.fitFeatures, fitLabels: fitted.fitLabels, opnp: state }, evalIndices: selection.evalIndices, batchSize: 250 });
    const staged = summarize({ classes: 10, featureDim: 128, methods: config.methods, registry: resolved.registry, fit: fitted, selection, scores, opnpEvaluated: true, skipped: {} });
    expect(staged).toEqual(report);
    expect(report.counts.train).toBe(600);
  });

  it('runs a method registered by the user, and method options change what they should', async () => {
    const registry = createMethodRegistry();
    registry.register('max-feature', { description: 'largest feature', defaults: {}, create: () => (h) => rowMax(h) });
    const { report } = await evaluate({ ...(await base()), registry, methods: ['max-feature', 'react'], methodOptions: { react: { percentile: 85 } }, percentages: { pMin: 0, pMax: 0, nMin: 0, nMax: 0 } });
    expect(report.methods).toEqual(['max-feature', 'react']);
    expect(report.methodOptions).toEqual({ 'max-feature': {}, react: { percentile: 85 } });
    // Brute force: the same features through the model, scored here.
    const model = await demoModel();
    const features = async (spec: string, subset?: Uint32Array) => (await collectFeatures(await openFeatureSource(spec, { model, preprocess: NORMALISE }), { batchSize: 250, dim: 128, ...(subset ? { subset } : {}) })).features;
    const id = await features(TEST);
    const ood = await features(FASHION_VAL);
    const train = await features(TRAIN, trainingIndices(6000, 0.1, 0));
    const clip = reactThreshold(train, 85);
    const react = (h: Matrix) => composeScore(h, { head: model.extractor.head, transform: { kind: 'react', clip } });
    const expected = { 'max-feature': oodMetrics(rowMax(id), rowMax(ood)), react: oodMetrics(react(id), react(ood)) };
    for (const r of report.results) {
      const want = expected[r.method as keyof typeof expected];
      expect(r.auroc).toBeCloseTo(want.auroc, 6);
      expect(r.fpr95).toBeCloseTo(want.fpr95, 6);
    }
    expect(clip).not.toBe(reactThreshold(train, 90));
    // Sanity of the brute force itself: energy of the unclipped head is another score.
    expect(Array.from(energy(logits(model.extractor.head, id)))).not.toEqual(Array.from(react(id)));
  });

  it('searches nothing and holds out no test samples without an OPNP method; unused method options are warned', async () => {
    const notes: string[] = [];
    const warnings: string[] = [];
    const { report } = await evaluate({ ...(await base()), methods: ['energy'], methodOptions: { knn: { k: 5 } }, onInfo: (m) => notes.push(m), onWarning: (m) => warnings.push(m) });
    expect(report.counts.idTest).toBe(2500);
    expect(report.opnp).toBeNull();
    expect(notes.some((n) => /grid search|validation set/.test(n))).toBe(false);
    expect(warnings).toEqual(['options for knn are not used: knn is not among the methods']);
    expect(notes).not.toContain('options for knn are not used: knn is not among the methods');
  });

  it('refuses a training labels file that holds no labels (all -1) when a method needs them, saying so', async () => {
    const { writeNpy } = await import('@opnp/datasets/node');
    const { mkdtempSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const file = join(mkdtempSync(join(tmpdir(), 'opnp-labels-')), 'none.npy');
    await writeNpy(file, { dtype: 'float64', shape: [6000], data: new Float64Array(6000).fill(-1) });
    for (const methodsExplicit of [true, false]) {
      const run = evaluate({ ...(await base()), methods: ['energy', 'mahalanobis'], methodsExplicit, trainLabels: file });
      await expect(run).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', file });
      await expect(run).rejects.toThrow(`mahalanobis needs training labels, but trainLabels ${file} holds none: every one of its 6000 entries is -1`);
    }
  });

  it('refuses unknown methods, unknown options, options of the wrong type and names taken', async () => {
    const config = await base();
    await expect(evaluate({ ...config, methods: ['energy', 'nope'] })).rejects.toThrow(/Unknown method "nope"/);
    await expect(evaluate({ ...config, methods: ['react'], methodOptions: { react: { k: 3 } } })).rejects.toThrow(/Method "react" has no option "k"; expected percentile/);
    await expect(evaluate({ ...config, methods: ['react'], methodOptions: { react: { percentile: 'high' } } })).rejects.toThrow(/react\.percentile must be a number/);
    const registry = createMethodRegistry();
    expect(() => registry.register('energy', { description: 'x', defaults: {}, create: () => (h) => rowMax(h) })).toThrow(/already registered/);
    expect(() => registry.register('Bad Name', { description: 'x', defaults: {}, create: () => (h) => rowMax(h) })).toThrow(/Method names/);
  });
});
