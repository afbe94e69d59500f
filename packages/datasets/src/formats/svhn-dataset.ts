/**
 * SVHN `.mat` datasets on disk (Node): `X [H, W, C, N]` uint8 (column-major) and `y [N, 1]` (10 = digit 0).
 * The element tags are walked by positional reads; `y` is read whole, `X` is streamed (through zlib when
 * compressed) so the images are never all in memory.
 */
import { constants, inflateSync } from 'node:zlib';
import type { FileHandle } from 'node:fs/promises';
import type { Dataset } from '../types.js';
import type { MatContext, MatMatrixHeader } from './mat.js';
import { MI_COMPRESSED, MI_MATRIX, decodeMatNumeric, parseMatHeader, parseMatMatrixHeader, readMatTag } from './mat.js';
import { createDataset } from '../dataset.js';
import type { RawSample } from '../dataset.js';
import { fileSize, inflateReader, openFile, readAt, readRecords, readStreamRecords } from '../io.js';
import { inflateBytes } from '../inflate.js';
import { formatError, notFoundError } from '../errors.js';

/** Options of {@link openSvhn}. */
export interface SvhnOptions {
  /** Name of the images variable (default `'X'`). */
  images?: string;
  /** Name of the labels variable (default `'y'`); `false` for unlabelled. */
  labels?: string | false;
}

/** Compressed bytes read to parse a compressed element's matrix header. */
const PREFIX_BYTES = 1 << 16;

interface VariableInfo {
  readonly header: MatMatrixHeader;
  /** File offset of the element's tag. */
  readonly elementOffset: number;
  /** For compressed elements: the compressed byte range; the real data offset is into the inflated stream. */
  readonly compressed: { start: number; end: number } | undefined;
  /** Offset of the real part's data (file offset, or inflated-stream offset when compressed). */
  readonly dataOffset: number;
}

function inflatePrefix(bytes: Uint8Array, file: string, offset: number): Uint8Array {
  try {
    const out = inflateSync(bytes, { finishFlush: constants.Z_SYNC_FLUSH });
    return new Uint8Array(out.buffer, out.byteOffset, out.length);
  } catch (error) {
    throw formatError(`Corrupt zlib-compressed MAT element (${(error as Error).message})`, { file, offset, cause: error });
  }
}

/**
 * Runs a matrix-header parse on a prefix of an element: sub-elements reaching past the prefix (a huge name or
 * dimension list, or a short inflated stream) become a typed error instead of a RangeError.
 */
function guardHeader(parse: () => MatMatrixHeader, file: string, offset: number): MatMatrixHeader {
  try {
    return parse();
  } catch (error) {
    if (error instanceof RangeError) throw formatError('MAT matrix header is truncated or implausibly large', { file, offset, cause: error });
    throw error;
  }
}

/** Walks the file's elements and returns the numeric variables' headers (no array data read). */
async function scanMat(handle: FileHandle, file: string, size: number): Promise<VariableInfo[]> {
  const le = parseMatHeader(await readAt(handle, file, 0, Math.min(size, 128)), file);
  const out: VariableInfo[] = [];
  let offset = 128;
  while (offset < size) {
    if (size - offset < 8) {
      const rest = await readAt(handle, file, offset, size - offset);
      if (rest.every((b) => b === 0)) break;
    }
    const ctx: MatContext = { file, base: 0, what: 'MAT-file' };
    const tagBytes = await readAt(handle, file, offset, Math.min(8, size - offset));
    // readMatTag works on a view with absolute offsets: map this 8-byte window at `offset`
    const tag = readMatTag(new DataView(tagBytes.buffer), 0, size - offset, le, { ...ctx, base: offset });
    const element = { ...tag, dataOffset: tag.dataOffset + offset, next: tag.next + offset };
    if (element.type === MI_COMPRESSED) {
      const prefix = await readAt(handle, file, element.dataOffset, Math.min(element.bytes, PREFIX_BYTES));
      const inflated = inflatePrefix(prefix, file, element.dataOffset);
      const view = new DataView(inflated.buffer, inflated.byteOffset, inflated.byteLength);
      const innerCtx: MatContext = { file, base: -1, what: `MAT-file compressed element at byte ${offset} (offsets are into its inflated data)` };
      if (inflated.length >= 8) {
        const matrixTagType = view.getUint32(0, le);
        if (matrixTagType === MI_MATRIX) {
          const matrixBytes = view.getUint32(4, le);
          const header = guardHeader(() => parseMatMatrixHeader(view, 8, 8 + matrixBytes, le, innerCtx), file, offset);
          if (header.real) out.push({ header, elementOffset: offset, compressed: { start: element.dataOffset, end: element.dataOffset + element.bytes }, dataOffset: header.real.dataOffset });
        }
      }
    } else if (element.type === MI_MATRIX && element.bytes > 0) {
      const prefix = await readAt(handle, file, element.dataOffset, Math.min(element.bytes, 4096));
      const view = new DataView(prefix.buffer, prefix.byteOffset, prefix.byteLength);
      // header sub-elements lie within the prefix; the real part's size is checked against the element length
      const header = guardHeader(() => parseMatMatrixHeader(view, 0, element.bytes, le, { ...ctx, base: element.dataOffset }), file, offset);
      if (header.real) out.push({ header, elementOffset: offset, compressed: undefined, dataOffset: element.dataOffset + header.real.dataOffset });
    }
    offset = element.next;
  }
  return out;
}

/** Reads one whole (small) variable's values as float64. */
async function readVariable(handle: FileHandle, file: string, info: VariableInfo, le: boolean): Promise<Float64Array> {
  const real = info.header.real!;
  let view: DataView;
  let tag = real;
  if (info.compressed) {
    const inflated = inflateBytes(await readAt(handle, file, info.compressed.start, info.compressed.end - info.compressed.start), file, info.compressed.start);
    if (inflated.length < real.dataOffset + real.bytes) throw formatError('Compressed MAT element is truncated', { file, offset: info.elementOffset });
    view = new DataView(inflated.buffer, inflated.byteOffset, inflated.byteLength);
  } else {
    const bytes = await readAt(handle, file, info.dataOffset, real.bytes);
    view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    tag = { ...real, dataOffset: 0 };
  }
  return Float64Array.from(decodeMatNumeric(view, tag, 'double', le));
}

/**
 * Opens an SVHN `.mat` file (`train_32x32.mat`, `test_32x32.mat`, `extra_32x32.mat`) as a {@link Dataset} of
 * stored shape `[C, H, W]` (from `X [H, W, C, N]`, 8-bit). Labels: `y` with 10 mapped to digit 0.
 *
 * @throws OpnpError `'DATASET_FORMAT'` (bad MAT structure, X not uint8 [H, W, C, N], label/image counts that
 * disagree, labels outside 0..10), `'DATASET_NOT_FOUND'` (file or variable missing).
 */
export async function openSvhn(path: string, options: SvhnOptions = {}): Promise<Dataset> {
  const size = await fileSize(path);
  const handle = await openFile(path);
  let x: VariableInfo;
  let labels: Int32Array | undefined;
  let le: boolean;
  try {
    le = parseMatHeader(await readAt(handle, path, 0, Math.min(size, 128)), path);
    const variables = await scanMat(handle, path, size);
    const imagesName = options.images ?? 'X';
    const found = variables.find((v) => v.header.name === imagesName);
    if (!found) throw notFoundError(`MAT-file has no numeric variable "${imagesName}"`, { file: path, actual: variables.map((v) => v.header.name) });
    x = found;
    const { className, dims, real } = x.header;
    if (className !== 'uint8' || real!.type !== 2 || (dims.length !== 4 && dims.length !== 3) || x.header.complex) {
      throw formatError(`"${imagesName}" must be a real uint8 array [H, W, C, N] (or [H, W, N])`, { file: path, offset: x.elementOffset, actual: `${className} [${dims.join(', ')}]` });
    }
    const count = dims[dims.length - 1]!;
    const labelsName = options.labels === undefined ? 'y' : options.labels;
    if (labelsName !== false) {
      const yInfo = variables.find((v) => v.header.name === labelsName);
      if (!yInfo) throw notFoundError(`MAT-file has no numeric variable "${labelsName}"`, { file: path, actual: variables.map((v) => v.header.name) });
      const values = await readVariable(handle, path, yInfo, le);
      if (values.length !== count) {
        throw formatError('Label and image counts disagree', { file: path, offset: yInfo.elementOffset, expected: `${count} labels (from ${imagesName})`, actual: values.length });
      }
      labels = new Int32Array(count);
      for (let i = 0; i < count; i++) {
        const v = values[i]!;
        if (!Number.isInteger(v) || v < 0 || v > 10) throw formatError('SVHN label outside 0..10', { file: path, offset: yInfo.elementOffset, actual: `y[${i}] = ${v}` });
        labels[i] = v === 10 ? 0 : v;
      }
    }
  } finally {
    await handle.close();
  }
  const dims = x.header.dims;
  const [H, W] = [dims[0]!, dims[1]!];
  const C = dims.length === 4 ? dims[2]! : 1;
  const count = dims[dims.length - 1]!;
  const recordBytes = H * W * C;
  const toSample = (index: number, bytes: Uint8Array): RawSample => ({
    index,
    label: labels ? labels[index]! : -1,
    pixels: { data: bytes.slice(), channels: C, height: H, width: W, layout: 'CWH' },
  });
  async function* read(indices: Uint32Array, signal?: AbortSignal): AsyncGenerator<RawSample> {
    if (!x.compressed) {
      for await (const [k, bytes] of readRecords(path, x.dataOffset, recordBytes, indices, signal)) yield toSample(indices[k]!, bytes);
      return;
    }
    if (indices.length === 0) return;
    const reader = inflateReader(path, x.compressed.start, x.compressed.end);
    for await (const [k, bytes] of readStreamRecords(reader, x.dataOffset, recordBytes, indices, signal)) yield toSample(indices[k]!, bytes);
  }
  return createDataset({
    format: 'svhn',
    source: path,
    count,
    shape: [C, H, W],
    eightBit: true,
    ...(labels ? { labels, classes: 10 } : {}),
    read,
  });
}
