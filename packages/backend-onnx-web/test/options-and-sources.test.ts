/**
 * Execution providers (WebGPU only with an adapter, typed errors for unavailable or unknown ones), the process-wide
 * wasm settings, model URLs with their external data, and registration with core.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { listGemmKernels, loadFeatureExtractor, resolveGemmKernel } from '@opnp/core';
import { settledCode } from '@opnp/core/testing';
import { buildModel, seeded } from '../../backend-onnx/test/helpers/models.js';
import { configureOnnxRuntimeWeb, loadOnnxWebFeatureExtractor, onnxWebBackend, resolveExecutionProviders } from '../src/index.js';
import { fixture } from './helpers.js';
import '../src/register.js';

const D = 4;
const C = 3;
const W = seeded(C * D, 1);
const b = seeded(C, 2);

describe('execution providers', () => {
  it('default to wasm without WebGPU (Node), and to webgpu then wasm with a WebGPU adapter', async () => {
    expect(await resolveExecutionProviders()).toEqual(['wasm']);
    vi.stubGlobal('navigator', { gpu: { requestAdapter: async () => ({ features: new Set() }) } });
    try {
      expect(await resolveExecutionProviders()).toEqual(['webgpu', 'wasm']);
      expect(await resolveExecutionProviders(['webgpu'])).toEqual(['webgpu']);
    } finally {
      vi.unstubAllGlobals();
    }
    // navigator.gpu without an adapter (a browser with WebGPU but no usable GPU) is no WebGPU either.
    vi.stubGlobal('navigator', { gpu: { requestAdapter: async () => null } });
    try {
      expect(await resolveExecutionProviders()).toEqual(['wasm']);
    } finally {
      vi.unstubAllGlobals();
    }
  });

  it('reports what the session runs on; cpu is read as wasm', async () => {
    const extractor = await loadOnnxWebFeatureExtractor(fixture('small-cnn.onnx').bytes, { executionProviders: ['cpu'] });
    expect(extractor.runtime.executionProviders).toEqual(['wasm']);
    expect(extractor.runtime.threads).toBeGreaterThanOrEqual(1);
    await extractor.dispose();
  });

  it('an unavailable, unknown or empty provider list is a typed error before any work', async () => {
    const bytes = fixture('small-cnn.onnx').bytes;
    expect(await settledCode(loadOnnxWebFeatureExtractor(bytes, { executionProviders: ['webgpu'] }))).toBe('BACKEND_UNAVAILABLE');
    expect(await settledCode(loadOnnxWebFeatureExtractor(bytes, { session: { executionProviders: ['webgpu', 'wasm'] } }))).toBe('BACKEND_UNAVAILABLE');
    expect(await settledCode(loadOnnxWebFeatureExtractor(bytes, { executionProviders: ['cuda'] }))).toBe('INVALID_ARGUMENT');
    expect(await settledCode(loadOnnxWebFeatureExtractor(bytes, { executionProviders: [] }))).toBe('INVALID_ARGUMENT');
    expect(await settledCode(loadOnnxWebFeatureExtractor(bytes, { session: { graphOptimizationLevel: 'most' as 'all' } }))).toBe('INVALID_ARGUMENT');
    expect(await settledCode(loadOnnxWebFeatureExtractor(bytes, { threads: 0 }))).toBe('INVALID_ARGUMENT');
    expect(await settledCode(loadOnnxWebFeatureExtractor(bytes, { maxBatchSize: 0 }))).toBe('INVALID_ARGUMENT');
  });

  it('wasm settings cannot change once the runtime runs; a different thread count is a warning', async () => {
    const extractor = await loadOnnxWebFeatureExtractor(fixture('small-cnn.onnx').bytes);
    const threads = extractor.runtime.threads!;
    await extractor.dispose();
    expect(() => configureOnnxRuntimeWeb({ numThreads: threads })).not.toThrow(); // no change
    expect(() => configureOnnxRuntimeWeb({ numThreads: threads + 1 })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    expect(() => configureOnnxRuntimeWeb({ wasmPaths: '/elsewhere/' })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    expect(() => configureOnnxRuntimeWeb({ numThreads: 1.5 })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    const warnings: string[] = [];
    const again = await loadOnnxWebFeatureExtractor(fixture('small-cnn.onnx').bytes, { threads: threads + 1, onWarning: (m) => warnings.push(m) });
    await again.dispose();
    expect(warnings).toEqual([`threads: ${threads + 1} ignored; onnxruntime-web is already running with ${threads} thread(s)`]);
  });
});

describe('model sources', () => {
  let server: Server;
  let base: string;
  const files = new Map<string, Uint8Array>();

  beforeAll(async () => {
    const external = (location: string) =>
      buildModel({
        inputs: [{ name: 'x', dims: ['N', D] }],
        outputs: [{ name: 'logits' }],
        initializers: [{ name: 'W', dims: [C, D], values: W, external: { location, offset: 8 } }, { name: 'b', dims: [C], values: b }],
        nodes: [{ op: 'Gemm', inputs: ['x', 'W', 'b'], outputs: ['logits'], attrs: { transB: 1 } }],
      });
    const bin = new Uint8Array(8 + W.length * 4);
    new Float32Array(bin.buffer, 8, W.length).set(W);
    files.set('/models/external.onnx', external('weights.bin'));
    files.set('/models/weights.bin', bin);
    files.set('/models/escape.onnx', external('../secret.bin'));
    files.set('/secret.bin', bin);
    files.set('/models/small-cnn.onnx', fixture('small-cnn.onnx').bytes);
    server = createServer((req, res) => {
      const body = files.get(new URL(req.url ?? '/', 'http://x').pathname);
      res.writeHead(body ? 200 : 404).end(body ?? 'not found');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('fetches a model URL and its external data next to it', async () => {
    const extractor = await loadOnnxWebFeatureExtractor(`${base}/models/external.onnx`);
    try {
      expect(Array.from(extractor.head.weight.data)).toEqual(Array.from(W));
      expect(extractor.model.file).toBe(`${base}/models/external.onnx`);
    } finally {
      await extractor.dispose();
    }
  });

  it('a missing URL is IO_ERROR, external data outside the model folder or next to bytes is MODEL_FORMAT', async () => {
    expect(await settledCode(loadOnnxWebFeatureExtractor(`${base}/models/missing.onnx`))).toBe('IO_ERROR');
    expect(await settledCode(loadOnnxWebFeatureExtractor(`${base}/models/escape.onnx`))).toBe('MODEL_FORMAT');
    const bytes = files.get('/models/external.onnx')!;
    await expect(loadOnnxWebFeatureExtractor(bytes)).rejects.toThrow(/stored in an external file "weights.bin"/);
    // Without a page there is nothing to resolve a relative URL against.
    expect(await settledCode(loadOnnxWebFeatureExtractor('models/small-cnn.onnx'))).toBe('INVALID_ARGUMENT');
  });

  it('registers as the onnx-web backend and the onnxruntime-web kernel', async () => {
    expect(onnxWebBackend.canLoad(`${base}/models/small-cnn.onnx`)).toBe(true);
    expect(onnxWebBackend.canLoad('model.json')).toBe(false);
    const extractor = await loadFeatureExtractor(`${base}/models/small-cnn.onnx`);
    expect(extractor.backend).toBe('onnx-web');
    await extractor.dispose();
    expect(listGemmKernels()[0]).toBe('onnxruntime-web');
    const kernel = await resolveGemmKernel();
    expect(kernel.name).toBe('onnxruntime-web');
  });
});
