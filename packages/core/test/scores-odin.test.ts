/**
 * ODIN (docs/numerics.md#odin) against its definition on models written out here in float64: a smooth tanh MLP
 * with its analytic input gradient, and core's linear ReLU extractor; the finite-difference gradient against the
 * analytic one within a Taylor bound; the guard, the modes, the layouts and the sign convention.
 */
import { describe, expect, it } from 'vitest';
import {
  createLinearFeatureExtractor,
  finiteDifferenceInputGradient,
  isOpnpError,
  linearHead,
  msp,
  odin,
  odinModelOf,
  odinOutputWeights,
  ODIN_FD_STEP,
  type InputBatch,
  type Matrix,
  type OdinModel,
} from '@opnp/core';
import { linearReluInputGradient, randomMatrix, rng } from './helpers.js';

const I = 6;
const H = 5;
const C = 4;

/** `f = W2 tanh(W1 x + b1) + b2` in float64 (rounded to float32 as a model's logits are), with its derivatives. */
function tanhMlp(seed: number, inputs = I) {
  const W1 = randomMatrix(H, inputs, rng(seed), (u) => (u * 2 - 1) * 1.2);
  const b1 = randomMatrix(1, H, rng(seed + 1)).data;
  const W2 = randomMatrix(C, H, rng(seed + 2), (u) => (u * 2 - 1) * 2);
  const b2 = randomMatrix(1, C, rng(seed + 3)).data;
  const hidden = (x: ArrayLike<number>, n: number) =>
    Array.from({ length: H }, (_, k) => {
      let s = b1[k]!;
      for (let i = 0; i < inputs; i++) s += W1.data[k * inputs + i]! * x[n * inputs + i]!;
      return Math.tanh(s);
    });
  const logits64 = (x: ArrayLike<number>, n: number) => {
    const t = hidden(x, n);
    return Array.from({ length: C }, (_, c) => t.reduce((s, tk, k) => s + W2.data[c * H + k]! * tk, b2[c]!));
  };
  /** `W2^T w_n`: the weight of each hidden unit in `sum(w * f)`. */
  const back = (w: Matrix, n: number) => Array.from({ length: H }, (_, k) => Array.from({ length: C }, (_, c) => W2.data[c * H + k]! * w.data[n * C + c]!).reduce((a, b) => a + b, 0));
  const model: OdinModel = {
    logits: async (batch) => {
      const N = batch.shape[0]!;
      return { rows: N, cols: C, data: Float32Array.from({ length: N * C }, (_, i) => logits64(batch.data, Math.floor(i / C))[i % C]!) };
    },
  };
  /** `d/dx sum(w * f)` and the second and (a bound of the) third derivative along each `e_i`, float64. */
  const derivatives = (x: ArrayLike<number>, w: Matrix) => {
    const N = w.rows;
    const first = new Float64Array(N * inputs);
    const second = new Float64Array(N * inputs);
    const third = new Float64Array(N * inputs);
    for (let n = 0; n < N; n++) {
      const t = hidden(x, n);
      const v = back(w, n);
      for (let k = 0; k < H; k++) {
        for (let i = 0; i < inputs; i++) {
          const a = W1.data[k * inputs + i]!;
          const j = n * inputs + i;
          first[j] = first[j]! + v[k]! * (1 - t[k]! ** 2) * a;
          second[j] = second[j]! + v[k]! * -2 * t[k]! * (1 - t[k]! ** 2) * a * a;
          third[j] = third[j]! + Math.abs(v[k]!) * 2 * Math.abs(a) ** 3; // |tanh'''| <= 2
        }
      }
    }
    return { first, second, third };
  };
  const exactModel: OdinModel = { ...model, inputGradient: async (batch, w) => Float32Array.from(derivatives(batch.data, w).first) };
  return { model, exactModel, logits64, derivatives, inputs };
}

function batchOf(n: number, inputs: number, seed: number, shape: number[] = [n, inputs]): InputBatch {
  return { data: randomMatrix(n, inputs, rng(seed), (u) => u * 3 - 1.5).data, shape };
}

/** max_c softmax(f / T)_c in float64. */
function maxSoftmax(f: number[], T: number): number {
  const m = Math.max(...f) / T;
  const z = f.reduce((s, v) => s + Math.exp(v / T - m), 0);
  return 1 / z;
}

describe('finiteDifferenceInputGradient', () => {
  it('matches the analytic gradient of a smooth model within the Taylor bound of a backward difference', async () => {
    const { model, derivatives } = tanhMlp(1);
    const batch = batchOf(7, I, 2);
    const f = await model.logits(batch);
    const w = odinOutputWeights(f, 3);
    const h = ODIN_FD_STEP;
    const fd = await finiteDifferenceInputGradient(model, batch, w, { step: h });
    const { first, second, third } = derivatives(batch.data, w);
    for (let n = 0; n < 7; n++) {
      // Float32 rounding of both logit rows, over the step.
      let rounding = 0;
      for (let c = 0; c < C; c++) rounding += Math.abs(w.data[n * C + c]!) * Math.abs(f.data[n * C + c]!) * 2 ** -22;
      for (let i = 0; i < I; i++) {
        const j = n * I + i;
        const stored = batch.data[j]! - Math.fround(batch.data[j]! - h);
        const bound = (stored / 2) * (Math.abs(second[j]!) + stored * third[j]!) + (1.01 * rounding) / stored;
        expect(Math.abs(fd[j]! - first[j]!), `sample ${n} input ${i}`).toBeLessThanOrEqual(bound + Math.abs(first[j]!) * 2 ** -23);
      }
    }
  });

  it('is exact for a ReLU network away from its kinks; at a kink it is the one-sided derivative towards -e_i', async () => {
    const projection = randomMatrix(8, I, rng(5));
    // Unit 0 is x_0 - x_1, exactly 0 for sample 4 (x_0 = x_1): a kink.
    projection.data.fill(0, 0, I);
    projection.data[0] = 1;
    projection.data[1] = -1;
    const head = linearHead(randomMatrix(C, 8, rng(6)), [0.1, -0.2, 0.3, 0]);
    const extractor = createLinearFeatureExtractor({ projection, head, input: { name: 'x', shape: [null, I], layout: 'flat' } });
    const batch = batchOf(5, I, 7);
    batch.data[4 * I + 1] = batch.data[4 * I]!;
    const model = odinModelOf(extractor);
    const f = await model.logits(batch);
    const w = odinOutputWeights(f, 1);
    const exact = linearReluInputGradient(projection, head.weight, batch.data, w); // relu'(0) = 0, as autodiff
    const fd = await finiteDifferenceInputGradient(model, batch, w);
    // x - h e_0 keeps unit 0 off (like relu'(0) = 0); x - h e_1 turns it on, adding its slope -1 * (W^T w)_0.
    let unit0 = 0;
    for (let c = 0; c < C; c++) unit0 += head.weight.data[c * 8]! * w.data[4 * C + c]!;
    const expected = Float64Array.from(exact);
    expected[4 * I + 1] = expected[4 * I + 1]! - unit0;
    // Rounding only: float32 logits (two float32 GEMMs of 8 and 6 terms) differenced over the step h.
    const rounding = (n: number) => Array.from({ length: C }, (_, c) => Math.abs(w.data[n * C + c]!) * (Math.abs(f.data[n * C + c]!) + 1)).reduce((a, b) => a + b) * 16 * 2 ** -24 / ODIN_FD_STEP;
    for (let j = 0; j < fd.length; j++) expect(Math.abs(fd[j]! - expected[j]!), `entry ${j}`).toBeLessThanOrEqual(rounding(Math.floor(j / I)));
    expect(Math.abs(unit0)).toBeGreaterThan(0.1 * Math.max(...exact.map(Math.abs)));
  });

  it('does the same work in any chunking and never exceeds the model batch limit', async () => {
    const { model } = tanhMlp(3);
    const limited: OdinModel = {
      maxBatchSize: 5,
      logits: async (b) => {
        expect(b.shape[0]).toBeLessThanOrEqual(5);
        return model.logits(b);
      },
    };
    const batch = batchOf(4, I, 8);
    const w = odinOutputWeights(await model.logits(batch), 10);
    const whole = await finiteDifferenceInputGradient(model, batch, w, { rowsPerPass: 1000 });
    expect(Array.from(await finiteDifferenceInputGradient(model, batch, w, { rowsPerPass: 3 }))).toEqual(Array.from(whole));
    expect(Array.from(await finiteDifferenceInputGradient(limited, batch, w))).toEqual(Array.from(whole));
  });

  it('refuses inputs above the limit with the cost in the message, and bad steps', async () => {
    const { model } = tanhMlp(4, 1025);
    const batch = batchOf(1, 1025, 9);
    const w = odinOutputWeights(await model.logits(batch), 1);
    const error = await finiteDifferenceInputGradient(model, batch, w).catch((e: unknown) => e);
    expect(isOpnpError(error) && error.code).toBe('INVALID_ARGUMENT');
    expect(String((error as Error).message)).toMatch(/1026 forward passes per sample .* limit of 1024/);
    expect((await finiteDifferenceInputGradient(model, batch, w, { maxInputs: 2048, rowsPerPass: 2000 })).length).toBe(1025);
    for (const step of [0, -1e-3, NaN]) {
      const bad = await finiteDifferenceInputGradient(model, batch, w, { step, maxInputs: 2048 }).catch((e: unknown) => e);
      expect(isOpnpError(bad) && bad.code, `step ${step}`).toBe('INVALID_ARGUMENT');
    }
  });
});

describe('odin', () => {
  it('perturbs by -epsilon * sign(-grad log S_y) / std and scores max softmax(f(x\') / T) (brute force, exact gradient)', async () => {
    const { exactModel, logits64, derivatives } = tanhMlp(11);
    const N = 6;
    const batch = batchOf(N, I, 12);
    const T = 10;
    const eps = 0.05;
    const result = await odin(exactModel, batch, { temperature: T, epsilon: eps });
    expect(result.gradient).toBe('exact');
    for (let n = 0; n < N; n++) {
      const f = logits64(batch.data, n).map(Math.fround);
      const y = f.indexOf(Math.max(...f));
      const z = Math.max(...f) / T;
      const sum = f.reduce((s, v) => s + Math.exp(v / T - z), 0);
      // w = (e_y - softmax(f / T)) / T, so J^T w = grad log softmax(f / T)_y.
      const w: Matrix = { rows: 1, cols: C, data: Float32Array.from(f, (v, c) => ((c === y ? 1 : 0) - Math.exp(v / T - z) / sum) / T) };
      const grad = derivatives(batch.data.subarray(n * I, (n + 1) * I), w).first;
      const expected = Array.from({ length: I }, (_, i) => Math.fround(batch.data[n * I + i]! - eps * (-grad[i]! >= 0 ? 1 : -1)));
      for (let i = 0; i < I; i++) expect(result.perturbed[n * I + i]!).toBeCloseTo(expected[i]!, 6);
      expect(result.scores[n]!).toBeCloseTo(maxSoftmax(logits64(expected, 0), T), 6);
      expect(result.scores[n]!).toBeGreaterThan(maxSoftmax(f, T));
    }
  });

  it('by finite differences perturbs like the exact gradient wherever the gradient is above the difference error', async () => {
    const { model, exactModel, derivatives } = tanhMlp(21);
    const batch = batchOf(8, I, 22);
    const options = { temperature: 1000, epsilon: 0.0014 };
    const exact = await odin(exactModel, batch, options);
    const fd = await odin(model, batch, options);
    expect(fd.gradient).toBe('finite-difference');
    const { first } = derivatives(batch.data, odinOutputWeights(await model.logits(batch), 1000));
    let compared = 0;
    for (let j = 0; j < batch.data.length; j++) {
      if (Math.abs(first[j]!) < 1e-6 * Math.max(...first.map(Math.abs))) continue;
      compared++;
      expect(fd.perturbed[j], `entry ${j}`).toBe(exact.perturbed[j]);
    }
    expect(compared).toBeGreaterThan(0.9 * batch.data.length);
    if (compared === batch.data.length) expect(Array.from(fd.scores)).toEqual(Array.from(exact.scores));
  });

  it('divides the step by the channel std on the channel axis of NCHW and NHWC inputs', async () => {
    const { exactModel } = tanhMlp(31, 8);
    const std = [0.5, 2];
    for (const [layout, shape, channelOf] of [
      ['NCHW', [3, 2, 2, 2], (i: number) => Math.floor(i / 4) % 2],
      ['NHWC', [3, 2, 2, 2], (i: number) => i % 2],
    ] as const) {
      const batch = batchOf(3, 8, 32, [...shape]);
      const r = await odin(exactModel, batch, { temperature: 5, epsilon: 0.01, inputStd: std, layout });
      for (let i = 0; i < 24; i++) expect(Math.abs(r.perturbed[i]! - batch.data[i]!), `${layout} ${i}`).toBeCloseTo(0.01 / std[channelOf(i)]!, 6);
    }
    const error = await odin(exactModel, batchOf(1, 8, 33, [1, 2, 2, 2]), { inputStd: [1, 2, 3], layout: 'NCHW' }).catch((e: unknown) => e);
    expect(isOpnpError(error) && error.code).toBe('SHAPE_MISMATCH');
  });

  it('counts a zero gradient as positive (x\' = x - epsilon), exactly and by finite differences', async () => {
    // Input 0 has no weight: its gradient is exactly 0, and its finite difference too.
    const projection = randomMatrix(8, I, rng(41));
    for (let j = 0; j < 8; j++) projection.data[j * I] = 0;
    const head = linearHead(randomMatrix(C, 8, rng(42)), [0, 0, 0, 0]);
    const extractor = createLinearFeatureExtractor({ projection, head, input: { name: 'x', shape: [null, I], layout: 'flat' } });
    const batch = batchOf(3, I, 43);
    const exactModel = { ...odinModelOf(extractor), inputGradient: async (b: InputBatch, w: Matrix) => linearReluInputGradient(projection, head.weight, b.data, w) };
    for (const model of [exactModel, odinModelOf(extractor)]) {
      const r = await odin(model, batch, { epsilon: 0.1 });
      for (let n = 0; n < 3; n++) expect(r.perturbed[n * I]!).toBe(Math.fround(batch.data[n * I]! - 0.1));
    }
  });

  it('picks the gradient by mode, gives the temperature-scaled MSP at epsilon 0, and handles empty batches', async () => {
    const { model, exactModel } = tanhMlp(51);
    const batch = batchOf(4, I, 52);
    expect((await odin(exactModel, batch, { gradient: 'finite-difference' })).gradient).toBe('finite-difference');
    const missing = await odin(model, batch, { gradient: 'exact' }).catch((e: unknown) => e);
    expect(isOpnpError(missing) && missing.code).toBe('BACKEND_UNAVAILABLE');
    const zero = await odin(model, batch, { epsilon: 0, temperature: 7 });
    expect(Array.from(zero.scores)).toEqual(Array.from(msp(await model.logits(batch), { temperature: 7 })));
    expect(Array.from(zero.perturbed)).toEqual(Array.from(batch.data));
    const empty = await odin(model, { data: new Float32Array(0), shape: [0, I] });
    expect([empty.scores.length, empty.perturbed.length]).toEqual([0, 0]);
    for (const options of [{ temperature: 0 }, { temperature: NaN }, { epsilon: -1 }, { gradient: 'nope' as never }]) {
      const error = await odin(model, batch, options).catch((e: unknown) => e);
      expect(isOpnpError(error) && error.code, JSON.stringify(options)).toBe('INVALID_ARGUMENT');
    }
  });
});
