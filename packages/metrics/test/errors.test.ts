import { describe, expect, it } from 'vitest';
import { isOpnpError } from '@opnp/core';
import { auprIn, auprOut, auroc, ece, fpr95, oodMetrics, reliabilityDiagram, type Fpr95Convention } from '@opnp/metrics';

type ScoreMetric = (id: ArrayLike<number>, ood: ArrayLike<number>) => unknown;

const scoreMetrics: Record<string, ScoreMetric> = {
  fpr95: (a, b) => fpr95(a, b),
  'fpr95 dice': (a, b) => fpr95(a, b, { convention: 'dice' }),
  'fpr95 ood-positive': (a, b) => fpr95(a, b, { convention: 'ood-positive' }),
  auroc,
  auprIn,
  auprOut,
  oodMetrics: (a, b) => oodMetrics(a, b),
};

/** Runs `fn`, returning the thrown error (fails the test if nothing is thrown). */
function thrown(fn: () => unknown): { code: string; offset: number | undefined; message: string } {
  try {
    fn();
  } catch (e) {
    if (!isOpnpError(e)) throw e;
    return { code: e.code, offset: e.offset, message: e.message };
  }
  throw new Error('expected an OpnpError');
}

describe('score metrics reject bad input', () => {
  for (const [name, metric] of Object.entries(scoreMetrics)) {
    describe(name, () => {
      it('EMPTY_INPUT for an empty argument', () => {
        expect(thrown(() => metric([], [1])).code).toBe('EMPTY_INPUT');
        expect(thrown(() => metric([1], new Float32Array(0))).code).toBe('EMPTY_INPUT');
      });
      it('NON_FINITE naming the argument and the first bad index', () => {
        for (const bad of [NaN, Infinity, -Infinity]) {
          const e1 = thrown(() => metric([1, 2, bad, NaN], [0]));
          expect(e1).toMatchObject({ code: 'NON_FINITE', offset: 2 });
          expect(e1.message).toContain('idScores');
          const e2 = thrown(() => metric([1], new Float32Array([0, bad])));
          expect(e2).toMatchObject({ code: 'NON_FINITE', offset: 1 });
          expect(e2.message).toContain('oodScores');
        }
      });
      it('INVALID_ARGUMENT for a non-array', () => {
        expect(thrown(() => metric(undefined as unknown as number[], [1])).code).toBe('INVALID_ARGUMENT');
      });
    });
  }

  it('fpr95 rejects an unknown convention', () => {
    expect(thrown(() => fpr95([1], [0], { convention: 'sklearn' as Fpr95Convention })).code).toBe('INVALID_ARGUMENT');
  });
});

describe('calibration metrics reject bad input', () => {
  for (const [name, metric] of Object.entries({ ece, reliabilityDiagram })) {
    describe(name, () => {
      it('EMPTY_INPUT, SHAPE_MISMATCH', () => {
        expect(thrown(() => metric([], [])).code).toBe('EMPTY_INPUT');
        expect(thrown(() => metric([0.5, 0.5], [true])).code).toBe('SHAPE_MISMATCH');
      });
      it('NON_FINITE and out-of-range confidences with their index', () => {
        expect(thrown(() => metric([0.5, NaN], [true, true]))).toMatchObject({ code: 'NON_FINITE', offset: 1 });
        expect(thrown(() => metric([0.5, 0.2, 1.0000001], [true, true, false]))).toMatchObject({ code: 'INVALID_ARGUMENT', offset: 2 });
        expect(thrown(() => metric([-0.1], [true]))).toMatchObject({ code: 'INVALID_ARGUMENT', offset: 0 });
      });
      it('correct must be booleans or 0/1', () => {
        expect(thrown(() => metric([0.5, 0.5], [1, 2]))).toMatchObject({ code: 'INVALID_ARGUMENT', offset: 1 });
        expect(thrown(() => metric([0.5], new Uint8Array([255])))).toMatchObject({ code: 'INVALID_ARGUMENT', offset: 0 });
      });
      it('bins must be a positive integer', () => {
        for (const bins of [0, -1, 1.5, NaN, Infinity]) {
          expect(thrown(() => metric([0.5], [true], bins)).code, `bins = ${bins}`).toBe('INVALID_ARGUMENT');
        }
      });
    });
  }
});
