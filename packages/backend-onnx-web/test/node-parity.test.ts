/**
 * The web backend computes what the Node backend computes: features and logits of the same inputs on
 * onnxruntime-web (wasm) and onnxruntime-node agree to float32 precision, and a detector built in the web backend
 * scores like core's energy of the pruned head when run in onnxruntime-node.
 *
 * Tolerance: the two runtimes run the same graph with different kernels (MLAS with AVX in Node, wasm SIMD here) and
 * so sum in different orders. Each output is a chain of float32 dot products of a few hundred to a few thousand
 * terms; a reordering changes a sum by a few units of float32 rounding (2^-24) of the sum of the terms' magnitudes,
 * which stays below 1e-5 of the largest value of a row for these models. `|web - node| <= 1e-5 * (1 + max |node
 * row|)` per entry is that bound; a wrong tensor, layout or transposition breaks it by orders of magnitude.
 */
import { describe, expect, it } from 'vitest';
import * as ortNode from 'onnxruntime-node';
import { linearHead, logits as headLogits, matrix, react, type Matrix } from '@opnp/core';
import { exportOnnxDetector, loadOnnxFeatureExtractor } from '@opnp/backend-onnx';
import { describeOnnxDetector, exportOnnxWebDetector, loadOnnxWebFeatureExtractor, loadOnnxWebModel } from '../src/index.js';
import { fixture, imageBatch } from './helpers.js';

/** Asserts `|a - e| <= rel * (1 + max |e row|)` entry by entry; names the first entry that is not. */
function expectRowsClose(actual: Matrix, expected: Matrix, rel: number, what: string): void {
  expect(`${actual.rows} x ${actual.cols}`, `${what}: shape`).toBe(`${expected.rows} x ${expected.cols}`);
  for (let r = 0; r < expected.rows; r++) {
    let scale = 0;
    for (let c = 0; c < expected.cols; c++) scale = Math.max(scale, Math.abs(expected.data[r * expected.cols + c]!));
    for (let c = 0; c < expected.cols; c++) {
      const i = r * expected.cols + c;
      if (!(Math.abs(actual.data[i]! - expected.data[i]!) <= rel * (1 + scale))) {
        expect.fail(`${what}: row ${r}, column ${c}: web ${actual.data[i]} vs node ${expected.data[i]} (row scale ${scale})`);
      }
    }
  }
}

/** Brute-force energy `log sum_c exp(f_c)` of each row, in float64 (docs/numerics.md#energy). */
function bruteEnergy(f: Matrix): Float64Array {
  const out = new Float64Array(f.rows);
  for (let r = 0; r < f.rows; r++) {
    const row = Array.from(f.data.subarray(r * f.cols, (r + 1) * f.cols));
    const m = Math.max(...row);
    out[r] = m + Math.log(row.reduce((s, v) => s + Math.exp(v - m), 0));
  }
  return out;
}

const MODELS = [
  { name: 'small-cnn.onnx', batch: imageBatch(3, 32) },
  { name: 'tiny-vit.onnx', batch: imageBatch(3, 32) },
  { name: 'mnist-cnn.onnx', batch: imageBatch(1, 28) },
  { name: 'resnet-style.onnx', batch: imageBatch(3, 32) },
];

describe('onnxruntime-web and onnxruntime-node agree', () => {
  for (const { name, batch } of MODELS) {
    it(`${name}: same head, features and logits to float32 precision`, async () => {
      const web = await loadOnnxWebFeatureExtractor(fixture(name).bytes);
      const node = await loadOnnxFeatureExtractor(fixture(name).path, { threads: 1 });
      try {
        expect(web.backend).toBe('onnx-web');
        expect(web.detection.node).toBe(node.detection.node);
        expect(Array.from(web.head.weight.data)).toEqual(Array.from(node.head.weight.data));
        expect(web.input).toEqual(node.input);
        const inputs = batch(9);
        const w = await web.extract(inputs);
        const n = await node.extract(inputs);
        expectRowsClose(w.features, n.features, 1e-5, `${name} features`);
        expectRowsClose(w.logits, n.logits, 1e-5, `${name} logits`);
      } finally {
        await web.dispose();
        await node.dispose();
      }
    });
  }
});

describe('detectors built in the web backend', () => {
  it('run in onnxruntime-node with ood_score = energy of the pruned head (ReAct, T) and is_ood at the threshold', async () => {
    const extractor = await loadOnnxWebFeatureExtractor(fixture('mnist-cnn.onnx').bytes);
    try {
      const { weight, bias } = extractor.head;
      const pruned = matrix(weight.rows, weight.cols, weight.data.map((v, i) => (i % 3 === 0 ? 0 : v)));
      const inputs = imageBatch(1, 28)(6);
      const { features } = await extractor.extract(inputs);
      const clip = 0.8;
      const T = 2;
      const z = headLogits(linearHead(pruned, bias), react(features, clip));
      const expected = bruteEnergy(matrix(z.rows, z.cols, z.data.map((v) => v / T))).map((v) => v * T);
      const sorted = Float64Array.from(expected).sort();
      const threshold = (sorted[2]! + sorted[3]!) / 2;
      const detector = await extractor.buildDetector({ prunedWeight: pruned, reactClip: clip, temperature: T, threshold });
      expect(detector.outputs).toMatchObject({ oodScore: 'ood_score', isOod: 'is_ood', logits: extractor.detection.logitsTensor });
      const session = await ortNode.InferenceSession.create(detector.bytes, { intraOpNumThreads: 1 });
      const out = await session.run({ [detector.inputName]: new ortNode.Tensor('float32', inputs.data, [...inputs.shape]) });
      await session.release();
      const score = out.ood_score!.data as Float32Array;
      for (let i = 0; i < expected.length; i++) expect(Math.abs(score[i]! - expected[i]!), `sample ${i}`).toBeLessThanOrEqual(1e-5 * (1 + Math.abs(expected[i]!)));
      expect(Array.from(out.is_ood!.data as Uint8Array, Boolean)).toEqual(Array.from(expected, (s) => s < threshold));
      // What the page reads back: output names and the threshold as stored (float32).
      const described = describeOnnxDetector(await loadOnnxWebModel(detector.bytes));
      expect(described).toEqual({ outputs: { oodScore: 'ood_score', isOod: 'is_ood', logits: detector.outputs.logits, all: [...detector.outputs.all] }, threshold: Math.fround(threshold) });
    } finally {
      await extractor.dispose();
    }
  });

  it('are byte for byte the Node backend\'s detector (one shared graph builder)', async () => {
    const { bytes } = fixture('small-cnn.onnx');
    const web = await loadOnnxWebFeatureExtractor(bytes);
    try {
      const options = { prunedWeight: web.head.weight, reactClip: 1.5, threshold: 3.25 };
      const fromWeb = await exportOnnxWebDetector({ model: bytes, ...options });
      const fromNode = await exportOnnxDetector({ model: bytes, ...options });
      expect(Buffer.from(fromWeb.bytes).equals(Buffer.from(fromNode.bytes))).toBe(true);
      expect(fromWeb.outputs).toEqual(fromNode.outputs);
      expect(describeOnnxDetector(await loadOnnxWebModel(fromNode.bytes)).threshold).toBe(Math.fround(3.25));
    } finally {
      await web.dispose();
    }
  });
});
