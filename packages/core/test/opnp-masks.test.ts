import { describe, expect, it } from 'vitest';
import { keepBand, keepMask } from '../src/opnp/thresholds.js';
import { keptWeightCount, pruningMasks } from '../src/opnp/masks.js';
import { pruneHead } from '../src/opnp/prune.js';
import { lowNormNeuronMask, magnitudeWeightMask, meanFeatureNorm, randomNeuronMask, randomWeightMask } from '../src/opnp/pruners.js';
import { OpnpError } from '../src/errors.js';
import { rng, randomMatrix, refKeep, refPercentile } from './helpers.js';

describe('keep bands (docs/numerics.md#thresholds-and-keep-masks)', () => {
  it('uses -inf/+inf when a percentage is 0 and P(s, p) / P(s, 100-p) otherwise', () => {
    const s = [5, 1, 4, 2, 3];
    expect(keepBand(s, 0, 0)).toEqual({ lo: -Infinity, hi: Infinity });
    expect(keepBand(s, 25, 0)).toEqual({ lo: refPercentile(s, 25), hi: Infinity });
    expect(keepBand(s, 0, 25)).toEqual({ lo: -Infinity, hi: refPercentile(s, 75) });
  });
  it('is inclusive at ties: values equal to a threshold are kept', () => {
    // P([1,2,2,2,3], 50) = 2 and P(., 100-40) = 2: every 2 is kept by both bounds.
    const s = [1, 2, 2, 2, 3];
    const { mask, kept } = keepMask(s, 50, 40);
    expect(Array.from(mask)).toEqual([0, 1, 1, 1, 0]);
    expect(kept).toBe(3);
  });
  it('matches the definition on random data with many ties', () => {
    const random = rng(11);
    for (let trial = 0; trial < 40; trial++) {
      const n = 1 + Math.floor(random() * 50);
      const s = Float64Array.from({ length: n }, () => Math.floor(random() * 5) / 4);
      const low = [0, 10, 30, 50][trial % 4]!;
      const high = [0, 0.5, 1, 2, 25][trial % 5]!;
      const { mask, kept } = keepMask(s, low, high);
      const expected = refKeep(s, low, high);
      expect(Array.from(mask)).toEqual(expected);
      expect(kept).toBe(expected.reduce((a, b) => a + b, 0));
    }
  });
  it('rejects percentages outside [0, 100] and NaN sensitivities', () => {
    expect(() => keepMask([1, 2], -1, 0)).toThrow(OpnpError);
    expect(() => keepMask([1, 2], 0, 100.5)).toThrow(OpnpError);
    expect(() => keepMask([1, NaN], 10, 0)).toThrow(/NaN/);
  });
});

describe('pruningMasks and pruneHead (docs/numerics.md#pruned-head)', () => {
  const random = rng(5);
  const C = 6, D = 9;
  const W = randomMatrix(C, D, random);
  const head = { weight: W, bias: Float32Array.from({ length: C }, () => random()) };
  const sens = { classes: C, dim: D, values: Float64Array.from({ length: C * D }, () => Math.floor(random() * 7)) };
  const neuron = Float64Array.from({ length: D }, () => Math.floor(random() * 4));
  const pct = { pMin: 30, pMax: 10, nMin: 20, nMax: 10 };

  it('keeps exactly the weights and neurons inside both bands', () => {
    const masks = pruningMasks(sens, neuron, pct);
    expect(Array.from(masks.param)).toEqual(refKeep(sens.values, 30, 10));
    expect(Array.from(masks.neuron)).toEqual(refKeep(neuron, 20, 10));
    const keepN = refKeep(neuron, 20, 10);
    const keepP = refKeep(sens.values, 30, 10);
    let both = 0;
    for (let c = 0; c < C; c++) for (let j = 0; j < D; j++) both += keepP[c * D + j]! * keepN[j]!;
    expect(keptWeightCount(masks)).toBe(both);
  });
  it('opp ignores the neuron percentages and onp the parameter ones', () => {
    const opp = pruningMasks(sens, neuron, pct, 'opp');
    expect(opp.neuronKept).toBe(D);
    expect(Array.from(opp.param)).toEqual(refKeep(sens.values, 30, 10));
    const onp = pruningMasks(sens, neuron, pct, 'onp');
    expect(onp.paramKept).toBe(C * D);
    expect(Array.from(onp.neuron)).toEqual(refKeep(neuron, 20, 10));
  });
  it('zeroes pruned weights, keeps the bias, and does not modify the head', () => {
    const before = W.data.slice();
    const masks = pruningMasks(sens, neuron, pct);
    const pruned = pruneHead(head, masks);
    for (let c = 0; c < C; c++) {
      for (let j = 0; j < D; j++) {
        const keep = masks.param[c * D + j]! && masks.neuron[j]!;
        expect(pruned.weight.data[c * D + j]).toBe(keep ? W.data[c * D + j] : 0);
      }
    }
    expect(Array.from(pruned.bias)).toEqual(Array.from(head.bias));
    expect(pruned.bias).not.toBe(head.bias);
    expect(Array.from(W.data)).toEqual(Array.from(before));
  });
  it('names the key and the value of a missing or out-of-range percentage', () => {
    const invalid = (message: RegExp) => expect.objectContaining({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(message) });
    expect(() => pruningMasks(sens, neuron, { pMin: 10 } as never)).toThrow(invalid(/percentage pMax must be a number in \[0, 100\] \(percent\), got undefined \(missing\)\. Pass all four of pMin, pMax, nMin, nMax/));
    expect(() => pruningMasks(sens, neuron, { ...pct, nMin: -5 })).toThrow(invalid(/percentage nMin must be a number in \[0, 100\].*got -5/));
    expect(() => pruningMasks(sens, neuron, { ...pct, nMax: NaN })).toThrow(invalid(/percentage nMax .*got NaN/));
    expect(() => pruningMasks(sens, neuron, { ...pct, pMin: '10' as never })).toThrow(invalid(/percentage pMin .*got string "10"/));
    // opp / onp ignore the other pair, so it may be left out.
    expect(pruningMasks(sens, neuron, { pMin: 30, pMax: 10 } as never, 'opp').neuronKept).toBe(D);
  });
  it('refuses pMin + pMax > 100 (or nMin + nMax), naming both values, instead of keeping nothing', () => {
    // The band rule alone would keep no weight: P(s, 60) > P(s, 100 - 60) unless they tie.
    expect(refKeep(sens.values, 60, 60).filter((k) => k === 1).length).toBeLessThan(C * D / 5);
    expect(() => pruningMasks(sens, neuron, { ...pct, pMin: 60, pMax: 60 })).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/pMin \+ pMax must not exceed 100, got pMin = 60, pMax = 60 \(sum 120\)/) }),
    );
    expect(() => pruningMasks(sens, neuron, { ...pct, nMin: 100, nMax: 0.5 })).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/nMin \+ nMax must not exceed 100, got nMin = 100, nMax = 0\.5/) }),
    );
    // A sum of exactly 100 is the edge of the definition: the band [P(s, p), P(s, p)] keeps the ties at that percentile.
    expect(Array.from(pruningMasks(sens, neuron, { ...pct, pMin: 60, pMax: 40 }).param)).toEqual(refKeep(sens.values, 60, 40));
    expect(pruningMasks(sens, neuron, { pMin: 0, pMax: 0, nMin: 100, nMax: 0 }).neuronKept).toBe(refKeep(neuron, 100, 0).filter((k) => k === 1).length);
  });
  it('checks shapes', () => {
    expect(() => pruningMasks(sens, new Float64Array(D - 1), pct)).toThrow(OpnpError);
    expect(() => pruneHead(head, { neuron: new Uint8Array(D + 1) })).toThrow(OpnpError);
    expect(() => pruneHead(head, { param: new Uint8Array(3) })).toThrow(OpnpError);
  });
});

describe('ablation pruners (paper Table 4)', () => {
  const random = rng(9);
  const C = 10, D = 20;
  const head = { weight: randomMatrix(C, D, random), bias: new Float32Array(C) };
  it('random weights remove round(CD (pMin+pMax)/100) weights, reproducibly per seed', () => {
    const a = randomWeightMask(head, 10, 2.5, 1);
    expect(C * D - a.kept).toBe(Math.round((C * D * 12.5) / 100));
    expect(Array.from(a.mask).filter((v) => v === 0).length).toBe(C * D - a.kept);
    expect(Array.from(randomWeightMask(head, 10, 2.5, 1).mask)).toEqual(Array.from(a.mask));
    expect(Array.from(randomWeightMask(head, 10, 2.5, 2).mask)).not.toEqual(Array.from(a.mask));
  });
  it('random neurons remove round(D (nMin+nMax)/100) neurons', () => {
    const m = randomNeuronMask(head, 10, 5, 3);
    expect(D - m.kept).toBe(3);
  });
  it('magnitude pruning applies the band rule to |W|', () => {
    const m = magnitudeWeightMask(head, 30, 5);
    expect(Array.from(m.mask)).toEqual(refKeep(Array.from(head.weight.data, Math.abs), 30, 5));
  });
  it('low-norm neurons use the mean absolute activation over the training features', () => {
    const H = randomMatrix(15, D, random);
    const norms = meanFeatureNorm(H);
    for (let j = 0; j < D; j++) {
      let s = 0;
      for (let n = 0; n < 15; n++) s += Math.abs(H.data[n * D + j]!);
      expect(norms[j]).toBeCloseTo(s / 15, 12);
    }
    expect(Array.from(lowNormNeuronMask(H, 25, 0).mask)).toEqual(refKeep(norms, 25, 0));
    expect(() => meanFeatureNorm({ rows: 0, cols: D, data: new Float32Array(0) })).toThrow(OpnpError);
  });
});
