import { describe, expect, it } from 'vitest';
import { addProducts, allFinite } from '../src/internal/product-sums.js';
import { mulberry32 } from '../src/random.js';

/** The definition: add the parts into the sums one after another, element by element, in float64. */
function sequentialSums(start: Float64Array, parts: readonly Float32Array[]): Float64Array {
  const sum = start.slice();
  for (const part of parts) for (let i = 0; i < sum.length; i++) sum[i] = sum[i]! + part[i]!;
  return sum;
}

const bits = (a: Float64Array): number[] => Array.from(new Uint32Array(a.buffer));

describe('addProducts', () => {
  // Values (exact in float32) whose float64 sums depend on the order and grouping of the additions: 2^53 + 1 rounds.
  const random = mulberry32(3);
  const pick = (values: readonly number[]) => () => values[Math.floor(random() * values.length)]!;
  const value = pick([1, -1, 0.5, 3, 2 ** 24 + 2, 2 ** 53, -(2 ** 53), 2 ** 60, -0, 1e-30]);
  const startValue = pick([2 ** 53, -(2 ** 53), 1, 0, -0, 2 ** 60, -(2 ** 54)]);
  for (const count of [0, 1, 2, 3, 4, 5, 7, 8, 9]) {
    it(`adds ${count} parts in order, bit for bit as one part after another`, () => {
      const n = 257;
      const start = Float64Array.from({ length: n }, startValue);
      const parts = Array.from({ length: count }, () => Float32Array.from({ length: n }, value));
      const sum = start.slice();
      addProducts(sum, parts);
      expect(bits(sum)).toEqual(bits(sequentialSums(start, parts)));
    });
  }
  it('the order matters for these values (the test can fail)', () => {
    const start = Float64Array.of(2 ** 53);
    const parts = [Float32Array.of(1), Float32Array.of(1), Float32Array.of(-(2 ** 53))];
    const reversed = sequentialSums(start, [...parts].reverse());
    expect(bits(sequentialSums(start, parts))).not.toEqual(bits(reversed));
    const sum = start.slice();
    addProducts(sum, parts);
    expect(sum[0]).toBe(0); // (2^53 + 1) + 1 = 2^53 in float64, then - 2^53 (reversed: 2)
  });
  it('handles empty sums', () => {
    const sum = new Float64Array(0);
    addProducts(sum, [new Float32Array(0), new Float32Array(0), new Float32Array(0), new Float32Array(0), new Float32Array(0)]);
    expect(sum).toHaveLength(0);
  });
});

describe('allFinite', () => {
  it('is true exactly when every entry is finite (NaN and infinities at every position, lengths 0 to 9)', () => {
    for (let n = 0; n <= 9; n++) {
      const finite = Float32Array.from({ length: n }, (_, i) => (i % 3 === 0 ? -0 : 3.4e38 * (i % 2 ? 1 : -1)));
      expect(allFinite(finite), `${n} finite entries`).toBe(true);
      for (let at = 0; at < n; at++) {
        for (const bad of [Number.NaN, Infinity, -Infinity]) {
          const data = finite.slice();
          data[at] = bad;
          expect(allFinite(data), `${bad} at ${at} of ${n}`).toBe(data.every((v) => Number.isFinite(v)));
        }
      }
    }
  });
});
