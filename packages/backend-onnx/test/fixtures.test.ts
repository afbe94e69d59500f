/**
 * Real PyTorch exports (tools/fixtures/onnx/make_models.py, train_mnist.py): our extraction must reproduce
 * the torch-computed features and logits, and each model passes the FeatureExtractor conformance suite.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { describeFeatureExtractorConformance, type DetectorRunner } from '@opnp/core/testing';
import { loadFeatureExtractor, listBackends } from '@opnp/core';
import { describeOnnxDetector, loadOnnxFeatureExtractor, loadOnnxModel } from '../src/index.js';
import { firstMismatch, seeded } from './helpers/models.js';

const fixture = (name: string): string => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));

interface Reference {
  model: string;
  inputShape: number[];
  input: number[];
  features: number[][];
  logits: number[][];
  headWeight?: number[][];
  headBias?: number[];
  labels?: number[];
  testAccuracy?: number;
}

const reference = (name: string): Reference => JSON.parse(readFileSync(fixture(`${name}.reference.json`), 'utf8')) as Reference;

describe('real PyTorch exports match torch numbers', () => {
  for (const name of ['small-cnn', 'tiny-vit', 'resnet-style', 'mnist-cnn']) {
    it(`${name}: features and logits within 1e-4 of PyTorch`, async () => {
      const ref = reference(name);
      const warnings: string[] = [];
      const extractor = await loadOnnxFeatureExtractor(fixture(ref.model), { onWarning: (m) => warnings.push(m), session: { intraOpNumThreads: 1 } });
      try {
        expect(extractor.input.shape).toEqual([null, ...ref.inputShape.slice(1)]);
        expect(extractor.input.layout).toBe('NCHW');
        const { features, logits } = await extractor.extract({ data: Float32Array.from(ref.input), shape: ref.inputShape });
        expect(firstMismatch(features.data, ref.features.flat(), 1e-4, 1e-4)).toBeUndefined();
        expect(firstMismatch(logits.data, ref.logits.flat(), 1e-4, 1e-4)).toBeUndefined();
        if (ref.headWeight) expect(firstMismatch(extractor.head.weight.data, ref.headWeight.flat(), 0)).toBeUndefined();
        if (ref.headBias) expect(firstMismatch(extractor.head.bias, ref.headBias, 0)).toBeUndefined();
        expect(extractor.headCheck!.withinTolerance).toBe(true);
        expect(extractor.headCheck!.maxAbsDiff).toBeLessThan(1e-4);
        expect(warnings).toEqual([]);
        if (ref.labels) {
          // The trained MNIST model classifies the reference digits (test accuracy was ~98%).
          const C = logits.cols;
          let correct = 0;
          ref.labels.forEach((label, i) => {
            const row = Array.from(logits.data.subarray(i * C, (i + 1) * C));
            if (row.indexOf(Math.max(...row)) === label) correct++;
          });
          expect(correct).toBeGreaterThanOrEqual(7);
          expect(ref.testAccuracy).toBeGreaterThan(0.95);
        }
      } finally {
        await extractor.dispose();
      }
    });
  }

  it('LayerNorm pre-logits of the ViT-like model are signed', () => {
    const ref = reference('tiny-vit');
    const flat = ref.features.flat();
    expect(flat.some((v) => v < 0) && flat.some((v) => v > 0)).toBe(true);
  });

  it('registers as backend "onnx" through the register entry point and loads by path', async () => {
    await import('../src/register.js');
    expect(listBackends()).toContain('onnx');
    const extractor = await loadFeatureExtractor(fixture('small-cnn.onnx'));
    expect(extractor.backend).toBe('onnx');
    await extractor.dispose();
  });
});

const imageBatch = (channels: number, size: number) => (n: number) => {
  const per = channels * size * size;
  const data = new Float32Array(n * per);
  for (let i = 0; i < n; i++) data.set(seeded(per, 100 + i), i * per); // sample i does not depend on n
  return { data, shape: [n, channels, size, size] };
};

/** Runs an exported detector back through plain onnxruntime-node. */
const detector: DetectorRunner = {
  outputPath: (dir) => join(dir, 'detector.onnx'),
  run: async (result, batch) => {
    const session = await ort.InferenceSession.create(result.path, { intraOpNumThreads: 1 });
    try {
      const outputs = await session.run({ [result.input.name]: new ort.Tensor('float32', batch.data, [...batch.shape]) }, [...result.outputs.all]);
      return Object.fromEntries(Object.entries(outputs).map(([name, tensor]) => [name, tensor.data as ArrayLike<number | boolean>]));
    } finally {
      await session.release();
    }
  },
  readPreprocessing: async (result) => describeOnnxDetector(await loadOnnxModel(result.path)).preprocessing,
};

describeFeatureExtractorConformance('conformance: onnx small-cnn (Flatten -> Gemm, ReLU features)', {
  create: () => loadOnnxFeatureExtractor(fixture('small-cnn.onnx'), { session: { intraOpNumThreads: 1 } }),
  makeBatch: imageBatch(3, 32),
  detector,
});

describeFeatureExtractorConformance('conformance: onnx tiny-vit (LayerNorm pre-logits)', {
  create: () => loadOnnxFeatureExtractor(fixture('tiny-vit.onnx'), { session: { intraOpNumThreads: 1 } }),
  makeBatch: imageBatch(3, 32),
  detector,
});

describeFeatureExtractorConformance('conformance: onnx mnist-cnn with maxBatchSize 16', {
  create: () => loadOnnxFeatureExtractor(fixture('mnist-cnn.onnx'), { maxBatchSize: 16, session: { intraOpNumThreads: 1 } }),
  makeBatch: imageBatch(1, 28),
  detector,
});
