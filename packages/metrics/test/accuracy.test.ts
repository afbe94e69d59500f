import { describe, expect, it } from 'vitest';
import { matrix, OpnpError } from '@opnp/core';
import { accuracy, argmaxRows } from '@opnp/metrics';
import { rng } from './reference.js';

describe('accuracy', () => {
  it('is the fraction of equal entries', () => {
    expect(accuracy([0, 2, 1, 1], [0, 2, 2, 1])).toBe(0.75);
    expect(accuracy(new Int32Array([3]), [3])).toBe(1);
    expect(accuracy([1, 1], new Float64Array([0, 0]))).toBe(0);
  });
  it('rejects fractional class indices and mismatched lengths', () => {
    expect(() => accuracy([0.5], [0])).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT', offset: 0 }));
    expect(() => accuracy([0, 1], [0])).toThrow(expect.objectContaining({ code: 'SHAPE_MISMATCH' }));
    expect(() => accuracy([], [])).toThrow(expect.objectContaining({ code: 'EMPTY_INPUT' }));
    expect(() => accuracy([0, NaN], [0, 1])).toThrow(expect.objectContaining({ code: 'NON_FINITE', offset: 1 }));
  });
});

describe('argmaxRows', () => {
  it('matches a naive per-row search on random logits (first index wins ties)', () => {
    const r = rng(5);
    const rows = 50;
    const cols = 7;
    const data = Float32Array.from({ length: rows * cols }, () => Math.floor(r() * 4)); // many ties
    const got = argmaxRows(matrix(rows, cols, data));
    for (let i = 0; i < rows; i++) {
      const rowValues = Array.from(data.subarray(i * cols, (i + 1) * cols));
      expect(got[i]).toBe(rowValues.indexOf(Math.max(...rowValues)));
    }
  });
  it('handles infinities, plain arrays and empty matrices', () => {
    expect(Array.from(argmaxRows({ rows: 2, cols: 3, data: [0.1, 2, 2, 5, -1, 0] }))).toEqual([1, 0]);
    expect(Array.from(argmaxRows({ rows: 2, cols: 2, data: [-Infinity, -Infinity, 1, Infinity] }))).toEqual([0, 1]);
    expect(argmaxRows({ rows: 0, cols: 4, data: [] })).toHaveLength(0);
  });
  it('rejects NaN, a wrong data length and zero columns', () => {
    expect(() => argmaxRows({ rows: 2, cols: 2, data: [0, 1, NaN, 1] })).toThrow(expect.objectContaining({ code: 'NON_FINITE', offset: 2 }));
    expect(() => argmaxRows({ rows: 2, cols: 2, data: [0, 1, 1] })).toThrow(OpnpError);
    expect(() => argmaxRows({ rows: 2, cols: 2, data: [0, 1, 1] })).toThrow(expect.objectContaining({ code: 'SHAPE_MISMATCH' }));
    expect(() => argmaxRows({ rows: 1, cols: 0, data: [] })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });
});
