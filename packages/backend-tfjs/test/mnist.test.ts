/**
 * The MNIST demo classifier rebuilt in TensorFlow.js (tools/fixtures/tfjs/make_mnist_tfjs.mjs) reproduces the
 * PyTorch/ONNX numbers, gives the same OPNP sensitivity, leaks no tensors, and passes the conformance suite.
 */
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadGraphModel } from '@tensorflow/tfjs-converter';
import { describeFeatureExtractorConformance, type DetectorRunner } from '../../core/src/testing/feature-extractor-conformance.js';
import { SensitivityAccumulator, linearHead, listBackends, loadFeatureExtractor, matrix, type Matrix } from '@opnp/core';
import { fileSystemIO, initTfjsBackend, loadTfjsFeatureExtractor, readTfjsDetectorPreprocessing, tfjsBackend, type TfjsFeatureExtractor } from '../src/node/index.js';
import { firstMismatch, fixture, seeded } from './helpers.js';

interface Reference {
  inputShape: number[];
  input: number[];
  labels: number[];
  features: number[][];
  logits: number[][];
}
const ref = JSON.parse(readFileSync(fixture('mnist-cnn.reference.json'), 'utf8')) as Reference;
const refBatch = () => ({ data: Float32Array.from(ref.input), shape: ref.inputShape });
const weightsJson = JSON.parse(readFileSync(fixture('../../../../tools/fixtures/onnx/out/mnist-cnn-weights.json'), 'utf8')) as {
  tensors: Record<string, { shape: number[]; data: string }>;
};
function torchTensor(name: string): Float32Array {
  const bytes = Buffer.from(weightsJson.tensors[name]!.data, 'base64');
  return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
}

for (const backend of ['cpu', 'wasm'] as const) {
  for (const kind of ['layers', 'graph'] as const) {
    describe(`mnist-cnn ${kind} model on ${backend}`, () => {
      let extractor: TfjsFeatureExtractor;
      const warnings: string[] = [];
      beforeAll(async () => {
        extractor = await loadTfjsFeatureExtractor(fixture(`mnist-cnn-${kind}/model.json`), { backend, onWarning: (m) => warnings.push(m) });
      });
      afterAll(async () => {
        await extractor.dispose();
      });

      it('reports the backend and an NHWC input', () => {
        expect(extractor.tfBackend.name).toBe(backend);
        expect(extractor.backend).toBe('tfjs');
        expect(extractor.input.shape).toEqual([null, 28, 28, 1]);
        expect(extractor.input.layout).toBe('NHWC');
        expect(extractor.detection.kind).toBe(`${kind}-model`);
        if (extractor.detection.kind === 'graph-model') expect(extractor.detection.pattern).toBe('_FusedMatMul');
        else expect(extractor.detection.layer).toBe('fc2');
      });

      it('head equals the PyTorch fc2 weights', () => {
        expect(firstMismatch(extractor.head.weight.data, torchTensor('fc2.weight'), 0)).toBeUndefined();
        expect(firstMismatch(extractor.head.bias, torchTensor('fc2.bias'), 0)).toBeUndefined();
        expect([extractor.head.weight.rows, extractor.head.weight.cols]).toEqual([10, 128]);
      });

      it('features and logits within 1e-4 of the torch reference', async () => {
        const { features, logits } = await extractor.extract(refBatch());
        expect(firstMismatch(features.data, ref.features.flat(), 1e-4, 1e-4)).toBeUndefined();
        expect(firstMismatch(logits.data, ref.logits.flat(), 1e-4, 1e-4)).toBeUndefined();
        expect(extractor.headCheck?.withinTolerance).toBe(true);
        expect(warnings).toEqual([]);
        const correct = ref.labels.filter((label, i) => {
          const row = Array.from(logits.data.subarray(i * 10, i * 10 + 10));
          return row.indexOf(Math.max(...row)) === label;
        }).length;
        expect(correct).toBeGreaterThanOrEqual(7);
      });

      it('OPNP sensitivity from tfjs features equals the one from the ONNX-side (torch) features', async () => {
        const { features, logits } = await extractor.extract(refBatch());
        const refFeatures = matrix(8, 128, ref.features.flat());
        const refLogits = matrix(8, 10, ref.logits.flat());
        const head = linearHead(matrix(10, 128, torchTensor('fc2.weight')), torchTensor('fc2.bias'));
        const ours = new SensitivityAccumulator(extractor.head);
        await ours.add(features, logits);
        const theirs = new SensitivityAccumulator(head);
        await theirs.add(refFeatures, refLogits);
        const a = ours.result().values;
        const b = theirs.result().values;
        let scale = 0;
        for (const v of b) scale = Math.max(scale, Math.abs(v));
        expect(scale).toBeGreaterThan(0);
        expect(firstMismatch(a, b, 1e-5 * scale, 1e-4)).toBeUndefined();
      });

      it('leaks no tensors across extract calls and frees the model on dispose', async () => {
        const own = await loadTfjsFeatureExtractor(fixture(`mnist-cnn-${kind}`), { backend });
        const loaded = tf.memory().numTensors;
        for (let i = 0; i < 3; i++) await own.extract({ data: seeded(5 * 784, i + 1), shape: [5, 28, 28, 1] });
        await Promise.all([own.extract(refBatch()), own.extract(refBatch())]);
        expect(tf.memory().numTensors).toBe(loaded);
        const before = loaded - (kind === 'layers' ? 8 : 9); // conv/dense kernels + biases (+ the Reshape shape constant)
        await own.dispose();
        expect(tf.memory().numTensors).toBe(before);
      });
    });
  }
}

describe('optional: same numbers as @opnp/backend-onnx on the ONNX model', () => {
  it('features and logits agree with onnxruntime (skipped when @opnp/backend-onnx is not importable)', async (ctx) => {
    let onnx: { loadOnnxFeatureExtractor(path: string, o?: object): Promise<{ extract(b: object): Promise<{ features: Matrix; logits: Matrix }>; dispose(): Promise<void> }> };
    try {
      onnx = (await import('@opnp/backend-onnx' as string)) as typeof onnx;
    } catch (error) {
      ctx.skip(`@opnp/backend-onnx is not importable: ${error instanceof Error ? error.message : String(error)}`);
      return;
    }
    const ort = await onnx.loadOnnxFeatureExtractor(fixture('../../../backend-onnx/test/fixtures/mnist-cnn.onnx'));
    const tfx = await loadTfjsFeatureExtractor(fixture('mnist-cnn-layers'), { backend: 'cpu' });
    try {
      const a = await ort.extract({ data: Float32Array.from(ref.input), shape: [8, 1, 28, 28] });
      const b = await tfx.extract(refBatch());
      expect(firstMismatch(b.features.data, a.features.data, 1e-4, 1e-4)).toBeUndefined();
      expect(firstMismatch(b.logits.data, a.logits.data, 1e-4, 1e-4)).toBeUndefined();
    } finally {
      await ort.dispose();
      await tfx.dispose();
    }
  });
});

describe('registry', () => {
  it('the register entry point makes loadFeatureExtractor open model.json', async () => {
    await import('../src/register.js');
    expect(listBackends()).toContain('tfjs');
    expect(tfjsBackend.canLoad(fixture('mnist-cnn-layers/model.json'))).toBe(true);
    expect(tfjsBackend.canLoad(fixture('mnist-cnn-graph'))).toBe(true);
    expect(tfjsBackend.canLoad(fixture('mnist-cnn.reference.json'))).toBe(false);
    expect(tfjsBackend.canLoad('model.onnx')).toBe(false);
    expect(tfjsBackend.canLoad(new Uint8Array([1, 2]))).toBe(false);
    await initTfjsBackend({ prefer: 'cpu' });
    const extractor = await loadFeatureExtractor(fixture('mnist-cnn-graph/model.json'));
    try {
      expect(extractor.backend).toBe('tfjs');
      const { logits } = await extractor.extract(refBatch());
      expect(firstMismatch(logits.data, ref.logits.flat(), 1e-4, 1e-4)).toBeUndefined();
    } finally {
      await extractor.dispose();
    }
  });
});

const makeBatch = (n: number) => {
  const data = new Float32Array(n * 784);
  for (let i = 0; i < n; i++) data.set(seeded(784, 1000 + i), i * 784);
  return { data, shape: [n, 28, 28, 1] };
};
/** Runs an exported detector back through TensorFlow.js (plain `loadGraphModel`, on the current backend). */
const detector: DetectorRunner = {
  run: async (result, batch) => {
    const model = await loadGraphModel(fileSystemIO(result.path));
    try {
      const outs = tf.tidy(() => model.execute({ [result.input.name]: tf.tensor(batch.data, [...batch.shape]) }, [...result.outputs.all]) as tf.Tensor[]);
      const values = await Promise.all(outs.map((t) => t.data()));
      tf.dispose(outs);
      return Object.fromEntries(result.outputs.all.map((name, i) => [name, values[i] as ArrayLike<number>]));
    } finally {
      model.dispose();
    }
  },
  readPreprocessing: async (result) => readTfjsDetectorPreprocessing(JSON.parse(readFileSync(result.path, 'utf8')) as tf.io.ModelJSON, result.path),
};
describeFeatureExtractorConformance('conformance: tfjs mnist-cnn LayersModel (wasm)', {
  create: () => loadTfjsFeatureExtractor(fixture('mnist-cnn-layers'), { backend: 'wasm' }),
  makeBatch,
  detector,
});
describeFeatureExtractorConformance('conformance: tfjs mnist-cnn GraphModel (cpu) with maxBatchSize 16', {
  create: () => loadTfjsFeatureExtractor(fixture('mnist-cnn-graph'), { backend: 'cpu', maxBatchSize: 16 }),
  makeBatch,
  detector,
});
