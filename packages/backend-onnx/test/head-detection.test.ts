import { describe, expect, it } from 'vitest';
import { isOpnpError } from '@opnp/core';
import { detectHead, loadOnnxFeatureExtractor, parseOnnxModel } from '../src/index.js';
import { buildModel, firstMismatch, matmul, seeded, type ModelSpec, type NodeSpec } from './helpers/models.js';

const N = 3;
const K = 5; // model input width
const D = 4; // feature dim
const C = 3; // classes
const A = seeded(K * D, 11); // hidden layer K x D
const Bdc = seeded(D * C, 12); // head weight as D x C
const Bcd = seeded(C * D, 13); // head weight as C x D
const bias = seeded(C, 14);
const x = seeded(N * K, 15);

/** Features h = relu(x A), brute force. */
const h = Float32Array.from(matmul(x, A, N, K, D), (v) => Math.max(0, Math.fround(v)));

function transposed(m: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(m.length);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) out[j * rows + i] = m[i * cols + j]!;
  return out;
}

/** A model x -> relu(MatMul(x, A)) = "h" -> head nodes -> outputs. */
function model(head: NodeSpec[], outputs: string[], inits: ModelSpec['initializers'] = [], opset = 13): Uint8Array {
  return buildModel({
    opset,
    inputs: [{ name: 'x', dims: ['N', K] }],
    outputs: outputs.map((name) => ({ name })),
    initializers: [{ name: 'A', dims: [K, D], values: A }, ...inits],
    nodes: [{ op: 'MatMul', inputs: ['x', 'A'], outputs: ['xa'], name: 'hidden' }, { op: 'Relu', inputs: ['xa'], outputs: ['h'], name: 'relu' }, ...head],
  });
}

interface Case {
  name: string;
  bytes: Uint8Array;
  /** Expected head W [C x D] and b [C]. */
  W: Float32Array;
  b: Float32Array;
  pattern: string;
  feature: string;
  probabilities?: boolean;
}

const Wplain = transposed(Bdc, D, C); // W = B^T for B [D x C]
const zeros = new Float32Array(C);

const cases: Case[] = [
  {
    name: 'Gemm transB=1 (torch Linear)',
    bytes: model([{ op: 'Gemm', inputs: ['h', 'W', 'b'], outputs: ['logits'], name: 'fc', attrs: { transB: 1 } }], ['logits'], [{ name: 'W', dims: [C, D], values: Bcd }, { name: 'b', dims: [C], values: bias }]),
    W: Bcd, b: bias, pattern: 'gemm', feature: 'h',
  },
  {
    name: 'Gemm transB=0 with alpha 0.5, beta 2',
    bytes: model([{ op: 'Gemm', inputs: ['h', 'B', 'c'], outputs: ['logits'], name: 'fc', floatAttrs: { alpha: 0.5, beta: 2 } }], ['logits'], [{ name: 'B', dims: [D, C], values: Bdc }, { name: 'c', dims: [C], values: bias }]),
    W: Wplain.map((v) => v * 0.5), b: bias.map((v) => v * 2), pattern: 'gemm', feature: 'h',
  },
  {
    name: 'Gemm transA=1 (features transposed), bias [1, C]',
    bytes: model(
      [{ op: 'Transpose', inputs: ['h'], outputs: ['hT'], attrs: { perm: [1, 0] } }, { op: 'Gemm', inputs: ['hT', 'B', 'c'], outputs: ['logits'], name: 'fc', attrs: { transA: 1 } }],
      ['logits'],
      [{ name: 'B', dims: [D, C], values: Bdc }, { name: 'c', dims: [1, C], values: bias }],
    ),
    W: Wplain, b: bias, pattern: 'gemm', feature: 'hT',
  },
  {
    name: 'Gemm without bias',
    bytes: model([{ op: 'Gemm', inputs: ['h', 'W'], outputs: ['logits'], attrs: { transB: 1 } }], ['logits'], [{ name: 'W', dims: [C, D], values: Bcd }]),
    W: Bcd, b: zeros, pattern: 'gemm', feature: 'h',
  },
  {
    name: 'Gemm with a scalar bias [1] (broadcast)',
    bytes: model([{ op: 'Gemm', inputs: ['h', 'W', 'c'], outputs: ['logits'], attrs: { transB: 1 } }], ['logits'], [{ name: 'W', dims: [C, D], values: Bcd }, { name: 'c', dims: [1], values: [0.25] }]),
    W: Bcd, b: new Float32Array(C).fill(0.25), pattern: 'gemm', feature: 'h',
  },
  {
    name: 'Add(MatMul(h, B), c)',
    bytes: model([{ op: 'MatMul', inputs: ['h', 'B'], outputs: ['mm'] }, { op: 'Add', inputs: ['mm', 'c'], outputs: ['logits'], name: 'fc_add' }], ['logits'], [{ name: 'B', dims: [D, C], values: Bdc }, { name: 'c', dims: [C], values: bias }]),
    W: Wplain, b: bias, pattern: 'matmul-add', feature: 'h',
  },
  {
    name: 'Add(c, MatMul(h, B)) (bias first)',
    bytes: model([{ op: 'MatMul', inputs: ['h', 'B'], outputs: ['mm'] }, { op: 'Add', inputs: ['c', 'mm'], outputs: ['logits'] }], ['logits'], [{ name: 'B', dims: [D, C], values: Bdc }, { name: 'c', dims: [C], values: bias }]),
    W: Wplain, b: bias, pattern: 'matmul-add', feature: 'h',
  },
  {
    name: 'MatMul without bias',
    bytes: model([{ op: 'MatMul', inputs: ['h', 'B'], outputs: ['logits'] }], ['logits'], [{ name: 'B', dims: [D, C], values: Bdc }]),
    W: Wplain, b: zeros, pattern: 'matmul', feature: 'h',
  },
  {
    name: 'weights from Constant nodes (behind Identity)',
    bytes: model(
      [
        { op: 'Constant', inputs: [], outputs: ['Bconst'], tensor: { name: 'Bv', dims: [D, C], values: Bdc } },
        { op: 'Identity', inputs: ['Bconst'], outputs: ['Bid'] },
        { op: 'Constant', inputs: [], outputs: ['cconst'], tensor: { name: 'cv', dims: [C], values: bias } },
        { op: 'MatMul', inputs: ['h', 'Bid'], outputs: ['mm'] },
        { op: 'Add', inputs: ['mm', 'cconst'], outputs: ['logits'] },
      ],
      ['logits'],
    ),
    W: Wplain, b: bias, pattern: 'matmul-add', feature: 'h',
  },
  {
    name: 'Softmax-terminated (returns probabilities)',
    bytes: model(
      [{ op: 'Gemm', inputs: ['h', 'W', 'b'], outputs: ['logits'], attrs: { transB: 1 } }, { op: 'Softmax', inputs: ['logits'], outputs: ['probs'], attrs: { axis: 1 } }],
      ['probs'],
      [{ name: 'W', dims: [C, D], values: Bcd }, { name: 'b', dims: [C], values: bias }],
    ),
    W: Bcd, b: bias, pattern: 'gemm', feature: 'h', probabilities: true,
  },
  {
    name: 'Identity after Softmax after Gemm',
    bytes: model(
      [
        { op: 'Gemm', inputs: ['h', 'W', 'b'], outputs: ['logits'], attrs: { transB: 1 } },
        { op: 'Softmax', inputs: ['logits'], outputs: ['probs'], attrs: { axis: -1 } },
        { op: 'Identity', inputs: ['probs'], outputs: ['out'] },
      ],
      ['out'],
      [{ name: 'W', dims: [C, D], values: Bcd }, { name: 'b', dims: [C], values: bias }],
    ),
    W: Bcd, b: bias, pattern: 'gemm', feature: 'h', probabilities: true,
  },
  {
    name: 'LogSoftmax-terminated (returns log-probabilities, as torch log_softmax exports)',
    bytes: model(
      [{ op: 'Gemm', inputs: ['h', 'W', 'b'], outputs: ['logits'], attrs: { transB: 1 } }, { op: 'LogSoftmax', inputs: ['logits'], outputs: ['logprobs'], attrs: { axis: 1 } }],
      ['logprobs'],
      [{ name: 'W', dims: [C, D], values: Bcd }, { name: 'b', dims: [C], values: bias }],
    ),
    W: Bcd, b: bias, pattern: 'gemm', feature: 'h', probabilities: true,
  },
  {
    name: 'Identity after LogSoftmax after MatMul + Add',
    bytes: model(
      [
        { op: 'MatMul', inputs: ['h', 'B'], outputs: ['mm'] },
        { op: 'Add', inputs: ['mm', 'c'], outputs: ['logits'] },
        { op: 'LogSoftmax', inputs: ['logits'], outputs: ['logprobs'], attrs: { axis: -1 } },
        { op: 'Identity', inputs: ['logprobs'], outputs: ['out'] },
      ],
      ['out'],
      [{ name: 'B', dims: [D, C], values: Bdc }, { name: 'c', dims: [C], values: bias }],
    ),
    W: Wplain, b: bias, pattern: 'matmul-add', feature: 'h', probabilities: true,
  },
];

/** Brute-force logits W h + b in float64 from the expected head. */
function expectedLogits(W: Float32Array, b: Float32Array): Float64Array {
  const out = new Float64Array(N * C);
  for (let n = 0; n < N; n++) for (let c = 0; c < C; c++) {
    let s = b[c]!;
    for (let j = 0; j < D; j++) s += W[c * D + j]! * h[n * D + j]!;
    out[n * C + c] = s;
  }
  return out;
}

describe('head detection on protobuf-built models', () => {
  for (const tc of cases) {
    it(`finds the head: ${tc.name}`, async () => {
      const parsed = await parseOnnxModel(tc.bytes);
      const found = detectHead(parsed);
      expect(found.pattern).toBe(tc.pattern);
      expect(found.featureTensor).toBe(tc.feature);
      expect(found.outputIsProbabilities).toBe(tc.probabilities ?? false);
      expect([found.head.weight.rows, found.head.weight.cols]).toEqual([C, D]);
      expect(firstMismatch(found.head.weight.data, tc.W, 1e-7)).toBeUndefined();
      expect(firstMismatch(found.head.bias, tc.b, 1e-7)).toBeUndefined();

      const warnings: string[] = [];
      const extractor = await loadOnnxFeatureExtractor(tc.bytes, { onWarning: (m) => warnings.push(m), session: { intraOpNumThreads: 1 } });
      try {
        const input = Float32Array.from(x);
        const { features, logits } = await extractor.extract({ data: input, shape: [N, K] });
        expect(Array.from(input)).toEqual(Array.from(x));
        expect(firstMismatch(features.data, h, 1e-5)).toBeUndefined();
        expect(firstMismatch(logits.data, expectedLogits(tc.W, tc.b), 1e-5, 1e-5)).toBeUndefined();
        expect(extractor.headCheck!.withinTolerance).toBe(true);
        expect(extractor.headCheck!.maxAbsDiff).toBeLessThan(1e-5);
        if (tc.probabilities) expect(warnings.some((w) => (tc.name.includes('LogSoftmax') ? /^The model returns log-probabilities: graph output "\w+" is LogSoftmax of "logits"/ : /^The model returns probabilities: .* is Softmax of/).test(w))).toBe(true);
        else expect(warnings).toEqual([]);
      } finally {
        await extractor.dispose();
      }
    });
  }

  it('sees through Flatten of a global pool on an image input (NCHW)', async () => {
    const W = seeded(C * 2, 21);
    const bytes = buildModel({
      inputs: [{ name: 'img', dims: ['N', 2, 3, 3] }],
      outputs: [{ name: 'logits' }],
      initializers: [{ name: 'W', dims: [C, 2], values: W }, { name: 'b', dims: [C], values: bias }],
      nodes: [
        { op: 'GlobalAveragePool', inputs: ['img'], outputs: ['pool'] },
        { op: 'Flatten', inputs: ['pool'], outputs: ['flat'], attrs: { axis: 1 } },
        { op: 'Gemm', inputs: ['flat', 'W', 'b'], outputs: ['logits'], name: 'fc', attrs: { transB: 1 } },
      ],
    });
    const img = seeded(2 * 2 * 9, 22);
    const means = new Float32Array(4);
    for (let i = 0; i < 4; i++) means[i] = img.subarray(i * 9, i * 9 + 9).reduce((a, v) => a + v, 0) / 9;
    for (const featureTensor of [undefined, 'pool']) {
      const extractor = await loadOnnxFeatureExtractor(bytes, { featureTensor, session: { intraOpNumThreads: 1 } });
      expect(extractor.input).toEqual({ name: 'img', shape: [null, 2, 3, 3], layout: 'NCHW' });
      expect(extractor.detection.featureTensor).toBe(featureTensor ?? 'flat');
      const { features } = await extractor.extract({ data: img, shape: [2, 2, 3, 3] });
      expect([features.rows, features.cols]).toEqual([2, 2]);
      expect(firstMismatch(features.data, means, 1e-6)).toBeUndefined();
      await extractor.dispose();
    }
  });

  it('fails with MODEL_HEAD_NOT_FOUND listing candidate nodes when no output has a head', async () => {
    const bytes = model([{ op: 'Gemm', inputs: ['h', 'W', 'b'], outputs: ['logits'], name: 'fc', attrs: { transB: 1 } }, { op: 'Relu', inputs: ['logits'], outputs: ['out'] }], ['out'], [
      { name: 'W', dims: [C, D], values: Bcd },
      { name: 'b', dims: [C], values: bias },
    ]);
    const parsed = await parseOnnxModel(bytes);
    let error: unknown;
    try {
      detectHead(parsed);
    } catch (e) {
      error = e;
    }
    expect(isOpnpError(error) && error.code).toBe('MODEL_HEAD_NOT_FOUND');
    const message = (error as Error).message;
    expect(message).toMatch(/Candidate nodes: hidden \(MatMul/);
    expect(message).toMatch(/fc \(Gemm, input "h", weight \[3, 4\]/);
    expect(message).toMatch(/out <- Relu/);

    // The user can name the head: logits are then the Gemm output (added as an extra output).
    const extractor = await loadOnnxFeatureExtractor(bytes, { headNode: 'fc', session: { intraOpNumThreads: 1 } });
    const { logits } = await extractor.extract({ data: x, shape: [N, K] });
    expect(firstMismatch(logits.data, expectedLogits(Bcd, bias), 1e-5, 1e-5)).toBeUndefined();
    await extractor.dispose();
  });

  it('fails with MODEL_HEAD_AMBIGUOUS for two heads, and headNode / featureTensor options resolve or reject', async () => {
    const bytes = model(
      [
        { op: 'Gemm', inputs: ['h', 'W', 'b'], outputs: ['logits1'], name: 'fc1', attrs: { transB: 1 } },
        { op: 'Gemm', inputs: ['h', 'W2', 'b'], outputs: ['logits2'], name: 'fc2', attrs: { transB: 1 } },
      ],
      ['logits1', 'logits2'],
      [{ name: 'W', dims: [C, D], values: Bcd }, { name: 'W2', dims: [C, D], values: Bcd.map((v) => -v) }, { name: 'b', dims: [C], values: bias }],
    );
    const parsed = await parseOnnxModel(bytes);
    expect(() => detectHead(parsed)).toThrow(expect.objectContaining({ code: 'MODEL_HEAD_AMBIGUOUS' }));
    expect(() => detectHead(parsed)).toThrow(/"fc1", "fc2"/);
    expect(() => detectHead(parsed, { featureTensor: 'h' })).toThrow(expect.objectContaining({ code: 'MODEL_HEAD_AMBIGUOUS' }));
    const second = detectHead(parsed, { headNode: 'fc2' });
    expect(second.logitsTensor).toBe('logits2');
    expect(second.head.weight.data[0]).toBe(-Bcd[0]!);
    expect(() => detectHead(parsed, { headNode: 'nope' })).toThrow(expect.objectContaining({ code: 'MODEL_HEAD_NOT_FOUND' }));
    expect(() => detectHead(parsed, { headNode: 'relu' })).toThrow(/not a fully connected layer/);
    expect(() => detectHead(parsed, { featureTensor: 'nope' })).toThrow(expect.objectContaining({ code: 'MODEL_HEAD_NOT_FOUND' }));
    expect(() => detectHead(parsed, { headNode: 'fc1', featureTensor: 'x' })).toThrow(/does not feed/);
  });
});
