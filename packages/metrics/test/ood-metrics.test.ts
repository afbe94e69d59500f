import { describe, expect, it } from 'vitest';
import { roundHalfEven } from '@opnp/core';
import { auprIn, auprOut, auroc, fpr95, oodMetrics } from '@opnp/metrics';
import {
  bruteAuroc,
  bruteAveragePrecision,
  bruteFpr95Default,
  bruteFpr95Dice,
  bruteFpr95OodPositive,
  continuousScores,
  pythonRound,
  rng,
  tiedScores,
} from './reference.js';

interface Case {
  name: string;
  id: ArrayLike<number>;
  ood: ArrayLike<number>;
}

/** The scenarios every metric is checked on. */
function cases(): Case[] {
  const r = rng(1234);
  const out: Case[] = [];
  // Many ties: integer scores in 0..5, sizes around the 95% boundaries (19, 20, 21, 40, ...).
  for (const [nId, nOod] of [
    [1, 1],
    [2, 3],
    [19, 7],
    [20, 20],
    [21, 5],
    [40, 60],
    [57, 33],
    [100, 100],
    [199, 150],
    [300, 10],
  ] as const) {
    out.push({ name: `ties ${nId}/${nOod}`, id: tiedScores(r, nId, 5, 1), ood: tiedScores(r, nOod, 5) });
    out.push({ name: `ties, same range ${nId}/${nOod}`, id: tiedScores(r, nId, 2), ood: tiedScores(r, nOod, 2) });
  }
  for (const [nId, nOod] of [
    [1, 50],
    [50, 1],
    [20, 20],
    [137, 211],
    [400, 300],
  ] as const) {
    out.push({ name: `continuous ${nId}/${nOod}`, id: continuousScores(r, nId, 1), ood: continuousScores(r, nOod, 0) });
    out.push({
      name: `float32 ${nId}/${nOod}`,
      id: Float32Array.from(continuousScores(r, nId, 0.5)),
      ood: Float32Array.from(continuousScores(r, nOod, 0)),
    });
    out.push({
      name: `float32 ties ${nId}/${nOod}`,
      id: Float32Array.from(tiedScores(r, nId, 4), (x) => x * 0.1),
      ood: Float64Array.from(tiedScores(r, nOod, 4), (x) => x * 0.1),
    });
  }
  out.push({ name: 'all equal', id: [3, 3, 3, 3], ood: [3, 3, 3] });
  out.push({ name: 'single elements, equal', id: [1], ood: [1] });
  out.push({ name: 'single elements, separated', id: [2], ood: [1] });
  out.push({ name: 'single elements, reversed', id: [1], ood: [2] });
  out.push({ name: 'perfectly separated', id: [5, 6, 7, 8, 9], ood: [0, 1, 2, 3, 4.5] });
  out.push({ name: 'reversed', id: [0, 1, 2, 3, 4.5], ood: [5, 6, 7, 8, 9] });
  out.push({ name: 'touching at one value', id: [4, 5, 6], ood: [2, 3, 4] });
  out.push({ name: 'signed zeros and negatives', id: [-0, 0, -1e-300, -5, 2], ood: [0, -0, -5, -7] });
  out.push({ name: 'tiny gaps below float32 precision', id: [1 + 1e-12, 1 + 2e-12, 1], ood: [1 + 1e-12, 1] });
  return out;
}

const asArray = (x: ArrayLike<number>): number[] => Array.from(x);

describe('OOD metrics against brute-force definitions', () => {
  for (const c of cases()) {
    describe(c.name, () => {
      const id = asArray(c.id);
      const ood = asArray(c.ood);
      it('auroc = pair counting with ties one half', () => {
        expect(auroc(c.id, c.ood)).toBeCloseTo(bruteAuroc(id, ood), 12);
      });
      it('auprIn / auprOut = literal average precision', () => {
        expect(auprIn(c.id, c.ood)).toBeCloseTo(bruteAveragePrecision(id, ood), 12);
        expect(auprOut(c.id, c.ood)).toBeCloseTo(
          bruteAveragePrecision(
            ood.map((x) => -x),
            id.map((x) => -x),
          ),
          12,
        );
      });
      it('fpr95 in all three conventions = threshold sweep', () => {
        // FPR95 values are ratios of counts: exact equality is expected.
        expect(fpr95(c.id, c.ood)).toBe(bruteFpr95Default(id, ood));
        expect(fpr95(c.id, c.ood, { convention: 'default' })).toBe(bruteFpr95Default(id, ood));
        expect(fpr95(c.id, c.ood, { convention: 'dice' })).toBe(bruteFpr95Dice(id, ood));
        expect(fpr95(c.id, c.ood, { convention: 'ood-positive' })).toBe(bruteFpr95OodPositive(id, ood));
      });
      it('oodMetrics equals the four separate calls', () => {
        expect(oodMetrics(c.id, c.ood)).toEqual({
          fpr95: fpr95(c.id, c.ood),
          auroc: auroc(c.id, c.ood),
          auprIn: auprIn(c.id, c.ood),
          auprOut: auprOut(c.id, c.ood),
        });
        expect(oodMetrics(c.id, c.ood, { convention: 'dice' }).fpr95).toBe(fpr95(c.id, c.ood, { convention: 'dice' }));
      });
    });
  }
});

describe('FPR95 at every ID count around the 95% boundary', () => {
  it('matches the sweep for N_id = 1..80 and the ood-positive sweep for N_ood = 1..80', () => {
    const r = rng(99);
    for (let n = 1; n <= 80; n++) {
      const id = continuousScores(r, n, 0.7);
      const ood = continuousScores(r, 45, 0);
      expect(fpr95(id, ood), `N_id = ${n}`).toBe(bruteFpr95Default(id, ood));
      expect(fpr95(id, ood, { convention: 'dice' }), `N_id = ${n}`).toBe(bruteFpr95Dice(id, ood));
      const id2 = continuousScores(r, 45, 0.7);
      const ood2 = continuousScores(r, n, 0);
      expect(fpr95(id2, ood2, { convention: 'ood-positive' }), `N_ood = ${n}`).toBe(bruteFpr95OodPositive(id2, ood2));
    }
  });

  it('default: with ID = 1..20, tau = 2 (19/20 = 0.95 counts as reaching 95%)', () => {
    const id = Array.from({ length: 20 }, (_, i) => i + 1);
    expect(fpr95(id, [1.5, 2, 30, 0])).toBe(2 / 4);
    // 21 ID scores: 19/21 < 0.95, so 20 are needed and tau = 2 again (1..21)
    const id21 = Array.from({ length: 21 }, (_, i) => i + 1);
    expect(fpr95(id21, [1.5, 2, 30, 0])).toBe(2 / 4);
  });

  it('ood-positive: the ID false-alarm rate at 95% OOD recall', () => {
    const ood = Array.from({ length: 20 }, (_, i) => i + 1); // 19 lowest OOD scores are <= 19
    expect(fpr95([18.5, 19, 19.5, 100], ood, { convention: 'ood-positive' })).toBe(2 / 4);
  });
});

describe("DICE convention: round(0.05 N) with banker's rounding", () => {
  it('roundHalfEven rounds exact halves to even, like Python 3 round() (numpy keeps the sign of zero)', () => {
    expect([0.5, 1.5, 2.5, 3.5, 4.5, -0.5, -1.5, 0.49999999999999994, 2.5000000000000004].map(roundHalfEven)).toEqual([
      0, 2, 2, 4, 4, -0, -2, 0, 3,
    ]);
    expect([0, 1, 1.2, 1.7, -1.2].map(roundHalfEven)).toEqual([0, 1, 1, 2, -1]);
    for (let i = 0; i < 1000; i++) {
      const x = i * 0.25 - 100;
      expect(roundHalfEven(x) + 0, `x = ${x}`).toBe(pythonRound(x) + 0); // + 0 folds -0 into 0
    }
  });

  it('uses the float64 product 0.05 * N: N = 10, 30, 50, 70, 90, 110, 130 pick indices 0, 2, 2, 4, 4, 6, 6', () => {
    // Python: round(0.05*10)=0, round(1.5)=2, round(2.5)=2, round(3.5000000000000004)=4, round(4.5)=4,
    // round(5.5)=6, round(6.5)=6.
    const expectedIndex = new Map([
      [10, 0],
      [30, 2],
      [50, 2],
      [70, 4],
      [90, 4],
      [110, 6],
      [130, 6],
    ]);
    for (const [n, index] of expectedIndex) {
      const id = Array.from({ length: n }, (_, i) => n - 1 - i); // ascending sorted: 0..n-1, so threshold = index
      const ood = Array.from({ length: 10 }, (_, k) => k + 0.5); // #{ood > index} = 10 - index
      expect(fpr95(id, ood, { convention: 'dice' }), `N = ${n}`).toBe((10 - index) / 10);
    }
  });

  it('counts OOD strictly above the threshold, unlike the default convention', () => {
    const id = Array.from({ length: 20 }, (_, i) => i); // threshold = id[round(1)] = 1
    expect(fpr95(id, [1, 1, 2, 0], { convention: 'dice' })).toBe(1 / 4);
    expect(fpr95(id, [1, 1, 2, 0])).toBe(3 / 4); // tau = 1 and OOD >= 1
  });
});

describe('properties', () => {
  const r = rng(7);
  const id = tiedScores(r, 150, 6, 1);
  const ood = tiedScores(r, 120, 6);
  const neg = (xs: number[]): number[] => xs.map((x) => -x);

  it('auroc(id, ood) = 1 - auroc(ood, id) = auroc(-ood, -id)', () => {
    expect(auroc(id, ood)).toBeCloseTo(1 - auroc(ood, id), 14);
    expect(auroc(neg(ood), neg(id))).toBeCloseTo(auroc(id, ood), 14);
    expect(auroc(id, ood) + auroc(neg(id), neg(ood))).toBeCloseTo(1, 14);
  });

  it('auprOut(id, ood) = auprIn(-ood, -id)', () => {
    expect(auprOut(id, ood)).toBeCloseTo(auprIn(neg(ood), neg(id)), 14);
  });

  it('perfectly separated: fpr95 0 in every convention, auroc = aupr = 1; reversed: fpr95 1, auroc 0', () => {
    const a = [10, 11, 12, 13];
    const b = [1, 2, 3];
    for (const convention of ['default', 'dice', 'ood-positive'] as const) {
      expect(fpr95(a, b, { convention })).toBe(0);
      expect(fpr95(b, a, { convention })).toBe(1);
    }
    expect(oodMetrics(a, b)).toEqual({ fpr95: 0, auroc: 1, auprIn: 1, auprOut: 1 });
    expect(auroc(b, a)).toBe(0);
  });

  it('all scores equal: auroc 0.5, fpr95 1 (default / ood-positive) and 0 (dice, strict), AP = class share', () => {
    const m = oodMetrics([2, 2, 2], [2, 2]);
    expect(m).toEqual({ fpr95: 1, auroc: 0.5, auprIn: 3 / 5, auprOut: 2 / 5 });
    expect(fpr95([2, 2, 2], [2, 2], { convention: 'ood-positive' })).toBe(1);
    expect(fpr95([2, 2, 2], [2, 2], { convention: 'dice' })).toBe(0);
  });

  it('float32 values are compared as given, not re-rounded', () => {
    const f32 = new Float32Array([0.1, 0.2, 0.3]);
    // float32(0.1) > 0.1 in float64; a float64 OOD score of exactly 0.1 is therefore strictly below it.
    expect(auroc(f32, [0.1])).toBe(1);
    expect(auroc(f32, [f32[0]!])).toBeCloseTo(5 / 6, 15);
    // Differences far below float32 resolution still count for float64 input.
    expect(auroc([1 + 1e-12], [1])).toBe(1);
  });

  it('leaves its inputs unmodified', () => {
    const idF32 = Float32Array.from(continuousScores(r, 50, 1));
    const oodArr = continuousScores(r, 40, 0);
    const idCopy = idF32.slice();
    const oodCopy = [...oodArr];
    oodMetrics(idF32, oodArr);
    for (const convention of ['default', 'dice', 'ood-positive'] as const) fpr95(idF32, oodArr, { convention });
    auroc(idF32, oodArr);
    auprIn(idF32, oodArr);
    auprOut(idF32, oodArr);
    expect(idF32).toEqual(idCopy);
    expect(oodArr).toEqual(oodCopy);
  });

  it('analytic case: id = 0..n-1, ood = id + 0.5 gives auroc (n - 1) / (2n)', () => {
    const n = 1000;
    const idS = Array.from({ length: n }, (_, i) => (i * 7919) % n); // a permutation of 0..n-1
    const oodS = idS.map((x) => x + 0.5);
    expect(auroc(idS, oodS)).toBeCloseTo((n - 1) / (2 * n), 14);
  });
});
