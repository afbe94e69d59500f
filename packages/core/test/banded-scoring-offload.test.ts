/**
 * `offloadedBandedGridLogSumExp` (`@opnp/core/node`): the grid search's scoring step split between a worker thread and
 * the calling thread when the parts are on shared memory (and not too few rows), on the calling thread otherwise,
 * equal bit for bit to `bandedGridLogSumExpWasm` either way.
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { BandedGridParts, BandedGridShape } from '../src/kernel-accelerators.js';
import { closeBandedScoringWorker, offloadedBandedGridLogSumExp } from '../src/node/banded-scoring-offload.js';
import { bandedGridLogSumExpWasm } from '../src/opnp/grid/banded-lse-wasm.js';
import { rng } from './helpers.js';

const SHAPE: BandedGridShape = { rows: 37, classes: 21, weightLow: 4, weightHigh: 3, neuronLow: 3, neuronHigh: 3 };

/** Random parts of `SHAPE`, on shared memory or not, with a NaN, an infinity and a huge value among them. */
function parts(seed: number, shared: boolean, rows = SHAPE.rows): BandedGridParts {
  const random = rng(seed);
  const array = (n: number) => {
    const out = shared ? new Float32Array(new SharedArrayBuffer(4 * n)) : new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = 8 * random() - 4;
    return out;
  };
  const { classes, weightLow, weightHigh, neuronLow, neuronHigh } = SHAPE;
  const low = Array.from({ length: neuronLow + neuronHigh }, () => array(rows * weightLow * classes));
  const high = Array.from({ length: neuronLow + neuronHigh }, () => array(rows * weightHigh * classes));
  low[0]![5] = NaN;
  low[1]![200] = Infinity;
  high[2]![17] = 3e4;
  return { low, high };
}

const bias = Float32Array.from({ length: SHAPE.classes }, (_, c) => c / 7 - 1);

function inline(p: BandedGridParts) {
  const result = bandedGridLogSumExpWasm(p, SHAPE, bias);
  expect(result, 'WebAssembly SIMD runs under Node').not.toBeNull();
  return result!;
}

describe('offloadedBandedGridLogSumExp', () => {
  afterAll(() => closeBandedScoringWorker());

  it('scores parts on shared memory on two threads, bit for bit as on the calling thread alone, in submission order', async () => {
    await closeBandedScoringWorker();
    const inputs = [1, 2, 3].map((seed) => parts(seed, true));
    const results = await Promise.all(inputs.map((p) => offloadedBandedGridLogSumExp(p, SHAPE, bias)));
    results.forEach((result, i) => {
      const want = inline(inputs[i]!);
      expect(Array.from(result!.logSum), `call ${i}: logSum`).toEqual(Array.from(want.logSum));
      expect(Array.from(result!.shifts), `call ${i}: shifts`).toEqual(Array.from(want.shifts));
    });
    expect(await closeBandedScoringWorker(), 'a worker ran').toBe(true);
  });

  it('scores parts on ordinary buffers, or fewer than 16 rows, on the calling thread (no worker)', async () => {
    for (const [p, shape] of [[parts(4, false), SHAPE], [parts(7, true, 15), { ...SHAPE, rows: 15 }]] as const) {
      const result = await offloadedBandedGridLogSumExp(p, shape, bias);
      const want = bandedGridLogSumExpWasm(p, shape, bias)!;
      expect(Array.from(result!.logSum)).toEqual(Array.from(want.logSum));
      expect(Array.from(result!.shifts)).toEqual(Array.from(want.shifts));
      expect(await closeBandedScoringWorker(), `${shape.rows} rows: no worker was started`).toBe(false);
    }
  });

  it('scores the tasks a closed worker held on the calling thread', async () => {
    const inputs = [5, 6].map((seed) => parts(seed, true));
    const pending = inputs.map((p) => offloadedBandedGridLogSumExp(p, SHAPE, bias));
    await closeBandedScoringWorker();
    const results = await Promise.all(pending);
    results.forEach((result, i) => expect(Array.from(result!.logSum), `call ${i}`).toEqual(Array.from(inline(inputs[i]!).logSum)));
  });
});
