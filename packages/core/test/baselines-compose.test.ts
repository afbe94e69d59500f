import { describe, expect, it } from 'vitest';
import { linearHead, matrix, OpnpError, type LinearHead, type Matrix } from '@opnp/core';
import { applyFeatureTransform, composeScore } from '../src/scores/compose.js';
import { diceHead, featureMean } from '../src/scores/dice.js';
import { reactThreshold } from '../src/scores/transforms.js';
import { randomMatrix, rng, rowsOf } from './helpers.js';

/** A seeded matrix uniform in `[-1, 1)`, or `max(0, u)` of `u` uniform in `[-1, 2)` when `relu`. */
const seededMatrix = (rows: number, cols: number, seed: number, relu = false): Matrix =>
  randomMatrix(rows, cols, rng(seed), (u) => (relu ? Math.max(0, u * 3 - 1) : u * 2 - 1));


/** Brute-force logits of one feature row (float64). */
function bruteLogits(head: LinearHead, h: number[]): number[] {
  const { rows: C, cols: D, data } = head.weight;
  return Array.from({ length: C }, (_, c) => head.bias[c]! + h.reduce((s, v, j) => s + data[c * D + j]! * v, 0));
}

function bruteEnergy(f: number[], T = 1): number {
  const m = Math.max(...f.map((v) => v / T));
  return T * (m + Math.log(f.reduce((s, v) => s + Math.exp(v / T - m), 0)));
}


function expectScores(actual: Float32Array, expected: number[], relTol = 1e-5): void {
  expect(actual.length).toBe(expected.length);
  expected.forEach((e, i) => expect(Math.abs(actual[i]! - e), `index ${i}: ${actual[i]} vs ${e}`).toBeLessThanOrEqual(relTol * Math.max(1, Math.abs(e))));
}

describe('composeScore (baselines)', () => {
  const D = 16;
  const C = 5;
  const train = seededMatrix(60, D, 1, true);
  const test = seededMatrix(20, D, 2, true);
  const head = linearHead(seededMatrix(C, D, 3), seededMatrix(1, C, 4).data);

  it('energy / msp / maxlogit of the original head', () => {
    const copy = Float32Array.from(test.data);
    const f = rowsOf(test).map((h) => bruteLogits(head, h));
    expectScores(composeScore(test, { head }), f.map((r) => bruteEnergy(r)));
    expectScores(composeScore(test, { head, temperature: 2 }), f.map((r) => bruteEnergy(r, 2)));
    expectScores(composeScore(test, { head, score: 'maxlogit' }), f.map((r) => Math.max(...r)));
    expectScores(composeScore(test, { head, score: 'msp' }), f.map((r) => Math.exp(Math.max(...r) - bruteEnergy(r))));
    expect(test.data).toEqual(copy);
  });

  it('react = energy of W min(h, c) + b with c = P(H_train, 90)', () => {
    const clip = reactThreshold(train);
    const sorted = Array.from(train.data).sort((a, b) => a - b);
    const r = 0.9 * (sorted.length - 1);
    expect(clip).toBe(sorted[Math.floor(r)]! + (r - Math.floor(r)) * (sorted[Math.ceil(r)]! - sorted[Math.floor(r)]!));
    const expected = rowsOf(test).map((h) => bruteEnergy(bruteLogits(head, h.map((v) => Math.min(v, clip)))));
    expectScores(composeScore(test, { head, transform: { kind: 'react', clip } }), expected);
  });

  it('dice and dice + react use the masked head and keep the bias', () => {
    const dice = diceHead(head, featureMean(train));
    const masked = (h: number[]): number[] => {
      const W = head.weight.data;
      return Array.from({ length: C }, (_, c) => head.bias[c]! + h.reduce((s, v, j) => s + (dice.mask[c * D + j] ? W[c * D + j]! : 0) * v, 0));
    };
    expectScores(composeScore(test, { head: dice.head }), rowsOf(test).map((h) => bruteEnergy(masked(h))));
    const clip = reactThreshold(train);
    expectScores(
      composeScore(test, { head: dice.head, transform: { kind: 'react', clip } }),
      rowsOf(test).map((h) => bruteEnergy(masked(h.map((v) => Math.min(v, clip))))),
    );
  });

  it('ash-p/b/s and scale are energy after the transform', () => {
    for (const transform of [
      { kind: 'ash', variant: 'p' },
      { kind: 'ash', variant: 'b', percentile: 65 },
      { kind: 'ash', variant: 's' },
      { kind: 'scale' },
      { kind: 'scale', percentile: 50 },
    ] as const) {
      const transformed = applyFeatureTransform(test, transform);
      expectScores(composeScore(test, { head, transform }), rowsOf(transformed).map((h) => bruteEnergy(bruteLogits(head, h))));
    }
    // ASH-p at p = 50 by hand on one row: keep the 8 largest entries.
    const row = rowsOf(test)[0]!;
    const order = row.map((v, j) => [v, j] as const).sort((a, b) => b[0] - a[0] || a[1] - b[1]);
    const kept = new Set(order.slice(0, 8).map(([, j]) => j));
    const pruned = row.map((v, j) => (kept.has(j) ? v : 0));
    expectScores(composeScore(matrix(1, D, row), { head, transform: { kind: 'ash', variant: 'p', percentile: 50 } }), [bruteEnergy(bruteLogits(head, pruned))]);
  });

  it('validates shapes and unknown transforms; empty input gives an empty array', () => {
    expect(() => composeScore(matrix(2, D + 1), { head })).toThrow(OpnpError);
    expect(() => composeScore(test, { head, transform: { kind: 'nope' } as never })).toThrow(OpnpError);
    expect(composeScore(matrix(0, D), { head, transform: { kind: 'ash', variant: 's' } }).length).toBe(0);
  });
});
