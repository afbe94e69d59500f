/**
 * The buffer parsers that decompress, on node:zlib: the same functions as the browser-safe entry's (same
 * checks, same bounds, bit-identical results), two to three times faster on large `.gz` files.
 */
import { parseIdx, type IdxArray, type IdxParseOptions } from '../formats/idx.js';
import { parseMat, type MatParseOptions, type MatVariable } from '../formats/mat.js';
import { zlibEngine } from './inflate-zlib.js';

/**
 * Parses a whole IDX file from its bytes, raw or gzip-compressed (see `fromIdx` of `@opnp/datasets`;
 * here gzip goes through node:zlib).
 *
 * @example
 * ```ts
 * const labels = fromIdx(readFileSync('t10k-labels-idx1-ubyte.gz')); // { dtype: 'uint8', dims: [10000], data }
 * ```
 * @throws OpnpError `'DATASET_FORMAT'` as `fromIdx` of `@opnp/datasets`.
 */
export function fromIdx(bytes: Uint8Array, options: IdxParseOptions = {}): IdxArray {
  return parseIdx(bytes, options, zlibEngine);
}

/**
 * Parses the numeric variables of a MAT v5 file from its bytes (see `fromMat` of `@opnp/datasets`; here
 * compressed elements go through node:zlib).
 *
 * @example
 * ```ts
 * const [X, y] = fromMat(readFileSync('test_32x32.mat')); // X.dims [32, 32, 3, 26032], y.dims [26032, 1]
 * ```
 * @throws OpnpError `'DATASET_FORMAT'` as `fromMat` of `@opnp/datasets`.
 */
export function fromMat(bytes: Uint8Array, options: MatParseOptions = {}): MatVariable[] {
  return parseMat(bytes, options, zlibEngine);
}
