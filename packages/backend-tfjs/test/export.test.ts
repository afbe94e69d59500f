/**
 * The exported graph model has outputs `logits` and `ood_score`; loaded back with plain TensorFlow.js, its score
 * equals core's energy of the pruned head on the (ReAct-clipped) features.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import { loadGraphModel } from '@tensorflow/tfjs-converter';
import * as tfl from '@tensorflow/tfjs-layers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { energy, isOpnpError, linearHead, logits as headLogits, matrix, react, type Matrix } from '@opnp/core';
import { exportTfjsDetector, fileSystemIO, initTfjsBackend, loadTfjsFeatureExtractor } from '../src/node/index.js';
import { bruteEnergy, bruteLogits, firstMismatch, fixture, seeded, tempDir } from './helpers.js';

const ref = JSON.parse(readFileSync(fixture('mnist-cnn.reference.json'), 'utf8')) as { input: number[]; inputShape: number[] };
const batch = { data: Float32Array.from(ref.input), shape: ref.inputShape };
let tmp: ReturnType<typeof tempDir>;
beforeAll(async () => {
  await initTfjsBackend({ prefer: 'cpu' });
  tmp = tempDir();
});
afterAll(() => tmp.cleanup());

/** Zero about 30% of the weights (seeded) and one whole neuron column. */
function pruned(w: Matrix): Matrix {
  const r = seeded(w.data.length, 99);
  const data = w.data.map((v, i) => (r[i]! < -0.4 || i % w.cols === 3 ? 0 : v));
  return matrix(w.rows, w.cols, data);
}

async function runDetector(dir: string, x: Float32Array, shape: number[]): Promise<{ logits: Float32Array; score: Float32Array; outputs: string[] }> {
  const model = await loadGraphModel(fileSystemIO(`${dir}/model.json`));
  try {
    const outs = model.execute(tf.tensor(x, shape)) as tf.Tensor[];
    const [l, s] = outs;
    const result = { logits: l!.dataSync() as Float32Array, score: s!.dataSync() as Float32Array, outputs: model.outputs.map((o) => o.name) };
    expect(s!.shape).toEqual([shape[0]]);
    tf.dispose(outs);
    return result;
  } finally {
    model.dispose();
  }
}

describe('exportTfjsDetector', () => {
  for (const kind of ['layers', 'graph'] as const) {
    for (const [T, clip] of [[1, undefined], [2.5, 1.5]] as const) {
      it(`${kind} MNIST model, T=${T}, reactClip=${clip ?? 'none'}: ood_score == energy(W' min(h, c) + b)`, async () => {
        const extractor = await loadTfjsFeatureExtractor(fixture(`mnist-cnn-${kind}`), { backend: 'cpu' });
        try {
          const { features, logits } = await extractor.extract(batch);
          const W = pruned(extractor.head.weight);
          const out = `${tmp.dir}/${kind}-${T}`;
          const exported = await exportTfjsDetector({ extractor, prunedWeight: W, temperature: T, reactClip: clip, outPath: out });
          expect(exported.outputs).toEqual(['logits', 'ood_score']);
          expect(readdirSync(out).sort()).toEqual(['model.json', 'weights.bin']);
          const json = JSON.parse(readFileSync(`${out}/model.json`, 'utf8')) as { format: string };
          expect(json.format).toBe('graph-model');
          const got = await runDetector(out, batch.data, batch.shape);
          expect(got.outputs).toEqual(['logits', 'ood_score']);
          expect(firstMismatch(got.logits, logits.data, 1e-4, 1e-4)).toBeUndefined();
          const h = clip === undefined ? features : react(features, clip);
          const prunedHead = linearHead(W, extractor.head.bias);
          const want = energy(headLogits(prunedHead, h), { temperature: T });
          expect(firstMismatch(got.score, want, 1e-4, 1e-5)).toBeUndefined();
          // And against a brute-force definition written here.
          const brute = bruteEnergy(bruteLogits(h.data, h.rows, W.data, extractor.head.bias, W.rows, W.cols), h.rows, W.rows, T);
          expect(firstMismatch(got.score, brute, 1e-4, 1e-5)).toBeUndefined();
          // Pruning changed the score (the test would notice an unpruned head).
          expect(firstMismatch(got.score, energy(logits, { temperature: T }), 1e-3)).toBeDefined();
        } finally {
          await extractor.dispose();
        }
      });
    }
  }

  it('from a model path (LayersModel with BatchNormalization, pooling, dropout); large logits stay finite', async () => {
    const m = tfl.sequential();
    m.add(tfl.layers.conv2d({ inputShape: [8, 8, 3], filters: 4, kernelSize: 3, padding: 'same', name: 'c1' }));
    m.add(tfl.layers.batchNormalization({ name: 'bn' }));
    m.add(tfl.layers.activation({ activation: 'relu', name: 'act' }));
    m.add(tfl.layers.averagePooling2d({ poolSize: 2, name: 'avg' }));
    m.add(tfl.layers.flatten({ name: 'flat' }));
    m.add(tfl.layers.dropout({ rate: 0.3, name: 'drop' }));
    m.add(tfl.layers.dense({ units: 5, name: 'fc', kernelInitializer: tfl.initializers.constant({ value: 30 }) }));
    const bn = m.getLayer('bn');
    bn.setWeights([tf.tensor1d([1, 2, 0.5, 1]), tf.tensor1d([0, 0.1, -0.2, 0.3]), tf.tensor1d([0.1, -0.1, 0.2, 0]), tf.tensor1d([1, 0.5, 2, 1.5])]);
    const src = `${tmp.dir}/bn-model`;
    await m.save(fileSystemIO(src));
    const x = seeded(2 * 8 * 8 * 3, 5);
    const expectedLogits = tf.tidy(() => (m.predict(tf.tensor(x, [2, 8, 8, 3])) as tf.Tensor).dataSync());
    m.dispose();
    const extractor = await loadTfjsFeatureExtractor(`${src}/model.json`, { backend: 'cpu' });
    const { features } = await extractor.extract({ data: x, shape: [2, 8, 8, 3] });
    const head = extractor.head;
    await extractor.dispose();
    const out = `${tmp.dir}/bn-detector`;
    await exportTfjsDetector({ model: `${src}/model.json`, prunedWeight: head.weight, outPath: out });
    const got = await runDetector(out, x, [2, 8, 8, 3]);
    expect(firstMismatch(got.logits, expectedLogits, 1e-3, 1e-4)).toBeUndefined();
    expect(Math.max(...Array.from(expectedLogits, Math.abs))).toBeGreaterThan(100);
    expect(got.score.every(Number.isFinite)).toBe(true);
    expect(firstMismatch(got.score, energy(headLogits(head, features)), 1e-3, 1e-5)).toBeUndefined();
  });

  it('validates options; nothing is written on failure', async () => {
    const extractor = await loadTfjsFeatureExtractor(fixture('mnist-cnn-graph'), { backend: 'cpu' });
    try {
      const out = `${tmp.dir}/bad`;
      const cases: [object, string][] = [
        [{ extractor, prunedWeight: matrix(10, 127), outPath: out }, 'SHAPE_MISMATCH'],
        [{ extractor, prunedWeight: extractor.head.weight, bias: [1, 2], outPath: out }, 'SHAPE_MISMATCH'],
        [{ extractor, prunedWeight: extractor.head.weight, temperature: 0, outPath: out }, 'INVALID_ARGUMENT'],
        [{ extractor, model: 'x', prunedWeight: extractor.head.weight }, 'INVALID_ARGUMENT'],
      ];
      for (const [options, code] of cases) {
        const error = await exportTfjsDetector(options as never).catch((e: unknown) => e);
        expect(isOpnpError(error) && error.code, String(error)).toBe(code);
      }
      expect(existsSync(out)).toBe(false);
    } finally {
      await extractor.dispose();
    }
  });
});
