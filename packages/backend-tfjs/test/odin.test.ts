/**
 * ODIN: the input-gradient sign checked against float64 finite differences of a brute-force re-implementation of
 * a tiny model, and the full score against the paper's formula computed here.
 */
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isOpnpError } from '@opnp/core';
import { initTfjsBackend, loadTfjsFeatureExtractor, odinScores } from '../src/node/index.js';
import { firstMismatch, fixture, seeded } from './helpers.js';

const IN = 4;
const HID = 5;
const C = 3;
const N = 6;
const T = 10;
let model: tfl.Sequential;
let w1: Float32Array, b1: Float32Array, w2: Float32Array, b2: Float32Array;

beforeAll(async () => {
  await initTfjsBackend({ prefer: 'cpu' });
  model = tfl.sequential();
  model.add(tfl.layers.dense({ units: HID, inputShape: [IN], activation: 'tanh' }));
  model.add(tfl.layers.dense({ units: C }));
  w1 = seeded(IN * HID, 11).map((v) => v * 1.5);
  b1 = seeded(HID, 12);
  w2 = seeded(HID * C, 13).map((v) => v * 2);
  b2 = seeded(C, 14);
  model.layers[0]!.setWeights([tf.tensor2d(w1, [IN, HID]), tf.tensor1d(b1)]);
  model.layers[1]!.setWeights([tf.tensor2d(w2, [HID, C]), tf.tensor1d(b2)]);
});
afterAll(() => model.dispose());

/** Float64 forward pass of the tiny model. */
function forward(x: ArrayLike<number>): number[] {
  const h = Array.from({ length: HID }, (_, k) => {
    let s = b1[k]!;
    for (let i = 0; i < IN; i++) s += x[i]! * w1[i * HID + k]!;
    return Math.tanh(s);
  });
  return Array.from({ length: C }, (_, c) => {
    let s = b2[c]!;
    for (let k = 0; k < HID; k++) s += h[k]! * w2[k * C + c]!;
    return s;
  });
}
const logSoftmaxAt = (f: number[], y: number, t: number): number => {
  const m = Math.max(...f.map((v) => v / t));
  return f[y]! / t - m - Math.log(f.reduce((a, v) => a + Math.exp(v / t - m), 0));
};
const maxSoftmax = (f: number[], t: number): number => Math.exp(Math.max(...f.map((v, c) => logSoftmaxAt(f, c, t))));

describe('odinScores', () => {
  it('perturbation follows sign(-d/dx log S) from central finite differences (float64 brute force)', async () => {
    const x = seeded(N * IN, 21);
    const eps = 0.01;
    const { perturbed, scores } = await odinScores(model, { data: x, shape: [N, IN] }, { temperature: T, epsilon: eps });
    let checked = 0;
    for (let n = 0; n < N; n++) {
      const xn = Array.from(x.subarray(n * IN, (n + 1) * IN));
      const f = forward(xn);
      const y = f.indexOf(Math.max(...f));
      const expected = xn.slice();
      for (let i = 0; i < IN; i++) {
        const hstep = 1e-6;
        const up = xn.slice();
        const dn = xn.slice();
        up[i]! += hstep;
        dn[i]! -= hstep;
        const grad = (logSoftmaxAt(forward(up), y, T) - logSoftmaxAt(forward(dn), y, T)) / (2 * hstep);
        // x' = x - eps * sign(-grad) (zero counts as +1, as in the reference code)
        expected[i] = xn[i]! - eps * (-grad >= 0 ? 1 : -1);
        if (Math.abs(grad) > 1e-7) {
          checked++;
          expect(Math.sign(perturbed[n * IN + i]! - xn[i]!), `sample ${n} input ${i}`).toBe(Math.sign(grad));
        }
      }
      expect(firstMismatch(perturbed.subarray(n * IN, (n + 1) * IN), expected, 1e-6)).toBeUndefined();
      expect(scores[n]!).toBeCloseTo(maxSoftmax(forward(expected), T), 6);
      // The perturbation raises the score (small step along the gradient of log S_y).
      expect(scores[n]!).toBeGreaterThan(maxSoftmax(f, T));
    }
    expect(checked).toBeGreaterThan(N * IN * 0.8);
  });

  it('epsilon 0 gives the temperature-scaled MSP; inputs are not modified; no tensors leak', async () => {
    const x = seeded(N * IN, 22);
    const copy = Float32Array.from(x);
    const before = tf.memory().numTensors;
    const { scores } = await odinScores(model, { data: x, shape: [N, IN] }, { temperature: T, epsilon: 0 });
    expect(tf.memory().numTensors).toBe(before);
    expect(Array.from(x)).toEqual(Array.from(copy));
    for (let n = 0; n < N; n++) expect(scores[n]!).toBeCloseTo(maxSoftmax(forward(x.subarray(n * IN, (n + 1) * IN)), T), 6);
  });

  it('inputStd divides the step per channel (last axis for NHWC / flat)', async () => {
    const x = seeded(2 * IN, 23);
    const std = [0.5, 1, 2, 4];
    const plain = await odinScores(model, { data: x, shape: [2, IN] }, { temperature: T, epsilon: 0.01 });
    const scaled = await odinScores(model, { data: x, shape: [2, IN] }, { temperature: T, epsilon: 0.01, inputStd: std });
    for (let i = 0; i < 2 * IN; i++) {
      expect(scaled.perturbed[i]! - x[i]!).toBeCloseTo((plain.perturbed[i]! - x[i]!) / std[i % IN]!, 6);
    }
    const error = await odinScores(model, { data: x, shape: [2, IN] }, { inputStd: [1, 2] }).catch((e: unknown) => e);
    expect(isOpnpError(error) && error.code).toBe('SHAPE_MISMATCH');
  });

  it('rejects bad options', async () => {
    for (const options of [{ temperature: 0 }, { epsilon: -1 }, { temperature: NaN }]) {
      const error = await odinScores(model, { data: new Float32Array(IN), shape: [1, IN] }, options).catch((e: unknown) => e);
      expect(isOpnpError(error) && error.code).toBe('INVALID_ARGUMENT');
    }
  });

  it('works through an extractor on the MNIST LayersModel and GraphModel (same network, same scores)', async () => {
    const ref = JSON.parse(readFileSync(fixture('mnist-cnn.reference.json'), 'utf8')) as { input: number[]; inputShape: number[] };
    const batch = { data: Float32Array.from(ref.input.slice(0, 4 * 784)), shape: [4, 28, 28, 1] };
    const layers = await loadTfjsFeatureExtractor(fixture('mnist-cnn-layers'), { backend: 'cpu' });
    const graph = await loadTfjsFeatureExtractor(fixture('mnist-cnn-graph'), { backend: 'cpu' });
    try {
      const options = { temperature: 1000, epsilon: 0.0014, inputStd: [0.3081] };
      const a = await odinScores(layers, batch, options);
      const b = await odinScores(graph, batch, options);
      expect(firstMismatch(b.scores, a.scores, 1e-6, 1e-5)).toBeUndefined();
      // With epsilon 0 the score is max softmax(f / T) of the extractor's own logits.
      const { logits } = await layers.extract(batch);
      const zero = await odinScores(layers, batch, { temperature: 1000, epsilon: 0 });
      for (let n = 0; n < 4; n++) expect(zero.scores[n]!).toBeCloseTo(maxSoftmax(Array.from(logits.data.subarray(n * 10, n * 10 + 10)), 1000), 7);
      expect(a.scores.every((s, n) => s >= zero.scores[n]! - 1e-7)).toBe(true);
    } finally {
      await layers.dispose();
      await graph.dispose();
    }
  });
});
