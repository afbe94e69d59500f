/**
 * NumPy `.npy` arrays (pure encode / decode, no file access): float32 and float64, C order, header
 * versions 1, 2 and 3, either byte order on read; little-endian float32 / float64 on write.
 */
import type { Matrix } from '@opnp/core/base';
import { OpnpError } from '@opnp/core/base';
import { argumentError, formatError } from '../errors.js';

/** Element types of {@link NpyArray}. */
export type NpyDtype = 'float32' | 'float64';

/** An n-dimensional array read from / written to `.npy`: row-major (C order) values. */
export interface NpyArray {
  readonly dtype: NpyDtype;
  readonly shape: readonly number[];
  readonly data: Float32Array | Float64Array;
}

/** Options of {@link readNpy}. */
export interface NpyParseOptions {
  /** File name used in error messages. */
  file?: string;
}

/** A parsed `.npy` header. */
export interface NpyHeader {
  readonly dtype: NpyDtype;
  readonly littleEndian: boolean;
  readonly shape: readonly number[];
  /** Offset of the first data byte (header length, a multiple of 16 or 64). */
  readonly dataOffset: number;
  /** Bytes per element. */
  readonly itemBytes: number;
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

/** True when `bytes` start with the `.npy` magic string. */
export function isNpy(bytes: Uint8Array): boolean {
  return bytes.length >= 6 && MAGIC.every((b, i) => bytes[i] === b);
}

/**
 * Parses the header of a `.npy` file from its first bytes (enough to hold the whole header).
 *
 * @throws OpnpError `'DATASET_FORMAT'` on a wrong magic string, an unknown version, a truncated or malformed
 * header, an unsupported dtype, or `fortran_order: True`.
 */
export function parseNpyHeader(bytes: Uint8Array, file?: string): NpyHeader {
  if (!isNpy(bytes)) throw formatError('Not a .npy file: wrong magic string', { file, offset: 0, expected: '\\x93NUMPY' });
  if (bytes.length < 10) throw formatError('.npy header is truncated', { file, offset: bytes.length });
  const major = bytes[6]!;
  if (major !== 1 && major !== 2 && major !== 3) throw formatError('Unsupported .npy format version', { file, offset: 6, expected: '1, 2 or 3', actual: `${major}.${bytes[7]}` });
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const lengthBytes = major === 1 ? 2 : 4;
  if (bytes.length < 8 + lengthBytes) throw formatError('.npy header is truncated', { file, offset: bytes.length });
  const headerLength = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const start = 8 + lengthBytes;
  if (headerLength > bytes.length - start) throw formatError('.npy header is truncated', { file, offset: bytes.length, expected: `${headerLength} header bytes`, actual: `${bytes.length - start}` });
  let text = '';
  for (let i = 0; i < headerLength; i++) text += String.fromCharCode(bytes[start + i]!);
  const descr = /['"]descr['"]\s*:\s*['"]([<>|=]?)([a-zA-Z])(\d+)['"]/.exec(text);
  const fortran = /['"]fortran_order['"]\s*:\s*(True|False)/.exec(text);
  const shapeMatch = /['"]shape['"]\s*:\s*\(([^)]*)\)/.exec(text);
  if (!descr || !fortran || !shapeMatch || !text.trimStart().startsWith('{')) {
    throw formatError('Malformed .npy header', { file, offset: start, actual: text.slice(0, 120) });
  }
  if (fortran[1] === 'True') {
    throw formatError('Fortran-ordered .npy arrays are not supported', { file, offset: start, expected: 'fortran_order: False', hint: 'Save with np.save(path, np.ascontiguousarray(a))' });
  }
  const [, order, kind, size] = descr;
  if (kind !== 'f' || (size !== '4' && size !== '8')) {
    throw formatError('Unsupported .npy dtype', { file, offset: start, expected: "'<f4' or '<f8' (float32, float64)", actual: `'${order}${kind}${size}'`, hint: 'Convert with a.astype(np.float32)' });
  }
  const shape: number[] = [];
  for (const part of shapeMatch[1]!.split(',')) {
    const trimmed = part.trim();
    if (trimmed === '') continue;
    if (!/^\d+L?$/.test(trimmed)) throw formatError('Malformed .npy shape', { file, offset: start, actual: shapeMatch[0] });
    shape.push(Number.parseInt(trimmed, 10));
  }
  return { dtype: size === '4' ? 'float32' : 'float64', littleEndian: order !== '>', shape, dataOffset: start + headerLength, itemBytes: Number(size) };
}

/**
 * Decodes a `.npy` file's bytes.
 *
 * @example
 * ```ts
 * const a = readNpy(readFileSync('features.npy')); // { dtype: 'float32', shape: [N, D], data }
 * ```
 * @throws OpnpError `'DATASET_FORMAT'` (see {@link parseNpyHeader}) or when the data length disagrees with the
 * shape (checked before allocating).
 */
export function readNpy(bytes: Uint8Array, options: NpyParseOptions = {}): NpyArray {
  const header = parseNpyHeader(bytes, options.file);
  const count = header.shape.reduce((a, b) => a * b, 1);
  const expected = header.dataOffset + count * header.itemBytes;
  if (bytes.length !== expected) {
    throw formatError(bytes.length < expected ? '.npy file is truncated' : '.npy file has trailing bytes', {
      file: options.file,
      offset: Math.min(bytes.length, expected),
      expected: `${expected} bytes for shape (${header.shape.join(', ')}) of ${header.dtype}`,
      actual: `${bytes.length} bytes`,
    });
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset + header.dataOffset, count * header.itemBytes);
  const le = header.littleEndian;
  if (header.dtype === 'float32') {
    const data = new Float32Array(count);
    for (let i = 0; i < count; i++) data[i] = view.getFloat32(4 * i, le);
    return { dtype: 'float32', shape: header.shape, data };
  }
  const data = new Float64Array(count);
  for (let i = 0; i < count; i++) data[i] = view.getFloat64(8 * i, le);
  return { dtype: 'float64', shape: header.shape, data };
}

/**
 * The array as a float32 {@link Matrix} `[rows, cols]`: 2-D arrays as they are, 1-D arrays as one column;
 * float64 values are rounded to float32.
 *
 * @throws OpnpError `'SHAPE_MISMATCH'` for arrays of another rank.
 */
export function npyToMatrix(array: NpyArray): Matrix {
  const { shape } = array;
  if (shape.length !== 1 && shape.length !== 2) throw new OpnpError('SHAPE_MISMATCH', 'Expected a 1-D or 2-D .npy array for a matrix', { expected: '[rows, cols]', actual: shape });
  const rows = shape[0]!;
  const cols = shape.length === 2 ? shape[1]! : 1;
  const data = array.data instanceof Float32Array ? array.data : Float32Array.from(array.data);
  return { rows, cols, data };
}

/**
 * The header bytes of a little-endian C-order `.npy` file, padded to `length` bytes when given (to allow
 * rewriting it in place), else to a multiple of 64; version 1 unless the header needs version 2.
 */
export function encodeNpyHeader(dtype: NpyDtype, shape: readonly number[], length?: number): Uint8Array {
  for (const d of shape) if (!Number.isInteger(d) || d < 0) throw argumentError('.npy shape entries must be non-negative integers', { actual: shape });
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  const dict = `{'descr': '${dtype === 'float32' ? '<f4' : '<f8'}', 'fortran_order': False, 'shape': ${shapeText}, }`;
  const version = dict.length + 11 > 65535 ? 2 : 1;
  const prefix = version === 1 ? 10 : 12;
  const total = length ?? Math.ceil((prefix + dict.length + 1) / 64) * 64;
  const headerLength = total - prefix;
  if (headerLength < dict.length + 1) throw argumentError('.npy header does not fit the reserved length', { expected: `<= ${total}`, actual: prefix + dict.length + 1 });
  const out = new Uint8Array(total);
  out.set(MAGIC, 0);
  out[6] = version;
  out[7] = 0;
  const view = new DataView(out.buffer);
  if (version === 1) view.setUint16(8, headerLength, true);
  else view.setUint32(8, headerLength, true);
  for (let i = 0; i < headerLength - 1; i++) out[prefix + i] = i < dict.length ? dict.charCodeAt(i) : 0x20;
  out[total - 1] = 0x0a;
  return out;
}

/** Typed arrays are stored little-endian on this host (on every platform Node and the browsers run on, in practice). */
const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * Little-endian bytes of float values (a copy): on a little-endian host the stored bytes themselves (one copy
 * of the memory, a NaN keeps its payload bits), else each value written little-endian.
 */
export function floatBytes(data: Float32Array | Float64Array): Uint8Array {
  if (LITTLE_ENDIAN_HOST) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice();
  return littleEndianCopy(data);
}

/**
 * Little-endian bytes of float values: on a little-endian host a view of `data`'s own memory (no copy; it
 * changes with `data`), else a copy as {@link floatBytes} makes.
 */
export function floatBytesView(data: Float32Array | Float64Array): Uint8Array {
  return LITTLE_ENDIAN_HOST ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength) : littleEndianCopy(data);
}

function littleEndianCopy(data: Float32Array | Float64Array): Uint8Array {
  const out = new Uint8Array(data.byteLength);
  const view = new DataView(out.buffer);
  if (data instanceof Float32Array) for (let i = 0; i < data.length; i++) view.setFloat32(4 * i, data[i]!, true);
  else for (let i = 0; i < data.length; i++) view.setFloat64(8 * i, data[i]!, true);
  return out;
}

/**
 * Encodes a {@link Matrix} (float32 `[rows, cols]`) or an {@link NpyArray} as `.npy` bytes (numpy reads them
 * with `np.load`).
 */
export function encodeNpy(value: Matrix | NpyArray): Uint8Array {
  const array: NpyArray = 'shape' in value ? value : { dtype: 'float32', shape: [value.rows, value.cols], data: value.data };
  const count = array.shape.reduce((a, b) => a * b, 1);
  if (array.data.length !== count) throw argumentError('.npy data length does not match its shape', { expected: count, actual: array.data.length });
  const dtype: NpyDtype = array.data instanceof Float32Array ? 'float32' : 'float64';
  const header = encodeNpyHeader(dtype, array.shape);
  const out = new Uint8Array(header.length + array.data.byteLength);
  out.set(header, 0);
  out.set(floatBytes(array.data), header.length);
  return out;
}
