/**
 * Export round trip: the exported detector runs in plain onnxruntime, keeps the original outputs, and its
 * ood_score equals the energy of the pruned head (after ReAct clipping) computed from our extracted features.
 */
import { copyFileSync, existsSync, linkSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import { afterAll, describe, expect, it } from 'vitest';
import { energy, isOpnpError, linearHead, react, logits as headLogits, matrix, type Matrix } from '@opnp/core';
import { exportOodDetector, loadOnnxFeatureExtractor, parseOnnxModel } from '../src/index.js';
import { buildModel, energyRows, firstMismatch, seeded } from './helpers/models.js';

const fixture = (name: string): string => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'opnp-onnx-export-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A pruned copy of W: every weight whose seeded draw is < -0.4 and every 5th neuron (column) set to zero. */
function prune(W: Matrix): Matrix {
  const r = seeded(W.data.length, 77);
  const data = W.data.map((v, i) => (r[i]! < -0.4 || (i % W.cols) % 5 === 0 ? 0 : v));
  return matrix(W.rows, W.cols, data);
}

/** Brute-force score (docs/numerics.md): energy (temperature T) of W' min(h, clip) + b. */
function referenceScores(features: Matrix, W: Matrix, b: Float32Array, clip: number | undefined, T: number): Float64Array {
  const clipped = clip === undefined ? features.data : features.data.map((v) => (v > Math.fround(clip) ? Math.fround(clip) : v));
  const f = headLogits(linearHead(W, b), matrix(features.rows, features.cols, clipped));
  return energyRows(f.data, f.rows, f.cols, T);
}

/** @opnp/core's own score: `energy(logits(W', react(h, clip)), T)`. */
function coreScores(features: Matrix, W: Matrix, b: Float32Array, clip: number | undefined, T: number): Float32Array {
  const h = clip === undefined ? features : react(features, clip);
  return energy(headLogits(linearHead(W, b), h), { temperature: T });
}

function median(values: ArrayLike<number>): number {
  const sorted = Array.from(values).sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

async function runPlain(bytes: Uint8Array, input: string, data: Float32Array, shape: number[]): Promise<ort.InferenceSession.ReturnType> {
  const session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1 });
  try {
    return await session.run({ [input]: new ort.Tensor('float32', data, shape) });
  } finally {
    await session.release();
  }
}

const imageInput = (n: number, channels: number, size: number): { data: Float32Array; shape: number[] } => ({
  data: seeded(n * channels * size * size, 5),
  shape: [n, channels, size, size],
});

describe('exportOodDetector round trip on real PyTorch exports', () => {
  const models = [
    { name: 'small-cnn', opset: 11, input: imageInput(6, 3, 32), T: 1 },
    { name: 'tiny-vit', opset: 17, input: imageInput(6, 3, 32), T: 1.5 },
    { name: 'resnet-style', opset: 13, input: imageInput(6, 3, 32), T: 1 },
    { name: 'mnist-cnn', opset: 13, input: imageInput(6, 1, 28), T: 2 },
  ];
  for (const m of models) {
    it(`${m.name} (opset ${m.opset}): ood_score = energy of the pruned, clipped head; is_ood = score < threshold`, async () => {
      const extractor = await loadOnnxFeatureExtractor(fixture(`${m.name}.onnx`), { session: { intraOpNumThreads: 1 } });
      expect(extractor.model.opset).toBe(m.opset);
      const { features, logits } = await extractor.extract(m.input);
      const prunedWeight = prune(extractor.head.weight);
      const clip = median(features.data.filter((v) => v > 0)); // clips about half the positive entries
      const expected = referenceScores(features, prunedWeight, extractor.head.bias, clip, m.T);
      const sorted = Array.from(expected).sort((a, b) => a - b);
      const threshold = (sorted[2]! + sorted[3]!) / 2; // well away from every score
      const outputPath = join(dir, `${m.name}-detector.onnx`);
      const bytes = await exportOodDetector({ model: extractor.model, head: extractor.detection, prunedWeight, reactClip: clip, temperature: m.T, threshold, outputPath });
      await extractor.dispose();

      expect(Buffer.from(readFileSync(outputPath)).equals(Buffer.from(bytes))).toBe(true);
      const out = await runPlain(bytes, 'input', m.input.data, m.input.shape);
      expect(Object.keys(out).sort()).toEqual(['is_ood', 'logits', 'ood_score']);
      // Original output unchanged.
      expect(firstMismatch(out.logits!.data as Float32Array, logits.data, 1e-5, 1e-5)).toBeUndefined();
      // ood_score [N] float32 equals the brute-force score of docs/numerics.md and core's score.
      expect(out.ood_score!.dims).toEqual([6]);
      expect(out.ood_score!.type).toBe('float32');
      const scores = out.ood_score!.data as Float32Array;
      expect(firstMismatch(scores, expected, 1e-4, 1e-5)).toBeUndefined();
      const fromCore = coreScores(features, prunedWeight, extractor.head.bias, clip, m.T);
      expect(firstMismatch(scores, fromCore, 1e-4, 1e-5)).toBeUndefined();
      // Pruning and clipping matter: the score differs from the plain energy of the model's logits.
      const plain = energyRows(logits.data, logits.rows, logits.cols, m.T);
      expect(firstMismatch(scores, plain, 1e-3)).toBeDefined();
      // is_ood: bool [N], ood_score < threshold (3 of 6 by construction).
      expect(out.is_ood!.type).toBe('bool');
      const decisions = Array.from(out.is_ood!.data as Uint8Array, (v) => Boolean(v));
      expect(decisions).toEqual(Array.from(expected, (s) => s < threshold));
      expect(decisions.filter(Boolean)).toHaveLength(3);
      expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    });
  }
});

describe('exportOodDetector on protobuf-built models', () => {
  const D = 6;
  const C = 4;
  const W = seeded(C * D, 31);
  const b = seeded(C, 32);

  for (const opset of [11, 13, 18]) {
    it(`opset ${opset}: uses the right ReduceMax/ReduceSum form; no clip, T = 1, no threshold -> only ood_score`, async () => {
      const bytes = buildModel({
        opset,
        inputs: [{ name: 'x', dims: ['N', D] }],
        outputs: [{ name: 'probs' }],
        initializers: [{ name: 'W', dims: [C, D], values: W }, { name: 'b', dims: [C], values: b }],
        nodes: [
          { op: 'Relu', inputs: ['x'], outputs: ['h'] },
          { op: 'Gemm', inputs: ['h', 'W', 'b'], outputs: ['z'], attrs: { transB: 1 } },
          { op: 'Softmax', inputs: ['z'], outputs: ['probs'], attrs: { axis: 1 } },
        ],
      });
      const x = seeded(5 * D, opset);
      const prunedWeight = matrix(C, D, W.map((v, i) => (i % 3 === 0 ? 0 : v)));
      const exported = await exportOodDetector({ model: bytes, prunedWeight });
      const parsed = await parseOnnxModel(exported);
      const reduces = parsed.proto.graph!.node!.filter((n) => n.opType === 'ReduceMax' || n.opType === 'ReduceSum');
      expect(reduces).toHaveLength(2);
      for (const node of reduces) {
        const asInput = (node.opType === 'ReduceSum' && opset >= 13) || (node.opType === 'ReduceMax' && opset >= 18);
        expect(node.input!.length, `${node.opType} at opset ${opset}`).toBe(asInput ? 2 : 1);
        expect(node.attribute!.some((a) => a.name === 'axes')).toBe(!asInput);
      }
      const out = await runPlain(exported, 'x', x, [5, D]);
      expect(Object.keys(out).sort()).toEqual(['ood_score', 'probs']);
      const original = await runPlain(bytes, 'x', x, [5, D]);
      expect(firstMismatch(out.probs!.data as Float32Array, original.probs!.data as Float32Array, 0)).toBeUndefined();
      const h = matrix(5, D, x.map((v) => Math.max(0, v)));
      expect(firstMismatch(out.ood_score!.data as Float32Array, referenceScores(h, prunedWeight, b, undefined, 1), 1e-5, 1e-6)).toBeUndefined();
    });
  }

  it('handles transposed features (Gemm transA) and logits of +-1000 stably', async () => {
    const big = W.map((v) => v * 1000);
    const bytes = buildModel({
      inputs: [{ name: 'x', dims: ['N', D] }],
      outputs: [{ name: 'logits' }],
      initializers: [{ name: 'B', dims: [D, C], values: big }, { name: 'b', dims: [C], values: b }],
      nodes: [
        { op: 'Transpose', inputs: ['x'], outputs: ['xT'], attrs: { perm: [1, 0] } },
        { op: 'Gemm', inputs: ['xT', 'B', 'b'], outputs: ['logits'], attrs: { transA: 1 } },
      ],
    });
    const extractor = await loadOnnxFeatureExtractor(bytes, { session: { intraOpNumThreads: 1 } });
    expect(extractor.detection.featuresTransposed).toBe(true);
    const x = seeded(3 * D, 41);
    const { features, logits } = await extractor.extract({ data: x, shape: [3, D] });
    expect(firstMismatch(features.data, x, 0)).toBeUndefined();
    expect(Math.max(...Array.from(logits.data, Math.abs))).toBeGreaterThan(500);
    const exported = await exportOodDetector({ model: extractor.model, head: extractor.detection, prunedWeight: extractor.head.weight, temperature: 0.5 });
    await extractor.dispose();
    const out = await runPlain(exported, 'x', x, [3, D]);
    const scores = out.ood_score!.data as Float32Array;
    expect(scores.every(Number.isFinite)).toBe(true);
    expect(firstMismatch(scores, energyRows(logits.data, 3, C, 0.5), 1e-2, 1e-5)).toBeUndefined();
  });

  it('writes nothing on failure and reports typed errors', async () => {
    const model = fixture('small-cnn.onnx');
    const outputPath = join(dir, 'should-not-exist.onnx');
    const attempts: [() => Promise<unknown>, string][] = [
      [() => exportOodDetector({ model, prunedWeight: matrix(10, 63), outputPath }), 'SHAPE_MISMATCH'],
      [() => exportOodDetector({ model, prunedWeight: matrix(10, 64), bias: [1, 2], outputPath }), 'SHAPE_MISMATCH'],
      [() => exportOodDetector({ model, prunedWeight: matrix(10, 64), temperature: 0, outputPath }), 'INVALID_ARGUMENT'],
      [() => exportOodDetector({ model, prunedWeight: matrix(10, 64), reactClip: NaN, outputPath }), 'INVALID_ARGUMENT'],
      [() => exportOodDetector({ model, prunedWeight: matrix(10, 64), scoreOutput: 'logits', outputPath }), 'INVALID_ARGUMENT'],
      [() => exportOodDetector({ model: new TextEncoder().encode('not onnx'), prunedWeight: matrix(10, 64), outputPath }), 'MODEL_FORMAT'],
      [() => exportOodDetector({ model, prunedWeight: matrix(10, 64), outputPath: join(dir, 'no-such-dir', 'x.onnx') }), 'IO_ERROR'],
    ];
    for (const [attempt, code] of attempts) {
      let error: unknown;
      try {
        await attempt();
      } catch (e) {
        error = e;
      }
      expect(isOpnpError(error) ? error.code : String(error)).toBe(code);
    }
    expect(existsSync(outputPath)).toBe(false);
    expect(existsSync(join(dir, 'no-such-dir'))).toBe(false);
    expect(readdirSync(dir).filter((f) => f.startsWith('should-not-exist') || f.endsWith('.tmp'))).toEqual([]);
  });

  it('refuses to write the detector over the model it is built from (same path, relative, symlink, hard link)', async () => {
    const own = join(dir, 'own-model.onnx');
    copyFileSync(fixture('small-cnn.onnx'), own);
    const original = readFileSync(own);
    symlinkSync(own, join(dir, 'own-link.onnx'));
    linkSync(own, join(dir, 'own-hardlink.onnx'));
    const extractor = await loadOnnxFeatureExtractor(own);
    const options = { prunedWeight: extractor.head.weight };
    try {
      for (const outputPath of [own, relative(process.cwd(), own), join(dir, 'own-link.onnx'), join(dir, 'own-hardlink.onnx')]) {
        await expect(extractor.exportDetector({ ...options, outputPath }), outputPath).rejects.toMatchObject({
          code: 'INVALID_ARGUMENT',
          file: outputPath,
          message: expect.stringMatching(/is the model file the detector is built from .*own-model\.onnx\): writing it would replace the original model.*Choose another output file name/),
        });
      }
      await expect(exportOodDetector({ model: own, prunedWeight: options.prunedWeight, outputPath: own })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
      expect(readFileSync(own).equals(original)).toBe(true);
      // Another file next to it is fine.
      const result = await extractor.exportDetector({ ...options, outputPath: join(dir, 'own-detector.onnx') });
      expect(result.path).toBe(join(dir, 'own-detector.onnx'));
      expect(readFileSync(own).equals(original)).toBe(true);
    } finally {
      await extractor.dispose();
    }
  });
});
