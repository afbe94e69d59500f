/**
 * The optional FeatureExtractor capabilities of the ONNX backend, as the CLI uses them: `runtime` (chosen with the
 * generic `executionProviders` / `threads` load options) and `exportDetector` (reached through
 * `loadFeatureExtractor`, with no cast to the ONNX classes).
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import { afterAll, describe, expect, it } from 'vitest';
import { energy, linearHead, loadFeatureExtractor, logits as headLogits, matrix, type FeatureExtractor } from '@opnp/core';
import { settledCode } from '@opnp/core/testing';
import { loadOnnxFeatureExtractor } from '../src/index.js';
import { buildModel, firstMismatch, seeded } from './helpers/models.js';
import '../src/register.js';

const fixture = (name: string): string => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'opnp-onnx-capabilities-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const codeOf = settledCode;

describe('runtime', () => {
  it('reports the execution providers and threads chosen with the generic load options', async () => {
    const extractor = await loadFeatureExtractor(fixture('small-cnn.onnx'), { executionProviders: ['cpu'], threads: 2 });
    try {
      expect(extractor.runtime).toEqual({ executionProviders: ['cpu'], threads: 2 });
    } finally {
      await extractor.dispose();
    }
  });

  it('session options take precedence; defaults are cpu and all cores', async () => {
    const explicit = await loadOnnxFeatureExtractor(fixture('small-cnn.onnx'), { threads: 3, session: { intraOpNumThreads: 1 } });
    expect(explicit.runtime).toEqual({ executionProviders: ['cpu'], threads: 1 });
    await explicit.dispose();
    const defaults = await loadOnnxFeatureExtractor(fixture('small-cnn.onnx'));
    expect(defaults.runtime.executionProviders).toEqual(['cpu']);
    expect(defaults.runtime.threads).toBeGreaterThanOrEqual(1);
    await defaults.dispose();
  });

  it('rejects unknown providers and bad thread counts with typed errors', async () => {
    expect(await codeOf(loadFeatureExtractor(fixture('small-cnn.onnx'), { executionProviders: ['abacus'] }))).toBe('INVALID_ARGUMENT');
    expect(await codeOf(loadFeatureExtractor(fixture('small-cnn.onnx'), { threads: 0 }))).toBe('INVALID_ARGUMENT');
  });
});

describe('exportDetector', () => {
  const D = 5;
  const C = 3;
  const W = seeded(C * D, 11);
  const b = seeded(C, 12);
  /** `x -> Relu -> Gemm -> Softmax`: the graph outputs probabilities only. */
  const softmaxModel = buildModel({
    opset: 13,
    inputs: [{ name: 'pixels', dims: ['N', D] }],
    outputs: [{ name: 'probs' }],
    initializers: [{ name: 'W', dims: [C, D], values: W }, { name: 'b', dims: [C], values: b }],
    nodes: [
      { op: 'Relu', inputs: ['pixels'], outputs: ['h'] },
      { op: 'Gemm', inputs: ['h', 'W', 'b'], outputs: ['z'], attrs: { transB: 1 } },
      { op: 'Softmax', inputs: ['z'], outputs: ['probs'], attrs: { axis: 1 } },
    ],
  });

  it('is reachable through loadFeatureExtractor and says what it wrote; a Softmax model gains its logits as an output', async () => {
    const extractor: FeatureExtractor = await loadFeatureExtractor(softmaxModel, { threads: 1 });
    const outputPath = join(dir, 'softmax-detector.onnx');
    try {
      expect(typeof extractor.exportDetector).toBe('function');
      const prunedWeight = matrix(C, D, W.map((v, i) => (i % 4 === 0 ? 0 : v)));
      const result = await extractor.exportDetector!({ prunedWeight, threshold: 1.5, outputPath });
      expect(result).toEqual({
        format: 'onnx',
        path: outputPath,
        files: [outputPath],
        input: { name: 'pixels', shape: [null, D], layout: 'flat' },
        outputs: { logits: 'z', oodScore: 'ood_score', isOod: 'is_ood', all: ['probs', 'z', 'ood_score', 'is_ood'] },
        temperature: 1,
        threshold: 1.5,
      });
      const x = seeded(4 * D, 13);
      const session = await ort.InferenceSession.create(outputPath);
      const out = await session.run({ pixels: new ort.Tensor('float32', x, [4, D]) });
      await session.release();
      const h = matrix(4, D, x.map((v) => Math.max(0, v)));
      const expected = energy(headLogits(linearHead(prunedWeight, b), h));
      expect(firstMismatch(out.ood_score!.data as Float32Array, expected, 1e-5, 1e-5)).toBeUndefined();
      expect(firstMismatch(out.z!.data as Float32Array, headLogits(linearHead(matrix(C, D, W), b), h).data, 1e-5, 1e-5)).toBeUndefined();
      expect(Array.from(out.is_ood!.data as Uint8Array, Boolean)).toEqual(Array.from(expected, (s) => s < 1.5));
    } finally {
      await extractor.dispose();
    }
  });

  it('without threshold there is no is_ood; bad options are typed errors and write nothing', async () => {
    const extractor = await loadOnnxFeatureExtractor(softmaxModel, { threads: 1 });
    try {
      const plain = await extractor.exportDetector({ prunedWeight: extractor.head.weight, reactClip: 0.5, temperature: 2, outputPath: join(dir, 'plain.onnx') });
      expect(plain.outputs).toEqual({ logits: 'z', oodScore: 'ood_score', all: ['probs', 'z', 'ood_score'] });
      expect([plain.reactClip, plain.temperature, plain.threshold]).toEqual([0.5, 2, undefined]);
      const bad = join(dir, 'bad.onnx');
      expect(await codeOf(extractor.exportDetector({ prunedWeight: matrix(C, D + 1), outputPath: bad }))).toBe('SHAPE_MISMATCH');
      expect(await codeOf(extractor.exportDetector({ prunedWeight: extractor.head.weight, threshold: NaN, outputPath: bad }))).toBe('INVALID_ARGUMENT');
      expect(await codeOf(extractor.exportDetector({ prunedWeight: extractor.head.weight, outputPath: '' }))).toBe('INVALID_ARGUMENT');
      expect(existsSync(bad)).toBe(false);
    } finally {
      await extractor.dispose();
    }
  });
});
