/**
 * The one matrix type of the toolkit: dense, row-major, float32.
 */
import { OpnpError } from './errors.js';

/**
 * A dense row-major `rows x cols` float32 matrix: entry `(i, j)` is `data[i * cols + j]`.
 * `data.length` is exactly `rows * cols`.
 */
export interface Matrix {
  readonly rows: number;
  readonly cols: number;
  readonly data: Float32Array;
}

function assertDimension(name: string, value: number): void {
  if (!Number.isInteger(value) || value < 0) {
    throw new OpnpError('INVALID_ARGUMENT', `Matrix ${name} must be a non-negative integer`, { actual: value });
  }
}

/**
 * Creates a checked {@link Matrix}. Without `data` the matrix is zero-filled. A `Float32Array` is used as is (not
 * copied: later writes to it show in the matrix); any other array (`number[]`, `Float64Array`, ...) is copied into a
 * new `Float32Array`, rounding each value to float32, so later writes to it do not. `data` must hold exactly
 * `rows * cols` values.
 *
 * @example
 * ```ts
 * const w = matrix(2, 3, new Float32Array([1, 2, 3, 4, 5, 6])); // [[1,2,3],[4,5,6]]
 * ```
 */
export function matrix(rows: number, cols: number, data?: Float32Array | ArrayLike<number>): Matrix {
  assertDimension('rows', rows);
  assertDimension('cols', cols);
  let values: Float32Array;
  if (data === undefined) values = new Float32Array(rows * cols);
  else values = data instanceof Float32Array ? data : Float32Array.from(data);
  if (values.length !== rows * cols) {
    throw new OpnpError('SHAPE_MISMATCH', `Matrix data length does not match its shape ${rows} x ${cols}`, {
      expected: rows * cols,
      actual: values.length,
    });
  }
  return { rows, cols, data: values };
}

/** Throws `SHAPE_MISMATCH` unless `value` is a well-formed {@link Matrix}; `name` is used in the message. */
export function assertMatrix(value: Matrix, name = 'matrix'): void {
  if (
    value === null ||
    typeof value !== 'object' ||
    !(value.data instanceof Float32Array) ||
    !Number.isInteger(value.rows) ||
    !Number.isInteger(value.cols) ||
    value.rows < 0 ||
    value.cols < 0 ||
    value.data.length !== value.rows * value.cols
  ) {
    throw new OpnpError('SHAPE_MISMATCH', `${name} is not a row-major float32 matrix`, {
      expected: '{ rows, cols, data: Float32Array(rows * cols) }',
      actual: value && typeof value === 'object' ? { rows: value.rows, cols: value.cols, length: value.data?.length } : value,
    });
  }
}

/** Row `i` of `m` as a subarray view (no copy). */
export function row(m: Matrix, i: number): Float32Array {
  return m.data.subarray(i * m.cols, (i + 1) * m.cols);
}

/** Rows `[start, end)` of `m` as a matrix view sharing `m.data` (no copy). */
export function sliceRows(m: Matrix, start: number, end: number): Matrix {
  const s = Math.max(0, Math.min(start, m.rows));
  const e = Math.max(s, Math.min(end, m.rows));
  return { rows: e - s, cols: m.cols, data: m.data.subarray(s * m.cols, e * m.cols) };
}

/** Concatenates matrices with equal `cols` vertically into a new matrix. */
export function concatRows(parts: readonly Matrix[]): Matrix {
  if (parts.length === 0) throw new OpnpError('EMPTY_INPUT', 'concatRows needs at least one matrix');
  const cols = parts[0]!.cols;
  let rows = 0;
  for (const [index, part] of parts.entries()) {
    assertMatrix(part, `parts[${index}]`);
    if (part.cols !== cols) {
      throw new OpnpError('SHAPE_MISMATCH', `concatRows: parts[${index}] has a different column count`, { expected: cols, actual: part.cols });
    }
    rows += part.rows;
  }
  const out = new Float32Array(rows * cols);
  let offset = 0;
  for (const part of parts) {
    out.set(part.data, offset);
    offset += part.data.length;
  }
  return { rows, cols, data: out };
}

/** The `cols x rows` transpose of `m` as a new matrix. */
export function transpose(m: Matrix): Matrix {
  const out = new Float32Array(m.data.length);
  const { rows, cols, data } = m;
  for (let i = 0; i < rows; i++) {
    const base = i * cols;
    for (let j = 0; j < cols; j++) out[j * rows + i] = data[base + j]!;
  }
  return { rows: cols, cols: rows, data: out };
}
