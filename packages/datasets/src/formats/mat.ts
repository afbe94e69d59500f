/**
 * MATLAB level-5 MAT-files (pure parser, no file access): the 128-byte header, then data elements
 * (`miMATRIX`, or `miCOMPRESSED` = zlib-compressed `miMATRIX`). Numeric arrays only (cells, structs, sparse
 * and char arrays are skipped); values are column-major, as MATLAB stores them.
 */
import { formatError } from '../errors.js';
import { inflateAll, inflatePrefix, maxInflatedBytes, type InflateEngine } from '../inflate.js';
import { fflateEngine } from '../inflate-fflate.js';

/** MATLAB array classes of numeric arrays. */
export type MatClass = 'double' | 'single' | 'int8' | 'uint8' | 'int16' | 'uint16' | 'int32' | 'uint32' | 'int64' | 'uint64';

/** One numeric MATLAB variable: `dims` and column-major values in its class' typed array (64-bit integers as float64). */
export interface MatVariable {
  readonly name: string;
  readonly className: MatClass;
  readonly dims: readonly number[];
  readonly data: Float64Array | Float32Array | Int8Array | Uint8Array | Int16Array | Uint16Array | Int32Array | Uint32Array;
}

/** Options of {@link fromMat}. */
export interface MatParseOptions {
  /** File name used in error messages. */
  file?: string;
}

export const MI_MATRIX = 14;
export const MI_COMPRESSED = 15;
const CLASSES: Record<number, MatClass> = { 6: 'double', 7: 'single', 8: 'int8', 9: 'uint8', 10: 'int16', 11: 'uint16', 12: 'int32', 13: 'uint32', 14: 'int64', 15: 'uint64' };
/** Element size of the MAT data types usable for numeric data. */
const TYPE_BYTES: Record<number, number> = { 1: 1, 2: 1, 3: 2, 4: 2, 5: 4, 6: 4, 7: 4, 9: 8, 12: 8, 13: 8 };

/** A data element tag. */
export interface MatTag {
  readonly type: number;
  readonly bytes: number;
  /** Offset of the element's data. */
  readonly dataOffset: number;
  /** Offset of the next element (8-byte aligned except after compressed elements). */
  readonly next: number;
}

/** Where a parse happens, for error messages. */
export interface MatContext {
  readonly file: string | undefined;
  /** Added to offsets in error messages (file offset of an inflated buffer's element), or -1 when not meaningful. */
  readonly base: number;
  readonly what: string;
}

function where(ctx: MatContext, offset: number): { file: string | undefined; offset: number } {
  return { file: ctx.file, offset: ctx.base >= 0 ? ctx.base + offset : offset };
}

/** Parses the 128-byte MAT v5 header; returns true for little-endian files. */
export function parseMatHeader(bytes: Uint8Array, file?: string): boolean {
  if (bytes.length < 128) throw formatError('MAT-file header is truncated', { file, offset: bytes.length, expected: '128-byte header' });
  const text = String.fromCharCode(...bytes.subarray(0, 10));
  if (text !== 'MATLAB 5.0') {
    const hint = String.fromCharCode(...bytes.subarray(1, 4)) === 'HDF' ? 'MATLAB v7.3 (HDF5) files are not supported; save with -v7 or scipy.io.savemat' : undefined;
    throw formatError('Not a MATLAB 5 MAT-file: wrong header text', { file, offset: 0, expected: 'MATLAB 5.0', actual: JSON.stringify(text), hint });
  }
  const mark = String.fromCharCode(bytes[126]!, bytes[127]!);
  if (mark !== 'IM' && mark !== 'MI') throw formatError('Bad MAT-file endian indicator', { file, offset: 126, expected: 'IM or MI', actual: JSON.stringify(mark) });
  return mark === 'IM';
}

/** Reads the tag at `offset` of `view` (bounded by `end`). */
export function readMatTag(view: DataView, offset: number, end: number, le: boolean, ctx: MatContext): MatTag {
  if (offset + 8 > end) throw formatError(`${ctx.what}: data element tag is truncated`, where(ctx, offset));
  const first = view.getUint32(offset, le);
  if (first >>> 16 !== 0) {
    // small data element: bytes in the upper 16 bits, type in the lower, data in the next 4 bytes
    const bytes = first >>> 16;
    if (bytes > 4) throw formatError(`${ctx.what}: bad small data element`, { ...where(ctx, offset), expected: '<= 4 bytes', actual: bytes });
    return { type: first & 0xffff, bytes, dataOffset: offset + 4, next: offset + 8 };
  }
  const bytes = view.getUint32(offset + 4, le);
  const dataOffset = offset + 8;
  if (bytes > end - dataOffset) {
    throw formatError(`${ctx.what}: data element is truncated`, { ...where(ctx, offset), expected: `${bytes} bytes of data`, actual: `${end - dataOffset} bytes left` });
  }
  const next = first === MI_COMPRESSED ? dataOffset + bytes : Math.min(end, dataOffset + Math.ceil(bytes / 8) * 8);
  return { type: first, bytes, dataOffset, next };
}

/** The header of a `miMATRIX` element's contents (which starts at `offset` and ends at `end`). */
export interface MatMatrixHeader {
  /** Numeric class, or undefined for cells, structs, char, sparse... */
  readonly className: MatClass | undefined;
  readonly complex: boolean;
  readonly dims: readonly number[];
  readonly name: string;
  /** The real part's tag (numeric classes only). */
  readonly real: MatTag | undefined;
}

/** Parses the sub-elements of a `miMATRIX` up to (not including) the real part's data. */
export function parseMatMatrixHeader(view: DataView, offset: number, end: number, le: boolean, ctx: MatContext): MatMatrixHeader {
  const flags = readMatTag(view, offset, end, le, ctx);
  if (flags.type !== 6 || flags.bytes !== 8) throw formatError(`${ctx.what}: bad array flags`, { ...where(ctx, offset), expected: 'miUINT32 x 2', actual: `type ${flags.type}, ${flags.bytes} bytes` });
  const flagWord = view.getUint32(flags.dataOffset, le);
  const classCode = flagWord & 0xff;
  const className = CLASSES[classCode];
  const complex = (flagWord & 0x800) !== 0;
  const dimsTag = readMatTag(view, flags.next, end, le, ctx);
  if (dimsTag.type !== 5 || dimsTag.bytes % 4 !== 0 || dimsTag.bytes < 8) {
    throw formatError(`${ctx.what}: bad dimensions array`, { ...where(ctx, flags.next), expected: 'miINT32 x ndims (>= 2)', actual: `type ${dimsTag.type}, ${dimsTag.bytes} bytes` });
  }
  const dims: number[] = [];
  for (let d = 0; d < dimsTag.bytes / 4; d++) {
    const size = view.getInt32(dimsTag.dataOffset + 4 * d, le);
    if (size < 0) throw formatError(`${ctx.what}: negative dimension`, { ...where(ctx, dimsTag.dataOffset + 4 * d), actual: size });
    dims.push(size);
  }
  const nameTag = readMatTag(view, dimsTag.next, end, le, ctx);
  if (nameTag.type !== 1 && nameTag.type !== 2 && nameTag.type !== 16) throw formatError(`${ctx.what}: bad array name`, { ...where(ctx, dimsTag.next), expected: 'miINT8', actual: `type ${nameTag.type}` });
  let name = '';
  for (let i = 0; i < nameTag.bytes; i++) name += String.fromCharCode(view.getUint8(nameTag.dataOffset + i));
  if (className === undefined) return { className, complex, dims, name, real: undefined };
  const real = readMatTag(view, nameTag.next, end, le, ctx);
  const size = TYPE_BYTES[real.type];
  if (size === undefined) throw formatError(`${ctx.what}: unsupported data type of "${name}"`, { ...where(ctx, nameTag.next), actual: real.type });
  const elements = dims.reduce((a, b) => a * b, 1);
  if (real.bytes !== elements * size) {
    throw formatError(`${ctx.what}: data of "${name}" does not match its dimensions`, { ...where(ctx, nameTag.next), expected: `${elements} x ${size} bytes for [${dims.join(', ')}]`, actual: `${real.bytes} bytes` });
  }
  return { className, complex, dims, name, real };
}

/**
 * Inflates a `miCOMPRESSED` element's data, never past what its inner tag announces (`8 + bytes`, plus 8
 * bytes of padding): a decompression bomb or a lying tag fails with a typed error instead of filling memory.
 */
export function inflateMatElement(compressed: Uint8Array, le: boolean, file: string | undefined, offset: number, engine: InflateEngine): Uint8Array {
  const head = inflatePrefix(engine, 'zlib', compressed, 8, file, offset);
  if (head.length < 8) throw formatError('MAT-file compressed element is truncated', { file, offset, expected: 'an 8-byte data element tag inside', actual: `${head.length} bytes` });
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
  const first = view.getUint32(0, le);
  const announced = first >>> 16 !== 0 ? 8 : 8 + view.getUint32(4, le);
  const most = maxInflatedBytes(compressed.length);
  if (announced > most) {
    throw formatError('MAT-file compressed element is too small for the size its tag announces (truncated or corrupt)', { file, offset, expected: `${announced} inflated bytes`, actual: `${compressed.length} compressed bytes, which inflate to at most ${most}` });
  }
  return inflateAll(engine, 'zlib', compressed, { file, offset, maxBytes: announced + 8, expected: { bytes: announced, describe: '(the size its inner tag announces)' } });
}

/** Typed array constructor of a class. */
function allocate(className: MatClass, n: number): MatVariable['data'] {
  switch (className) {
    case 'single':
      return new Float32Array(n);
    case 'int8':
      return new Int8Array(n);
    case 'uint8':
      return new Uint8Array(n);
    case 'int16':
      return new Int16Array(n);
    case 'uint16':
      return new Uint16Array(n);
    case 'int32':
      return new Int32Array(n);
    case 'uint32':
      return new Uint32Array(n);
    default:
      return new Float64Array(n);
  }
}

/** Reads numeric data of MAT type `type` at `offset` into the class' typed array. */
export function decodeMatNumeric(view: DataView, tag: MatTag, className: MatClass, le: boolean): MatVariable['data'] {
  const size = TYPE_BYTES[tag.type]!;
  const n = tag.bytes / size;
  const out = allocate(className, n);
  const o = tag.dataOffset;
  for (let i = 0; i < n; i++) {
    let v: number;
    switch (tag.type) {
      case 1: v = view.getInt8(o + i); break;
      case 2: v = view.getUint8(o + i); break;
      case 3: v = view.getInt16(o + 2 * i, le); break;
      case 4: v = view.getUint16(o + 2 * i, le); break;
      case 5: v = view.getInt32(o + 4 * i, le); break;
      case 6: v = view.getUint32(o + 4 * i, le); break;
      case 7: v = view.getFloat32(o + 4 * i, le); break;
      case 9: v = view.getFloat64(o + 8 * i, le); break;
      case 12: v = Number(view.getBigInt64(o + 8 * i, le)); break;
      default: v = Number(view.getBigUint64(o + 8 * i, le)); break;
    }
    out[i] = v;
  }
  return out;
}

/** {@link fromMat} with a given decompressor (the Node entry passes node:zlib). */
export function parseMat(bytes: Uint8Array, options: MatParseOptions, engine: InflateEngine): MatVariable[] {
  const file = options.file;
  const le = parseMatHeader(bytes, file);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: MatVariable[] = [];
  let offset = 128;
  while (offset < bytes.length) {
    if (bytes.length - offset < 8 && bytes.subarray(offset).every((b) => b === 0)) break; // trailing padding
    const ctx: MatContext = { file, base: -1, what: 'MAT-file' };
    const tag = readMatTag(view, offset, bytes.length, le, ctx);
    let inner: DataView;
    let innerCtx: MatContext;
    let matrix: MatTag;
    if (tag.type === MI_COMPRESSED) {
      const inflated = inflateMatElement(bytes.subarray(tag.dataOffset, tag.dataOffset + tag.bytes), le, file, tag.dataOffset, engine);
      inner = new DataView(inflated.buffer, inflated.byteOffset, inflated.byteLength);
      innerCtx = { file, base: -1, what: `MAT-file compressed element at byte ${offset} (offsets are into its inflated data)` };
      matrix = readMatTag(inner, 0, inflated.length, le, innerCtx);
    } else {
      inner = view;
      innerCtx = ctx;
      matrix = tag;
    }
    if (matrix.type === MI_MATRIX && matrix.bytes > 0) {
      const header = parseMatMatrixHeader(inner, matrix.dataOffset, matrix.dataOffset + matrix.bytes, le, innerCtx);
      if (header.className && header.real) {
        out.push({ name: header.name, className: header.className, dims: header.dims, data: decodeMatNumeric(inner, header.real, header.className, le) });
      }
    }
    offset = tag.next;
  }
  return out;
}

/**
 * Parses the numeric variables of a MAT v5 file (compressed or not) from its bytes. Compressed elements are
 * inflated with fflate (pure JavaScript; `@opnp/datasets/node` has the same function on node:zlib).
 *
 * @example
 * ```ts
 * const [X, y] = fromMat(new Uint8Array(await (await fetch('test_32x32.mat')).arrayBuffer())); // X.dims [32, 32, 3, 26032], y.dims [26032, 1]
 * ```
 * @throws OpnpError `'DATASET_FORMAT'` naming the byte offset of a bad header, tag, size or compressed block.
 */
export function fromMat(bytes: Uint8Array, options: MatParseOptions = {}): MatVariable[] {
  return parseMat(bytes, options, fflateEngine);
}
