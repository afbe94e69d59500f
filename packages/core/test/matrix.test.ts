import { describe, expect, it } from 'vitest';
import { concatRows, matrix, OpnpError, sliceRows, transpose } from '@opnp/core';

describe('matrix', () => {
  it('checks data length against the shape', () => {
    expect(() => matrix(2, 3, new Float32Array(5))).toThrow(OpnpError);
    expect(matrix(2, 3).data.length).toBe(6);
  });
  it('shares a Float32Array and copies (rounding to float32) any other array, as its TSDoc says', () => {
    const f32 = new Float32Array(4);
    const shared = matrix(2, 2, f32);
    f32[0] = 7;
    expect(shared.data).toBe(f32);
    expect(shared.data[0]).toBe(7);
    for (const source of [new Float64Array([0.1, 2, 3, 4]), [0.1, 2, 3, 4]]) {
      const copied = matrix(2, 2, source);
      source[1] = 7;
      expect(copied.data).toBeInstanceOf(Float32Array);
      expect(Array.from(copied.data)).toEqual([Math.fround(0.1), 2, 3, 4]);
    }
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
