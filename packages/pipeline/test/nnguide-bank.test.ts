/**
 * NNGuide's `k` above the rows of its bank (`round(bankFraction * n)` of the fit subset, as the official bank is a
 * fraction of the training set whatever `k`): the method runs with `k` = the bank's rows, says so once through the
 * evaluation's warning channel, and the report records the `k` used.
 */
import { describe, expect, it } from 'vitest';
import { linearHead, logits, mulberry32, sampleIndices, type Matrix } from '@opnp/core';
import { randomMatrix } from '@opnp/core/testing';
import { BUILTIN_METHODS, createMethodRegistry, createScorers, evaluate, type MethodContext } from '../src/index.js';
import { demoEvaluation } from './helpers.js';

/** 300 fit rows of 8 features under a 4-class head: the default 1% bank has 3 rows. */
function context(): MethodContext {
  const head = linearHead(randomMatrix(4, 8, mulberry32(1)), randomMatrix(1, 4, mulberry32(2)).data);
  return { head, fitFeatures: randomMatrix(300, 8, mulberry32(3), (u) => u * 2 - 0.3), fitLabels: new Int32Array(300).fill(-1) };
}

/** `log(sum exp(f[r, :]))` in float64 (the energy at T = 1). */
function logSumExp(f: Matrix, r: number): number {
  const row = Array.from(f.data.subarray(r * f.cols, (r + 1) * f.cols));
  const max = Math.max(...row);
  return max + Math.log(row.reduce((s, v) => s + Math.exp(v - max), 0));
}

/** `h[r, :] / max(||h[r, :]||, 1e-12)` in float64. */
function unit(h: Matrix, r: number): number[] {
  const row = Array.from(h.data.subarray(r * h.cols, (r + 1) * h.cols));
  const norm = Math.max(Math.sqrt(row.reduce((s, v) => s + v * v, 0)), 1e-12);
  return row.map((v) => v / norm);
}

describe('nnguide with k above its bank', () => {
  it('keeps the bank at round(bankFraction * n) rows and runs with k = its rows, said by adapt with what raises the bank', async () => {
    const c = context();
    const test = randomMatrix(40, 8, mulberry32(4));
    const f = logits(c.head, test);
    const adapt = BUILTIN_METHODS.nnguide!.adapt!;
    const adapted = adapt({ k: 10, bankFraction: 0.01, seed: 0 }, { fit: 300, knnFit: 300 });
    expect(adapted?.options).toEqual({ k: 3, bankFraction: 0.01, seed: 0 });
    expect(adapted?.warning).toMatch(/^nnguide\.k is 10 but the NNGuide bank has 3 rows \(nnguide\.bankFraction 0\.01 of 300 fit rows\): nnguide runs with k = 3, which the report records; to run k = 10, raise nnguide\.bankFraction .*--fit-samples/);
    expect(adapt({ k: 3, bankFraction: 0.01, seed: 0 }, { fit: 300, knnFit: 300 })).toBeUndefined();
    expect(adapt({ k: 1, bankFraction: 0.001, seed: 0 }, { fit: 300, knnFit: 300 }), 'round(0.3) = 0: the bank keeps one row').toBeUndefined();
    expect(adapt({ k: 2, bankFraction: 0.001, seed: 0 }, { fit: 300, knnFit: 300 })?.options.k).toBe(1);
    // Brute force: the bank is the 3 rows sampleIndices(300, 3, mulberry32(0)) draws (docs/numerics.md#nnguide), and
    // with k = 3 the guidance is the mean of the 3 inner products with z_i * logsumexp(f_i).
    const fitLogits = logits(c.head, c.fitFeatures);
    const bank = Array.from(sampleIndices(300, 3, mulberry32(0)), (i) => unit(c.fitFeatures, i).map((v) => v * logSumExp(fitLogits, i)));
    const expected = Array.from({ length: test.rows }, (_, q) => {
      const z = unit(test, q);
      const guidance = bank.reduce((s, b) => s + b.reduce((d, v, j) => d + v * z[j]!, 0), 0) / 3;
      return guidance * logSumExp(f, q);
    });
    for (const k of [3, 10]) {
      // k = 10 straight to create (no adapt): the bank is not grown to 10 rows, the cap is the safety net.
      const got = await createScorers(createMethodRegistry(), ['nnguide'], c, { nnguide: { k } }).get('nnguide')!(test, f);
      got.forEach((v, q) => expect(Math.abs(v - expected[q]!), `k ${k} row ${q}`).toBeLessThanOrEqual(1e-6 * Math.max(1, Math.abs(expected[q]!))));
    }
  });

  it('is said once by an evaluation, on onWarning (else onInfo), and its report records the k used', async () => {
    const base = { ...(await demoEvaluation(128)), methods: ['nnguide'], fitSamples: 300 }; // 600 training samples, 300 fit rows, a 3-row bank
    const warnings: string[] = [];
    const { report } = await evaluate({ ...base, onWarning: (m) => warnings.push(m) });
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/^nnguide\.k is 10 but the NNGuide bank has 3 rows .*runs with k = 3/);
    expect(report.methodOptions.nnguide).toEqual({ k: 3, bankFraction: 0.01, seed: 0 });
    const infos: string[] = [];
    const asked = await evaluate({ ...base, methodOptions: { nnguide: { k: 3 } }, onInfo: (m) => infos.push(m) });
    expect(infos.filter((m) => m.startsWith('nnguide.k'))).toEqual([]);
    expect(asked.report.results).toEqual(report.results);
    const fallback: string[] = [];
    await evaluate({ ...base, onInfo: (m) => fallback.push(m) });
    expect(fallback.filter((m) => m.startsWith('nnguide.k'))).toEqual([warnings[0]]);
  });
});
