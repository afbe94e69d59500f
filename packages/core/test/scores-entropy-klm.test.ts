/** entropy and KL matching against brute-force definitions written from docs/numerics.md#entropy and #klm. */
import { describe, expect, it } from 'vitest';
import { matrix, OpnpError, type Matrix } from '@opnp/core';
import { entropy } from '../src/scores/entropy.js';
import { fitKlMatching, klMatchingScore } from '../src/scores/klm.js';
import { randomMatrix, rng, rowsOf } from './helpers.js';
import { expectClose } from '../src/testing/reference.js';

/** Plain softmax of a row of moderate logits. */
function softmax(f: number[]): number[] {
  const m = Math.max(...f);
  const e = f.map((v) => Math.exp(v - m));
  const z = e.reduce((s, v) => s + v, 0);
  return e.map((v) => v / z);
}

function refEntropy(f: number[]): number {
  if (f.some(Number.isNaN) || !Number.isFinite(Math.max(...f))) return NaN;
  return softmax(f).reduce((s, p) => (p > 0 ? s + p * Math.log(p) : s), 0);
}

/** scipy.stats.entropy(p, q): rel_entr summed. */
function refKl(p: number[], q: number[]): number {
  return p.reduce((s, pi, i) => s + (pi === 0 ? 0 : q[i] === 0 ? Infinity : pi * Math.log(pi / q[i]!)), 0);
}

const argmax = (f: number[]): number => f.reduce((b, v, i) => (v > f[b]! ? i : b), 0);

function refTemplates(train: Matrix): number[][] {
  const C = train.cols;
  const sums = Array.from({ length: C }, () => new Array<number>(C).fill(0));
  const counts = new Array<number>(C).fill(0);
  for (const f of rowsOf(train)) {
    const y = argmax(f);
    counts[y]!++;
    softmax(f).forEach((p, c) => (sums[y]![c]! += p));
  }
  return sums.map((row, y) => (counts[y] === 0 ? row.map((_, c) => (c === y ? 1 : 0)) : row.map((v) => v / counts[y]!)));
}

function refKlm(train: Matrix, test: Matrix): number[] {
  const d = refTemplates(train);
  return rowsOf(test).map((f) => {
    if (f.some(Number.isNaN) || !Number.isFinite(Math.max(...f))) return NaN;
    const p = softmax(f);
    return -Math.max(0, Math.min(...d.map((q) => refKl(p, q))));
  });
}

describe('entropy', () => {
  it('matches sum p log p, with ties, -Infinity logits, NaN and degenerate rows', () => {
    const random = randomMatrix(20, 7, rng(1), (u) => u * 8 - 4);
    expectClose(entropy(random), rowsOf(random).map(refEntropy), 1e-6, 'random');
    const special = matrix(6, 3, [1, 1, 1, 2, 2, 0, -Infinity, 0, 0, NaN, 1, 2, -Infinity, -Infinity, -Infinity, Infinity, 0, 0]);
    const s = entropy(special);
    expect(s[0]).toBeCloseTo(-Math.log(3), 6); // all tied: uniform
    expect(s[1]).toBeCloseTo(refEntropy([2, 2, 0]), 6);
    expect(s[2]).toBeCloseTo(-Math.log(2), 6); // -Infinity contributes 0
    expect([s[3], s[4], s[5]].every(Number.isNaN)).toBe(true);
    // Huge logits stay exact; a single class is 0; empty input is empty.
    expect(entropy(matrix(1, 2, [1000, 1000]))[0]).toBeCloseTo(-Math.log(2), 6);
    expect(entropy(matrix(1, 2, [1e4, -1e4]))[0]).toBe(0);
    expect(Array.from(entropy(matrix(2, 1, [3, -7])))).toEqual([0, 0]);
    expect(entropy(matrix(0, 4)).length).toBe(0);
    expect(() => entropy(random, { temperature: 0 })).toThrow(OpnpError);
  });
});

describe('klm', () => {
  it('matches the brute-force minimum KL to class templates fitted by predicted class', () => {
    const train = randomMatrix(60, 5, rng(2), (u) => u * 6 - 3);
    const test = randomMatrix(25, 5, rng(3), (u) => u * 6 - 3);
    const copy = Float32Array.from(train.data);
    const model = fitKlMatching(train);
    expect(train.data).toEqual(copy);
    refTemplates(train).forEach((row, y) => expectClose(model.templates.subarray(y * 5, (y + 1) * 5), row, 1e-12, `template ${y}`));
    expectClose(klMatchingScore(model, test), refKlm(train, test), 1e-6, 'scores');
    // A sample equal to a fit sample of a class with one member scores 0 (clamped, never -0 rounding noise above 0).
    const single = fitKlMatching(matrix(1, 3, [5, 0, 0]));
    expect(klMatchingScore(single, matrix(1, 3, [5, 0, 0]))[0]).toBeCloseTo(0, 12);
  });

  it('breaks argmax ties to the lowest class, uses one-hot templates for unpredicted classes, propagates NaN', () => {
    // Rows tied between classes 0 and 1 count for class 0; classes 1 and 2 are never predicted.
    const train = matrix(3, 3, [2, 2, 0, 1, 1, 1, 3, 0, 0]);
    const model = fitKlMatching(train);
    expect(Array.from(model.counts)).toEqual([3, 0, 0]);
    expect(Array.from(model.templates.subarray(3, 6))).toEqual([0, 1, 0]);
    const test = matrix(4, 3, [0, 5, 0, NaN, 0, 0, -Infinity, -Infinity, -Infinity, 0, -Infinity, -Infinity]);
    const s = klMatchingScore(model, test);
    expectClose(s, refKlm(train, test), 1e-6, 'scores');
    expect(Number.isNaN(s[1]!) && Number.isNaN(s[2]!)).toBe(true);
    // p = e_0 exactly: the one-hot templates e_1, e_2 are infinitely far, template 0 is finite.
    expect(s[3]).toBeCloseTo(refKlm(train, test)[3]!, 6);
    expect(klMatchingScore(model, matrix(0, 3)).length).toBe(0);
  });

  it('throws typed errors on empty or non-finite fits and shape mismatches', () => {
    const code = (f: () => unknown): string | undefined => {
      try {
        f();
      } catch (e) {
        return (e as OpnpError).code;
      }
      return undefined;
    };
    expect(code(() => fitKlMatching(matrix(0, 3)))).toBe('EMPTY_INPUT');
    expect(code(() => fitKlMatching(matrix(1, 2, [NaN, 0])))).toBe('NON_FINITE');
    expect(code(() => fitKlMatching(matrix(1, 2, [Infinity, 0])))).toBe('NON_FINITE');
    expect(code(() => klMatchingScore(fitKlMatching(matrix(1, 2, [1, 0])), matrix(1, 3)))).toBe('SHAPE_MISMATCH');
  });
});
