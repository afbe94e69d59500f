/**
 * Loading: paths and buffers, external data, bad files, wrong input shapes, static batch dims, session options.
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { isOpnpError } from '@opnp/core';
import { loadOnnxFeatureExtractor, loadOnnxModel, onnxBackend, parseOnnxModel, toOrtSessionOptions } from '../src/index.js';
import { buildModel, firstMismatch, matmul, seeded } from './helpers/models.js';

const fixture = (name: string): string => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'opnp-onnx-load-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function codeOf(promise: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await promise;
  } catch (error) {
    if (isOpnpError(error)) return { code: error.code, message: error.message };
    return { code: `not an OpnpError: ${String(error)}`, message: '' };
  }
  return { code: 'resolved', message: '' };
}

const D = 4;
const C = 3;
const W = seeded(C * D, 1);
const b = seeded(C, 2);

describe('bad input gives typed errors', () => {
  it('rejects a file that is not ONNX with MODEL_FORMAT', async () => {
    const text = new TextEncoder().encode('{"this": "is json, not onnx"}');
    const e = await codeOf(loadOnnxFeatureExtractor(text));
    expect(e.code).toBe('MODEL_FORMAT');
    expect(e.message).toMatch(/expected a serialised ONNX ModelProto/);
    expect((await codeOf(loadOnnxFeatureExtractor(new Uint8Array(0)))).code).toBe('MODEL_FORMAT');
    // Valid protobuf that is not a model (a TensorProto) has no graph.
    expect((await codeOf(parseOnnxModel(new Uint8Array([0x08, 0x03, 0x08, 0x04]))))).toMatchObject({ code: 'MODEL_FORMAT' });
  });

  it('rejects a truncated file with MODEL_FORMAT that says so', async () => {
    const bytes = readFileSync(fixture('small-cnn.onnx'));
    const path = join(dir, 'truncated.onnx');
    writeFileSync(path, bytes.subarray(0, Math.floor(bytes.length / 2)));
    const e = await codeOf(loadOnnxFeatureExtractor(path));
    expect(e.code).toBe('MODEL_FORMAT');
    expect(e.message).toMatch(/truncated/);
    expect(e.message).toContain('truncated.onnx');
  });

  it('reports a missing file as IO_ERROR', async () => {
    expect((await codeOf(loadOnnxFeatureExtractor(join(dir, 'missing.onnx')))).code).toBe('IO_ERROR');
  });

  it('rejects a model with no recognisable head with MODEL_HEAD_NOT_FOUND', async () => {
    const bytes = buildModel({ inputs: [{ name: 'x', dims: ['N', D] }], outputs: [{ name: 'y' }], nodes: [{ op: 'Relu', inputs: ['x'], outputs: ['y'] }] });
    const e = await codeOf(loadOnnxFeatureExtractor(bytes));
    expect(e.code).toBe('MODEL_HEAD_NOT_FOUND');
    expect(e.message).toMatch(/expected a graph output of class logits produced by Gemm/);
  });

  it('rejects a batch of the wrong shape with SHAPE_MISMATCH naming the expected shape', async () => {
    const extractor = await loadOnnxFeatureExtractor(fixture('small-cnn.onnx'), { session: { intraOpNumThreads: 1 } });
    try {
      const e = await codeOf(extractor.extract({ data: new Float32Array(2 * 3 * 28 * 28), shape: [2, 3, 28, 28] }));
      expect(e.code).toBe('SHAPE_MISMATCH');
      expect(e.message).toContain('expected [N, 3, 32, 32], got [2, 3, 28, 28]');
      expect((await codeOf(extractor.extract({ data: new Float32Array(10), shape: [2, 3, 32, 32] }))).code).toBe('SHAPE_MISMATCH');
      expect((await codeOf(extractor.extract({ data: new Float32Array(3072), shape: [3, 32, 32] }))).code).toBe('SHAPE_MISMATCH');
      const empty = await extractor.extract({ data: new Float32Array(0), shape: [0, 3, 32, 32] });
      expect([empty.features.rows, empty.features.cols, empty.logits.cols]).toEqual([0, 64, 10]);
    } finally {
      await extractor.dispose();
    }
  });
});

describe('model sources', () => {
  it('loads the same model from a path and from a buffer', async () => {
    const fromPath = await loadOnnxModel(fixture('tiny-vit.onnx'));
    const fromBytes = await loadOnnxModel(readFileSync(fixture('tiny-vit.onnx')));
    expect(fromPath.opset).toBe(17);
    expect(fromPath.file).toContain('tiny-vit.onnx');
    expect(fromBytes.file).toBeUndefined();
    expect(fromBytes.proto.graph!.node!.length).toBe(fromPath.proto.graph!.node!.length);
    expect(onnxBackend.canLoad(fixture('tiny-vit.onnx'))).toBe(true);
    expect(onnxBackend.canLoad('model.json')).toBe(false);
    expect(onnxBackend.canLoad(readFileSync(fixture('tiny-vit.onnx')))).toBe(true);
    expect(onnxBackend.canLoad(new TextEncoder().encode('{}'))).toBe(false);
  });

  it('loads weights from an external-data file next to the model', async () => {
    const sub = join(dir, 'external');
    rmSync(sub, { recursive: true, force: true });
    await import('node:fs/promises').then((fs) => fs.mkdir(sub));
    // weights.bin: 8 bytes of padding, then W (C x D) as little-endian float32.
    const bin = new Uint8Array(8 + W.length * 4);
    new Float32Array(bin.buffer, 8, W.length).set(W);
    writeFileSync(join(sub, 'weights.bin'), bin);
    const bytes = buildModel({
      inputs: [{ name: 'x', dims: ['N', D] }],
      outputs: [{ name: 'logits' }],
      initializers: [{ name: 'W', dims: [C, D], values: W, external: { location: 'weights.bin', offset: 8 } }, { name: 'b', dims: [C], values: b }],
      nodes: [{ op: 'Gemm', inputs: ['x', 'W', 'b'], outputs: ['logits'], attrs: { transB: 1 } }],
    });
    writeFileSync(join(sub, 'model.onnx'), bytes);
    const extractor = await loadOnnxFeatureExtractor(join(sub, 'model.onnx'), { session: { intraOpNumThreads: 1 } });
    expect(firstMismatch(extractor.head.weight.data, W, 0)).toBeUndefined();
    const xs = seeded(2 * D, 3);
    const { logits } = await extractor.extract({ data: xs, shape: [2, D] });
    const Wt = new Float32Array(D * C);
    for (let c = 0; c < C; c++) for (let j = 0; j < D; j++) Wt[j * C + c] = W[c * D + j]!;
    const expected = matmul(xs, Wt, 2, D, C).map((v, i) => v + b[i % C]!);
    expect(firstMismatch(logits.data, expected, 1e-5)).toBeUndefined();
    await extractor.dispose();

    // From bytes, the external file cannot be found: a MODEL_FORMAT error that says what to do.
    const e = await codeOf(loadOnnxFeatureExtractor(bytes));
    expect(e.code).toBe('MODEL_FORMAT');
    expect(e.message).toMatch(/Load the model from its path/);
    // A truncated external file is reported too.
    writeFileSync(join(sub, 'weights.bin'), bin.subarray(0, 20));
    expect((await codeOf(loadOnnxFeatureExtractor(join(sub, 'model.onnx')))).message).toMatch(/out of range/);
  });

  it('splits batches for a model with a static batch dimension (and pads the last chunk)', async () => {
    const bytes = buildModel({
      inputs: [{ name: 'x', dims: [2, D] }],
      outputs: [{ name: 'logits', dims: [2, C] }],
      initializers: [{ name: 'W', dims: [C, D], values: W }, { name: 'b', dims: [C], values: b }],
      nodes: [{ op: 'Relu', inputs: ['x'], outputs: ['h'] }, { op: 'Gemm', inputs: ['h', 'W', 'b'], outputs: ['logits'], attrs: { transB: 1 } }],
    });
    const extractor = await loadOnnxFeatureExtractor(bytes, { session: { intraOpNumThreads: 1 } });
    expect(extractor.input.shape).toEqual([2, D]);
    expect(extractor.input.layout).toBe('flat');
    const xs = seeded(5 * D, 9);
    const { features, logits } = await extractor.extract({ data: xs, shape: [5, D] });
    expect(features.rows).toBe(5);
    expect(firstMismatch(features.data, xs.map((v) => Math.max(0, v)), 0)).toBeUndefined();
    for (let n = 0; n < 5; n++) {
      for (let c = 0; c < C; c++) {
        let s = b[c]!;
        for (let j = 0; j < D; j++) s += W[c * D + j]! * features.data[n * D + j]!;
        expect(Math.abs(logits.data[n * C + c]! - s)).toBeLessThan(1e-5);
      }
    }
    await extractor.dispose();
  });

  it('verifyHead reports the head check and warns when W h + b does not reproduce the logits', async () => {
    const bytes = buildModel({
      inputs: [{ name: 'x', dims: ['N', D] }],
      outputs: [{ name: 'logits' }],
      initializers: [{ name: 'W', dims: [C, D], values: W }, { name: 'b', dims: [C], values: b }],
      nodes: [{ op: 'Gemm', inputs: ['x', 'W', 'b'], outputs: ['logits'], name: 'fc', attrs: { transB: 1 } }],
    });
    const warnings: string[] = [];
    const extractor = await loadOnnxFeatureExtractor(bytes, { onWarning: (m) => warnings.push(m), session: { intraOpNumThreads: 1 } });
    expect(extractor.headCheck).toBeUndefined();
    const check = await extractor.verifyHead();
    expect(check.withinTolerance).toBe(true);
    expect(check.samples).toBe(4);
    expect(check.maxAbsDiff).toBeLessThan(1e-6);
    expect(warnings).toEqual([]);
    // Corrupt the head read from the model: the check must now see a difference of exactly 0.5.
    extractor.head.bias[1] = extractor.head.bias[1]! + 0.5;
    const bad = await extractor.verifyHead({ data: seeded(3 * D, 4), shape: [3, D] });
    expect(bad.withinTolerance).toBe(false);
    expect(Math.abs(bad.maxAbsDiff - 0.5)).toBeLessThan(1e-5);
    expect(extractor.headCheck).toBe(bad);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/Head check: W h \+ b differs .* head node "fc"/);
    await extractor.dispose();
    expect((await codeOf(extractor.verifyHead())).code).toBe('DISPOSED');
  });

  it('validates session options (threads, optimisation level, providers)', () => {
    const opts = toOrtSessionOptions();
    expect(opts.intraOpNumThreads).toBeGreaterThanOrEqual(1);
    expect(opts.executionProviders).toEqual(['cpu']);
    expect(opts.graphOptimizationLevel).toBe('all');
    expect(toOrtSessionOptions({ intraOpNumThreads: 2, graphOptimizationLevel: 'basic' })).toMatchObject({ intraOpNumThreads: 2, graphOptimizationLevel: 'basic' });
    expect(toOrtSessionOptions().extra).toEqual({ session: { intra_op: { allow_spinning: '0' } } });
    expect(toOrtSessionOptions({ allowSpinning: true }).extra).toEqual({ session: { intra_op: { allow_spinning: '1' } } });
    expect(() => toOrtSessionOptions({ intraOpNumThreads: 0 })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    expect(() => toOrtSessionOptions({ graphOptimizationLevel: 'max' as never })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    expect(() => toOrtSessionOptions({ executionProviders: ['rocm' as never] })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });

  it('reports a CUDA session on a machine without the GPU binaries as BACKEND_UNAVAILABLE', async () => {
    const e = await codeOf(loadOnnxFeatureExtractor(fixture('small-cnn.onnx'), { session: { executionProviders: ['cuda'] } }));
    // With onnxruntime-node's GPU binaries and a GPU this would load; here it must fail cleanly.
    if (e.code !== 'resolved') expect(e.code).toBe('BACKEND_UNAVAILABLE');
  });

  it('leaves no files behind when loading', () => {
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });
});
