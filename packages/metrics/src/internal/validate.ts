/**
 * Internal input checks shared by every metric: each public function validates its arguments here once,
 * then hands plain float64 / uint8 arrays to kernels that never validate.
 */
import { OpnpError } from '@opnp/core';

function isArrayLike(value: unknown): value is ArrayLike<unknown> {
  return (
    value !== null &&
    value !== undefined &&
    typeof value === 'object' &&
    typeof (value as { length?: unknown }).length === 'number'
  );
}

function assertArrayLike(value: unknown, name: string): asserts value is ArrayLike<unknown> {
  if (!isArrayLike(value)) {
    throw new OpnpError('INVALID_ARGUMENT', `${name} must be an array of numbers`, {
      expected: 'number[], Float32Array or Float64Array',
      actual: value === null ? 'null' : typeof value,
    });
  }
}

function assertNonEmpty(length: number, name: string): void {
  if (length === 0) {
    throw new OpnpError('EMPTY_INPUT', `${name} is empty`, { hint: 'Every metric needs at least one value per argument' });
  }
}

/**
 * Copies `values` into a new float64 array, exactly (float32 values convert without rounding).
 * Throws `EMPTY_INPUT` on an empty array, `NON_FINITE` on NaN or +-Infinity and `INVALID_ARGUMENT` on
 * entries that are not numbers; `offset` is the index of the first bad entry.
 */
export function finiteFloat64Copy(values: ArrayLike<number>, name: string): Float64Array {
  assertArrayLike(values, name);
  const n = values.length;
  assertNonEmpty(n, name);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const v: unknown = values[i];
    if (typeof v !== 'number') {
      throw new OpnpError('INVALID_ARGUMENT', `${name} contains a value that is not a number`, { offset: i, actual: typeof v });
    }
    if (!Number.isFinite(v)) {
      throw new OpnpError('NON_FINITE', `${name} contains a non-finite value`, {
        offset: i,
        actual: String(v),
        hint: 'Metrics are undefined for NaN or infinite scores; check the model outputs or drop those samples',
      });
    }
    out[i] = v;
  }
  return out;
}

/** Throws `SHAPE_MISMATCH` unless the two lengths are equal. */
export function assertSameLength(aName: string, aLength: number, bName: string, bLength: number): void {
  if (aLength !== bLength) {
    throw new OpnpError('SHAPE_MISMATCH', `${aName} and ${bName} must have the same length`, {
      expected: `${bName}.length = ${aLength}`,
      actual: bLength,
    });
  }
}

/** Copies confidences into float64 after checking they are finite numbers in [0, 1]. */
export function confidencesCopy(confidences: ArrayLike<number>, name: string): Float64Array {
  const out = finiteFloat64Copy(confidences, name);
  for (let i = 0; i < out.length; i++) {
    const c = out[i]!;
    if (c < 0 || c > 1) {
      throw new OpnpError('INVALID_ARGUMENT', `${name} must lie in [0, 1]`, {
        offset: i,
        actual: c,
        hint: 'Pass probabilities (e.g. the max softmax), not logits or percentages',
      });
    }
  }
  return out;
}

/**
 * `correct` as a 0/1 `Uint8Array`. Accepts booleans and the numbers 0 and 1 (`boolean[]`, `Uint8Array`,
 * `number[]`); anything else throws `INVALID_ARGUMENT` with the index of the first bad entry.
 */
export function correctnessCopy(correct: ArrayLike<boolean> | ArrayLike<number>, name: string): Uint8Array {
  assertArrayLike(correct, name);
  const n = correct.length;
  assertNonEmpty(n, name);
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const v: unknown = correct[i];
    if (v === true || v === 1) out[i] = 1;
    else if (v !== false && v !== 0) {
      throw new OpnpError('INVALID_ARGUMENT', `${name} must hold booleans or the numbers 0 and 1`, {
        offset: i,
        actual: typeof v === 'number' ? String(v) : typeof v,
      });
    }
  }
  return out;
}

/** Copies integer class indices (predictions or labels) into float64; throws on non-finite or fractional entries. */
export function classIndicesCopy(values: ArrayLike<number>, name: string): Float64Array {
  const out = finiteFloat64Copy(values, name);
  for (let i = 0; i < out.length; i++) {
    if (!Number.isInteger(out[i])) {
      throw new OpnpError('INVALID_ARGUMENT', `${name} must hold integer class indices`, {
        offset: i,
        actual: out[i],
        hint: 'For logits or probabilities, take the argmax first (argmaxRows)',
      });
    }
  }
  return out;
}

/** Throws `INVALID_ARGUMENT` unless `bins` is a positive integer. */
export function assertBinCount(bins: number): void {
  if (typeof bins !== 'number' || !Number.isInteger(bins) || bins < 1) {
    throw new OpnpError('INVALID_ARGUMENT', 'bins must be a positive integer', {
      expected: 'an integer >= 1 (default 15)',
      actual: typeof bins === 'number' ? String(bins) : typeof bins,
    });
  }
}
