/**
 * `.npy` files on disk (Node): whole-file load, atomic write, and a resumable streaming row writer.
 */
import { open, readFile, rename, stat } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import type { Matrix } from '@opnp/core/base';
import { writeFileAtomic } from '@opnp/core/node';
import type { NpyArray } from '../../formats/npy.js';
import { encodeNpy, encodeNpyHeader, floatBytesView, parseNpyHeader, readNpy, type NpyHeader } from '../../formats/npy.js';
import { argumentError, formatError } from '../../errors.js';
import { fileSystemError, writeError } from '../fs-errors.js';
import { fileSize, openFile, readAt, readRecords } from '../io.js';
import type { Dataset } from '../../types.js';
import { createNodeDataset } from '../sharp-images.js';
import type { RawSample } from '../../dataset.js';

/** Reads a whole `.npy` file. */
export async function loadNpy(path: string): Promise<NpyArray> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (error) {
    throw fileSystemError(error, path);
  }
  return readNpy(bytes, { file: path });
}

/**
 * Writes a matrix (float32 `[rows, cols]`) or an array as a `.npy` file, atomically: the bytes go to a
 * temporary file in the same folder, are flushed to disk, and the file is renamed over `path`.
 *
 * @throws OpnpError `'IO_ERROR'` ("Cannot write <path>: folder <dir> does not exist", or the system's code).
 */
export async function writeNpy(path: string, value: Matrix | NpyArray): Promise<void> {
  const bytes = encodeNpy(value);
  try {
    await writeFileAtomic(path, bytes, 'the .npy file');
  } catch (error) {
    throw await writeError(error, path);
  }
}

/** Options of {@link openNpyRowWriter}. */
export interface NpyRowWriterOptions {
  /** Values per row (`D`). */
  cols: number;
  /** Continue an interrupted (or finished) file instead of starting over (default true). */
  resume?: boolean;
}

/** Appends float32 rows `[n, cols]` to a `.npy` file; see {@link openNpyRowWriter}. */
export interface NpyRowWriter {
  /** The final path. */
  readonly path: string;
  readonly cols: number;
  /** Rows in the file so far (including rows found when resuming). */
  readonly rows: number;
  /** Rows that were already there when the writer was opened. */
  readonly resumedRows: number;
  /** Appends rows: a matrix with `cols` columns, or `k * cols` values (read until the promise resolves: keep them unchanged until then). */
  append(rows: Matrix | Float32Array): Promise<void>;
  /** Writes the final header, flushes, and renames the partial file to `path`. */
  finalize(): Promise<void>;
  /** Closes without finalizing (the partial file stays, valid, for resuming). Idempotent. */
  close(): Promise<void>;
}

/** Header length reserved by the row writer (room for 20-digit dimensions). */
const RESERVED_HEADER = 128;

/**
 * Opens a streaming `.npy` row writer for `opnp extract`-style output: rows are appended to `<path>.partial`,
 * whose header is rewritten after every append so it is always a valid `.npy` of the rows so far;
 * {@link NpyRowWriter.finalize} renames it to `path`. With `resume` (default) an existing `<path>.partial`
 * (or a finished `path`) is reopened: `rows` says how many rows exist (a trailing partial row is cut off),
 * so the caller skips that many samples.
 *
 * @throws OpnpError `'DATASET_FORMAT'` when resuming a file with another dtype, rank or column count;
 * `'IO_ERROR'` when the file cannot be written ("Cannot write <path>: folder <dir> does not exist").
 */
export async function openNpyRowWriter(path: string, options: NpyRowWriterOptions): Promise<NpyRowWriter> {
  const { cols } = options;
  if (!Number.isInteger(cols) || cols <= 0) throw argumentError('cols must be a positive integer', { actual: cols });
  const partial = `${path}.partial`;
  const rowBytes = cols * 4;
  const resume = options.resume ?? true;
  const existsFile = async (p: string) => stat(p).then((s) => s.isFile(), () => false);
  let handle: FileHandle;
  let headerLength = RESERVED_HEADER;
  let rows = 0;
  try {
    if (resume && !(await existsFile(partial)) && (await existsFile(path))) await rename(path, partial);
    if (resume && (await existsFile(partial))) {
      const size = (await stat(partial)).size;
      const reader = await openFile(partial);
      let head: Uint8Array;
      try {
        head = await readAt(reader, partial, 0, Math.min(size, 4096));
      } finally {
        await reader.close();
      }
      const header = parseNpyHeader(head, partial);
      if (header.dtype !== 'float32' || !header.littleEndian || header.shape.length !== 2 || header.shape[1] !== cols) {
        throw formatError('Cannot resume: the existing .npy file has another dtype or shape', { file: partial, offset: 0, expected: `<f4 (N, ${cols})`, actual: `${header.dtype} (${header.shape.join(', ')})` });
      }
      headerLength = header.dataOffset;
      rows = Math.floor((size - headerLength) / rowBytes);
      handle = await open(partial, 'r+');
      await handle.truncate(headerLength + rows * rowBytes);
    } else {
      handle = await open(partial, 'w+');
    }
  } catch (error) {
    if ((error as { name?: string }).name === 'OpnpError') throw error;
    throw await writeError(error, path);
  }
  const resumedRows = rows;
  let closed = false;
  const writeHeader = async () => {
    await handle.write(encodeNpyHeader('float32', [rows, cols], headerLength), 0, headerLength, 0);
  };
  await writeHeader();
  const writer: NpyRowWriter = {
    path,
    cols,
    get rows() {
      return rows;
    },
    resumedRows,
    async append(values: Matrix | Float32Array) {
      if (closed) throw argumentError('The .npy row writer is closed');
      const data = values instanceof Float32Array ? values : values.data;
      if (!(values instanceof Float32Array) && values.cols !== cols) throw argumentError('Appended rows have another column count', { expected: cols, actual: values.cols });
      if (data.length % cols !== 0) throw argumentError('Appended values are not a whole number of rows', { expected: `a multiple of ${cols}`, actual: data.length });
      const bytes = floatBytesView(data); // written before append resolves: no copy needed
      await handle.write(bytes, 0, bytes.length, headerLength + rows * rowBytes);
      rows += data.length / cols;
      await writeHeader();
    },
    async finalize() {
      if (closed) throw argumentError('The .npy row writer is closed');
      await writeHeader();
      await handle.sync();
      await handle.close();
      closed = true;
      await rename(partial, path);
    },
    async close() {
      if (closed) return;
      closed = true;
      await writeHeader();
      await handle.close();
    },
  };
  return writer;
}

/** A `.npy` file opened as a {@link Dataset}: also says the stored array's shape. */
export interface NpyDataset extends Dataset {
  /** Shape of the array in the file, e.g. `[100, 300]` (`shape` is the per-sample `[C, H, W]`, here `[1, 1, 300]`). */
  readonly arrayShape: readonly number[];
}

/** One `.npy` part of a dataset: where its rows start in the file and how they decode. */
interface NpyPart {
  readonly path: string;
  readonly header: NpyHeader;
  readonly shape: readonly number[];
  readonly count: number;
  readonly recordBytes: number;
}

async function openNpyPart(path: string): Promise<NpyPart> {
  const size = await fileSize(path);
  const handle = await openFile(path);
  let head: Uint8Array;
  try {
    head = await readAt(handle, path, 0, Math.min(size, 1 << 16));
  } finally {
    await handle.close();
  }
  const header = parseNpyHeader(head, path);
  const { shape } = header;
  if (shape.length < 2 || shape.length > 4) throw formatError('A .npy dataset needs shape [N, D], [N, H, W] or [N, C, H, W]', { file: path, actual: shape });
  const count = shape[0]!;
  const recordBytes = shape.slice(1).reduce((a, b) => a * b, 1) * header.itemBytes;
  const expected = header.dataOffset + count * recordBytes;
  if (size !== expected) throw formatError(size < expected ? '.npy file is truncated' : '.npy file has trailing bytes', { file: path, offset: Math.min(size, expected), expected: `${expected} bytes`, actual: `${size} bytes` });
  return { path, header, shape, count, recordBytes };
}

/** Throws unless every part stores rows of the first part's dtype, byte order and row shape. */
function checkPartsAlike(parts: readonly NpyPart[]): void {
  const first = parts[0]!;
  for (const part of parts.slice(1)) {
    const same = part.header.dtype === first.header.dtype && part.header.littleEndian === first.header.littleEndian && part.shape.slice(1).join(',') === first.shape.slice(1).join(',');
    if (!same) throw formatError(`The .npy parts differ: ${first.path} holds ${first.header.dtype} rows of shape (${first.shape.slice(1).join(', ')}), this one ${part.header.dtype} rows of shape (${part.shape.slice(1).join(', ')})`, { file: part.path });
  }
}

/** Reads the records at ascending (global) `indices` from the parts, in order. */
async function* readParts(parts: readonly NpyPart[], indices: Uint32Array, signal?: AbortSignal): AsyncGenerator<[number, Uint8Array]> {
  let k = 0;
  let offset = 0;
  for (const part of parts) {
    const end = offset + part.count;
    let stop = k;
    while (stop < indices.length && indices[stop]! < end) stop++;
    if (stop > k) {
      const local = Uint32Array.from(indices.subarray(k, stop), (i) => i - offset);
      for await (const [j, bytes] of readRecords(part.path, part.header.dataOffset, part.recordBytes, local, signal)) yield [k + j, bytes];
    }
    k = stop;
    offset = end;
  }
}

/**
 * Opens a `.npy` array as a {@link Dataset} streamed by offset (unlabelled): `[N, D]` gives stored shape
 * `[1, 1, D]`, `[N, H, W]` gives `[1, H, W]`, `[N, C, H, W]` gives `[C, H, W]`; `arrayShape` is the array's
 * own shape. Values are used as they are (scale 1): typically precomputed features or already-normalised inputs.
 *
 * Several files are one dataset whose rows are theirs one after the other (e.g. the shards of a sharded
 * extraction): they must share dtype, byte order and row shape; `arrayShape[0]` is the total row count and
 * batches run across the file boundaries exactly as over one concatenated file.
 *
 * @throws OpnpError `'DATASET_NOT_FOUND'` ("File not found: <path>"), `'DATASET_FORMAT'` (bad header, rank
 * other than 2 to 4, a length that disagrees with the shape, parts that differ).
 */
export async function openNpyDataset(path: string | readonly string[]): Promise<NpyDataset> {
  const paths = typeof path === 'string' ? [path] : path;
  if (paths.length === 0) throw argumentError('openNpyDataset needs at least one file');
  const parts: NpyPart[] = [];
  for (const p of paths) parts.push(await openNpyPart(p));
  checkPartsAlike(parts);
  const { shape, header } = parts[0]!;
  const count = parts.reduce((n, p) => n + p.count, 0);
  const stored: [number, number, number] = shape.length === 2 ? [1, 1, shape[1]!] : shape.length === 3 ? [1, shape[1]!, shape[2]!] : [shape[1]!, shape[2]!, shape[3]!];
  const values = stored[0] * stored[1] * stored[2];
  async function* read(indices: Uint32Array, signal?: AbortSignal): AsyncGenerator<RawSample> {
    for await (const [k, bytes] of readParts(parts, indices, signal)) {
      const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      const data = header.dtype === 'float32' ? new Float32Array(values) : new Float64Array(values);
      for (let i = 0; i < values; i++) data[i] = header.dtype === 'float32' ? view.getFloat32(4 * i, header.littleEndian) : view.getFloat64(8 * i, header.littleEndian);
      yield { index: indices[k]!, label: -1, pixels: { data, channels: stored[0], height: stored[1], width: stored[2], layout: 'CHW' } };
    }
  }
  const verify = async () => parts.map((p) => `${parts.length > 1 ? `${p.path}: ` : ''}file length: ${p.header.dataOffset + p.count * p.recordBytes} bytes = header + ${p.count} x ${p.recordBytes}-byte rows of shape (${p.shape.join(', ')})`);
  const source = paths.length === 1 ? paths[0]! : `${paths[0]!} (+ ${paths.length - 1} more parts)`;
  const dataset = createNodeDataset({ format: 'npy', source, count, shape: stored, eightBit: false, read, verify });
  return Object.freeze({ ...dataset, arrayShape: Object.freeze([count, ...shape.slice(1)]) });
}
