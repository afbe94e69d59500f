import { describe, expect, it } from 'vitest';
import { concatRows, matrix, OpnpError, sliceRows, transpose } from '@opnp/core';

describe('matrix', () => {
  it('checks data length against the shape', () => {
    expect(() => matrix(2, 3, new Float32Array(5))).toThrow(OpnpError);
    expect(matrix(2, 3).data.length).toBe(6);
  });
  it('slices, concatenates and transposes row-major data', () => {
    const m = matrix(3, 2, [1, 2, 3, 4, 5, 6]);
    expect(Array.from(sliceRows(m, 1, 3).data)).toEqual([3, 4, 5, 6]);
    expect(Array.from(concatRows([sliceRows(m, 2, 3), sliceRows(m, 0, 1)]).data)).toEqual([5, 6, 1, 2]);
    const t = transpose(m);
    expect([t.rows, t.cols]).toEqual([2, 3]);
    expect(Array.from(t.data)).toEqual([1, 3, 5, 2, 4, 6]);
  });
});
