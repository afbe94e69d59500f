/**
 * `opnp export` on the demo model: the written detector is run with plain onnxruntime-node and checked
 * against the original model and against core's energy of the pruned head computed here.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { SensitivityAccumulator, energy, logits, neuronSensitivity, pruneHead, pruningMasks, type Matrix } from '@opnp/core';
import { loadNpy } from '@opnp/datasets/node';
import { describeOnnxDetector, loadOnnxModel } from '@opnp/backend-onnx';
import { cli, FASHION, MODEL, NORMALISE, referenceBatches, referenceExtractor, resolveGemmKernel, stack, tempDir, TEST, TRAIN } from './helpers.js';

const P = 'p_min=10,p_max=1,n_min=10,n_max=5';
const PERCENT = { pMin: 10, pMax: 1, nMin: 10, nMax: 5 };
/** The ID validation set of the threshold: the demo's MNIST test images (2,500). */
const VAL = TEST;

let dir: string;
let detector: string;
let stdout: string;
let images: { data: Float32Array; shape: number[] };
let features: Matrix;
let modelLogits: Matrix;
let valFeatures: Matrix;
let prunedEnergy: (h: Matrix) => Float32Array;

async function run(file: string, input: { data: Float32Array; shape: number[] }) {
  const session = await ort.InferenceSession.create(file);
  try {
    const out = await session.run({ [session.inputNames[0]!]: new ort.Tensor('float32', input.data, input.shape) });
    return { names: session.outputNames, out };
  } finally {
    await session.release();
  }
}

beforeAll(async () => {
  dir = tempDir();
  detector = join(dir, 'detector.onnx');
  const r = await cli(['export', '--model', MODEL, '--train', TRAIN, ...NORMALISE, '--opnp', P, '--threshold-from', VAL, '--batch-size', '500', '--out', detector, '--quiet']);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  stdout = r.stdout;

  // Reference: the sensitivity through the library, the pruned head, and a few preprocessed images.
  const ex = await referenceExtractor();
  const train = await referenceBatches(TRAIN, { batchSize: 500 });
  const acc = new SensitivityAccumulator(ex.head, { kernel: await resolveGemmKernel() });
  for (const b of train.batches) await acc.add(b.features, b.logits);
  const s = acc.result();
  const pruned = pruneHead(ex.head, pruningMasks(s, neuronSensitivity(s), PERCENT, 'opnp'));
  prunedEnergy = (h) => energy(logits(pruned, h));
  const { openDataset, preprocessOptionsFor } = await import('@opnp/datasets/node');
  const fashion = await openDataset(FASHION);
  const preprocess = preprocessOptionsFor(ex.input, { mean: 0.1307, std: 0.3081 });
  for await (const b of fashion.batches({ batchSize: 16, preprocess, subset: Uint32Array.from({ length: 16 }, (_, i) => i * 7) })) {
    images = { data: b.data, shape: [...b.shape] };
    const out = await ex.extract({ data: b.data, shape: b.shape });
    features = out.features;
    modelLogits = out.logits;
    break;
  }
  valFeatures = stack((await referenceBatches(VAL, { batchSize: 500 })).batches.map((b) => b.features));
});

describe('opnp export', () => {
  it('keeps the input and logits and adds ood_score = energy of the pruned head, and is_ood at the threshold', async () => {
    const original = await run(MODEL, images);
    const exported = await run(detector, images);
    expect(exported.names).toEqual([...original.names, 'ood_score', 'is_ood']);
    for (const name of original.names) {
      expect(exported.out[name]!.dims).toEqual(original.out[name]!.dims);
      expect(Array.from(exported.out[name]!.data as Float32Array)).toEqual(Array.from(original.out[name]!.data as Float32Array));
    }
    const n = images.shape[0]!;
    const score = exported.out.ood_score!;
    expect(score.type).toBe('float32');
    expect(score.dims).toEqual([n]);
    const expected = prunedEnergy(features);
    const got = score.data as Float32Array;
    for (let i = 0; i < n; i++) expect(Math.abs(got[i]! - expected[i]!), `sample ${i}`).toBeLessThan(1e-4 * Math.max(1, Math.abs(expected[i]!)));
    // The first output of the demo model is its logits; they match the extractor's.
    const logitsOut = exported.out[original.names[0]!]!.data as Float32Array;
    for (let i = 0; i < modelLogits.data.length; i++) expect(logitsOut[i]).toBeCloseTo(modelLogits.data[i]!, 4);

    const tau = Number(/threshold: (\S+)/.exec(stdout)![1]);
    expect(Number.isFinite(tau)).toBe(true);
    const isOod = exported.out.is_ood!;
    expect(isOod.type).toBe('bool');
    const flags = isOod.data as Uint8Array;
    for (let i = 0; i < n; i++) expect(Boolean(flags[i]), `sample ${i}`).toBe(got[i]! < tau);
    // Fashion-MNIST images are OOD for this MNIST model: most are flagged.
    expect(Array.from(flags).filter(Boolean).length).toBeGreaterThan(n / 2);

    // 95% of the ID validation set is kept (score >= tau), within one sample; brute force here.
    const val = prunedEnergy(valFeatures);
    const kept = Array.from(val).filter((v) => v >= tau).length;
    expect(Math.abs(kept - Math.ceil(0.95 * val.length))).toBeLessThanOrEqual(1);
  });

  it("records the preprocessing it used: the flags' values, and the demo model's 1 x 28 x 28 NCHW input for the rest", async () => {
    const recorded = { layout: 'NCHW', channels: 1, resize: 28, centerCrop: [28, 28], mean: [0.1307], std: [0.3081] };
    expect(describeOnnxDetector(await loadOnnxModel(detector)).preprocessing).toEqual(recorded);
    expect(stdout).toContain('input preprocessing (recorded as opnp.preprocess): resize the shorter side to 28, centre-crop 28 x 28, grey (1 channel), x / 255, (x - 0.1307) / 0.3081, NCHW');
    expect(stdout).toContain(`    ${JSON.stringify(recorded)}`);
    expect(stdout).toContain('(input preprocessed as recorded: x / 255, then (x - 0.1307) / 0.3081, shape [1, 1, 28, 28])');
    expect(stdout).not.toContain('no --mean/--std given');
  });

  it('prints how to run it from onnxruntime in Node, Python and the browser', () => {
    expect(stdout).toContain(`wrote ${detector}`);
    expect(stdout).toContain("import * as ort from 'onnxruntime-node'");
    expect(stdout).toContain('import numpy as np, onnxruntime as ort');
    expect(stdout).toContain("import * as ort from 'onnxruntime-web'");
    expect(stdout).toMatch(/session\.run\(\["[^"]+", "ood_score", "is_ood"\]/);
  });

  it('reuses a saved sensitivity with --sensitivity, and applies a given ReAct clip', async () => {
    const sensFile = join(dir, 'sens.npy');
    expect((await cli(['sensitivity', '--model', MODEL, '--train', TRAIN, ...NORMALISE, '--out', sensFile, '--batch-size', '500', '--quiet'])).code).toBe(0);
    const out = join(dir, 'react.onnx');
    const preprocessFlags = ['--mean', '0.5', '--std', '0.25', '--resize', '30', '--crop', '28', '--resize-kernel', 'pil-bicubic'];
    const r = await cli(['export', '--model', MODEL, '--sensitivity', sensFile, '--opnp', P, '--react', '--react-clip', '1.5', ...preprocessFlags, '--out', out, '--quiet']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(describeOnnxDetector(await loadOnnxModel(out)).preprocessing).toEqual({ layout: 'NCHW', channels: 1, resize: 30, centerCrop: 28, kernel: 'pil-bicubic', mean: [0.5], std: [0.25] });
    const exported = await run(out, images);
    expect(exported.names).not.toContain('is_ood');
    const ex = await referenceExtractor();
    const s = await loadNpy(sensFile);
    const sens = { classes: 10, dim: 128, count: 0, values: Float64Array.from(s.data) };
    const pruned = pruneHead(ex.head, pruningMasks(sens, neuronSensitivity(sens), PERCENT, 'opnp'));
    const clipped: Matrix = { ...features, data: features.data.map((v) => Math.min(v, 1.5)) };
    const expected = energy(logits(pruned, clipped));
    const got = exported.out.ood_score!.data as Float32Array;
    for (let i = 0; i < expected.length; i++) expect(Math.abs(got[i]! - expected[i]!)).toBeLessThan(1e-4 * Math.max(1, Math.abs(expected[i]!)));
  });

  it('refuses an already exported detector as --model at once, in command-line terms, before any training pass', async () => {
    const out = join(dir, 'again.onnx');
    const again = await cli(['export', '--model', detector, '--train', TRAIN, ...NORMALISE, '--opnp', P, '--out', out]);
    expect(again.code).toBe(1);
    expect(again.stdout).toBe('');
    expect(again.stderr).toBe(
      `opnp: --model: ${detector} is an OOD detector written by opnp export (it has an ood_score output), not a classifier. ` +
        'Pass the classifier it was exported from as --model; the detector itself is ready to run (onnxruntime or TensorFlow.js, as opnp export printed)\n',
    );
    expect(again.stderr).not.toMatch(/sensitivity|scoreOutput|decisionOutput/);
    expect(existsSync(out)).toBe(false);
  });

  it('fails cleanly and writes nothing on bad input', async () => {
    const out = join(dir, 'bad.onnx');
    const noOpnp = await cli(['export', '--model', MODEL, '--train', TRAIN, '--out', out]);
    expect(noOpnp.code).toBe(2);
    expect(noOpnp.stderr).toMatch(/--opnp/);
    const badModel = join(dir, 'not-a-model.onnx');
    await import('node:fs/promises').then((fs) => fs.writeFile(badModel, 'not onnx'));
    const bad = await cli(['export', '--model', badModel, '--train', TRAIN, '--opnp', P, '--out', out, '--quiet']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^opnp: /);
    const missingSens = await cli(['export', '--model', MODEL, '--sensitivity', join(dir, 'nope.npy'), '--opnp', P, '--out', out, '--quiet']);
    expect(missingSens.code).toBe(1);
    const wrongShape = join(dir, 'wrong.npy');
    const { writeNpy } = await import('@opnp/datasets/node');
    await writeNpy(wrongShape, { dtype: 'float64', shape: [3, 4], data: new Float64Array(12) });
    const shape = await cli(['export', '--model', MODEL, '--sensitivity', wrongShape, '--opnp', P, '--out', out, '--quiet']);
    expect(shape.code).toBe(1);
    expect(shape.stderr).toMatch(/\[C, D\]/);
    const reactNoClip = await cli(['export', '--model', MODEL, '--sensitivity', wrongShape, '--opnp', P, '--react', '--out', out]);
    expect(reactNoClip.code).toBe(2);
    const threeMeans = await cli(['export', '--model', MODEL, '--sensitivity', wrongShape, '--opnp', P, '--mean', '0.1,0.2,0.3', '--out', out, '--quiet']);
    expect(threeMeans.code).toBe(1);
    expect(threeMeans.stderr).toBe("opnp: --mean has 3 values, but the model input's channel count is 1; expected 1 value, got [0.1, 0.2, 0.3]\n");
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(dir).filter((f) => f.includes('bad.onnx'))).toEqual([]);
    expect(readFileSync(detector).length).toBeGreaterThan(1000);
  });
});
