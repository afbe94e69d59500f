/**
 * Argument checks shared by the score modules; `assertTemperature` is public (the pipeline checks temperatures
 * with it before any data is read).
 */
import { OpnpError } from '../errors.js';
import { assertMatrix, type Matrix } from '../matrix.js';

/** Throws `INVALID_ARGUMENT` unless `T` is a finite number > 0. */
export function assertTemperature(T: number): void {
  if (typeof T !== 'number' || !Number.isFinite(T) || T <= 0) {
    throw new OpnpError('INVALID_ARGUMENT', 'temperature must be a finite number > 0', { actual: T });
  }
}

/** Throws `INVALID_ARGUMENT` unless `value` is an integer in `[min, max]`. */
export function assertIntegerInRange(value: number, min: number, max: number, name: string): void {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new OpnpError('INVALID_ARGUMENT', `${name} must be an integer in [${min}, ${max}]`, { actual: value });
  }
}

/** Throws `SHAPE_MISMATCH` unless `a` and `b` have the same number of rows (samples). */
export function assertSameRows(a: Matrix, b: Matrix, nameA: string, nameB: string): void {
  if (a.rows !== b.rows) {
    throw new OpnpError('SHAPE_MISMATCH', `${nameA} and ${nameB} must describe the same samples (equal row counts)`, {
      expected: `${nameB} with ${a.rows} rows`,
      actual: `${b.rows} rows`,
    });
  }
}

/**
 * Checks `features` `[N x D]` and `logits` `[N x C]` of the same `N` samples, `D` and `C` being those of
 * `against` (the fitted model or the head).
 *
 * @throws OpnpError `SHAPE_MISMATCH`
 */
export function assertFeaturesAndLogits(features: Matrix, logits: Matrix, D: number, C: number, against: string): void {
  assertMatrix(features, 'features');
  assertMatrix(logits, 'logits');
  if (features.cols !== D || logits.cols !== C) {
    throw new OpnpError('SHAPE_MISMATCH', `features and logits must match ${against}`, { expected: `N x ${D} and N x ${C}`, actual: `${features.rows} x ${features.cols} and ${logits.rows} x ${logits.cols}` });
  }
  assertSameRows(features, logits, 'features', 'logits');
}

/** Throws `NON_FINITE` if any entry of `data` is NaN (or, with `allowInfinity = false`, infinite). */
export function assertNoNaN(data: ArrayLike<number>, name: string, allowInfinity = true): void {
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!;
    if (Number.isNaN(v) || (!allowInfinity && !Number.isFinite(v))) {
      throw new OpnpError('NON_FINITE', `${name} contains ${Number.isNaN(v) ? 'NaN' : 'an infinite value'}`, {
        offset: i,
        hint: 'Fitted statistics are undefined for non-finite inputs; clean the data first',
      });
    }
  }
}

/** Whether `data[offset .. offset+length)` contains a NaN. */
export function hasNaN(data: ArrayLike<number>, offset: number, length: number): boolean {
  for (let i = offset; i < offset + length; i++) if (Number.isNaN(data[i]!)) return true;
  return false;
}

/** Whether `data[offset .. offset+length)` contains a NaN or an infinity. */
export function hasNonFinite(data: ArrayLike<number>, offset: number, length: number): boolean {
  for (let i = offset; i < offset + length; i++) if (!Number.isFinite(data[i]!)) return true;
  return false;
}

/** Throws `SHAPE_MISMATCH` unless `logits` is a well-formed matrix with at least one class column (when it has rows). */
export function assertLogits(logits: Matrix, name = 'logits'): void {
  assertMatrix(logits, name);
  if (logits.cols === 0 && logits.rows > 0) {
    throw new OpnpError('SHAPE_MISMATCH', `${name} need at least one class column`, { expected: 'N x C with C >= 1', actual: `${logits.rows} x 0` });
  }
}
