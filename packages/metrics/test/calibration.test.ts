import { describe, expect, it } from 'vitest';
import { ece, reliabilityDiagram, DEFAULT_CALIBRATION_BINS } from '@opnp/metrics';
import { bruteEce, rng } from './reference.js';

function randomCalibrationData(seed: number, n: number, quantised: boolean): { conf: number[]; correct: boolean[] } {
  const r = rng(seed);
  const conf = Array.from({ length: n }, () => (quantised ? Math.floor(r() * 31) / 30 : r()));
  const correct = conf.map((c) => r() < c * 0.9);
  return { conf, correct };
}

describe('ece against a naive bin loop', () => {
  for (const [seed, n, quantised] of [
    [1, 1, false],
    [2, 17, false],
    [3, 500, false],
    [4, 500, true], // many confidences exactly on bin edges (k/30 hits every k/15)
    [5, 64, true],
  ] as const) {
    it(`seed ${seed}, N = ${n}${quantised ? ', values on bin edges' : ''}`, () => {
      const { conf, correct } = randomCalibrationData(seed, n, quantised);
      for (const bins of [1, 2, 10, 15, 20]) {
        expect(ece(conf, correct, bins), `bins = ${bins}`).toBeCloseTo(bruteEce(conf, correct, bins), 12);
      }
      expect(ece(conf, correct)).toBeCloseTo(bruteEce(conf, correct, 15), 12);
    });
  }

  it('accepts Float32Array confidences and Uint8Array / 0-1 number correctness', () => {
    const { conf, correct } = randomCalibrationData(9, 300, false);
    const f32 = Float32Array.from(conf);
    const expected = bruteEce(Array.from(f32), correct);
    expect(ece(f32, correct)).toBeCloseTo(expected, 12);
    expect(ece(f32, Uint8Array.from(correct, Number))).toBeCloseTo(expected, 12);
    expect(ece(f32, correct.map(Number))).toBeCloseTo(expected, 12);
  });

  it('is 0 on perfectly calibrated bins', () => {
    // bin of 0.5 with half correct, bin of 0.75 with three quarters correct, bin of 1 all correct
    const conf = [0.5, 0.5, 0.75, 0.75, 0.75, 0.75, 1, 1];
    const correct = [true, false, true, true, false, true, true, true];
    expect(ece(conf, correct)).toBe(0);
    expect(reliabilityDiagram(conf, correct).ece).toBe(0);
  });

  it('edges: a confidence of exactly 0 goes in the first bin, b/B in bin b-1, 1 in the last', () => {
    const d = reliabilityDiagram([0, 1 / 15, 2 / 15, 1], [false, true, true, true]);
    expect(d.bins.map((b) => b.count)).toEqual([2, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
    expect(d.bins[0]!.confidence).toBeCloseTo(1 / 30, 15);
    expect(d.bins[0]!.accuracy).toBe(0.5);
    expect(ece([0], [false])).toBe(0);
    expect(ece([0], [true])).toBe(1);
    expect(ece([1], [false])).toBe(1);
  });

  it('worked example from the docs', () => {
    expect(ece([0.9, 0.9, 0.6, 0.6], [true, false, true, true])).toBeCloseTo(0.4, 15);
  });
});

describe('reliabilityDiagram', () => {
  it('returns B bins with edges, counts, means (null when empty) and the same ECE', () => {
    const { conf, correct } = randomCalibrationData(21, 400, false);
    const d = reliabilityDiagram(conf, correct, 10);
    expect(d.bins).toHaveLength(10);
    expect(d.count).toBe(400);
    expect(d.ece).toBe(ece(conf, correct, 10));
    let total = 0;
    d.bins.forEach((bin, b) => {
      expect(bin.lower).toBe(b / 10);
      expect(bin.upper).toBe((b + 1) / 10);
      const members = conf.map((c, i) => ({ c, ok: correct[i]! })).filter(({ c }) => (c > bin.lower && c <= bin.upper) || (b === 0 && c === 0));
      expect(bin.count).toBe(members.length);
      total += bin.count;
      if (members.length === 0) {
        expect(bin.confidence).toBeNull();
        expect(bin.accuracy).toBeNull();
      } else {
        expect(bin.confidence).toBeCloseTo(members.reduce((s, m) => s + m.c, 0) / members.length, 14);
        expect(bin.accuracy).toBeCloseTo(members.filter((m) => m.ok).length / members.length, 14);
      }
    });
    expect(total).toBe(400);
  });

  it('uses 15 bins by default and reports empty bins as null', () => {
    const d = reliabilityDiagram([0.95], [true]);
    expect(DEFAULT_CALIBRATION_BINS).toBe(15);
    expect(d.bins).toHaveLength(15);
    expect(d.bins.filter((b) => b.count === 0).every((b) => b.confidence === null && b.accuracy === null)).toBe(true);
    expect(d.bins[14]).toEqual({ lower: 14 / 15, upper: 1, count: 1, confidence: 0.95, accuracy: 1 });
    expect(JSON.parse(JSON.stringify(d)).bins[0].confidence).toBeNull();
  });

  it('leaves its inputs unmodified', () => {
    const conf = new Float32Array([0.3, 0.9, 0.1, 0.6]);
    const correct = [true, false, false, true];
    const before = [conf.slice(), [...correct]];
    reliabilityDiagram(conf, correct);
    ece(conf, correct, 4);
    expect([conf, correct]).toEqual(before);
  });
});
