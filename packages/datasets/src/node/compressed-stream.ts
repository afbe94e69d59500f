/**
 * Sequential readers of compressed file data (gzip files, zlib-compressed MAT elements) and the error for a
 * compressed stream that ends early: where in the file the compressed bytes stop, the file's size and, when a
 * header announced it, how many decompressed bytes were expected and how many the cut stream holds.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { constants, createGunzip, createInflate, type Gunzip, type Inflate } from 'node:zlib';
import type { OpnpError } from '@opnp/core/base';
import { damagedDataError, endedEarlyError, type ExpectedLength } from '../inflate.js';
import { StreamReader } from './io.js';

/** The two containers read as streams: gzip files and zlib data (MAT `miCOMPRESSED` elements). */
type StreamKind = 'gzip' | 'zlib';

/** Where compressed data lies: `[start, end)` of `file` (`end` undefined: to the end of the file). */
interface CompressedRange {
  readonly file: string;
  readonly kind: StreamKind;
  readonly start: number;
  readonly end?: number;
}

function decompressor(kind: StreamKind, options: { finishFlush?: number } = {}): Gunzip | Inflate {
  return kind === 'gzip' ? createGunzip(options) : createInflate(options);
}

function fileStream(range: CompressedRange) {
  return createReadStream(range.file, { start: range.start, ...(range.end !== undefined ? { end: range.end - 1 } : {}) });
}

/** Whether a zlib error says the input ended before the compressed stream did (node:zlib's `Z_BUF_ERROR`). */
function isEndedEarly(error: unknown): boolean {
  return (error as { code?: unknown } | null)?.code === 'Z_BUF_ERROR';
}

/** A node:zlib error for damaged data (`Z_DATA_ERROR`: a bad header, bad deflate data, a checksum that does not match). */
function isZlibError(error: unknown): boolean {
  return (error as { code?: unknown } | null)?.code === 'Z_DATA_ERROR';
}

/**
 * The decompressed bytes the data in `range` yields up to where it ends, counted without keeping them
 * (inflated again with `Z_SYNC_FLUSH`, which does not fail at a missing end); undefined if that fails too.
 */
async function decompressedBytesAvailable(range: CompressedRange): Promise<number | undefined> {
  const raw = fileStream(range);
  const inflater = decompressor(range.kind, { finishFlush: constants.Z_SYNC_FLUSH });
  raw.on('error', (error) => inflater.destroy(error));
  let bytes = 0;
  try {
    for await (const chunk of raw.pipe(inflater)) bytes += (chunk as Buffer).length;
    return bytes;
  } catch {
    return undefined;
  } finally {
    raw.destroy();
    inflater.destroy();
  }
}

/** The error of a compressed stream that ended early, with the file's size and the decompressed bytes it holds. */
async function streamEndedEarly(range: CompressedRange, what: string, stoppedAt: number, expected: ExpectedLength | undefined, cause: unknown): Promise<OpnpError> {
  const fileBytes = (await stat(range.file).catch(() => undefined))?.size;
  const available = await decompressedBytesAvailable(range);
  return endedEarlyError({ what, file: range.file, stoppedAt, fileBytes, expected, available, cause });
}

function compressedReader(range: CompressedRange, what: string, expected: ExpectedLength | undefined): StreamReader {
  const raw = fileStream(range);
  const inflater = decompressor(range.kind);
  const stream = raw.pipe(inflater);
  raw.on('error', (error) => stream.destroy(error));
  return new StreamReader(stream, range.file, what, [raw], {
    ...(expected !== undefined ? { expected } : {}),
    streamError: (error) => (isEndedEarly(error) ? streamEndedEarly(range, what, range.start + inflater.bytesWritten, expected, error) : Promise.resolve(isZlibError(error) ? damagedDataError(what, range.file, error) : undefined)),
  });
}

/**
 * A sequential reader of a gzip file's decompressed bytes.
 *
 * @param expected the decompressed length a header announced, for the message of a file that ends early
 */
export function gunzipReader(file: string, expected?: ExpectedLength): StreamReader {
  return compressedReader({ file, kind: 'gzip', start: 0 }, 'gzip data', expected);
}

/**
 * A sequential reader of the zlib-inflated bytes in `[start, end)` of a file.
 *
 * @param expected the inflated length the element announced, for the message of data that ends early
 */
export function inflateReader(file: string, start: number, end: number, expected?: ExpectedLength): StreamReader {
  return compressedReader({ file, kind: 'zlib', start, end }, 'compressed MAT element', expected);
}
