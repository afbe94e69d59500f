/**
 * Exported detectors run in the web backend: scores, decisions and logits as onnxruntime-node computes them, static
 * batch dimensions, and typed errors.
 */
import { describe, expect, it } from 'vitest';
import * as ortNode from 'onnxruntime-node';
import { matrix } from '@opnp/core';
import { settledCode } from '@opnp/core/testing';
import { exportOnnxDetector } from '@opnp/backend-onnx';
import { buildModel, seeded } from '../../backend-onnx/test/helpers/models.js';
import { loadOnnxWebDetector, loadOnnxWebFeatureExtractor } from '../src/index.js';
import { fixture, imageBatch } from './helpers.js';

describe('loadOnnxWebDetector', () => {
  it('gives the ood_score, is_ood and logits onnxruntime-node gives for the same detector and inputs', async () => {
    const { bytes } = fixture('mnist-cnn.onnx');
    const extractor = await loadOnnxWebFeatureExtractor(bytes);
    const inputs = imageBatch(1, 28)(7);
    await extractor.dispose();
    const { weight } = extractor.head;
    const prunedWeight = matrix(weight.rows, weight.cols, weight.data.map((v, i) => (i % 5 === 1 ? 0 : v)));
    const threshold = 4.5;
    const exported = await exportOnnxDetector({ model: bytes, prunedWeight, threshold, reactClip: 1 });
    const session = await ortNode.InferenceSession.create(exported.bytes, { intraOpNumThreads: 1 });
    const node = await session.run({ input: new ortNode.Tensor('float32', inputs.data, [...inputs.shape]) });
    await session.release();

    const detector = await loadOnnxWebDetector(exported.bytes);
    try {
      expect(detector.description).toEqual({ outputs: { oodScore: 'ood_score', isOod: 'is_ood', logits: 'logits', all: ['logits', 'ood_score', 'is_ood'] }, threshold: 4.5 });
      expect(detector.input).toEqual({ name: 'input', shape: [null, 1, 28, 28], layout: 'NCHW' });
      const web = await detector.score(inputs);
      const nodeScore = node.ood_score!.data as Float32Array;
      for (let i = 0; i < 7; i++) expect(Math.abs(web.oodScore[i]! - nodeScore[i]!), `sample ${i}`).toBeLessThanOrEqual(1e-5 * (1 + Math.abs(nodeScore[i]!)));
      expect(web.isOod).toEqual(Array.from(node.is_ood!.data as Uint8Array, Boolean));
      expect([web.logits!.rows, web.logits!.cols]).toEqual([7, 10]);
      const nodeLogits = node.logits!.data as Float32Array;
      web.logits!.data.forEach((v, i) => expect(Math.abs(v - nodeLogits[i]!)).toBeLessThanOrEqual(1e-5 * (1 + Math.abs(nodeLogits[i]!))));
    } finally {
      await detector.dispose();
    }
  });

  it('runs a detector with a static batch dimension in chunks (the last padded) with the same scores', async () => {
    const D = 5;
    const C = 3;
    const W = seeded(C * D, 4);
    const model = (batch: number | string) =>
      buildModel({
        inputs: [{ name: 'x', dims: [batch, D] }],
        outputs: [{ name: 'logits' }],
        initializers: [{ name: 'W', dims: [C, D], values: W }, { name: 'b', dims: [C], values: seeded(C, 5) }],
        nodes: [{ op: 'Relu', inputs: ['x'], outputs: ['h'] }, { op: 'Gemm', inputs: ['h', 'W', 'b'], outputs: ['logits'], attrs: { transB: 1 } }],
      });
    const options = { prunedWeight: matrix(C, D, W), threshold: 0.2 };
    const fixed = await loadOnnxWebDetector((await exportOnnxDetector({ model: model(2), ...options })).bytes);
    const dynamic = await loadOnnxWebDetector((await exportOnnxDetector({ model: model('N'), ...options })).bytes);
    try {
      const batch = { data: seeded(5 * D, 6), shape: [5, D] };
      const a = await fixed.score(batch);
      const b = await dynamic.score(batch);
      expect(Array.from(a.oodScore)).toEqual(Array.from(b.oodScore));
      expect(a.isOod).toEqual(b.isOod);
      expect(Array.from(a.logits!.data)).toEqual(Array.from(b.logits!.data));
      expect(a.oodScore.length).toBe(5);
    } finally {
      await fixed.dispose();
      await dynamic.dispose();
    }
  });

  it('a classifier is MODEL_FORMAT, a wrong shape SHAPE_MISMATCH, a disposed detector DISPOSED', async () => {
    expect(await settledCode(loadOnnxWebDetector(fixture('small-cnn.onnx').bytes))).toBe('MODEL_FORMAT');
    const { bytes } = fixture('mnist-cnn.onnx');
    const extractor = await loadOnnxWebFeatureExtractor(bytes);
    const detector = await loadOnnxWebDetector((await extractor.buildDetector({ prunedWeight: extractor.head.weight })).bytes);
    await extractor.dispose();
    expect(detector.description.threshold).toBeUndefined();
    expect(await settledCode(detector.score({ data: new Float32Array(784), shape: [1, 28, 28] }))).toBe('SHAPE_MISMATCH');
    const { isOod } = await detector.score(imageBatch(1, 28)(1));
    expect(isOod).toBeUndefined();
    await detector.dispose();
    await detector.dispose();
    expect(await settledCode(detector.score(imageBatch(1, 28)(1)))).toBe('DISPOSED');
  });
});
