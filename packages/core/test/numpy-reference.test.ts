/**
 * Cross-check against an independent implementation: OPNP and the baselines computed with numpy straight from
 * docs/numerics.md, committed as a fixture by tools/fixtures/core/make_numpy_reference.py (the tests need no Python).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  ash,
  diceHead,
  energy,
  featureMean,
  fitKnn,
  fitMahalanobis,
  gradNorm,
  knnScore,
  logits,
  mahalanobisScore,
  matrix,
  maxLogit,
  msp,
  neuronSensitivity,
  pruneHead,
  pruningMasks,
  react,
  reactThreshold,
  SensitivityAccumulator,
  type NeuronStatistic,
} from '@opnp/core';
import { expectClose } from '@opnp/core/testing';

const ref = JSON.parse(readFileSync(new URL('./fixtures/numpy-reference.json', import.meta.url), 'utf8')) as Record<string, unknown> & {
  C: number;
  D: number;
  temperature: number;
  weight: number[];
  bias: number[];
  train: number[];
  trainLabels: number[];
  signed: number[];
  test: number[];
  points: { pMin: number; pMax: number; nMin: number; nMax: number; paramKept: number; neuronKept: number; paramMask: number[]; neuronMask: number[]; energy: number[] }[];
  neuron: Record<NeuronStatistic, number[]>;
};
const { C, D } = ref;
const head = { weight: matrix(C, D, ref.weight), bias: Float32Array.from(ref.bias) };
const rows = (values: number[]) => matrix(values.length / D, D, values);
const train = rows(ref.train);
const signed = rows(ref.signed);
const test = rows(ref.test);
const T = ref.temperature;
const series = (key: string) => ref[key] as number[];

/** Relative tolerance for float32 pipelines compared with float64 numpy; names the first differing index. */
async function sensitivity(features: typeof train, aggregation: 'sum-of-abs' | 'abs-of-sum') {
  const acc = new SensitivityAccumulator(head, { temperature: T, aggregation });
  await acc.add(features);
  return acc.result();
}

describe('OPNP agrees with a numpy implementation of docs/numerics.md', () => {
  it('parameter sensitivity (both aggregations) and the six neuron statistics', async () => {
    const s = await sensitivity(train, 'sum-of-abs');
    expectClose(s.values, series('sensitivity'), 2e-5, 'sensitivity');
    expectClose((await sensitivity(signed, 'sum-of-abs')).values, series('sensitivitySignedSumOfAbs'), 2e-5, 'signed sum-of-abs');
    expectClose((await sensitivity(signed, 'abs-of-sum')).values, series('sensitivitySignedAbsOfSum'), 2e-5, 'signed abs-of-sum');
    for (const statistic of ['mean', 'max', 'min', 'median', 'l2', 'variance'] as const) {
      expectClose(neuronSensitivity(s, statistic), ref.neuron[statistic], 5e-5, `neuron ${statistic}`);
    }
  });

  it('masks, kept counts and pruned-head energies at several grid points', async () => {
    const s = await sensitivity(train, 'sum-of-abs');
    // Thresholds compare against numpy's float64 sensitivities; use those so that masks are decided on equal values.
    const numpySens = { classes: C, dim: D, values: Float64Array.from(series('sensitivity')) };
    const numpyNeuron = Float64Array.from(ref.neuron.mean);
    expectClose(s.values, series('sensitivity'), 2e-5, 'sensitivity');
    for (const p of ref.points) {
      const masks = pruningMasks(numpySens, numpyNeuron, p);
      expect(masks.paramKept, JSON.stringify(p)).toBe(p.paramKept);
      expect(masks.neuronKept, JSON.stringify(p)).toBe(p.neuronKept);
      expect(Array.from(masks.param)).toEqual(p.paramMask);
      expect(Array.from(masks.neuron)).toEqual(p.neuronMask);
      expectClose(energy(logits(pruneHead(head, masks), test)), p.energy, 2e-5, `energy at ${JSON.stringify(p)}`);
      // Our own sensitivities (float32 GEMM, float64 sums) decide the same weights and neurons here.
      const own = pruningMasks(s, neuronSensitivity(s), p);
      expect(Array.from(own.param)).toEqual(p.paramMask);
      expect(Array.from(own.neuron)).toEqual(p.neuronMask);
    }
  });
});

describe('baselines agree with numpy', () => {
  const f = logits(head, test);
  it('msp, maxlogit, energy (T = 1 and T), gradnorm', () => {
    expectClose(msp(f), series('msp'), 2e-5, 'msp');
    expectClose(maxLogit(f), series('maxlogit'), 2e-5, 'maxlogit');
    expectClose(energy(f), series('energy'), 2e-5, 'energy');
    expectClose(energy(f, { temperature: T }), series('energyT'), 2e-5, 'energy T');
    expectClose(gradNorm(test, f, { temperature: T }), series('gradnorm'), 2e-5, 'gradnorm');
  });
  it('ReAct, DICE and ASH-P/B/S', () => {
    const clip = reactThreshold(train, 90);
    expect(clip).toBeCloseTo(ref.reactClip as number, 6);
    expectClose(energy(logits(head, react(test, clip))), series('react'), 2e-5, 'react');
    const dice = diceHead(head, featureMean(train), { percentile: 90 });
    expect(dice.kept).toBe(ref.diceKept as number);
    expectClose(energy(logits(dice.head, test)), series('dice'), 2e-5, 'dice');
    for (const variant of ['p', 'b', 's'] as const) {
      expectClose(energy(logits(head, ash(test, { variant, percentile: 90 }))), series(`ash${variant.toUpperCase()}`), 2e-5, `ash-${variant}`);
    }
  });
  it('Mahalanobis and KNN', () => {
    expectClose(mahalanobisScore(fitMahalanobis(train, ref.trainLabels, C), test), series('mahalanobis'), 1e-4, 'mahalanobis');
    expectClose(knnScore(fitKnn(train, { k: 5 }), test), series('knn5'), 1e-4, 'knn');
  });
});
