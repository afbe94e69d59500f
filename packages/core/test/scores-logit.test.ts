import { describe, expect, it } from 'vitest';
import { matrix, OpnpError, type Matrix } from '@opnp/core';
import { energy, gradNorm, maxLogit, msp, scoreLogits } from '../src/scores/logit-scores.js';
import { randomMatrix, rng, rowsOf } from './helpers.js';
import { expectClose } from '../src/testing/reference.js';

/** A seeded `rows x cols` matrix uniform in `[-scale, scale)`. */
const uniformMatrix = (rows: number, cols: number, seed: number, scale = 1): Matrix => randomMatrix(rows, cols, rng(seed), (u) => (u * 2 - 1) * scale);


/** Brute force in float64: log(sum exp(x)) via the definition with an explicit shift. */
function bruteLogSumExp(values: number[]): number {
  const m = Math.max(...values);
  if (m === -Infinity) return -Infinity;
  return m + Math.log(values.reduce((s, v) => s + Math.exp(v - m), 0));
}


function bruteSoftmax(values: number[], T: number): number[] {
  const scaled = values.map((v) => v / T);
  const lse = bruteLogSumExp(scaled);
  return scaled.map((v) => Math.exp(v - lse));
}

describe('energy', () => {
  it('matches T * logsumexp(f / T) on random logits at several temperatures', () => {
    const f = uniformMatrix(40, 7, 1, 20);
    for (const T of [1, 0.5, 1000]) {
      expectClose(energy(f, { temperature: T }), rowsOf(f).map((r) => T * bruteLogSumExp(r.map((v) => v / T))), 1e-6);
    }
  });
  it('is exact and finite for logits of +-1000 and ties', () => {
    const f = matrix(4, 3, [1000, 1000, 1000, -1000, -1000, -1000, 1000, -1000, 0, 5, 5, 5]);
    const s = energy(f);
    expect(s[0]).toBe(Math.fround(1000 + Math.log(3)));
    expect(s[1]).toBe(Math.fround(-1000 + Math.log(3)));
    expect(s[2]).toBe(Math.fround(1000 + Math.log1p(Math.exp(-1000) + Math.exp(-2000))));
    expect(s[3]).toBe(Math.fround(5 + Math.log(3)));
  });
  it('ignores -Infinity logits while one is finite; all -Infinity gives -Infinity; NaN propagates per row', () => {
    const f = matrix(4, 3, [-Infinity, 2, -Infinity, -Infinity, -Infinity, -Infinity, 1, NaN, 2, -Infinity, NaN, -Infinity]);
    const s = energy(f);
    expect(s[0]).toBe(2);
    expect(s[1]).toBe(-Infinity);
    expect(s[2]).toBeNaN();
    expect(s[3]).toBeNaN();
  });
  it('returns an empty array for N = 0, rejects bad temperatures and leaves input unmodified', () => {
    expect(energy(matrix(0, 5)).length).toBe(0);
    const f = uniformMatrix(3, 4, 2);
    const copy = Float32Array.from(f.data);
    energy(f, { temperature: 2 });
    expect(f.data).toEqual(copy);
    for (const T of [0, -1, NaN, Infinity]) expect(() => energy(f, { temperature: T })).toThrow(OpnpError);
    expect(() => energy(matrix(2, 0))).toThrow(OpnpError);
  });
});

describe('msp and maxLogit', () => {
  it('msp equals the brute-force max softmax probability', () => {
    const f = uniformMatrix(30, 9, 3, 10);
    expectClose(msp(f), rowsOf(f).map((r) => Math.max(...bruteSoftmax(r, 1))), 1e-6);
    expectClose(msp(f, { temperature: 3 }), rowsOf(f).map((r) => Math.max(...bruteSoftmax(r, 3))), 1e-6);
  });
  it('handles ties, +-1000, -Infinity, NaN and non-finite maxima', () => {
    const f = matrix(6, 2, [1000, 1000, 1000, -1000, 0, -Infinity, -Infinity, -Infinity, NaN, 1, Infinity, 0]);
    const s = msp(f);
    expect(s[0]).toBe(0.5);
    expect(s[1]).toBe(1);
    expect(s[2]).toBe(1);
    expect(s[3]).toBeNaN();
    expect(s[4]).toBeNaN();
    expect(s[5]).toBeNaN();
  });
  it('maxLogit is the row maximum with NaN propagation', () => {
    const f = matrix(4, 3, [1, 3, 2, -1000, 1000, 5, -Infinity, -Infinity, -Infinity, 1, NaN, 9]);
    expect(Array.from(maxLogit(f))).toEqual([3, 1000, -Infinity, NaN]);
    expect(maxLogit(matrix(0, 3)).length).toBe(0);
  });
  it('scoreLogits dispatches and rejects unknown scores', () => {
    const f = uniformMatrix(5, 4, 4);
    expect(scoreLogits(f)).toEqual(energy(f));
    expect(scoreLogits(f, 'msp', { temperature: 2 })).toEqual(msp(f, { temperature: 2 }));
    expect(scoreLogits(f, 'maxlogit', { temperature: 2 })).toEqual(maxLogit(f));
    expect(() => scoreLogits(f, 'bogus' as never)).toThrow(OpnpError);
  });
});

describe('gradNorm', () => {
  it('matches the closed form written with plain loops', () => {
    const h = uniformMatrix(12, 6, 5, 3);
    const f = uniformMatrix(12, 4, 6, 5);
    for (const T of [1, 2.5]) {
      const expected = rowsOf(f).map((r, n) => {
        const p = bruteSoftmax(r, T);
        const dev = p.reduce((s, v) => s + Math.abs(v - 1 / r.length), 0);
        const l1 = rowsOf(h)[n]!.reduce((s, v) => s + Math.abs(v), 0);
        return dev * l1;
      });
      expectClose(gradNorm(h, f, { temperature: T }), expected, 1e-6);
    }
  });

  it('equals the L1 norm of the finite-difference gradient of the uniform-target cross-entropy w.r.t. W', () => {
    const C = 3;
    const D = 4;
    const r = rng(7);
    const W = Array.from({ length: C * D }, () => r() * 2 - 1);
    const b = Array.from({ length: C }, () => r() * 2 - 1);
    const hs = Array.from({ length: 5 }, () => Array.from({ length: D }, () => Math.fround(r() * 4 - 1)));
    for (const T of [1, 0.7]) {
      // Loss L(W) = -(1/C) sum_c log softmax((W h + b) / T)_c, in float64.
      const loss = (w: number[], h: number[]): number => {
        const f = Array.from({ length: C }, (_, c) => (b[c]! + h.reduce((s, hj, j) => s + w[c * D + j]! * hj, 0)) / T);
        const lse = bruteLogSumExp(f);
        return -f.reduce((s, v) => s + (v - lse), 0) / C;
      };
      const logits = matrix(hs.length, C, hs.flatMap((h) => Array.from({ length: C }, (_, c) => b[c]! + h.reduce((s, hj, j) => s + W[c * D + j]! * hj, 0))));
      const scores = gradNorm(matrix(hs.length, D, hs.flat()), logits, { temperature: T });
      hs.forEach((h, n) => {
        let l1 = 0;
        const eps = 1e-5;
        for (let i = 0; i < C * D; i++) {
          const up = W.slice();
          const down = W.slice();
          up[i]! += eps;
          down[i]! -= eps;
          l1 += Math.abs((loss(up, h) - loss(down, h)) / (2 * eps));
        }
        // closed form of docs/numerics.md#gradnorm = T * ||dL/dW||_1 (exactly the gradient norm at T = 1).
        expect(Math.abs(scores[n]! - T * l1)).toBeLessThan(1e-5 * Math.max(1, T * l1));
      });
    }
  });

  it('checks shapes, propagates NaN and handles N = 0', () => {
    expect(() => gradNorm(matrix(2, 3), matrix(3, 2))).toThrow(OpnpError);
    expect(gradNorm(matrix(0, 3), matrix(0, 2)).length).toBe(0);
    const s = gradNorm(matrix(2, 2, [1, NaN, 1, 1]), matrix(2, 2, [0, 1, NaN, 0]));
    expect(s[0]).toBeNaN();
    expect(s[1]).toBeNaN();
    // Uniform logits: p = 1/C exactly, score 0; +-1000 logits stay finite.
    const t = gradNorm(matrix(2, 2, [1, -2, 1, 1]), matrix(2, 2, [1000, 1000, 1000, -1000]));
    expect(t[0]).toBe(0);
    expect(t[1]).toBe(Math.fround(1 * 2));
  });
});
