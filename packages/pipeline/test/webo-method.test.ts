/**
 * The `webo` method: its check reads and checks the weights file before any data is read, its scorer is core's
 * weightedEnergy with those weights (energy without them), and `evaluate` runs it on the demo model and data.
 */
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createLinearFeatureExtractor, energy, isOpnpError, linearHead, mulberry32, weightedEnergy } from '@opnp/core';
import { randomMatrix } from '@opnp/core/testing';
import { writeNpy } from '@opnp/datasets/node';
import { oodMetrics } from '@opnp/metrics';
import { BUILTIN_METHODS, createMethodRegistry, createScorers, evaluate, openFeatureSource } from '../src/index.js';
import { demoModel, FASHION_TEST, NORMALISE, tempDir, TEST } from './helpers.js';

const weboMethod = BUILTIN_METHODS.webo!;
const head = linearHead(randomMatrix(4, 6, mulberry32(1)));
const extractor = createLinearFeatureExtractor({ head, input: { name: 'x', shape: [null, 6], layout: 'flat' } });
const fitFeatures = { rows: 0, cols: 6, data: new Float32Array(0) };
const context = { head, fitFeatures, fitLabels: new Int32Array(0) };

async function weightsFile(dir: string, name: string, shape: number[], values: number[]): Promise<string> {
  const path = join(dir, name);
  await writeNpy(path, { dtype: 'float64', shape, data: Float64Array.from(values) });
  return path;
}

function errorOf(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  return undefined;
}

describe('the webo registry entry', () => {
  it('scores as core weightedEnergy with the file weights, and as energy without a file', async () => {
    const dir = tempDir();
    const values = [0.5, 0, -2, 3];
    const logits = randomMatrix(9, 4, mulberry32(2), (u) => u * 10 - 5);
    for (const shape of [[4], [1, 4]]) {
      const path = await weightsFile(dir, `w${shape.length}.npy`, shape, values);
      expect(weboMethod.check!({ extractor }, { weights: path })).toBe(`class weights from ${path}`);
      const scorer = createScorers(createMethodRegistry(), ['webo'], context, { webo: { weights: path } }).get('webo')!;
      expect(Array.from(await scorer(fitFeatures, logits))).toEqual(Array.from(weightedEnergy(logits, Float64Array.from(values))));
    }
    expect(weboMethod.check!({ extractor }, { weights: '' })).toMatch(/every class weight is 1, the score equals energy/);
    const plain = createScorers(createMethodRegistry(), ['webo'], context).get('webo')!;
    expect(Array.from(await plain(fitFeatures, logits))).toEqual(Array.from(energy(logits)));
  });

  it('refuses a missing file, another length or shape, non-finite weights and non-.npy files before any data is read', async () => {
    const dir = tempDir();
    const cases: [string, string, RegExp][] = [
      [join(dir, 'missing.npy'), 'IO_ERROR', /Cannot read the webo.weights file .*missing\.npy/],
      [await weightsFile(dir, 'short.npy', [3], [1, 1, 1]), 'SHAPE_MISMATCH', /3 values but the logits have 4 classes/],
      [await weightsFile(dir, 'matrix.npy', [2, 2], [1, 1, 1, 1]), 'SHAPE_MISMATCH', /expected shape \[4\] or \[1, 4\], got shape \[2, 2\]/],
      [await weightsFile(dir, 'nan.npy', [4], [1, 1, NaN, 1]), 'NON_FINITE', /Class weight 2 is NaN \(file: .*nan\.npy, offset 2\)/],
    ];
    const text = join(dir, 'weights.txt');
    writeFileSync(text, '1 1 1 1');
    cases.push([text, 'DATASET_FORMAT', /Not a \.npy file/]);
    for (const [path, code, message] of cases) {
      const error = errorOf(() => weboMethod.check!({ extractor }, { weights: path }));
      expect(isOpnpError(error) && error.code, path).toBe(code);
      expect((error as Error).message).toMatch(message);
    }
  });
});

describe('evaluate with webo on the demo model and data', () => {
  it('reports the AUROC of core weightedEnergy on the same logits', async () => {
    const model = await demoModel();
    const classes = model.extractor.head.weight.rows;
    const values = Array.from({ length: classes }, (_, c) => (c % 3 === 0 ? 0 : 0.2 + c / 4));
    const path = await weightsFile(tempDir(), 'vos-weights.npy', [1, classes], values);
    const notes: string[] = [];
    const { report } = await evaluate({
      model,
      train: TEST,
      test: TEST,
      ood: [{ name: 'fashion', spec: FASHION_TEST }],
      preprocess: NORMALISE,
      methods: ['webo', 'energy'],
      methodOptions: { webo: { weights: path } },
      batchSize: 256,
      onInfo: (m: string) => notes.push(m),
    });
    expect(notes).toContain(`webo: class weights from ${path}`);
    const scoresOf = async (spec: string) => {
      const source = await openFeatureSource(spec, { model, preprocess: NORMALISE });
      const parts: number[] = [];
      for await (const b of source.batches({ batchSize: 256 })) parts.push(...weightedEnergy(b.logits, Float64Array.from(values)));
      return Float32Array.from(parts);
    };
    const want = oodMetrics(await scoresOf(TEST), await scoresOf(FASHION_TEST));
    const webo = report.results.find((r) => r.method === 'webo')!;
    expect(webo.auroc).toBeCloseTo(want.auroc, 12);
    expect(webo.fpr95).toBeCloseTo(want.fpr95, 12);
    expect(webo.auroc).not.toBeCloseTo(report.results.find((r) => r.method === 'energy')!.auroc, 6);
  }, 180_000);
});
