import { describe, expect, it } from 'vitest';
import { computeSensitivity, SensitivityAccumulator, type ParameterSensitivity } from '../src/opnp/sensitivity.js';
import { neuronSensitivity, type NeuronStatistic } from '../src/opnp/neuron-sensitivity.js';
import { portableGemmKernel, type GemmKernel } from '../src/gemm.js';
import { linearHead, logits as headLogits, type LinearHead } from '../src/head.js';
import { matrix, sliceRows, type Matrix } from '../src/matrix.js';
import { mulberry32 } from '../src/random.js';
import { expectClose, randomMatrix } from '../src/testing/reference.js';

function gaussian(random: () => number): number {
  const u = 1 - random();
  const v = random();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

/** A `rows x cols` matrix of `map(gaussian)` values, seeded. */
function gaussianMatrix(rows: number, cols: number, seed: number, map: (x: number) => number = (x) => x): Matrix {
  const random = mulberry32(seed);
  return randomMatrix(rows, cols, () => gaussian(random), map);
}

function randomHead(C: number, D: number, seed: number): LinearHead {
  const random = mulberry32(seed + 1000);
  const bias = new Float32Array(C);
  for (let c = 0; c < C; c++) bias[c] = 0.5 * gaussian(random);
  return linearHead(gaussianMatrix(C, D, seed, (x) => 0.7 * x), bias);
}

const relu = (x: number): number => Math.max(0, x);

/** Energy score `S = T logsumexp((W h + b) / T)` of one sample in float64, straight from the definition. */
function energy(W: Float64Array, b: Float32Array, h: Float32Array, hOffset: number, C: number, D: number, T: number): number {
  const z: number[] = [];
  for (let c = 0; c < C; c++) {
    let f = b[c]!;
    for (let j = 0; j < D; j++) f += W[c * D + j]! * h[hOffset + j]!;
    z.push(f / T);
  }
  const max = Math.max(...z);
  return T * (max + Math.log(z.reduce((s, v) => s + Math.exp(v - max), 0)));
}

/**
 * Brute-force sensitivity: central finite differences of the energy score w.r.t. every `W_cj`, per
 * sample, then `mean_n |dS/dW_cj|` (or `|mean_n dS/dW_cj|`).
 */
function finiteDifferenceSensitivity(head: LinearHead, features: Matrix, T: number, absOfSum = false): Float64Array {
  const C = head.weight.rows;
  const D = head.weight.cols;
  const W = Float64Array.from(head.weight.data);
  const out = new Float64Array(C * D);
  const eps = 1e-5;
  for (let n = 0; n < features.rows; n++) {
    for (let k = 0; k < C * D; k++) {
      const w = W[k]!;
      W[k] = w + eps;
      const up = energy(W, head.bias, features.data, n * D, C, D, T);
      W[k] = w - eps;
      const down = energy(W, head.bias, features.data, n * D, C, D, T);
      W[k] = w;
      const grad = (up - down) / (2 * eps);
      out[k] = out[k]! + (absOfSum ? grad : Math.abs(grad));
    }
  }
  for (let k = 0; k < C * D; k++) out[k] = absOfSum ? Math.abs(out[k]! / features.rows) : out[k]! / features.rows;
  return out;
}

describe('SensitivityAccumulator: closed form vs finite differences of the energy score', () => {
  const C = 5;
  const D = 7;
  const head = randomHead(C, D, 1);
  const signed = gaussianMatrix(12, D, 2);

  for (const T of [1, 2]) {
    it(`matches mean_n |dS/dW_cj| at T=${T} (logits computed and given)`, async () => {
      const expected = finiteDifferenceSensitivity(head, signed, T);
      const computed = await computeSensitivity(head, signed, { temperature: T });
      expect(computed.classes).toBe(C);
      expect(computed.dim).toBe(D);
      expect(computed.count).toBe(12);
      expectClose(computed.values, expected, { atol: 1e-9, rtol: 1e-5 });
      const given = await computeSensitivity(head, signed, { temperature: T, logits: headLogits(head, signed) });
      expectClose(given.values, expected, { atol: 1e-9, rtol: 1e-5 });
    });

    it(`'abs-of-sum' matches |mean_n dS/dW_cj| at T=${T}`, async () => {
      const expected = finiteDifferenceSensitivity(head, signed, T, true);
      const computed = await computeSensitivity(head, signed, { temperature: T, aggregation: 'abs-of-sum' });
      expectClose(computed.values, expected, { atol: 1e-7, rtol: 1e-4 });
    });
  }

  it("'abs-of-sum' equals the default on non-negative features and differs on signed ones", async () => {
    const nonNegative = gaussianMatrix(20, D, 3, relu);
    const a = await computeSensitivity(head, nonNegative);
    const b = await computeSensitivity(head, nonNegative, { aggregation: 'abs-of-sum' });
    expectClose(b.values, a.values, { rtol: 1e-12 });
    const c = await computeSensitivity(head, signed);
    const d = await computeSensitivity(head, signed, { aggregation: 'abs-of-sum' });
    let maxGap = 0;
    for (let i = 0; i < c.values.length; i++) {
      expect(d.values[i]!).toBeLessThanOrEqual(c.values[i]! * (1 + 1e-6)); // |mean| <= mean |.|
      maxGap = Math.max(maxGap, c.values[i]! - d.values[i]!);
    }
    expect(maxGap).toBeGreaterThan(0.01);
  });

  it('is stable for logits of +-1000 and does not modify its inputs', async () => {
    const features = gaussianMatrix(4, D, 4, relu);
    const logits = matrix(4, C, [1000, -1000, 0, 0, 0, -1000, 1000, 999, 0, 0, 0, 0, 0, 0, 0, 1000, 1000, 1000, 1000, 1000]);
    const fCopy = features.data.slice();
    const lCopy = logits.data.slice();
    const s = await computeSensitivity(head, features, { logits });
    expect(features.data).toEqual(fCopy);
    expect(logits.data).toEqual(lCopy);
    // Brute force: p from a float64 softmax of the given logits.
    const expected = new Float64Array(C * D);
    for (let n = 0; n < 4; n++) {
      const z = Array.from(logits.data.subarray(n * C, (n + 1) * C));
      const max = Math.max(...z);
      const e = z.map((v) => Math.exp(v - max));
      const total = e.reduce((x, y) => x + y, 0);
      for (let c = 0; c < C; c++) for (let j = 0; j < D; j++) expected[c * D + j] = expected[c * D + j]! + ((e[c]! / total) * Math.abs(features.data[n * D + j]!)) / 4;
    }
    expectClose(s.values, expected, { atol: 1e-12, rtol: 1e-6 });
  });
});

describe('SensitivityAccumulator: streaming, shards and state', () => {
  const C = 6;
  const D = 9;
  const head = randomHead(C, D, 5);
  const features = gaussianMatrix(40, D, 6);

  /** Float64 closed form `mean_n p_c |h_j|` for checking long or chunked accumulations. */
  function closedForm(h: Matrix): Float64Array {
    const f = headLogits(head, h);
    const out = new Float64Array(C * D);
    for (let n = 0; n < h.rows; n++) {
      const z = Array.from(f.data.subarray(n * C, (n + 1) * C));
      const max = Math.max(...z);
      const e = z.map((v) => Math.exp(v - max));
      const total = e.reduce((x, y) => x + y, 0);
      for (let c = 0; c < C; c++) {
        const p = e[c]! / total;
        for (let j = 0; j < D; j++) out[c * D + j] = out[c * D + j]! + p * Math.abs(h.data[n * D + j]!);
      }
    }
    for (let k = 0; k < out.length; k++) out[k] = out[k]! / h.rows;
    return out;
  }

  it('merging two shards equals one pass over the same batches', async () => {
    const batches = [sliceRows(features, 0, 13), sliceRows(features, 13, 25), sliceRows(features, 25, 40)];
    const one = new SensitivityAccumulator(head);
    for (const batch of batches) await one.add(batch);
    const shardA = new SensitivityAccumulator(head);
    await shardA.add(batches[0]!);
    const shardB = new SensitivityAccumulator(head);
    await shardB.add(batches[1]!);
    await shardB.add(batches[2]!);
    shardA.merge(shardB);
    expect(shardA.count).toBe(40);
    expectClose(shardA.result().values, one.result().values, { rtol: 1e-14 });
    // Through serialised state (a checkpoint) as well.
    const shardC = new SensitivityAccumulator(head);
    await shardC.add(batches[0]!);
    const restored = SensitivityAccumulator.fromState(head, shardC.toState());
    restored.merge(shardB.toState());
    expectClose(restored.result().values, one.result().values, { rtol: 1e-14 });
  });

  it('does not depend on how the samples are split into batches', async () => {
    const whole = await computeSensitivity(head, features);
    for (const size of [1, 3, 7]) {
      const acc = new SensitivityAccumulator(head);
      for (let s = 0; s < features.rows; s += size) await acc.add(sliceRows(features, s, s + size));
      expect(acc.count).toBe(40);
      expectClose(acc.result().values, whole.values, { atol: 1e-12, rtol: 1e-6 });
    }
    expectClose(whole.values, closedForm(features), { atol: 1e-12, rtol: 1e-6 });
  });

  it('accumulates long batches (beyond one internal chunk) and empty batches correctly', async () => {
    const big = gaussianMatrix(5000, D, 7, relu);
    const acc = new SensitivityAccumulator(head);
    await acc.add(big);
    await acc.add(matrix(0, D));
    expect(acc.count).toBe(5000);
    expectClose(acc.result().values, closedForm(big), { atol: 1e-10, rtol: 1e-5 });
  });

  it('toState returns an independent copy with the settings', async () => {
    const acc = new SensitivityAccumulator(head, { temperature: 1.5, aggregation: 'abs-of-sum' });
    await acc.add(features);
    const state = acc.toState();
    expect(state).toMatchObject({ classes: C, dim: D, count: 40, temperature: 1.5, aggregation: 'abs-of-sum' });
    const before = acc.result().values;
    state.sum.fill(0);
    expect(acc.result().values).toEqual(before);
    const restored = SensitivityAccumulator.fromState(head, acc.toState());
    expect(restored.temperature).toBe(1.5);
    expect(restored.aggregation).toBe('abs-of-sum');
    expect(restored.result().values).toEqual(before);
  });

  it('queues concurrent add() calls (shared scratch) and matches sequential accumulation', async () => {
    // A kernel that reads its inputs only later, like onnxruntime-node's deferred run.
    const deferred: GemmKernel = {
      name: 'deferred',
      gemm: async (a, b, o) => {
        await new Promise((resolve) => setTimeout(resolve, 2));
        return portableGemmKernel.gemm(a, b, o);
      },
    };
    const signedFeatures = gaussianMatrix(30, D, 12);
    const parts = [sliceRows(signedFeatures, 0, 10), sliceRows(signedFeatures, 10, 17), sliceRows(signedFeatures, 17, 30)];
    const sequential = new SensitivityAccumulator(head);
    for (const part of parts) await sequential.add(part);
    const concurrent = new SensitivityAccumulator(head, { kernel: deferred });
    const bad = gaussianMatrix(2, D, 13);
    bad.data[3] = Number.NaN;
    const results = await Promise.allSettled([concurrent.add(parts[0]!), concurrent.add(bad), concurrent.add(parts[1]!), concurrent.add(parts[2]!)]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'fulfilled']);
    expect(concurrent.count).toBe(30);
    expectClose(concurrent.result().values, sequential.result().values, { rtol: 1e-14 });
  });

  it('uses the given kernel', async () => {
    let calls = 0;
    const kernel: GemmKernel = {
      name: 'counting',
      gemm: (a, b, o) => {
        calls++;
        return portableGemmKernel.gemm(a, b, o);
      },
    };
    const acc = new SensitivityAccumulator(head, { kernel });
    await acc.add(features);
    expect(calls).toBe(2); // logits H W^T, then P^T |H|
    await acc.add(features, headLogits(head, features));
    expect(calls).toBe(3);
  });
});

describe('SensitivityAccumulator: errors', () => {
  const head = randomHead(3, 4, 8);

  it('rejects bad options and mismatched shapes', async () => {
    expect(() => new SensitivityAccumulator(head, { temperature: 0 })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    expect(() => new SensitivityAccumulator(head, { temperature: Number.NaN })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    expect(() => new SensitivityAccumulator(head, { aggregation: 'sum' as never })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    const acc = new SensitivityAccumulator(head);
    await expect(acc.add(gaussianMatrix(2, 5, 1))).rejects.toMatchObject({ code: 'SHAPE_MISMATCH' });
    await expect(acc.add(gaussianMatrix(2, 4, 1), gaussianMatrix(3, 3, 2))).rejects.toMatchObject({ code: 'SHAPE_MISMATCH' });
    await expect(acc.add(gaussianMatrix(2, 4, 1), gaussianMatrix(2, 4, 2))).rejects.toMatchObject({ code: 'SHAPE_MISMATCH' });
  });

  it('throws NON_FINITE naming the batch row, and leaves the state unchanged', async () => {
    const acc = new SensitivityAccumulator(head);
    await acc.add(gaussianMatrix(3, 4, 2));
    const before = acc.toState();
    const bad = gaussianMatrix(5, 4, 3);
    bad.data[2 * 4 + 1] = Number.NaN;
    await expect(acc.add(bad)).rejects.toMatchObject({ code: 'NON_FINITE', offset: 2, message: expect.stringMatching(/batch row 2/) });
    const badLogits = gaussianMatrix(5, 3, 4);
    badLogits.data[4 * 3] = Infinity;
    await expect(acc.add(gaussianMatrix(5, 4, 5), badLogits)).rejects.toMatchObject({ code: 'NON_FINITE', offset: 4 });
    expect(acc.toState()).toEqual(before);
  });

  it('result() of an empty accumulator is EMPTY_INPUT', async () => {
    const acc = new SensitivityAccumulator(head);
    expect(() => acc.result()).toThrow(expect.objectContaining({ code: 'EMPTY_INPUT' }));
    await acc.add(matrix(0, 4));
    expect(() => acc.result()).toThrow(expect.objectContaining({ code: 'EMPTY_INPUT' }));
  });

  it('result(), toState() and merge() refuse to read while an add() is pending (PENDING_OPERATION), then count every batch', async () => {
    const b0 = gaussianMatrix(3, 4, 21, relu);
    const b1 = gaussianMatrix(2, 4, 22, relu);
    const acc = new SensitivityAccumulator(head);
    await acc.add(b0);
    const pending = acc.add(b1); // not awaited
    const pendingError = expect.objectContaining({ code: 'PENDING_OPERATION', message: expect.stringMatching(/^result\(\) was called while 1 add\(\) call on the SensitivityAccumulator is still pending \(3 samples added so far\)\. Await every add\(\) before result\(\)/) });
    expect(() => acc.result()).toThrow(pendingError);
    expect(() => acc.toState()).toThrow(expect.objectContaining({ code: 'PENDING_OPERATION' }));
    expect(() => new SensitivityAccumulator(head).merge(acc)).toThrow(expect.objectContaining({ code: 'PENDING_OPERATION' }));
    await pending;
    const whole = await computeSensitivity(head, matrix(5, 4, [...b0.data, ...b1.data]));
    expect(acc.result().count).toBe(5);
    expectClose(acc.result().values, whole.values, { rtol: 1e-6, atol: 1e-12 });
  });

  it('result() with only un-awaited adds says they are pending, not that add() was never called', async () => {
    const acc = new SensitivityAccumulator(head);
    const adds = [acc.add(gaussianMatrix(2, 4, 23, relu)), acc.add(gaussianMatrix(1, 4, 24, relu))];
    expect(() => acc.result()).toThrow(expect.objectContaining({ code: 'PENDING_OPERATION', message: expect.stringMatching(/2 add\(\) calls on the SensitivityAccumulator are still pending \(0 samples added so far\)/) }));
    await Promise.all(adds);
    expect(acc.result().count).toBe(3);
    // A failed add settles too: it no longer blocks reading.
    await expect(acc.add(matrix(1, 3))).rejects.toMatchObject({ code: 'SHAPE_MISMATCH' });
    expect(acc.result().count).toBe(3);
  });

  it('refuses to merge incompatible accumulators', async () => {
    const acc = new SensitivityAccumulator(head);
    expect(() => acc.merge(new SensitivityAccumulator(randomHead(3, 5, 9)))).toThrow(expect.objectContaining({ code: 'SHAPE_MISMATCH' }));
    expect(() => acc.merge(new SensitivityAccumulator(head, { temperature: 2 }))).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    expect(() => acc.merge(new SensitivityAccumulator(head, { aggregation: 'abs-of-sum' }))).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    const state = acc.toState();
    expect(() => acc.merge({ ...state, sum: new Float64Array(3) })).toThrow(expect.objectContaining({ code: 'SHAPE_MISMATCH' }));
    expect(() => acc.merge({ ...state, count: -1 })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    expect(() => SensitivityAccumulator.fromState(randomHead(4, 4, 1), state)).toThrow(expect.objectContaining({ code: 'SHAPE_MISMATCH' }));
  });
});

describe('neuronSensitivity', () => {
  function brute(param: ParameterSensitivity, statistic: NeuronStatistic): Float64Array {
    const out = new Float64Array(param.dim);
    for (let j = 0; j < param.dim; j++) {
      const col: number[] = [];
      for (let c = 0; c < param.classes; c++) col.push(param.values[c * param.dim + j]!);
      const mean = col.reduce((s, v) => s + v, 0) / col.length;
      const sorted = [...col].sort((x, y) => x - y);
      const m = sorted.length;
      out[j] = {
        mean,
        max: Math.max(...col),
        min: Math.min(...col),
        median: m % 2 === 1 ? sorted[(m - 1) / 2]! : (sorted[m / 2 - 1]! + sorted[m / 2]!) / 2,
        l2: Math.sqrt(col.reduce((s, v) => s + v * v, 0)),
        variance: col.reduce((s, v) => s + (v - mean) ** 2, 0) / col.length,
      }[statistic];
    }
    return out;
  }

  function randomParam(C: number, D: number, seed: number): ParameterSensitivity {
    const random = mulberry32(seed);
    // Quantised values so ties occur.
    const values = Float64Array.from({ length: C * D }, () => Math.round(random() * 8) / 4);
    return { classes: C, dim: D, count: 10, values };
  }

  const statistics: NeuronStatistic[] = ['mean', 'max', 'min', 'median', 'l2', 'variance'];
  for (const statistic of statistics) {
    it(`'${statistic}' matches a brute-force column statistic (odd and even C, ties)`, () => {
      for (const [C, D, seed] of [[1, 4, 1], [2, 3, 2], [5, 6, 3], [8, 5, 4]] as const) {
        const param = randomParam(C, D, seed);
        const copy = param.values.slice();
        expectClose(neuronSensitivity(param, statistic), brute(param, statistic), { atol: 1e-15, rtol: 1e-12 });
        expect(param.values).toEqual(copy);
      }
    });
  }

  it("defaults to 'mean' and handles a known small case", () => {
    const param = { classes: 4, dim: 2, count: 1, values: Float64Array.from([1, 10, 2, 0, 3, 0, 10, 2]) };
    expect(Array.from(neuronSensitivity(param))).toEqual([4, 3]);
    expect(Array.from(neuronSensitivity(param, 'median'))).toEqual([2.5, 1]);
    expect(Array.from(neuronSensitivity(param, 'variance'))).toEqual([12.5, 17]);
  });

  it('rejects unknown statistics, malformed input and zero classes', () => {
    const param = randomParam(3, 2, 5);
    expect(() => neuronSensitivity(param, 'sum' as never)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    expect(() => neuronSensitivity({ ...param, dim: 3 })).toThrow(expect.objectContaining({ code: 'SHAPE_MISMATCH' }));
    expect(() => neuronSensitivity({ classes: 0, dim: 3, count: 0, values: new Float64Array(0) })).toThrow(
      expect.objectContaining({ code: 'EMPTY_INPUT' }),
    );
  });
});

describe('SensitivityAccumulator: float64 sums of the batch products', () => {
  // A kernel whose fused product returns prescribed C x D products (values exact in float32 whose float64 sums depend on
  // the order of the additions), so the expected sums follow from the definition: each batch's product added on its own,
  // in order.
  const C = 1024, D = 2048; // 8 MiB per product: 8 products fill the accumulator's 64 MiB of pending products
  const values = [1, -1, 0.5, 3, 2 ** 24 + 2, 2 ** 53, -(2 ** 53), 2 ** 60, -0, 1e-30];
  function product(seed: number): Float32Array {
    const random = mulberry32(seed);
    const pattern = Float32Array.from({ length: 4096 }, () => values[Math.floor(random() * values.length)]!);
    const out = new Float32Array(C * D);
    for (let i = 0; i < out.length; i += pattern.length) out.set(pattern, i);
    return out;
  }
  function stubKernel(products: Float32Array[], knownFinite?: boolean): GemmKernel {
    let call = 0;
    return {
      name: 'prescribed-products',
      gemm: (a, b, o) => portableGemmKernel.gemm(a, b, o),
      accelerators: {
        softmaxTransposedProduct: async () => ({ rows: C, cols: D, data: products[call++]!, ...(knownFinite === undefined ? {} : { knownFinite }) }),
      },
    };
  }
  const head = linearHead(matrix(C, D), new Float32Array(C));
  /** The first index where `a` and `b` differ in any bit (`-1`: bit for bit equal); a cheap check for 2M entries. */
  function firstBitDifference(a: Float64Array, b: Float64Array): number {
    const x = new Uint32Array(a.buffer, a.byteOffset, a.length * 2), y = new Uint32Array(b.buffer, b.byteOffset, b.length * 2);
    if (x.length !== y.length) return 0;
    for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return i >> 1;
    return -1;
  }

  it('adds each batch product on its own, in order, bit for bit (before and after the pending products are flushed)', async () => {
    const products = Array.from({ length: 10 }, (_, k) => product(k + 1));
    const acc = new SensitivityAccumulator(head, { kernel: stubKernel(products, true) });
    const expected = new Float64Array(C * D);
    for (const [k, part] of products.entries()) {
      await acc.add(matrix(1, D), matrix(1, C));
      for (let i = 0; i < expected.length; i++) expected[i] = expected[i]! + part[i]!;
      if (k === 2 || k === 7 || k === 8) expect(firstBitDifference(acc.toState().sum, expected), `after ${k + 1} batches`).toBe(-1);
    }
    const inv = 1 / products.length;
    expect(firstBitDifference(acc.result().values, expected.map((v) => v * inv))).toBe(-1);
  });

  it('checks the product itself unless the kernel vouches for it (knownFinite), and adds nothing on failure', async () => {
    for (const knownFinite of [undefined, false]) {
      const bad = product(1);
      bad[12345] = Number.NaN;
      const acc = new SensitivityAccumulator(head, { kernel: stubKernel([product(2), bad], knownFinite) });
      await acc.add(matrix(1, D), matrix(1, C));
      const before = acc.toState();
      await expect(acc.add(matrix(1, D), matrix(1, C)), `knownFinite ${knownFinite}`).rejects.toMatchObject({ code: 'NON_FINITE' });
      expect(firstBitDifference(acc.toState().sum, before.sum)).toBe(-1);
      expect(acc.count).toBe(1);
    }
  });
});
