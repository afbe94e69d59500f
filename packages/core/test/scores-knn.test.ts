import { describe, expect, it } from 'vitest';
import { matrix, OpnpError, type Matrix } from '@opnp/core';
import { fitKnn, knnScore, knnScoreAsync, type KnnModel } from '../src/scores/knn.js';
import { randomMatrix, rng } from './helpers.js';



/** Brute force: normalise in float64, all Euclidean distances, sort, take the k-th. */
function bruteKnn(train: Matrix, test: Matrix, k: number): number[] {
  const norm = (m: Matrix, i: number): number[] => {
    const row = Array.from(m.data.subarray(i * m.cols, (i + 1) * m.cols));
    const n = Math.sqrt(row.reduce((s, v) => s + v * v, 0));
    return row.map((v) => (n > 0 ? v / n : 0));
  };
  const Z = Array.from({ length: train.rows }, (_, i) => norm(train, i));
  return Array.from({ length: test.rows }, (_, i) => {
    const z = norm(test, i);
    const d = Z.map((t) => Math.sqrt(t.reduce((s, v, j) => s + (v - z[j]!) ** 2, 0))).sort((a, b) => a - b);
    return -d[k - 1]!;
  });
}

function expectScores(actual: Float32Array, expected: number[], tol: number): void {
  expect(actual.length).toBe(expected.length);
  expected.forEach((e, i) => expect(Math.abs(actual[i]! - e), `index ${i}: ${actual[i]} vs ${e}`).toBeLessThanOrEqual(tol));
}

describe('KNN', () => {
  it('matches brute-force k-th nearest distances for several k', () => {
    const train = randomMatrix(120, 9, rng(1));
    const test = randomMatrix(37, 9, rng(2));
    const trainCopy = Float32Array.from(train.data);
    const testCopy = Float32Array.from(test.data);
    for (const k of [1, 5, 50, 120]) {
      expectScores(knnScore(fitKnn(train, { k }), test), bruteKnn(train, test, k), 1e-6);
    }
    expect(train.data).toEqual(trainCopy);
    expect(test.data).toEqual(testCopy);
    expect(fitKnn(train).k).toBe(50);
  });
  it('gives exactly 0 for a training point at k = 1, and handles duplicate (tied) neighbours', () => {
    const train = matrix(4, 2, [1, 0, 2, 0, 0, 1, 0, 3]); // two copies of each direction
    const q = matrix(2, 2, [5, 0, 1, 1]);
    expect(Array.from(knnScore(fitKnn(train, { k: 1 }), q))).toEqual([0, -Math.fround(Math.sqrt(2 - Math.SQRT2))]);
    expect(knnScore(fitKnn(train, { k: 2 }), q)[0]).toBe(0);
    expect(knnScore(fitKnn(train, { k: 3 }), q)[0]).toBe(-Math.fround(Math.SQRT2));
    // Brute force with many exact ties.
    const tied = matrix(6, 2, [1, 0, 1, 0, 1, 0, 0, 1, 0, 1, -1, 0]);
    const queries = matrix(3, 2, [1, 0, 0, 2, 1, 1]);
    for (const k of [1, 3, 4, 6]) expectScores(knnScore(fitKnn(tied, { k }), queries), bruteKnn(tied, queries, k), 1e-6);
  });
  it('keeps zero vectors zero (distance 1 to unit rows, 0 to zero rows)', () => {
    const train = matrix(3, 2, [1, 0, 0, 0, 0, 1]);
    const model = fitKnn(train, { k: 1 });
    expect(Array.from(model.train.data)).toEqual([1, 0, 0, 0, 0, 1]);
    expect(Array.from(knnScore(model, matrix(1, 2)))).toEqual([0]);
    expect(knnScore(fitKnn(train, { k: 2 }), matrix(1, 2))[0]).toBe(-1);
    expectScores(knnScore(fitKnn(train, { k: 2 }), matrix(2, 2, [0, 0, 3, 4])), bruteKnn(train, matrix(2, 2, [0, 0, 3, 4]), 2), 1e-7);
  });
  it('uses bounded row blocks for large training sets', () => {
    // 4100 training rows and a 4100 * 4 * 1022-byte budget -> 1022 query rows per block; 1500 queries cross a block boundary.
    const train = randomMatrix(4100, 3, rng(3));
    const test = randomMatrix(1500, 3, rng(4));
    const got = knnScore(fitKnn(train, { k: 7 }), test, { blockBudgetBytes: 4100 * 4 * 1022 });
    expect(Array.from(knnScore(fitKnn(train, { k: 7 }), test))).toEqual(Array.from(got));
    const idx = [0, 1, 1021, 1022, 1023, 1499];
    const sub = matrix(idx.length, 3, idx.flatMap((i) => Array.from(test.data.subarray(i * 3, i * 3 + 3))));
    expectScores(Float32Array.from(idx.map((i) => got[i]!)), bruteKnn(train, sub, 7), 1e-6);
  });
  it('validates k, shapes and NaN; NaN query rows score NaN; N = 0 gives an empty array', () => {
    const train = randomMatrix(5, 3, rng(5));
    expect(() => fitKnn(train, { k: 6 })).toThrow(OpnpError);
    expect(() => fitKnn(train, { k: 0 })).toThrow(OpnpError);
    expect(() => fitKnn(train, { k: 1.5 })).toThrow(OpnpError);
    expect(() => fitKnn(train)).toThrow(/k/); // default 50 > 5 samples
    try {
      fitKnn(train, { k: 6 });
    } catch (e) {
      expect((e as OpnpError).code).toBe('INVALID_ARGUMENT');
    }
    expect(() => fitKnn(matrix(2, 2, [1, NaN, 0, 1]), { k: 1 })).toThrow(OpnpError);
    expect(() => fitKnn(matrix(0, 3), { k: 1 })).toThrow(OpnpError);
    const model = fitKnn(train, { k: 2 });
    expect(() => knnScore(model, matrix(1, 4))).toThrow(OpnpError);
    const s = knnScore(model, matrix(3, 3, [NaN, 0, 0, 1, 2, 3, Infinity, 0, 0]));
    expect(s[0]).toBeNaN();
    expect(Number.isFinite(s[1])).toBe(true);
    expect(s[2]).toBeNaN();
    expect(knnScore(model, matrix(0, 3)).length).toBe(0);
  });
  it('refuses a model whose k was raised past its training rows (no silent cap), sync and async', async () => {
    const train = randomMatrix(5, 3, rng(8));
    const query = randomMatrix(2, 3, rng(9));
    const bank = fitKnn(train, { k: 1 });
    const refused = expect.objectContaining({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/KNN k is 6 but the model has 5 training rows.*Set k from 1 to 5, or fit the model on more training features/) });
    expect(() => knnScore({ ...bank, k: 6 }, query)).toThrow(refused);
    await expect(knnScoreAsync({ ...bank, k: 6 }, query)).rejects.toEqual(refused);
    expect(() => knnScore({ ...bank, k: 0 }, query)).toThrow(/KNN k is 0/);
    // k = rows is the farthest training row, as the brute force says.
    expectScores(knnScore({ ...bank, k: 5 }, query), bruteKnn(train, query, 5), 1e-6);
  });
  it('refuses a model that went through JSON, saying JSON round trips are not supported and to refit', async () => {
    const train = randomMatrix(5, 3, rng(6));
    const query = randomMatrix(2, 3, rng(7));
    const model = fitKnn(train, { k: 2 });
    const roundTripped = JSON.parse(JSON.stringify(model)) as KnnModel;
    const refused = expect.objectContaining({
      code: 'INVALID_ARGUMENT',
      message: expect.stringMatching(/model is not a KnnModel as fitKnn returns it: model\.train\.data is a plain object, not a Float32Array\. A KnnModel cannot be saved as JSON.*call fitKnn\(trainFeatures, \{ k \}\) again/),
    });
    expect(() => knnScore(roundTripped, query)).toThrow(refused);
    await expect(knnScoreAsync(roundTripped, query)).rejects.toEqual(refused);
    const noNorms = { ...model, trainSquaredNorms: Array.from(model.trainSquaredNorms) } as unknown as KnnModel;
    expect(() => knnScore(noNorms, query)).toThrow(expect.objectContaining({ message: expect.stringMatching(/model\.trainSquaredNorms is an array, not a Float64Array/) }));
    expect(() => knnScore({ ...model, trainSquaredNorms: new Float64Array(4) }, query)).toThrow(expect.objectContaining({ message: expect.stringMatching(/4 entries for 5 training rows/) }));
    // The model itself still scores, and refitting the same features gives the same scores.
    expect(Array.from(knnScore(fitKnn(train, { k: 2 }), query))).toEqual(Array.from(knnScore(model, query)));
  });
});
