import { describe, expect, it } from 'vitest';
import { linearHead, OpnpError } from '@opnp/core';
import { createLinearFeatureExtractor } from '../src/extractors/linear-extractor.js';
import { randomMatrix, rng } from './helpers.js';



describe('createLinearFeatureExtractor', () => {
  const I = 12; // 3 x 2 x 2 image
  const D = 8;
  const C = 3;
  const projection = randomMatrix(D, I, rng(1));
  const head = linearHead(randomMatrix(C, D, rng(2)), [0.5, -0.5, 0]);
  const input = { name: 'x', shape: [null, 3, 2, 2], layout: 'NCHW' } as const;

  it('computes relu(x P^T) and W h + b in input order', async () => {
    const ex = createLinearFeatureExtractor({ projection, head, input });
    expect(ex.specificationVersion).toBe('v1');
    expect(ex.backend).toBe('linear');
    expect(ex.head).toBe(head);
    const n = 5;
    const x = randomMatrix(n, I, rng(3)).data;
    const copy = Float32Array.from(x);
    const { features, logits } = await ex.extract({ data: x, shape: [n, 3, 2, 2] });
    expect(x).toEqual(copy);
    expect([features.rows, features.cols, logits.rows, logits.cols]).toEqual([n, D, n, C]);
    for (let i = 0; i < n; i++) {
      const h = Array.from({ length: D }, (_, d) => Math.max(0, Array.from({ length: I }, (_, k) => x[i * I + k]! * projection.data[d * I + k]!).reduce((a, b) => a + b, 0)));
      h.forEach((v, d) => expect(features.data[i * D + d]).toBeCloseTo(v, 5));
      for (let c = 0; c < C; c++) {
        const f = head.bias[c]! + h.reduce((s, v, d) => s + v * head.weight.data[c * D + d]!, 0);
        expect(logits.data[i * C + c]).toBeCloseTo(f, 5);
      }
    }
    // Row order: extracting the rows one at a time gives the same rows.
    for (let i = 0; i < n; i++) {
      const single = await ex.extract({ data: x.slice(i * I, (i + 1) * I), shape: [1, 3, 2, 2] });
      expect(Array.from(single.features.data)).toEqual(Array.from(features.data.subarray(i * D, (i + 1) * D)));
    }
    const empty = await ex.extract({ data: new Float32Array(0), shape: [0, 3, 2, 2] });
    expect([empty.features.rows, empty.logits.rows, empty.logits.cols]).toEqual([0, 0, C]);
  });

  it('without a projection the features are a copy of the inputs (activation none by default)', async () => {
    const ex = createLinearFeatureExtractor({ head, input: { name: 'x', shape: [null, D], layout: 'flat' } });
    const x = Float32Array.from({ length: 2 * D }, (_, i) => i - 7);
    const { features } = await ex.extract({ data: x, shape: [2, D] });
    expect(Array.from(features.data)).toEqual(Array.from(x));
    expect(features.data).not.toBe(x);
    const relu = createLinearFeatureExtractor({ head, activation: 'relu', input: { name: 'x', shape: [null, D], layout: 'flat' } });
    expect(Array.from((await relu.extract({ data: x, shape: [2, D] })).features.data)).toEqual(Array.from(x, (v) => Math.max(0, v)));
    const linear = createLinearFeatureExtractor({ projection, head, activation: 'none', input });
    const y = randomMatrix(1, I, rng(9)).data;
    const f = (await linear.extract({ data: y, shape: [1, 3, 2, 2] })).features.data;
    expect(f.some((v) => v < 0)).toBe(true);
  });

  it('validates batch shapes with SHAPE_MISMATCH and enforces maxBatchSize', async () => {
    const ex = createLinearFeatureExtractor({ projection, head, input, maxBatchSize: 2 });
    expect(ex.maxBatchSize).toBe(2);
    const code = async (p: Promise<unknown>): Promise<string | undefined> => p.then(() => undefined, (e: unknown) => (e as OpnpError).code);
    expect(await code(ex.extract({ data: new Float32Array(12), shape: [1, 2, 3, 2] }))).toBe('SHAPE_MISMATCH');
    expect(await code(ex.extract({ data: new Float32Array(12), shape: [1, 12] }))).toBe('SHAPE_MISMATCH');
    expect(await code(ex.extract({ data: new Float32Array(11), shape: [1, 3, 2, 2] }))).toBe('SHAPE_MISMATCH');
    expect(await code(ex.extract({ data: new Float32Array(36), shape: [3, 3, 2, 2] }))).toBe('INVALID_ARGUMENT');
    expect(await code(ex.extract({ data: new Float32Array(24), shape: [2, 3, 2, 2] }))).toBeUndefined();
  });

  it('rejects inconsistent construction', () => {
    expect(() => createLinearFeatureExtractor({ projection: randomMatrix(D + 1, I, rng(1)), head, input })).toThrow(OpnpError);
    expect(() => createLinearFeatureExtractor({ projection, head, input: { name: 'x', shape: [null, 13], layout: 'flat' } })).toThrow(OpnpError);
    expect(() => createLinearFeatureExtractor({ head, input: { name: 'x', shape: [null, D + 1], layout: 'flat' } })).toThrow(OpnpError);
    expect(() => createLinearFeatureExtractor({ projection, head, input, maxBatchSize: 0 })).toThrow(OpnpError);
  });

  it('rejects calls after dispose with DISPOSED; dispose is idempotent', async () => {
    const ex = createLinearFeatureExtractor({ projection, head, input });
    await ex.dispose();
    await ex.dispose();
    await expect(ex.extract({ data: new Float32Array(12), shape: [1, 3, 2, 2] })).rejects.toMatchObject({ code: 'DISPOSED' });
  });
});
