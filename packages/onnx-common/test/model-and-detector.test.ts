/**
 * The runtime-free parts of the shared ONNX code: external data through a reader, and reading an exported
 * detector's outputs and threshold back. (Extraction and the GEMM kernel run in both backends' conformance suites.)
 */
import { describe, expect, it } from 'vitest';
import { matrix } from '@opnp/core';
import { settledCode } from '@opnp/core/testing';
import { buildModel, seeded } from '../../backend-onnx/test/helpers/models.js';
import { buildOnnxDetector, describeOnnxDetector, isOnnxModel, parseOnnxModel } from '../src/index.js';

const D = 4;
const C = 3;
const W = seeded(C * D, 1);
const b = seeded(C, 2);

/** `x -> Relu -> Gemm(W, b) -> logits` with W and b stored in external files. */
function externalModel(wLocation: string, bLocation: string): Uint8Array {
  return buildModel({
    inputs: [{ name: 'x', dims: ['N', D] }],
    outputs: [{ name: 'logits' }],
    initializers: [
      { name: 'W', dims: [C, D], values: W, external: { location: wLocation, offset: 0 } },
      { name: 'b', dims: [C], values: b, external: { location: bLocation, offset: W.length * 4 } },
    ],
    nodes: [{ op: 'Relu', inputs: ['x'], outputs: ['h'] }, { op: 'Gemm', inputs: ['h', 'W', 'b'], outputs: ['logits'], attrs: { transB: 1 } }],
  });
}

const classifier = buildModel({
  inputs: [{ name: 'x', dims: ['N', D] }],
  outputs: [{ name: 'logits' }],
  initializers: [{ name: 'W', dims: [C, D], values: W }, { name: 'b', dims: [C], values: b }],
  nodes: [{ op: 'Relu', inputs: ['x'], outputs: ['h'] }, { op: 'Gemm', inputs: ['h', 'W', 'b'], outputs: ['logits'], attrs: { transB: 1 } }],
});

describe('external data', () => {
  it('is read through the reader, once per file, and sliced at each tensor offset', async () => {
    const file = new Uint8Array((W.length + b.length) * 4);
    new Float32Array(file.buffer).set([...W, ...b]);
    const reads: string[] = [];
    const model = await parseOnnxModel(externalModel('weights.bin', 'weights.bin'), {
      externalData: async (location, tensor) => {
        reads.push(`${location} for ${tensor}`);
        return file;
      },
    });
    expect(reads).toEqual(['weights.bin for W']);
    expect(isOnnxModel(model)).toBe(true);
    const [w, bias] = model.proto.graph!.initializer!;
    expect(new Float32Array(w!.rawData!.slice().buffer)).toEqual(W);
    expect(new Float32Array(bias!.rawData!.slice().buffer)).toEqual(b);
  });

  it('without a reader, or past the end of the file, is MODEL_FORMAT', async () => {
    const bytes = externalModel('w.bin', 'w.bin');
    await expect(parseOnnxModel(bytes, { file: 'm.onnx' })).rejects.toThrow(/stored in an external file "w.bin".*save_as_external_data=False/s);
    expect(await settledCode(parseOnnxModel(bytes, { externalData: async () => new Uint8Array(8) }))).toBe('MODEL_FORMAT');
  });
});

describe('describeOnnxDetector', () => {
  it('reads the score and decision outputs and the threshold (as float32) of a built detector', async () => {
    const model = await parseOnnxModel(classifier);
    const prunedWeight = matrix(C, D, W);
    const withThreshold = buildOnnxDetector(model, { prunedWeight, threshold: 0.1 });
    expect(describeOnnxDetector(await parseOnnxModel(withThreshold.bytes))).toEqual({
      outputs: { oodScore: 'ood_score', isOod: 'is_ood', logits: 'logits', all: ['logits', 'ood_score', 'is_ood'] },
      threshold: Math.fround(0.1),
    });
    const renamed = buildOnnxDetector(model, { prunedWeight, threshold: -2, scoreOutput: 'energy', decisionOutput: 'reject' });
    expect(describeOnnxDetector(await parseOnnxModel(renamed.bytes))).toMatchObject({ outputs: { oodScore: 'energy', isOod: 'reject' }, threshold: -2 });
    const plain = buildOnnxDetector(model, { prunedWeight });
    expect(describeOnnxDetector(await parseOnnxModel(plain.bytes))).toEqual({ outputs: { oodScore: 'ood_score', logits: 'logits', all: ['logits', 'ood_score'] } });
  });

  it('a classifier that is not a detector is MODEL_FORMAT naming opnp export', async () => {
    const model = await parseOnnxModel(classifier, { file: 'classifier.onnx' });
    expect(() => describeOnnxDetector(model)).toThrow(/no ood_score output.*opnp export/s);
  });
});
