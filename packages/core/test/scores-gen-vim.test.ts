import { describe, expect, it } from 'vitest';
import { linearHead, matrix, OpnpError, type LinearHead, type Matrix } from '@opnp/core';
import { gen } from '../src/scores/gen.js';
import { portableGemmKernel, type GemmKernel } from '../src/gemm.js';
import { product64 } from '../src/scores/eigen/products.js';
import { defaultVimDim, fitVim, fitVimAsync, vimOrigin, vimScore } from '../src/scores/vim.js';
import { randomMatrix, rng, rowsOf } from './helpers.js';

/** A seeded `rows x cols` matrix uniform in `[-scale, scale)`. */
const uniformMatrix = (rows: number, cols: number, seed: number, scale = 1): Matrix => randomMatrix(rows, cols, rng(seed), (u) => (u * 2 - 1) * scale);



function bruteSoftmax(f: number[]): number[] {
  const m = Math.max(...f);
  const e = f.map((v) => Math.exp(v - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
}

function expectScores(actual: Float32Array, expected: number[], relTol = 1e-6): void {
  expect(actual.length).toBe(expected.length);
  expected.forEach((e, i) => {
    if (Number.isNaN(e)) expect(actual[i], `index ${i}`).toBeNaN();
    else expect(Math.abs(actual[i]! - e), `index ${i}: ${actual[i]} vs ${e}`).toBeLessThanOrEqual(relTol * Math.max(1, Math.abs(e)));
  });
}

describe('GEN', () => {
  const bruteGen = (f: number[], gamma: number, M: number): number => {
    const p = bruteSoftmax(f).sort((a, b) => b - a).slice(0, M);
    return -p.reduce((s, v) => s + v ** gamma * (1 - v) ** gamma, 0);
  };
  it('matches -sum over the top-M probabilities of p^g (1-p)^g', () => {
    const f = uniformMatrix(20, 12, 1, 5);
    const copy = Float32Array.from(f.data);
    expectScores(gen(f), rowsOf(f).map((r) => bruteGen(r, 0.1, 100)));
    expectScores(gen(f, { gamma: 0.5, M: 3 }), rowsOf(f).map((r) => bruteGen(r, 0.5, 3)));
    expectScores(gen(f, { M: 1 }), rowsOf(f).map((r) => bruteGen(r, 0.1, 1)));
    expect(f.data).toEqual(copy);
  });
  it('handles ties, +-1000, -Infinity, NaN and empty input', () => {
    const f = matrix(5, 2, [1000, 1000, 1000, -1000, -Infinity, 0, NaN, 0, -Infinity, -Infinity]);
    const s = gen(f);
    expect(s[0]).toBe(Math.fround(-2 * 0.25 ** 0.1));
    expect(s[1]).toBe(-0); // p = [1, 0]: both terms vanish
    expect(s[2]).toBe(-0);
    expect(s[3]).toBeNaN();
    expect(s[4]).toBeNaN();
    expect(gen(matrix(0, 3)).length).toBe(0);
    expect(() => gen(f, { gamma: 0 })).toThrow(OpnpError);
    expect(() => gen(f, { M: 0 })).toThrow(OpnpError);
  });
});

/** Cyclic Jacobi eigen-solver (brute force for small symmetric matrices); returns [values, vectors as rows]. */
function jacobiEigen(A0: number[][]): [number[], number[][]] {
  const n = A0.length;
  const A = A0.map((r) => r.slice());
  const V: number[][] = Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => (i === j ? 1 : 0)));
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += A[p]![q]! ** 2;
    if (off < 1e-30) break;
    for (let p = 0; p < n; p++) {
      for (let q = p + 1; q < n; q++) {
        if (A[p]![q] === 0) continue;
        const theta = (A[q]![q]! - A[p]![p]!) / (2 * A[p]![q]!);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          const akp = A[k]![p]!, akq = A[k]![q]!;
          A[k]![p] = c * akp - s * akq;
          A[k]![q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = A[p]![k]!, aqk = A[q]![k]!;
          A[p]![k] = c * apk - s * aqk;
          A[q]![k] = s * apk + c * aqk;
        }
        for (let k = 0; k < n; k++) {
          const vkp = V[k]![p]!, vkq = V[k]![q]!;
          V[k]![p] = c * vkp - s * vkq;
          V[k]![q] = s * vkp + c * vkq;
        }
      }
    }
  }
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => A[b]![b]! - A[a]![a]!);
  return [order.map((i) => A[i]![i]!), order.map((i) => V.map((row) => row[i]!))];
}

describe('ViM', () => {
  function bruteVim(train: Matrix, test: Matrix, head: LinearHead, u: number[], dim: number): number[] {
    const D = train.cols;
    const X = rowsOf(train).map((h) => h.map((v, j) => v - u[j]!));
    const cov = Array.from({ length: D }, (_, a) => Array.from({ length: D }, (_, b) => X.reduce((s, x) => s + x[a]! * x[b]!, 0) / X.length));
    const [, vecs] = jacobiEigen(cov);
    const principal = vecs.slice(0, dim);
    const residual = (h: number[]): number => {
      const x = h.map((v, j) => v - u[j]!);
      const total = x.reduce((s, v) => s + v * v, 0);
      const inP = principal.reduce((s, v) => s + v.reduce((t, vj, j) => t + vj * x[j]!, 0) ** 2, 0);
      return Math.sqrt(Math.max(0, total - inP));
    };
    const logit = (h: number[]): number[] => Array.from({ length: head.weight.rows }, (_, c) => head.bias[c]! + h.reduce((s, v, j) => s + head.weight.data[c * D + j]! * v, 0));
    const lse = (f: number[]): number => {
      const m = Math.max(...f);
      return m + Math.log(f.reduce((s, v) => s + Math.exp(v - m), 0));
    };
    const trainRows = rowsOf(train);
    const alpha = trainRows.reduce((s, h) => s + Math.max(...logit(h)), 0) / trainRows.reduce((s, h) => s + residual(h), 0);
    return rowsOf(test).map((h) => lse(logit(h)) - alpha * residual(h));
  }

  it('origin u = -pinv(W) b solves W u = -b (C <= D) and the normal equations (C > D)', () => {
    const wide = linearHead(uniformMatrix(3, 7, 1), uniformMatrix(1, 3, 2).data);
    const u = vimOrigin(wide);
    for (let c = 0; c < 3; c++) {
      const wu = Array.from(u).reduce((s, v, j) => s + wide.weight.data[c * 7 + j]! * v, 0);
      expect(wu).toBeCloseTo(-wide.bias[c]!, 10);
    }
    const tall = linearHead(uniformMatrix(9, 4, 3), uniformMatrix(1, 9, 4).data);
    const v = vimOrigin(tall);
    const resid = Array.from({ length: 9 }, (_, c) => tall.bias[c]! + Array.from(v).reduce((s, x, j) => s + tall.weight.data[c * 4 + j]! * x, 0));
    for (let j = 0; j < 4; j++) expect(resid.reduce((s, r, c) => s + tall.weight.data[c * 4 + j]! * r, 0)).toBeCloseTo(0, 10);
  });

  it('matches a brute-force ViM (Jacobi eigenvectors) on random data', () => {
    const D = 8;
    const head = linearHead(uniformMatrix(4, D, 5), uniformMatrix(1, 4, 6).data);
    const r = rng(7);
    const train = matrix(80, D, Float32Array.from({ length: 80 * D }, (_, i) => (r() * 2 - 1) * (1 + (i % D))));
    const test = uniformMatrix(15, D, 8, 3);
    const copy = Float32Array.from(train.data);
    for (const dim of [4, 2, 0]) {
      const model = fitVim(train, head, { dim });
      expectScores(vimScore(model, test), bruteVim(train, test, head, Array.from(model.origin), dim), 1e-5);
    }
    expect(train.data).toEqual(copy);
    expect(fitVim(train, head).dim).toBe(4);
  });

  it('fitVimAsync gives fitVim\'s model, with the eigendecompositions through the kernel\'s float64Product', async () => {
    const D = 96;
    const head = linearHead(uniformMatrix(70, D, 11), uniformMatrix(1, 70, 12).data);
    const train = uniformMatrix(300, D, 13, 2);
    let calls = 0;
    const kernel: GemmKernel = {
      ...portableGemmKernel,
      accelerators: { float64Product: async (a, b, options) => (calls++, product64(a, b, options)) },
    };
    const want = fitVim(train, head, { dim: 40 });
    const got = await fitVimAsync(train, head, { dim: 40, kernel });
    expect(calls).toBeGreaterThan(0);
    expect([got.dim, got.alpha, ...got.origin, ...got.residualBasis]).toEqual([want.dim, want.alpha, ...want.origin, ...want.residualBasis]);
    expect((await fitVimAsync(train, head, { dim: 40 })).alpha).toBe(want.alpha);
    await expect(fitVimAsync(train, head, { dim: D })).rejects.toThrow(OpnpError);
  });

  it('defaults, validation, NaN and empty input', () => {
    // Official ViM: 1000 if D >= 2048 else 512 (ResNet-50 / BiT 2048, ViT-B 768, ViT-L 1024, EfficientNet 1280, 1536).
    expect([4096, 2048, 2047, 1536, 1280, 1024, 768].map(defaultVimDim)).toEqual([1000, 1000, 512, 512, 512, 512, 512]);
    expect([767, 512, 5].map(defaultVimDim)).toEqual([383, 256, 2]);
    const head = linearHead(uniformMatrix(3, 4, 9));
    const train = uniformMatrix(10, 4, 10);
    expect(() => fitVim(train, head, { dim: 4 })).toThrow(OpnpError);
    expect(() => fitVim(matrix(0, 4), head)).toThrow(OpnpError);
    expect(() => fitVim(matrix(1, 4, [1, NaN, 0, 0]), head)).toThrow(OpnpError);
    const model = fitVim(train, head, { dim: 2 });
    const s = vimScore(model, matrix(2, 4, [NaN, 0, 0, 0, 1, 2, 3, 4]));
    expect(s[0]).toBeNaN();
    expect(Number.isFinite(s[1])).toBe(true);
    expect(vimScore(model, matrix(0, 4)).length).toBe(0);
    expect(() => vimScore(model, matrix(1, 5))).toThrow(OpnpError);
  });
});
