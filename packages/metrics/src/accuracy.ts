/**
 * Classification accuracy and the argmax that turns logits into predictions.
 */
import { OpnpError } from '@opnp/core';
import { assertSameLength, classIndicesCopy } from './internal/validate.js';

/**
 * Fraction of `predictions` equal to `labels`.
 *
 * @param predictions - `[N]` predicted class indices (integers), e.g. from {@link argmaxRows}.
 * @param labels - `[N]` true class indices (integers).
 * @returns a fraction in [0, 1].
 * @throws OpnpError `EMPTY_INPUT`, `NON_FINITE`, `INVALID_ARGUMENT` (a non-integer entry; `offset` = its index), `SHAPE_MISMATCH`.
 *
 * @example
 * ```ts
 * accuracy([0, 2, 1, 1], [0, 2, 2, 1]); // 0.75
 * ```
 */
export function accuracy(predictions: ArrayLike<number>, labels: ArrayLike<number>): number {
  const pred = classIndicesCopy(predictions, 'predictions');
  const truth = classIndicesCopy(labels, 'labels');
  assertSameLength('predictions', pred.length, 'labels', truth.length);
  let hits = 0;
  for (let i = 0; i < pred.length; i++) if (pred[i] === truth[i]) hits++;
  return hits / pred.length;
}

/** A row-major `rows x cols` array; a core `Matrix` qualifies. */
export interface RowMajor {
  readonly rows: number;
  readonly cols: number;
  readonly data: ArrayLike<number>;
}

/**
 * Index of the largest entry of each row of a row-major matrix (the predicted class of logits or
 * probabilities). Ties go to the first (lowest) index, like `numpy.argmax`; +-Infinity is allowed.
 *
 * @param logits - `[N, C]` row-major, entry `(i, c)` at `data[i * cols + c]` (a core `Matrix` works).
 * @returns `[N]` class indices.
 * @throws OpnpError `SHAPE_MISMATCH` (`data.length !== rows * cols`), `INVALID_ARGUMENT` (bad dimensions or
 *   `cols = 0` with rows), `NON_FINITE` (NaN; `offset` = its flat index).
 *
 * @example
 * ```ts
 * argmaxRows({ rows: 2, cols: 3, data: [0.1, 2, 2, 5, -1, 0] }); // Int32Array [1, 0]
 * ```
 */
export function argmaxRows(logits: RowMajor): Int32Array {
  const { rows, cols, data } = logits;
  if (!Number.isInteger(rows) || rows < 0 || !Number.isInteger(cols) || cols < 0) {
    throw new OpnpError('INVALID_ARGUMENT', 'rows and cols must be non-negative integers', { actual: `${rows} x ${cols}` });
  }
  if (data === null || data === undefined || data.length !== rows * cols) {
    throw new OpnpError('SHAPE_MISMATCH', `logits data length does not match its shape ${rows} x ${cols}`, {
      expected: rows * cols,
      actual: data?.length,
    });
  }
  if (rows > 0 && cols === 0) {
    throw new OpnpError('INVALID_ARGUMENT', 'argmax of rows with no columns is undefined', { actual: `${rows} x 0` });
  }
  const out = new Int32Array(rows);
  for (let i = 0; i < rows; i++) {
    const offset = i * cols;
    let best = 0;
    let bestValue = -Infinity;
    for (let c = 0; c < cols; c++) {
      const v = data[offset + c]!;
      if (Number.isNaN(v)) {
        throw new OpnpError('NON_FINITE', 'logits contain NaN', { offset: offset + c, hint: 'argmax of NaN is undefined' });
      }
      if (v > bestValue || c === 0) {
        best = c;
        bestValue = v;
      }
    }
    out[i] = best;
  }
  return out;
}
