import { describe, expect, it } from 'vitest';
import { matrix, OpnpError, type Matrix } from '@opnp/core';
import { fitMahalanobis, mahalanobisPrecision, mahalanobisScore } from '../src/scores/mahalanobis.js';
import { fitRmds } from '../src/scores/rmds.js';
import { rng, inverse } from './helpers.js';



/** Class-clustered data; `layerNorm` subtracts each row's mean so rows sum to zero (singular covariance). */
function makeData(N: number, D: number, C: number, seed: number, layerNorm: boolean): { h: Matrix; labels: Int32Array } {
  const r = rng(seed);
  const centres = Array.from({ length: C * D }, () => r() * 4 - 2);
  const mix = Array.from({ length: D * D }, () => r() * 2 - 1);
  const labels = Int32Array.from({ length: N }, (_, n) => n % C);
  const data = new Float32Array(N * D);
  for (let n = 0; n < N; n++) {
    const z = Array.from({ length: D }, () => r() * 2 - 1);
    const row = Array.from({ length: D }, (_, j) => centres[labels[n]! * D + j]! + z.reduce((s, zk, k) => s + zk * mix[j * D + k]!, 0));
    const mean = layerNorm ? row.reduce((s, v) => s + v, 0) / D : 0;
    row.forEach((v, j) => (data[n * D + j] = v - mean));
  }
  return { h: matrix(N, D, data), labels };
}

function bruteStats(h: Matrix, labels: ArrayLike<number>, C: number): { means: number[][]; cov: Float64Array } {
  const { rows: N, cols: D, data } = h;
  const means = Array.from({ length: C }, () => new Array<number>(D).fill(0));
  const counts = new Array<number>(C).fill(0);
  for (let n = 0; n < N; n++) {
    counts[labels[n]!]!++;
    for (let j = 0; j < D; j++) means[labels[n]!]![j]! += data[n * D + j]!;
  }
  means.forEach((m, c) => m.forEach((v, j) => (m[j] = v / counts[c]!)));
  const cov = new Float64Array(D * D);
  for (let n = 0; n < N; n++) {
    for (let a = 0; a < D; a++) {
      for (let b = 0; b < D; b++) {
        cov[a * D + b]! += (data[n * D + a]! - means[labels[n]!]![a]!) * (data[n * D + b]! - means[labels[n]!]![b]!);
      }
    }
  }
  for (let i = 0; i < D * D; i++) cov[i]! /= N;
  return { means, cov };
}

function bruteScores(h: Matrix, means: number[][], P: Float64Array): number[] {
  const D = h.cols;
  return Array.from({ length: h.rows }, (_, n) => {
    let best = Infinity;
    for (const mu of means) {
      const d = Array.from({ length: D }, (_, j) => h.data[n * D + j]! - mu[j]!);
      let q = 0;
      for (let a = 0; a < D; a++) for (let b = 0; b < D; b++) q += d[a]! * P[a * D + b]! * d[b]!;
      best = Math.min(best, q);
    }
    return -best;
  });
}

function expectScores(actual: Float32Array, expected: number[], relTol: number): void {
  expect(actual.length).toBe(expected.length);
  expected.forEach((e, i) => expect(Math.abs(actual[i]! - e), `index ${i}: ${actual[i]} vs ${e}`).toBeLessThanOrEqual(relTol * Math.max(1, Math.abs(e))));
}

describe('Mahalanobis', () => {
  it('matches brute force with a full-rank covariance (N-normalised)', () => {
    const C = 3;
    const D = 6;
    const { h, labels } = makeData(300, D, C, 1, false);
    const copy = Float32Array.from(h.data);
    const model = fitMahalanobis(h, labels, C);
    expect(h.data).toEqual(copy);
    const { means, cov } = bruteStats(h, labels, C);
    for (let i = 0; i < D * D; i++) expect(Math.abs(model.covariance[i]! - cov[i]!)).toBeLessThan(1e-6);
    expect(model.rank).toBe(D);
    const P = inverse(cov, D);
    const precision = mahalanobisPrecision(model);
    for (let i = 0; i < D * D; i++) expect(Math.abs(precision[i]! - P[i]!)).toBeLessThan(1e-7 * Math.max(1, Math.abs(P[i]!)));
    const test = makeData(40, D, C, 2, false).h;
    expectScores(mahalanobisScore(model, test), bruteScores(test, means, P), 2e-6);
    expectScores(mahalanobisScore(model, h).subarray(0, 50), bruteScores(h, means, P).slice(0, 50), 2e-6);
  });

  it('uses the pseudo-inverse for LayerNorm-like rows (covariance exactly singular)', () => {
    const C = 4;
    const D = 7;
    const { h, labels } = makeData(400, D, C, 3, true);
    const model = fitMahalanobis(h, labels, C);
    expect(model.rank).toBe(D - 1);
    const { means, cov } = bruteStats(h, labels, C);
    // Null space is the all-ones direction u: Sigma^+ = inv(Sigma + u u^T) - u u^T.
    const U = new Float64Array(D * D).fill(1 / D);
    const P = inverse(cov.map((v, i) => v + U[i]!), D).map((v, i) => v - U[i]!);
    const precision = mahalanobisPrecision(model);
    for (let i = 0; i < D * D; i++) expect(Math.abs(precision[i]! - P[i]!)).toBeLessThan(1e-5 * Math.max(1, Math.abs(P[i]!)));
    const test = makeData(30, D, C, 4, true).h;
    expectScores(mahalanobisScore(model, test), bruteScores(test, means, P), 1e-5);
    // A query shifted along the null direction scores the same.
    const shifted = matrix(test.rows, D, test.data.map((v) => v + 0.5));
    expectScores(mahalanobisScore(model, shifted), Array.from(mahalanobisScore(model, test)), 1e-5);
  });

  it('refuses classes without training samples, naming them (numClasses too large, 1-based labels)', () => {
    const { h, labels } = makeData(90, 4, 3, 5, false);
    expect(() => fitMahalanobis(h, labels, 6)).toThrow(
      expect.objectContaining({
        code: 'INVALID_ARGUMENT',
        message: expect.stringMatching(/3 of numClasses = 6 classes have no training sample \(classes 3, 4, 5\); expected at least one training sample of every class in \[0, 6\).*got labels between 0 and 2\. Check numClasses \(the labels seen span 3 classes\).*allowEmptyClasses/),
      }),
    );
    const oneBased = Array.from(labels, (y) => y + 1);
    expect(() => fitMahalanobis(h, oneBased, 4)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/1 of numClasses = 4 classes have no training sample \(class 0\).*labels between 1 and 3.*0-based/) }));
    const many = fitMahalanobis.bind(null, h, labels, 20);
    expect(many).toThrow(expect.objectContaining({ message: expect.stringMatching(/17 of numClasses = 20 .*\(classes 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, \.\.\.\)/) }));
    expect(() => fitRmds(h, labels, 4)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/class 3\)/) }));
    expect(fitMahalanobis(h, labels, 3).classCounts).toEqual(Int32Array.from([30, 30, 30]));
  });

  it('with allowEmptyClasses skips classes without training samples, propagates NaN rows and handles N = 0', () => {
    const { h, labels } = makeData(90, 4, 3, 5, false);
    const model = fitMahalanobis(h, labels, 5, { allowEmptyClasses: true }); // classes 3 and 4 are empty
    expect(Array.from(model.classCounts)).toEqual([30, 30, 30, 0, 0]);
    const { means, cov } = bruteStats(h, labels, 3);
    const test = makeData(10, 4, 3, 6, false).h;
    expectScores(mahalanobisScore(model, test), bruteScores(test, means, inverse(cov, 4)), 2e-6);
    const nan = matrix(2, 4, [NaN, 0, 0, 0, 1, 2, 3, 4]);
    const s = mahalanobisScore(model, nan);
    expect(s[0]).toBeNaN();
    expect(Number.isFinite(s[1])).toBe(true);
    expect(mahalanobisScore(model, matrix(0, 4)).length).toBe(0);
    expect(() => mahalanobisScore(model, matrix(1, 3))).toThrow(OpnpError);
  });

  it('validates labels, empty input and NaN training features', () => {
    const h = matrix(2, 2, [1, 2, 3, 4]);
    expect(() => fitMahalanobis(h, [0, 2], 2)).toThrow(OpnpError);
    expect(() => fitMahalanobis(h, [0, 0.5], 2)).toThrow(OpnpError);
    expect(() => fitMahalanobis(h, [0], 2)).toThrow(OpnpError);
    expect(() => fitMahalanobis(matrix(0, 2), [], 2)).toThrow(OpnpError);
    expect(() => fitMahalanobis(matrix(1, 2, [NaN, 1]), [0], 1)).toThrow(OpnpError);
  });

  it('scores a training mean as 0 (one class, constant feature)', () => {
    // Feature 1 is constant: zero variance direction, excluded from Sigma^+.
    const h = matrix(4, 2, [0, 5, 2, 5, 4, 5, 6, 5]);
    const model = fitMahalanobis(h, [0, 0, 0, 0], 1);
    expect(model.rank).toBe(1);
    const s = mahalanobisScore(model, matrix(2, 2, [3, 5, 5, 100]));
    expect(s[0]).toBeCloseTo(0, 6);
    // var = 5 (N-normalised): (5 - 3)^2 / 5, the constant direction ignored.
    expect(s[1]).toBeCloseTo(-4 / 5, 5);
  });
});
