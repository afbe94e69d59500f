import { describe, expect, it } from 'vitest';
import { linearHead, matrix, OpnpError } from '@opnp/core';
import { diceHead, featureMean } from '../src/scores/dice.js';
import { randomMatrix, rng, refPercentile } from './helpers.js';



describe('featureMean', () => {
  it('is the float64 column mean', () => {
    const h = randomMatrix(13, 5, rng(1));
    const mean = featureMean(h);
    expect(mean).toBeInstanceOf(Float64Array);
    for (let j = 0; j < 5; j++) {
      let s = 0;
      for (let n = 0; n < 13; n++) s += h.data[n * 5 + j]!;
      expect(mean[j]).toBeCloseTo(s / 13, 14);
    }
  });
  it('throws on empty input and NaN', () => {
    expect(() => featureMean(matrix(0, 3))).toThrow(OpnpError);
    expect(() => featureMean(matrix(1, 2, [1, NaN]))).toThrow(OpnpError);
  });
});

describe('diceHead', () => {
  it('keeps exactly the weights whose contribution exceeds the percentile (signed mean), bias kept', () => {
    const C = 6;
    const D = 11;
    const W = randomMatrix(C, D, rng(2));
    const bias = Float32Array.from({ length: C }, (_, c) => c - 2.5);
    const head = linearHead(W, bias);
    const mean = featureMean(randomMatrix(20, D, rng(3))); // signed
    const wCopy = Float32Array.from(W.data);
    for (const p of [90, 50, 0, 100, 12.5]) {
      const result = diceHead(head, mean, { percentile: p });
      const V: number[] = [];
      for (let c = 0; c < C; c++) for (let j = 0; j < D; j++) V.push(W.data[c * D + j]! * mean[j]!);
      const thr = refPercentile(V, p);
      let kept = 0;
      V.forEach((v, i) => {
        const keep = v > thr;
        kept += keep ? 1 : 0;
        expect(result.mask[i], `mask ${i}`).toBe(keep ? 1 : 0);
        expect(result.head.weight.data[i]).toBe(keep ? W.data[i] : 0);
      });
      expect(result.kept).toBe(kept);
      expect(result.threshold).toBe(thr);
      expect(Array.from(result.head.bias)).toEqual(Array.from(bias));
      expect(result.head.bias).not.toBe(bias);
    }
    expect(W.data).toEqual(wCopy);
    expect(diceHead(head, mean).kept).toBe(diceHead(head, mean, { percentile: 90 }).kept);
  });
  it('keeps strictly greater contributions under ties', () => {
    // All contributions equal: P(V, p) equals them, nothing is strictly greater.
    const head = linearHead(matrix(2, 2, [1, 1, 1, 1]));
    expect(diceHead(head, [2, 2], { percentile: 50 }).kept).toBe(0);
    // V = [0, 0, 0, 3]: P(V, 50) = 0 -> keep only the 3.
    const h2 = linearHead(matrix(2, 2, [0, 0, 0, 3]));
    const r = diceHead(h2, [1, 1], { percentile: 50 });
    expect(Array.from(r.mask)).toEqual([0, 0, 0, 1]);
  });
  it('validates the mean length, NaN and percentage', () => {
    const head = linearHead(matrix(2, 3, [1, 2, 3, 4, 5, 6]));
    expect(() => diceHead(head, [1, 2])).toThrow(OpnpError);
    expect(() => diceHead(head, [1, NaN, 2])).toThrow(OpnpError);
    expect(() => diceHead(head, [1, 2, 3], { percentile: 101 })).toThrow(OpnpError);
  });
});
