/**
 * The optional FeatureExtractor capabilities of the TensorFlow.js backend, as the CLI uses them: `runtime`
 * (chosen with the generic `executionProviders` load option) and `exportDetector` (the graph-model detector export,
 * reached through `loadFeatureExtractor` with no cast to the tfjs classes), including `is_ood`.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { loadGraphModel } from '@tensorflow/tfjs-converter';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { energy, linearHead, loadFeatureExtractor, logits as headLogits, matrix, type FeatureExtractor } from '@opnp/core';
import { settledCode } from '@opnp/core/testing';
import { exportTfjsDetector, fileSystemIO, loadTfjsFeatureExtractor } from '../src/node/index.js';
import { firstMismatch, fixture, tempDir } from './helpers.js';
import '../src/register.js';

const ref = JSON.parse(readFileSync(fixture('mnist-cnn.reference.json'), 'utf8')) as { input: number[]; inputShape: number[] };
const batch = { data: Float32Array.from(ref.input), shape: ref.inputShape };
let tmp: ReturnType<typeof tempDir>;
beforeAll(() => {
  tmp = tempDir();
});
afterAll(() => tmp.cleanup());

const codeOf = settledCode;

describe('runtime', () => {
  it('reports the TensorFlow.js backend as the execution provider; executionProviders picks the first that starts', async () => {
    const warnings: string[] = [];
    const extractor = await loadFeatureExtractor(fixture('mnist-cnn-graph'), { executionProviders: ['node', 'cpu'], threads: 4, onWarning: (m) => warnings.push(m) });
    try {
      // Without @tensorflow/tfjs-node installed, node fails to start and cpu runs.
      const started = extractor.runtime!.executionProviders[0];
      expect(extractor.runtime).toEqual(started === 'node' ? { executionProviders: ['node'] } : { executionProviders: ['cpu'], threads: 1 });
      expect(warnings.join('\n')).toContain('threads: 4 ignored');
    } finally {
      await extractor.dispose();
    }
  });

  it('an explicit backend wins over executionProviders; unknown names are INVALID_ARGUMENT', async () => {
    const extractor = await loadTfjsFeatureExtractor(fixture('mnist-cnn-graph'), { backend: 'wasm', executionProviders: ['cpu'] });
    expect(extractor.runtime.executionProviders).toEqual(['wasm']);
    await extractor.dispose();
    expect(await codeOf(loadTfjsFeatureExtractor(fixture('mnist-cnn-graph'), { executionProviders: ['cuda', 'cpu'] }))).toBe('INVALID_ARGUMENT');
  });
});

describe('exportDetector', () => {
  for (const kind of ['layers', 'graph'] as const) {
    it(`${kind} model: writes model.json + weights.bin with logits, ood_score and is_ood, and says so`, async () => {
      const extractor: FeatureExtractor = await loadFeatureExtractor(fixture(`mnist-cnn-${kind}`), { executionProviders: ['cpu'] });
      const out = join(tmp.dir, `detector-${kind}`);
      try {
        const { features, logits } = await extractor.extract(batch);
        const prunedWeight = matrix(extractor.head.weight.rows, extractor.head.weight.cols, extractor.head.weight.data.map((v, i) => (i % 3 === 0 ? 0 : v)));
        const expected = energy(headLogits(linearHead(prunedWeight, extractor.head.bias), features));
        const threshold = Array.from(expected).sort((a, b) => a - b)[Math.floor(expected.length / 2)]! - 1e-3;
        const result = await extractor.exportDetector!({ prunedWeight, threshold, outputPath: out });
        expect(result).toMatchObject({
          format: 'tfjs-graph-model',
          path: join(out, 'model.json'),
          files: [join(out, 'model.json'), join(out, 'weights.bin')],
          input: { shape: [null, 28, 28, 1], layout: 'NHWC' },
          outputs: { logits: 'logits', oodScore: 'ood_score', isOod: 'is_ood', all: ['logits', 'ood_score', 'is_ood'] },
          temperature: 1,
          threshold,
        });
        expect(readdirSync(out).sort()).toEqual(['model.json', 'weights.bin']);
        const model = await loadGraphModel(fileSystemIO(result.path));
        const outs = model.execute({ [result.input.name]: tf.tensor(batch.data, batch.shape) }, [...result.outputs.all]) as tf.Tensor[];
        expect(outs[2]!.dtype).toBe('bool');
        const [l, s, o] = outs.map((t) => Array.from(t.dataSync()));
        tf.dispose(outs);
        model.dispose();
        expect(firstMismatch(l!, logits.data, 1e-4, 1e-4)).toBeUndefined();
        expect(firstMismatch(s!, expected, 1e-4, 1e-4)).toBeUndefined();
        expect(o!.map(Boolean)).toEqual(Array.from(expected, (e) => e < threshold));
      } finally {
        await extractor.dispose();
      }
    });
  }

  it('exportTfjsDetector without a threshold keeps the two outputs; bad options write nothing', async () => {
    const extractor = await loadTfjsFeatureExtractor(fixture('mnist-cnn-graph'), { backend: 'cpu' });
    try {
      const plain = await exportTfjsDetector({ extractor, prunedWeight: extractor.head.weight });
      expect(plain.outputs).toEqual(['logits', 'ood_score']);
      expect(plain.files).toBeUndefined();
      const bad = join(tmp.dir, 'bad');
      expect(await codeOf(extractor.exportDetector({ prunedWeight: matrix(2, 2), outputPath: bad }))).toBe('SHAPE_MISMATCH');
      expect(await codeOf(extractor.exportDetector({ prunedWeight: extractor.head.weight, threshold: NaN, outputPath: bad }))).toBe('INVALID_ARGUMENT');
      expect(existsSync(bad)).toBe(false);
    } finally {
      await extractor.dispose();
    }
  });
});
