/**
 * SHE, fDBD, RMDS, NNGuide, NCI and Residual against brute-force definitions written from docs/numerics.md
 * (#she, #fdbd, #rmds, #nnguide, #nci, #residual): plain float64 loops over arrays.
 */
import { describe, expect, it } from 'vitest';
import { linearHead, matrix, type LinearHead, type Matrix } from '@opnp/core';
import { fdbdScore, fitFdbd } from '../src/scores/fdbd.js';
import { fitNci, nciScore } from '../src/scores/nci.js';
import { fitNnGuide, nnGuideScore } from '../src/scores/nnguide.js';
import { fitResidual, residualScore } from '../src/scores/residual.js';
import { fitRmds, rmdsScore } from '../src/scores/rmds.js';
import { fitShe, sheScore } from '../src/scores/she.js';
import { symmetricEigen } from '../src/scores/symmetric-eigen.js';
import { expectClose } from '../src/testing/reference.js';
import { inverse, randomMatrix, rng, rowsOf } from './helpers.js';

const argmax = (f: number[]): number => f.reduce((b, v, i) => (v > f[b]! ? i : b), 0);
const dot = (a: number[], b: number[]): number => a.reduce((s, v, i) => s + v * b[i]!, 0);
const norm = (a: number[]): number => Math.sqrt(dot(a, a));
const sub = (a: number[], b: number[]): number[] => a.map((v, i) => v - b[i]!);
const mean = (rows: number[][]): number[] => rows[0]!.map((_, j) => rows.reduce((s, r) => s + r[j]!, 0) / rows.length);
const logitsOf = (head: LinearHead, H: Matrix): number[][] => rowsOf(H).map((h) => rowsOf(head.weight).map((w, c) => dot(w, h) + head.bias[c]!));
const lse = (f: number[]): number => {
  const m = Math.max(...f);
  return m + Math.log(f.reduce((s, v) => s + Math.exp(v - m), 0));
};
const asMatrix = (rows: number[][], cols: number): Matrix => matrix(rows.length, cols, rows.flat());
const codeOf = (f: () => unknown): string | undefined => {
  try {
    f();
  } catch (e) {
    return (e as { code?: string }).code;
  }
  return undefined;
};

function setup(N: number, D: number, C: number, seed: number): { head: LinearHead; train: Matrix; test: Matrix; labels: Int32Array } {
  const head = linearHead(randomMatrix(C, D, rng(seed)), randomMatrix(1, C, rng(seed + 1)).data);
  const train = randomMatrix(N, D, rng(seed + 2), (u) => u * 2 - 0.5);
  const test = randomMatrix(17, D, rng(seed + 3), (u) => u * 2 - 0.5);
  const labels = Int32Array.from(logitsOf(head, train), (f, n) => (n % 4 === 0 ? (argmax(f) + 1) % C : argmax(f))); // 3 in 4 correct
  return { head, train, test, labels };
}

describe('she', () => {
  it('matches the inner product with the mean of correctly classified features of the predicted class', () => {
    const { head, train, test, labels } = setup(80, 6, 4, 10);
    labels[1] = -1;
    const f = logitsOf(head, train);
    const correct = (c: number): number[][] => rowsOf(train).filter((_, n) => labels[n] === c && argmax(f[n]!) === c);
    const patterns = [0, 1, 2, 3].map((c) => (correct(c).length > 0 ? mean(correct(c)) : new Array<number>(6).fill(NaN)));
    expect(patterns.filter((p) => Number.isFinite(p[0]!)).length).toBeGreaterThan(1);
    const testLogits = logitsOf(head, test);
    const expected = rowsOf(test).map((h, n) => dot(h, patterns[argmax(testLogits[n]!)]!));
    const model = fitShe(train, labels, head);
    expectClose(sheScore(model, test, asMatrix(testLogits, 4)), expected, 1e-6, 'scores');
  });

  it('ties to the lowest class, NaN for NaN rows and patternless classes, typed errors', () => {
    // Head predicts class 0 for h[0] > h[1]; class 1 is never correctly classified.
    const head = linearHead(matrix(2, 2, [1, 0, 0, 1]));
    const train = matrix(3, 2, [2, 1, 4, 1, 1, 3]);
    const model = fitShe(train, [0, 0, 0], head);
    expect(Array.from(model.patterns)).toEqual([3, 1, NaN, NaN]);
    const s = sheScore(model, matrix(4, 2, [1, 1, 0, 2, NaN, 0, 1, 0]), matrix(4, 2, [5, 5, 0, 1, 1, 0, NaN, 0]));
    expect(s[0]).toBe(4); // tie -> class 0
    expect([s[1], s[2], s[3]].every(Number.isNaN)).toBe(true);
    expect(codeOf(() => fitShe(train, [1, 1, 0], head))).toBe('EMPTY_INPUT');
    expect(codeOf(() => fitShe(matrix(0, 2), [], head))).toBe('EMPTY_INPUT');
    expect(codeOf(() => fitShe(train, [0, 2, 0], head))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => fitShe(matrix(1, 2, [NaN, 0]), [0], head))).toBe('NON_FINITE');
    expect(codeOf(() => sheScore(model, matrix(1, 2), matrix(2, 2)))).toBe('SHAPE_MISMATCH');
    expect(sheScore(model, matrix(0, 2), matrix(0, 2)).length).toBe(0);
  });
});

describe('fdbd', () => {
  function refFdbd(head: LinearHead, train: Matrix, test: Matrix, logits: number[][], centred = true): number[] {
    const mu = mean(rowsOf(train));
    const W = rowsOf(head.weight);
    return rowsOf(test).map((h, n) => {
      const f = logits[n]!;
      const y = argmax(f);
      let s = 0;
      W.forEach((w, c) => {
        const d = norm(sub(w, W[y]!));
        if (c !== y && d > 0) s += Math.abs(f[c]! - f[y]!) / d;
      });
      return s / norm(centred ? sub(h, mu) : h);
    });
  }

  it('matches the summed boundary distances over the distance to the training mean (and over ||h||)', () => {
    const { head, train, test } = setup(50, 7, 5, 20);
    const f = logitsOf(head, test);
    const model = fitFdbd(train, head);
    expectClose(fdbdScore(model, test, asMatrix(f, 5)), refFdbd(head, train, test, f), 1e-6, 'centred');
    expectClose(fdbdScore(model, test, asMatrix(f, 5), { distanceAsNormalizer: false }), refFdbd(head, train, test, f, false), 1e-6, 'norm');
  });

  it('skips classes with identical weights, divides by zero at the mean, propagates NaN, typed errors', () => {
    const head = linearHead(matrix(3, 2, [1, 0, 1, 0, 0, 1]), [0, 1, 0]);
    const train = matrix(2, 2, [0, 0, 2, 2]);
    const model = fitFdbd(train, head);
    const test = matrix(4, 2, [3, 1, 1, 1, NaN, 0, 2, 0]);
    const f = logitsOf(head, test);
    const s = fdbdScore(model, test, asMatrix(f, 3));
    expectClose([s[0]!, s[3]!], [refFdbd(head, train, test, f)[0]!, refFdbd(head, train, test, f)[3]!], 1e-6, 'scores');
    expect(s[1]).toBe(Infinity); // h = mean, non-zero numerator
    expect(Number.isNaN(s[2]!)).toBe(true);
    expect(codeOf(() => fitFdbd(matrix(0, 2), head))).toBe('EMPTY_INPUT');
    expect(codeOf(() => fitFdbd(matrix(1, 2, [Infinity, 0]), head))).toBe('NON_FINITE');
    expect(codeOf(() => fdbdScore(model, matrix(1, 2), matrix(1, 2)))).toBe('SHAPE_MISMATCH');
  });
});

describe('rmds', () => {
  /** Brute force with explicit covariances (normalised by N) and Gauss-Jordan inverses (full rank). */
  function refRmds(train: Matrix, labels: ArrayLike<number>, C: number, test: Matrix): number[] {
    const rows = rowsOf(train).filter((_, n) => labels[n] !== -1);
    const ys = Array.from(labels).filter((y) => y !== -1);
    const D = train.cols;
    const cov = (centred: number[][]): Float64Array => {
      const S = new Float64Array(D * D);
      for (const x of centred) for (let a = 0; a < D; a++) for (let b = 0; b < D; b++) S[a * D + b] = S[a * D + b]! + (x[a]! * x[b]!) / centred.length;
      return S;
    };
    const means = Array.from({ length: C }, (_, c) => mean(rows.filter((_, n) => ys[n] === c)));
    const P = inverse(cov(rows.map((x, n) => sub(x, means[ys[n]!]!))), D);
    const mu0 = mean(rows);
    const P0 = inverse(cov(rows.map((x) => sub(x, mu0))), D);
    const quad = (x: number[], M: Float64Array): number => x.reduce((s, xa, a) => s + xa * x.reduce((t, xb, b) => t + M[a * D + b]! * xb, 0), 0);
    return rowsOf(test).map((h) => Math.max(...means.map((m) => -quad(sub(h, m), P) + quad(sub(h, mu0), P0))));
  }

  it('matches class-conditional minus background Mahalanobis, ignoring unknown labels', () => {
    const { train, test, labels } = setup(90, 5, 3, 30);
    for (let n = 0; n < 90; n++) labels[n] = n % 3;
    labels[4] = -1;
    const expected = refRmds(train, labels, 3, test);
    expectClose(rmdsScore(fitRmds(train, labels, 3), test), expected, { atol: 1e-5, rtol: 1e-5 }, 'scores');
  });

  it('propagates NaN and throws typed errors', () => {
    const { train, labels } = setup(30, 3, 2, 40);
    for (let n = 0; n < 30; n++) labels[n] = n % 2;
    const model = fitRmds(train, labels, 2);
    const s = rmdsScore(model, matrix(2, 3, [NaN, 0, 0, 0.1, 0.2, 0.3]));
    expect(Number.isNaN(s[0]!) && Number.isFinite(s[1]!)).toBe(true);
    expect(rmdsScore(model, matrix(0, 3)).length).toBe(0);
    expect(codeOf(() => fitRmds(train, new Int32Array(30).fill(-1), 2))).toBe('EMPTY_INPUT');
    expect(codeOf(() => fitRmds(train, new Int32Array(30).fill(2), 2))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => fitRmds(train, new Int32Array(3), 2))).toBe('SHAPE_MISMATCH');
    expect(codeOf(() => rmdsScore(model, matrix(1, 4)))).toBe('SHAPE_MISMATCH');
  });
});

describe('nnguide', () => {
  function refNnGuide(bank: Matrix, bankLogits: number[][], test: Matrix, testLogits: number[][], k: number): number[] {
    const unit = (h: number[]): number[] => h.map((v) => v / Math.max(norm(h), 1e-12));
    const guide = rowsOf(bank).map((h, i) => unit(h).map((v) => v * lse(bankLogits[i]!)));
    return rowsOf(test).map((h, n) => {
      if (h.some((v) => !Number.isFinite(v)) || testLogits[n]!.some((v) => !Number.isFinite(v))) return NaN;
      const sims = guide.map((g) => dot(unit(h), g)).sort((a, b) => b - a);
      return (sims.slice(0, k).reduce((s, v) => s + v, 0) / k) * lse(testLogits[n]!);
    });
  }

  it('matches energy times the mean top-k similarity to the energy-scaled bank, with tied bank rows', () => {
    const { head, train, test } = setup(40, 6, 4, 50);
    train.data.copyWithin(6, 0, 6); // rows 0 and 1 identical: tied similarities
    const bl = logitsOf(head, train);
    const tl = logitsOf(head, test);
    for (const k of [1, 2, 10, 40]) {
      const model = fitNnGuide(train, asMatrix(bl, 4), { k });
      expectClose(nnGuideScore(model, test, asMatrix(tl, 4)), refNnGuide(train, bl, test, tl, k), 1e-6, `k = ${k}`);
    }
    expect(fitNnGuide(train, asMatrix(bl, 4)).k).toBe(10);
  });

  it('zero features, NaN and infinities, typed errors', () => {
    const bank = matrix(2, 2, [1, 0, 0, 1]);
    const bl = matrix(2, 2, [1, 0, 0, 1]);
    const model = fitNnGuide(bank, bl, { k: 1 });
    const s = nnGuideScore(model, matrix(3, 2, [0, 0, NaN, 1, 1, 0]), matrix(3, 2, [0, 0, 0, 0, 0, -Infinity]));
    expect(s[0]).toBe(0);
    expect(Number.isNaN(s[1]!) && Number.isNaN(s[2]!)).toBe(true);
    expect(codeOf(() => fitNnGuide(matrix(0, 2), matrix(0, 2)))).toBe('EMPTY_INPUT');
    expect(codeOf(() => fitNnGuide(bank, bl, { k: 3 }))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => fitNnGuide(bank, matrix(1, 2)))).toBe('SHAPE_MISMATCH');
    expect(codeOf(() => fitNnGuide(bank, matrix(2, 2, [NaN, 0, 0, 0]), { k: 1 }))).toBe('NON_FINITE');
  });
});

describe('nci', () => {
  it('matches w_y . (h - mu) / ||h - mu|| + alpha ||h||_1', () => {
    const { head, train, test } = setup(30, 5, 3, 60);
    const mu = mean(rowsOf(train));
    const f = logitsOf(head, test);
    const W = rowsOf(head.weight);
    const model = fitNci(train, head);
    for (const alpha of [0, 1e-4, 0.1]) {
      const expected = rowsOf(test).map((h, n) => dot(W[argmax(f[n]!)]!, sub(h, mu)) / norm(sub(h, mu)) + alpha * h.reduce((s, v) => s + Math.abs(v), 0));
      expectClose(nciScore(model, test, asMatrix(f, 3), { alpha }), expected, 1e-6, `alpha ${alpha}`);
    }
  });

  it('ties to the lowest class, NaN at the mean and for NaN rows, typed errors', () => {
    const head = linearHead(matrix(2, 2, [1, 0, 0, 1]));
    const model = fitNci(matrix(2, 2, [0, 0, 2, 2]), head);
    const s = nciScore(model, matrix(3, 2, [2, 1, 1, 1, NaN, 0]), matrix(3, 2, [1, 1, 0, 0, 0, 0]), { alpha: 0 });
    expect(s[0]).toBeCloseTo(1, 6); // tie -> w_0 = (1, 0), h - mu = (1, 0)
    expect(Number.isNaN(s[1]!) && Number.isNaN(s[2]!)).toBe(true);
    expect(codeOf(() => fitNci(matrix(0, 2), head))).toBe('EMPTY_INPUT');
    expect(codeOf(() => nciScore(model, matrix(1, 2), matrix(1, 2), { alpha: -1 }))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => nciScore(model, matrix(1, 3), matrix(1, 2)))).toBe('SHAPE_MISMATCH');
  });
});

describe('residual', () => {
  it('matches the norm of (h - u) minus its projection on the top-dim principal space', () => {
    const { head, train, test } = setup(60, 6, 3, 70);
    const W = rowsOf(head.weight);
    // u = -W^T (W W^T)^-1 b (C <= D, full row rank).
    const G = inverse(W.flatMap((a) => W.map((b) => dot(a, b))), 3);
    const z = [0, 1, 2].map((i) => [0, 1, 2].reduce((s, j) => s + G[i * 3 + j]! * head.bias[j]!, 0));
    const u = [0, 1, 2, 3, 4, 5].map((j) => -W.reduce((s, w, c) => s + w[j]! * z[c]!, 0));
    const centred = rowsOf(train).map((h) => sub(h, u));
    const cov = new Float64Array(36);
    for (const x of centred) for (let a = 0; a < 6; a++) for (let b = 0; b < 6; b++) cov[a * 6 + b] = cov[a * 6 + b]! + (x[a]! * x[b]!) / 60;
    const eig = symmetricEigen(cov, 6);
    for (const dim of [0, 2, 5]) {
      const expected = rowsOf(test).map((h) => {
        const x = sub(h, u);
        let kept = 0;
        for (let i = 0; i < dim; i++) kept += dot(Array.from(eig.vectors.subarray(i * 6, i * 6 + 6)), x) ** 2;
        return -Math.sqrt(Math.max(0, dot(x, x) - kept));
      });
      expectClose(residualScore(fitResidual(train, head, { dim }), test), expected, 1e-5, `dim ${dim}`);
    }
    expect(fitResidual(train, head).dim).toBe(3);
  });

  it('propagates NaN, typed errors', () => {
    const { head, train } = setup(20, 4, 2, 80);
    const model = fitResidual(train, head, { dim: 1 });
    const s = residualScore(model, matrix(2, 4, [NaN, 0, 0, 0, 1, 1, 1, 1]));
    expect(Number.isNaN(s[0]!) && Number.isFinite(s[1]!)).toBe(true);
    expect(residualScore(model, matrix(0, 4)).length).toBe(0);
    expect(codeOf(() => fitResidual(matrix(0, 4), head))).toBe('EMPTY_INPUT');
    expect(codeOf(() => fitResidual(train, head, { dim: 4 }))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => residualScore(model, matrix(1, 3)))).toBe('SHAPE_MISMATCH');
  });
});
