/**
 * SVHN `.mat` datasets on disk (Node): `X [H, W, C, N]` uint8 (column-major) and `y [N, 1]` (10 = digit 0).
 * The element tags are walked by positional reads; `y` is read whole, `X` is streamed (through zlib when
 * compressed) so the images are never all in memory.
 */
import type { FileHandle } from 'node:fs/promises';
import type { Dataset } from '../../types.js';
import type { MatContext, MatMatrixHeader } from '../../formats/mat.js';
import { MI_COMPRESSED, MI_MATRIX, decodeMatNumeric, inflateMatElement, parseMatHeader, parseMatMatrixHeader, readMatTag } from '../../formats/mat.js';
import { createNodeDataset } from '../sharp-images.js';
import type { RawSample } from '../../dataset.js';
import { inflateReader } from '../compressed-stream.js';
import { MAX_SAMPLE_BYTES, checkSampleBytes, fileSize, openFile, readAt, readRecords, readStreamRecords, verifyStreamLength } from '../io.js';
import { inflatePrefix, maxInflatedBytes } from '../../inflate.js';
import { zlibEngine } from '../inflate-zlib.js';
import { formatError, notFoundError } from '../../errors.js';

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
  /**
   * For compressed elements: the compressed byte range and the inflated length its inner tag announces;
   * the real data offset is into the inflated stream.
   */
  readonly compressed: { start: number; end: number; inflated: number } | undefined;
  /** Offset of the real part's data (file offset, or inflated-stream offset when compressed). */
  readonly dataOffset: number;
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
      const inflated = inflatePrefix(zlibEngine, 'zlib', prefix, 4096, file, element.dataOffset);
      const view = new DataView(inflated.buffer, inflated.byteOffset, inflated.byteLength);
      const innerCtx: MatContext = { file, base: -1, what: `MAT-file compressed element at byte ${offset} (offsets are into its inflated data)` };
      if (inflated.length >= 8) {
        const matrixTagType = view.getUint32(0, le);
        if (matrixTagType === MI_MATRIX) {
          const matrixBytes = view.getUint32(4, le);
          const header = guardHeader(() => parseMatMatrixHeader(view, 8, 8 + matrixBytes, le, innerCtx), file, offset);
          const compressed = { start: element.dataOffset, end: element.dataOffset + element.bytes, inflated: 8 + matrixBytes };
          if (header.real) out.push({ header, elementOffset: offset, compressed, dataOffset: header.real.dataOffset });
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
    const inflated = inflateMatElement(await readAt(handle, file, info.compressed.start, info.compressed.end - info.compressed.start), le, file, info.compressed.start, zlibEngine);
    if (inflated.length < real.dataOffset + real.bytes) throw formatError('Compressed MAT element is truncated', { file, offset: info.elementOffset });
    view = new DataView(inflated.buffer, inflated.byteOffset, inflated.byteLength);
  } else {
    const bytes = await readAt(handle, file, info.dataOffset, real.bytes);
    view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    tag = { ...real, dataOffset: 0 };
  }
  return Float64Array.from(decodeMatNumeric(view, tag, 'double', le));
}

/** Reads and maps the labels variable (10 -> 0), after checking its size against the images' count. */
async function readSvhnLabels(handle: FileHandle, file: string, variables: readonly VariableInfo[], name: string, le: boolean, count: number, imagesName: string): Promise<Int32Array> {
  const yInfo = variables.find((v) => v.header.name === name);
  if (!yInfo) throw notFoundError(`MAT-file has no numeric variable "${name}"`, { file, actual: variables.map((v) => v.header.name) });
  const elements = yInfo.header.dims.reduce((a, b) => a * b, 1);
  if (elements !== count) {
    throw formatError('Label and image counts disagree', { file, offset: yInfo.elementOffset, expected: `${count} labels (from ${imagesName})`, actual: `${elements} (dims [${yInfo.header.dims.join(', ')}])` });
  }
  if (yInfo.header.real!.bytes > MAX_SAMPLE_BYTES) {
    throw formatError(`Implausibly large labels variable "${name}"`, { file, offset: yInfo.elementOffset, expected: `at most ${MAX_SAMPLE_BYTES} bytes`, actual: `${yInfo.header.real!.bytes} bytes` });
  }
  const values = await readVariable(handle, file, yInfo, le);
  if (values.length !== count) {
    throw formatError('Label and image counts disagree', { file, offset: yInfo.elementOffset, expected: `${count} labels (from ${imagesName})`, actual: values.length });
  }
  const labels = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    const v = values[i]!;
    if (!Number.isInteger(v) || v < 0 || v > 10) throw formatError('SVHN label outside 0..10', { file, offset: yInfo.elementOffset, actual: `y[${i}] = ${v}` });
    labels[i] = v === 10 ? 0 : v;
  }
  return labels;
}

/** Checks the images variable: a real uint8 `[H, W, C, N]` whose samples and compressed size are plausible. */
function checkImagesVariable(x: VariableInfo, name: string, file: string): void {
  const { className, dims, real } = x.header;
  if (className !== 'uint8' || real!.type !== 2 || (dims.length !== 4 && dims.length !== 3) || x.header.complex) {
    throw formatError(`"${name}" must be a real uint8 array [H, W, C, N] (or [H, W, N])`, { file, offset: x.elementOffset, actual: `${className} [${dims.join(', ')}]` });
  }
  const sampleBytes = dims.slice(0, -1).reduce((a, b) => a * b, 1);
  checkSampleBytes(sampleBytes, `MAT dims [${dims.join(', ')}] of "${name}"`, file, x.elementOffset);
  if (x.compressed) {
    const most = maxInflatedBytes(x.compressed.end - x.compressed.start);
    if (x.compressed.inflated > most) {
      throw formatError(`Compressed "${name}" is too small for its dimensions (truncated or corrupt)`, { file, offset: x.elementOffset, expected: `${x.compressed.inflated} inflated bytes for [${dims.join(', ')}]`, actual: `${x.compressed.end - x.compressed.start} compressed bytes, which inflate to at most ${most}` });
    }
  }
}

/** {@link Dataset.verify} of an SVHN file: a compressed images element is inflated, streamed and counted. */
function svhnVerifier(path: string, x: VariableInfo): () => Promise<readonly string[]> {
  return async () => {
    const dims = `[${x.header.dims.join(', ')}]`;
    if (!x.compressed) return [`element sizes: checked against the file length (images ${dims}, uncompressed)`];
    const reader = inflateReader(path, x.compressed.start, x.compressed.end, { bytes: x.compressed.inflated, describe: `(inflated) for the images element [${x.header.dims.join(', ')}]` });
    try {
      await verifyStreamLength(reader, path, x.compressed.inflated, `(inflated) for the images element ${dims}`, 'Compressed MAT element');
    } finally {
      reader.close();
    }
    return [`images: ${x.compressed.inflated} inflated bytes of the compressed element ${dims} (streamed and counted)`];
  };
}

/**
 * Opens an SVHN `.mat` file (`train_32x32.mat`, `test_32x32.mat`, `extra_32x32.mat`) as a {@link Dataset} of
 * stored shape `[C, H, W]` (from `X [H, W, C, N]`, 8-bit). Labels: `y` with 10 mapped to digit 0.
 *
 * @throws OpnpError `'DATASET_FORMAT'` (bad MAT structure, X not uint8 [H, W, C, N], label/image counts that
 * disagree, labels outside 0..10, sizes a compressed element cannot hold), `'DATASET_NOT_FOUND'` (file or variable missing).
 */
export async function openSvhn(path: string, options: SvhnOptions = {}): Promise<Dataset> {
  const size = await fileSize(path);
  const handle = await openFile(path);
  let x: VariableInfo;
  let labels: Int32Array | undefined;
  try {
    const le = parseMatHeader(await readAt(handle, path, 0, Math.min(size, 128)), path);
    const variables = await scanMat(handle, path, size);
    const imagesName = options.images ?? 'X';
    const found = variables.find((v) => v.header.name === imagesName);
    if (!found) throw notFoundError(`MAT-file has no numeric variable "${imagesName}"`, { file: path, actual: variables.map((v) => v.header.name) });
    x = found;
    checkImagesVariable(x, imagesName, path);
    const labelsName = options.labels === undefined ? 'y' : options.labels;
    const count = x.header.dims[x.header.dims.length - 1]!;
    if (labelsName !== false) labels = await readSvhnLabels(handle, path, variables, labelsName, le, count, imagesName);
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
    const reader = inflateReader(path, x.compressed.start, x.compressed.end, { bytes: x.compressed.inflated, describe: `(inflated) for the images element [${x.header.dims.join(', ')}]` });
    for await (const [k, bytes] of readStreamRecords(reader, x.dataOffset, recordBytes, indices, signal)) yield toSample(indices[k]!, bytes);
  }
  return createNodeDataset({
    format: 'svhn',
    source: path,
    count,
    shape: [C, H, W],
    eightBit: true,
    ...(labels ? { labels, classes: 10 } : {}),
    read,
    verify: svhnVerifier(path, x),
  });
}
