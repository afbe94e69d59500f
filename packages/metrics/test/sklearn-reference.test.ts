/**
 * Cross-check against an independent implementation: values computed by scikit-learn / numpy and committed as a
 * fixture by tools/fixtures/metrics/make_sklearn_reference.py (the tests need no Python).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { auprIn, auprOut, auroc, ece, fpr95 } from '@opnp/metrics';

interface ScoreCase {
  name: string;
  id: number[];
  ood: number[];
  auroc: number;
  auprIn: number;
  auprOut: number;
  fpr95: number;
  fpr95Dice: number;
  fpr95OodPositive: number;
}
interface CalibrationCase {
  confidences: number[];
  correct: number[];
  ece: number;
}
const fixture = JSON.parse(readFileSync(new URL('./fixtures/sklearn-reference.json', import.meta.url), 'utf8')) as {
  cases: ScoreCase[];
  calibration: CalibrationCase[];
};

describe('metrics agree with scikit-learn', () => {
  for (const c of fixture.cases) {
    it(c.name, () => {
      const id = Float32Array.from(c.id);
      const ood = Float32Array.from(c.ood);
      expect(auroc(id, ood)).toBeCloseTo(c.auroc, 12);
      expect(auprIn(id, ood)).toBeCloseTo(c.auprIn, 12);
      expect(auprOut(id, ood)).toBeCloseTo(c.auprOut, 12);
      expect(fpr95(id, ood)).toBeCloseTo(c.fpr95, 12);
      expect(fpr95(id, ood, { convention: 'dice' })).toBeCloseTo(c.fpr95Dice, 12);
      expect(fpr95(id, ood, { convention: 'ood-positive' })).toBeCloseTo(c.fpr95OodPositive, 12);
    });
  }
  it('ECE matches numpy on 15 bins', () => {
    for (const c of fixture.calibration) expect(ece(c.confidences, c.correct.map(Boolean))).toBeCloseTo(c.ece, 12);
  });
});
