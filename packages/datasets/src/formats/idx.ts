/**
 * MNIST-family IDX files (pure parser, no file access): magic `00 00 <dtype> <ndims>`, then `ndims`
 * big-endian uint32 dimensions, then the big-endian values in row-major order.
 */
import { formatError } from '../errors.js';
import { inflateAll, inflatePrefix, isGzip, maxInflatedBytes, type InflateEngine } from '../inflate.js';
import { fflateEngine } from '../inflate-fflate.js';

/** IDX element types: `0x08 uint8`, `0x09 int8`, `0x0B int16`, `0x0C int32`, `0x0D float32`, `0x0E float64`. */
export type IdxDtype = 'uint8' | 'int8' | 'int16' | 'int32' | 'float32' | 'float64';

/** Typed array of an IDX dtype. */
export type IdxData = Uint8Array | Int8Array | Int16Array | Int32Array | Float32Array | Float64Array;

const DTYPES: Record<number, { dtype: IdxDtype; bytes: number }> = {
  0x08: { dtype: 'uint8', bytes: 1 },
  0x09: { dtype: 'int8', bytes: 1 },
  0x0b: { dtype: 'int16', bytes: 2 },
  0x0c: { dtype: 'int32', bytes: 4 },
  0x0d: { dtype: 'float32', bytes: 4 },
  0x0e: { dtype: 'float64', bytes: 8 },
};

/** Most dimensions accepted in a header. */
const MAX_DIMS = 8;

/** A parsed IDX header. */
export interface IdxHeader {
  readonly dtype: IdxDtype;
  /** Bytes per element. */
  readonly elementBytes: number;
  /** Dimensions, first = number of items. */
  readonly dims: readonly number[];
  /** Header length in bytes (`4 + 4 * ndims`). */
  readonly headerBytes: number;
  /** Bytes of data the header announces (`prod(dims) * elementBytes`). */
  readonly dataBytes: number;
}

/** An IDX array: `dims` and row-major values in native byte order. */
export interface IdxArray {
  readonly dtype: IdxDtype;
  readonly dims: readonly number[];
  readonly data: IdxData;
}

/** Options of {@link fromIdx}. */
export interface IdxParseOptions {
  /** File name used in error messages. */
  file?: string;
}

/**
 * Parses an IDX header from the first bytes of a file (at least `4 + 4 * ndims` bytes).
 *
 * @throws OpnpError `'DATASET_FORMAT'` on a wrong magic number, an unknown dtype, or a truncated header.
 */
export function parseIdxHeader(bytes: Uint8Array, file?: string): IdxHeader {
  if (bytes.length < 4) throw formatError('IDX header is truncated', { file, offset: bytes.length, expected: '4-byte magic number' });
  if (bytes[0] !== 0 || bytes[1] !== 0) {
    throw formatError('Not an IDX file: wrong magic number', { file, offset: 0, expected: '00 00 <dtype> <ndims>', actual: Array.from(bytes.subarray(0, 4), (b) => b.toString(16).padStart(2, '0')).join(' ') });
  }
  const type = DTYPES[bytes[2]!];
  if (!type) throw formatError('Unknown IDX element type', { file, offset: 2, expected: '0x08, 0x09, 0x0B, 0x0C, 0x0D or 0x0E', actual: `0x${bytes[2]!.toString(16)}` });
  const ndims = bytes[3]!;
  if (ndims < 1 || ndims > MAX_DIMS) throw formatError('Bad IDX dimension count', { file, offset: 3, expected: `1..${MAX_DIMS}`, actual: ndims });
  const headerBytes = 4 + 4 * ndims;
  if (bytes.length < headerBytes) throw formatError('IDX header is truncated', { file, offset: bytes.length, expected: `${headerBytes} header bytes` });
  const view = new DataView(bytes.buffer, bytes.byteOffset, headerBytes);
  const dims: number[] = [];
  let total = type.bytes;
  for (let d = 0; d < ndims; d++) {
    const size = view.getUint32(4 + 4 * d, false);
    dims.push(size);
    total *= size;
  }
  return { dtype: type.dtype, elementBytes: type.bytes, dims, headerBytes, dataBytes: total };
}

/**
 * Converts `count` big-endian elements of `dtype` from `bytes` into a new native typed array.
 * (`bytes.length` must be at least `count * elementBytes`.)
 */
export function decodeIdxValues(bytes: Uint8Array, dtype: IdxDtype, count: number): IdxData {
  switch (dtype) {
    case 'uint8':
      return new Uint8Array(bytes.subarray(0, count)); // a copy (Buffer#slice would be a view)
    case 'int8':
      return new Int8Array(new Uint8Array(bytes.subarray(0, count)).buffer);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (dtype === 'int16') {
    const out = new Int16Array(count);
    for (let i = 0; i < count; i++) out[i] = view.getInt16(2 * i, false);
    return out;
  }
  if (dtype === 'int32') {
    const out = new Int32Array(count);
    for (let i = 0; i < count; i++) out[i] = view.getInt32(4 * i, false);
    return out;
  }
  if (dtype === 'float32') {
    const out = new Float32Array(count);
    for (let i = 0; i < count; i++) out[i] = view.getFloat32(4 * i, false);
    return out;
  }
  const out = new Float64Array(count);
  for (let i = 0; i < count; i++) out[i] = view.getFloat64(8 * i, false);
  return out;
}

/** `dims [a, b, c] of dtype`, for messages. */
export function describeIdx(header: IdxHeader): string {
  return `dims [${header.dims.join(', ')}] of ${header.dtype}`;
}

/** How the samples of an IDX images array are stored: count, `[C, H, W]`, and the pixel order of one sample. */
export interface IdxImageLayout {
  readonly count: number;
  readonly shape: [number, number, number];
  readonly layout: 'CHW' | 'HWC';
}

/**
 * Samples of an IDX images array: `[N, H, W]` (stored shape `[1, H, W]`), `[N, H, W, C]` (`[C, H, W]`, pixels
 * in HWC order) or `[N, D]` (`[1, 1, D]`).
 *
 * @throws OpnpError `'DATASET_FORMAT'` for another number of dimensions (a labels file, say).
 */
export function idxImageLayout(dims: readonly number[], file?: string): IdxImageLayout {
  if (dims.length < 2 || dims.length > 4) {
    throw formatError('IDX images file must have 2 to 4 dimensions ([N, D], [N, H, W] or [N, H, W, C])', { file, offset: 3, actual: dims, hint: dims.length === 1 ? 'This looks like a labels file' : undefined });
  }
  const shape: [number, number, number] = dims.length === 2 ? [1, 1, dims[1]!] : dims.length === 3 ? [1, dims[1]!, dims[2]!] : [dims[3]!, dims[1]!, dims[2]!];
  return { count: dims[0]!, shape, layout: dims.length === 4 ? 'HWC' : 'CHW' };
}

/**
 * Refuses a gzip file too small to hold what its IDX header announces (deflate inflates at most ~1032:1):
 * a truncated file or a lying header, caught before anything is inflated.
 */
export function checkGzipCanHold(header: IdxHeader, gzipBytes: number, file: string | undefined): void {
  const expected = header.headerBytes + header.dataBytes;
  const most = maxInflatedBytes(gzipBytes);
  if (expected > most) {
    throw formatError('IDX file is truncated: the gzip data is too small for the header\'s dimensions', {
      file,
      offset: gzipBytes,
      expected: `${expected} decompressed bytes for ${describeIdx(header)}`,
      actual: `${gzipBytes} gzip bytes, which inflate to at most ${most} bytes`,
    });
  }
}

/** Inflates a gzip IDX file, never to more than its header announces (plus one byte, to detect trailing data). */
function gunzipIdx(bytes: Uint8Array, file: string | undefined, engine: InflateEngine): Uint8Array {
  const header = parseIdxHeader(inflatePrefix(engine, 'gzip', bytes, 4 + 4 * MAX_DIMS, file), file);
  checkGzipCanHold(header, bytes.length, file);
  const expected = header.headerBytes + header.dataBytes;
  return inflateAll(engine, 'gzip', bytes, { file, offset: 0, fileBytes: bytes.length, maxBytes: expected + 1, expected: { bytes: expected, describe: `(header and data of ${describeIdx(header)})` } });
}

/** {@link fromIdx} with a given decompressor (the Node entry passes node:zlib). */
export function parseIdx(bytes: Uint8Array, options: IdxParseOptions, engine: InflateEngine): IdxArray {
  const raw = isGzip(bytes) ? gunzipIdx(bytes, options.file, engine) : bytes;
  const header = parseIdxHeader(raw, options.file);
  const expected = header.headerBytes + header.dataBytes;
  if (raw.length !== expected) {
    throw formatError(raw.length < expected ? 'IDX file is truncated' : 'IDX file has trailing bytes after the announced data', {
      file: options.file,
      offset: Math.min(raw.length, expected),
      expected: `${expected} bytes for ${describeIdx(header)}`,
      actual: `${raw.length} bytes`,
    });
  }
  const count = header.dataBytes / header.elementBytes;
  return { dtype: header.dtype, dims: header.dims, data: decodeIdxValues(raw.subarray(header.headerBytes), header.dtype, count) };
}

/**
 * Parses a whole IDX file from its bytes, raw or gzip-compressed (decompressed with fflate, in pure
 * JavaScript; `@opnp/datasets/node` has the same function on node:zlib, two to three times faster for large
 * files, with the same result).
 *
 * @example
 * ```ts
 * const response = await fetch('t10k-labels-idx1-ubyte.gz');
 * const labels = fromIdx(new Uint8Array(await response.arrayBuffer())); // { dtype: 'uint8', dims: [10000], data }
 * ```
 * @throws OpnpError `'DATASET_FORMAT'` on a wrong magic number, an unknown dtype, a size that disagrees with
 * the header (truncated or trailing bytes), or corrupt gzip data. The header sizes are checked against the
 * actual byte length before anything is allocated; gzip data is never inflated past what the header announces.
 */
export function fromIdx(bytes: Uint8Array, options: IdxParseOptions = {}): IdxArray {
  return parseIdx(bytes, options, fflateEngine);
}

/**
 * Converts IDX label values to `Int32Array` labels (integer dtypes, or floats holding integers).
 *
 * @throws OpnpError `'DATASET_FORMAT'` when a float label is not an integer.
 */
export function idxLabels(array: IdxArray, file?: string): Int32Array {
  const out = new Int32Array(array.data.length);
  for (let i = 0; i < out.length; i++) {
    const v = array.data[i]!;
    if (!Number.isInteger(v) || v < -2147483648 || v > 2147483647) throw formatError('IDX label is not an integer', { file, offset: i, actual: v });
    out[i] = v;
  }
  return out;
}
