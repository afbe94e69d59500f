/** The head-contract methods and the composition names of the built-in registry score as their core functions. */
import { describe, expect, it } from 'vitest';
import {
  fitKnn,
  fitMahalanobis,
  mahalanobisScore,
  knnScore,
  portableGemmKernel,
  composeScore,
  computeSensitivity,
  entropy,
  fdbdScore,
  fitFdbd,
  fitKlMatching,
  fitNci,
  fitNnGuide,
  fitResidual,
  fitRmds,
  fitShe,
  klMatchingScore,
  linearHead,
  logits,
  mulberry32,
  nciScore,
  neuronSensitivity,
  nnGuideScore,
  pruneHead,
  pruningMasks,
  reactThreshold,
  residualScore,
  rmdsScore,
  sheScore,
  fitVim,
  vimScore,
  type Matrix64,
} from '@opnp/core';
import { randomMatrix } from '@opnp/core/testing';
import { BUILTIN_METHODS, createMethodRegistry, createScorers, methodNeeds, methodOptionsFor, resolvedOptions, type MethodContext } from '../src/index.js';

async function context(): Promise<MethodContext> {
  const head = linearHead(randomMatrix(4, 8, mulberry32(1)), randomMatrix(1, 4, mulberry32(2)).data);
  const fitFeatures = randomMatrix(300, 8, mulberry32(3), (u) => u * 2 - 0.3);
  const f = logits(head, fitFeatures);
  const fitLabels = Int32Array.from({ length: 300 }, (_, n) => {
    let y = 0;
    for (let c = 1; c < 4; c++) if (f.data[n * 4 + c]! > f.data[n * 4 + y]!) y = c;
    return n % 5 === 0 ? (y + 1) % 4 : y;
  });
  const sensitivity = await computeSensitivity(head, fitFeatures);
  return { head, fitFeatures, fitLabels, opnp: { sensitivity, neuronSensitivity: neuronSensitivity(sensitivity), percentages: { pMin: 10, pMax: 1, nMin: 10, nMax: 1 } } };
}

describe('built-in head-contract methods', () => {
  it('each entry scores as its core function with the official defaults', async () => {
    const c = await context();
    const test = randomMatrix(40, 8, mulberry32(4));
    const f = logits(c.head, test);
    const names = ['entropy', 'klm', 'she', 'fdbd', 'rmds', 'nnguide', 'nci', 'residual'];
    const scorers = createScorers(createMethodRegistry(), names, c);
    const bank = fitNnGuide(c.fitFeatures, logits(c.head, c.fitFeatures), { k: 10 }); // the whole fit subset (bankFraction 1)
    expect(BUILTIN_METHODS.nnguide!.defaults).toEqual({ k: 10, bankFraction: 0.01, seed: 0 });
    const expected: Record<string, Float32Array> = {
      entropy: entropy(f),
      klm: klMatchingScore(fitKlMatching(logits(c.head, c.fitFeatures)), f),
      she: sheScore(fitShe(c.fitFeatures, c.fitLabels, c.head), test, f),
      fdbd: fdbdScore(fitFdbd(c.fitFeatures, c.head), test, f, { distanceAsNormalizer: true }),
      rmds: rmdsScore(fitRmds(c.fitFeatures, c.fitLabels, 4), test),
      nci: nciScore(fitNci(c.fitFeatures, c.head), test, f, { alpha: 1e-4 }),
      residual: residualScore(fitResidual(c.fitFeatures, c.head), test),
    };
    for (const [name, want] of Object.entries(expected)) expect(Array.from(await scorers.get(name)!(test, f)), name).toEqual(Array.from(want));
    const nn = await scorers.get('nnguide')!(test, f);
    expect(nn.every(Number.isFinite)).toBe(true);
    expect(bank.bankSize).toBe(300);
    const all = await createScorers(createMethodRegistry(), ['nnguide'], c, { nnguide: { bankFraction: 1 } }).get('nnguide')!(test, f);
    expect(Array.from(all)).toEqual(Array.from(nnGuideScore(bank, test, f)));
    expect(methodNeeds(createMethodRegistry(), ['she'])).toEqual({ opnp: false, fit: true, labels: true, inputs: false });
    expect(methodNeeds(createMethodRegistry(), ['rmds', 'entropy'])).toEqual({ opnp: false, fit: true, labels: true, inputs: false });
  });

  it('composition names reuse the pruned heads', async () => {
    const c = await context();
    const test = randomMatrix(30, 8, mulberry32(5));
    const f = logits(c.head, test);
    const names = ['opnp', 'opnp+react', 'msp+opnp', 'energy+opnp', 'react+opnp', 'opp+react'];
    const s = createScorers(createMethodRegistry(), names, c);
    const state = c.opnp!;
    const headOf = (mode: 'opp' | 'opnp') => pruneHead(c.head, pruningMasks(state.sensitivity, state.neuronSensitivity, state.percentages, mode));
    const clip = reactThreshold(c.fitFeatures, 90);
    const got = async (name: string) => Array.from(await s.get(name)!(test, f));
    expect(await got('energy+opnp')).toEqual(await got('opnp'));
    expect(await got('react+opnp')).toEqual(await got('opnp+react'));
    expect(await got('msp+opnp')).toEqual(Array.from(composeScore(test, { head: headOf('opnp'), score: 'msp' })));
    expect(await got('opp+react')).toEqual(Array.from(composeScore(test, { head: headOf('opp'), transform: { kind: 'react', clip } })));
    expect(BUILTIN_METHODS['react+opnp']).toBe(BUILTIN_METHODS['opnp+react']);
  });
});

describe('mahalanobis and rmds on a fit subset missing a class', () => {
  it('skip the class the random fit subset happens to lack, as core does with allowEmptyClasses', async () => {
    const c = await context();
    // Drop every row of class 3 from the fit subset (a many-class dataset's random subset can lack a class).
    const keep = Array.from(c.fitLabels.keys()).filter((n) => c.fitLabels[n] !== 3);
    const D = c.fitFeatures.cols;
    const fitFeatures = { rows: keep.length, cols: D, data: Float32Array.from(keep.flatMap((n) => Array.from(c.fitFeatures.data.subarray(n * D, (n + 1) * D)))) };
    const fitLabels = Int32Array.from(keep, (n) => c.fitLabels[n]!);
    expect(() => fitMahalanobis(fitFeatures, fitLabels, 4)).toThrow(/class/); // core's default refuses it
    const subset = { ...c, fitFeatures, fitLabels };
    const test = randomMatrix(20, D, mulberry32(9));
    const scorers = createScorers(createMethodRegistry(), ['mahalanobis', 'rmds'], subset);
    const want = {
      mahalanobis: mahalanobisScore(fitMahalanobis(fitFeatures, fitLabels, 4, { relativeTolerance: 1e-6, allowEmptyClasses: true }), test),
      rmds: rmdsScore(fitRmds(fitFeatures, fitLabels, 4, { relativeTolerance: 1e-6, allowEmptyClasses: true }), test),
    };
    for (const [name, scorer] of scorers) {
      const got = await scorer(test, logits(c.head, test));
      expect(Array.from(got), name).toEqual(Array.from(want[name as keyof typeof want]));
      expect(got.every(Number.isFinite), name).toBe(true);
    }
  });
});

describe('knn through the run kernel', () => {
  it('scores the same with the kernel of the run (blocked GEMM) as without', async () => {
    const train = randomMatrix(200, 16, mulberry32(11));
    const test = randomMatrix(40, 16, mulberry32(12));
    const head = { weight: randomMatrix(3, 16, mulberry32(13)), bias: new Float32Array(3) };
    const base = { head, fitFeatures: train, fitLabels: new Int32Array(200).fill(-1) };
    const plain = createScorers(createMethodRegistry(), ['knn'], base, { knn: { k: 7 } }).get('knn')!;
    const kernel = createScorers(createMethodRegistry(), ['knn'], { ...base, kernel: portableGemmKernel }, { knn: { k: 7 } }).get('knn')!;
    const f = logits(head, test);
    const [a, b] = [await plain(test, f), await kernel(test, f)];
    const model = fitKnn(train, { k: 7 });
    expect(Array.from(a)).toEqual(Array.from(knnScore(model, test)));
    for (let i = 0; i < a.length; i++) expect(Math.abs(a[i]! - b[i]!)).toBeLessThanOrEqual(1e-6);
  });
});

/** `op(a) op(b)` by its definition (float64 sums in index order). */
async function float64ProductJs(a: Matrix64, b: Matrix64, { transA, transB }: { transA: boolean; transB: boolean }): Promise<Matrix64> {
  const [m, k, n] = [transA ? a.cols : a.rows, transA ? a.rows : a.cols, transB ? b.rows : b.cols];
  const data = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let q = 0; q < k; q++) s += (transA ? a.data[q * a.cols + i]! : a.data[i * a.cols + q]!) * (transB ? b.data[j * b.cols + q]! : b.data[q * b.cols + j]!);
      data[i * n + j] = s;
    }
  }
  return { rows: m, cols: n, data };
}

describe('vim and residual through the run kernel', () => {
  it('fit ViM once, with the eigendecompositions on the kernel\'s float64Product, scoring as fitVim', async () => {
    const train = randomMatrix(400, 90, mulberry32(21), (u) => u * 3 - 1);
    const test = randomMatrix(30, 90, mulberry32(22));
    const head = linearHead(randomMatrix(70, 90, mulberry32(23)), randomMatrix(1, 70, mulberry32(24)).data);
    let calls = 0;
    const counting = {
      ...portableGemmKernel,
      name: 'counting',
      accelerators: { float64Product: async (a: Matrix64, b: Matrix64, options: { transA: boolean; transB: boolean }) => (calls++, await float64ProductJs(a, b, options)) },
    };
    const c = { head, fitFeatures: train, fitLabels: new Int32Array(400).fill(-1), kernel: counting };
    const scorers = createScorers(createMethodRegistry(), ['vim', 'residual'], c, { vim: { dim: 40 }, residual: { dim: 40 } });
    const f = logits(head, test);
    const model = fitVim(train, head, { dim: 40 });
    expect(Array.from(await scorers.get('vim')!(test, f))).toEqual(Array.from(vimScore(model, test)));
    const callsOfOneFit = calls;
    expect(callsOfOneFit).toBeGreaterThan(0);
    expect(Array.from(await scorers.get('residual')!(test, f))).toEqual(Array.from(residualScore(model, test)));
    expect(calls, 'residual reuses the ViM fit').toBe(callsOfOneFit);
    // A fit error (dim = D) is reported when scoring.
    const bad = createScorers(createMethodRegistry(), ['vim'], c, { vim: { dim: 90 } }).get('vim')!;
    await expect(Promise.resolve().then(() => bad(test, f))).rejects.toThrow(/dim/);
  });
});

describe('vim and residual dim: absent means the default for D, 0 means 0', () => {
  // The official default for D < 768 (docs/numerics.md#vim), written here: floor(D / 2).
  const D = 90;
  const officialDefault = Math.floor(D / 2);
  const train = randomMatrix(300, D, mulberry32(31), (u) => u * 3 - 1);
  const test = randomMatrix(20, D, mulberry32(32));
  const head = linearHead(randomMatrix(12, D, mulberry32(33)), randomMatrix(1, 12, mulberry32(34)).data);
  const c = { head, fitFeatures: train, fitLabels: new Int32Array(300).fill(-1), kernel: portableGemmKernel };

  it('scores with the default dim when none is given, and with dim 0 when 0 is given', async () => {
    const f = logits(head, test);
    const scoresOf = async (overrides: Record<string, Record<string, number>>) => Array.from(await createScorers(createMethodRegistry(), ['vim'], c, overrides).get('vim')!(test, f));
    expect(await scoresOf({})).toEqual(Array.from(vimScore(fitVim(train, head, { dim: officialDefault }), test)));
    const zero = await scoresOf({ vim: { dim: 0 } });
    expect(zero).toEqual(Array.from(vimScore(fitVim(train, head, { dim: 0 }), test)));
    expect(zero).not.toEqual(await scoresOf({}));
  });

  it('the options a run reports are the dims the methods ran with', () => {
    const registry = createMethodRegistry();
    const dims = { features: D, classes: 12 };
    expect(methodOptionsFor('vim', registry.get('vim'), undefined, dims)).toEqual({ dim: officialDefault });
    expect(methodOptionsFor('residual', registry.get('residual'), { dim: 0 }, dims)).toEqual({ dim: 0 });
    // The report of a run on a 128-d model: 64, not a sentinel.
    expect(resolvedOptions({ methods: ['vim', 'residual', 'energy'], registry, featureDim: 128, classes: 10 })).toEqual({ vim: { dim: 64 }, residual: { dim: 64 }, energy: { temperature: 1 } });
    expect(() => methodOptionsFor('vim', registry.get('vim'), { dim: 'big' }, dims)).toThrow(/vim\.dim must be a number/);
  });
});
