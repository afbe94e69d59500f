/**
 * The `odin` method: its registry entry scores as core's `odin` with the run's model, layout and normalisation
 * std; its check refuses what cannot run before any data is read; `evaluate` feeds it the model inputs (and
 * refuses cached features), and the baseline search streams the validation images to it.
 */
import { describe, expect, it } from 'vitest';
import { createLinearFeatureExtractor, isOpnpError, linearHead, mulberry32, odin, odinModelOf, type FeatureExtractor, type InputBatch, type Matrix } from '@opnp/core';
import { randomMatrix } from '@opnp/core/testing';
import { oodMetrics } from '@opnp/metrics';
import { BUILTIN_METHODS, checkMethods, createMethodRegistry, createScorers, evaluate, openFeatureSource, resolveConfig, type EvaluationSources, type FeatureSource } from '../src/index.js';
import { demoModel, NORMALISE, TRAIN } from './helpers.js';

const I = 12;
const projection = randomMatrix(16, I, mulberry32(1));
const head = linearHead(randomMatrix(3, 16, mulberry32(2)), [0.1, 0, -0.1]);
const input = { name: 'x', shape: [null, 3, 2, 2], layout: 'NCHW' } as const;

/** The linear ReLU extractor, optionally with an `inputGradient` (a fixed pattern: the scorer must hand it to core's odin as is). */
function extractor(withGradient: boolean): FeatureExtractor {
  const base = createLinearFeatureExtractor({ projection, head, input });
  if (!withGradient) return base;
  return {
    ...base,
    extract: (b) => base.extract(b),
    inputGradient: async (b: InputBatch, w: Matrix) => Float32Array.from({ length: b.data.length }, (_, j) => ((j + w.rows) % 5) - 2),
  };
}

const batch = (n: number): InputBatch => ({ data: randomMatrix(n, I, mulberry32(3), (u) => u * 2 - 1).data, shape: [n, 3, 2, 2] });

describe('the odin registry entry', () => {
  it('scores as core odin with the context model, layout and std, using the batch logits', async () => {
    for (const withGradient of [true, false]) {
      const ex = extractor(withGradient);
      const b = batch(5);
      const { features, logits } = await ex.extract(b);
      const context = { head, fitFeatures: { rows: 0, cols: 16, data: new Float32Array(0) }, fitLabels: new Int32Array(0), extractor: ex, inputStd: [0.5, 1, 2] };
      const scorer = createScorers(createMethodRegistry(), ['odin'], context, { odin: { temperature: 100, epsilon: 0.01 } }).get('odin')!;
      const expected = await odin(odinModelOf(ex), b, { temperature: 100, epsilon: 0.01, inputStd: [0.5, 1, 2], layout: 'NCHW' });
      expect(expected.gradient).toBe(withGradient ? 'exact' : 'finite-difference');
      expect(Array.from(await scorer(features, logits, b))).toEqual(Array.from(expected.scores));
      await expect(Promise.resolve().then(() => scorer(features, logits))).rejects.toThrow(/odin needs the model inputs/);
    }
  });

  it('says before any data how it will run, and refuses finite differences on inputs above the limit', () => {
    const odinMethod = BUILTIN_METHODS.odin!;
    const options = { ...odinMethod.defaults };
    expect(odinMethod.check!({ extractor: extractor(true) }, options)).toBe('exact input gradients from the linear backend');
    expect(odinMethod.check!({ extractor: extractor(false) }, options)).toBe('input gradients by finite differences (the linear backend has none): 14 forward passes per image');
    const big = createLinearFeatureExtractor({ head: linearHead(randomMatrix(3, 2000, mulberry32(4))), input: { name: 'x', shape: [null, 2000], layout: 'flat' } });
    expect(() => odinMethod.check!({ extractor: big }, options)).toThrow(/2001 forward passes per sample for this 2000-value input, above the limit of 1024/);
    expect(odinMethod.check!({ extractor: big }, { ...options, maxFiniteDifferenceInputs: 2000 })).toMatch(/2002 forward passes per image/);
    const bads: Record<string, number | string>[] = [{ temperature: 0 }, { epsilon: -1 }, { gradient: 'fast' }];
    for (const bad of bads) {
      const error = (() => {
        try {
          odinMethod.check!({ extractor: big }, { ...options, ...bad });
        } catch (e) {
          return e;
        }
      })();
      expect(isOpnpError(error) && error.code, JSON.stringify(bad)).toBe('INVALID_ARGUMENT');
    }
  });

  it('refuses cached features for methods that perturb the input', async () => {
    const model = await demoModel();
    const config = resolveConfig({ model, train: TRAIN, test: 'features:x.npy', ood: [{ name: 'o', spec: 'noise:4' }], methods: ['energy', 'odin'] });
    const source = (spec: string, kind: 'model' | 'features') => ({ spec, kind }) as FeatureSource;
    const sources = { train: source(TRAIN, 'model'), test: source('features:x.npy', 'features'), ood: [['o', source('noise:4', 'model')]], valOod: [] } as unknown as EvaluationSources;
    const notes: string[] = [];
    expect(() => checkMethods(model, config, config.methods, sources, (m) => notes.push(m))).toThrow(/odin perturbs the model input, but features:x\.npy holds cached features/);
    expect(notes).toEqual(['odin: input gradients by finite differences (the onnx backend has none): 786 forward passes per image']);
  });
});

describe('evaluate with odin on the ONNX demo model (finite differences)', () => {
  it('feeds odin the preprocessed images of every set, with the normalisation std, and searches T and epsilon on the validation images', async () => {
    const notes: string[] = [];
    const config = {
      model: await demoModel(),
      train: TRAIN,
      trainFraction: 0.01,
      test: 'noise:20#seed=5',
      ood: [{ name: 'other', spec: 'noise:12#seed=6' }],
      preprocess: NORMALISE,
      methods: ['odin'],
      valNoise: 6,
      batchSize: 8,
      onInfo: (m: string) => notes.push(m),
    };
    const { report } = await evaluate({ ...config, temperature: 100 });
    expect(notes).toContain('odin: input gradients by finite differences (the onnx backend has none): 786 forward passes per image');
    expect(report.methodOptions.odin).toMatchObject({ temperature: 100, epsilon: 0.0014 });
    // Brute force of the plumbing: the same images through core's odin.
    const model = await demoModel();
    const scoresOf = async (spec: string) => {
      const source = await openFeatureSource(spec, { model, preprocess: NORMALISE });
      const parts: number[] = [];
      for await (const b of source.batches({ batchSize: 8 })) parts.push(...(await odin(odinModelOf(model.extractor), b.inputs!, { temperature: 100, epsilon: 0.0014, inputStd: [0.3081], layout: 'NCHW' })).scores);
      return Float32Array.from(parts);
    };
    const want = oodMetrics(await scoresOf('noise:20#seed=5'), await scoresOf('noise:12#seed=6'));
    expect(report.results[0]!.auroc).toBeCloseTo(want.auroc, 12);
    // The search: OpenOOD's 8 points (temperature fastest), the first best mean AUROC kept.
    const searched = (await evaluate({ ...config, searchBaselines: true })).report.baselineSearch!.methods.odin!;
    expect(searched.grid.map((g) => [g.options.temperature, g.options.epsilon])).toEqual([
      [1, 0.0014], [10, 0.0014], [100, 0.0014], [1000, 0.0014], [1, 0.0028], [10, 0.0028], [100, 0.0028], [1000, 0.0028],
    ]);
    const best = searched.grid.reduce((b, g, i) => (g.auroc > searched.grid[b]!.auroc ? i : b), 0);
    expect(searched.chosen).toEqual(searched.grid[best]!.options);
  }, 180_000);
});
