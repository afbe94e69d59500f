/**
 * Node file access shared by the loaders: positional chunked reads of fixed-size records and a sequential
 * byte reader over a (decompressed) stream. Never reads a whole large file at once.
 */
import { open, stat } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { createReadStream } from 'node:fs';
import { createGunzip, createInflate } from 'node:zlib';
import type { Readable } from 'node:stream';
import { fileSystemError, formatError } from './errors.js';

/** Largest positional read issued at once. */
const CHUNK_BYTES = 4 << 20;

/** Opens a file for reading, mapping ENOENT to `'DATASET_NOT_FOUND'`. */
export async function openFile(file: string): Promise<FileHandle> {
  try {
    return await open(file, 'r');
  } catch (error) {
    throw fileSystemError(error, file);
  }
}

/** Size of a file in bytes (typed errors). */
export async function fileSize(file: string): Promise<number> {
  try {
    return (await stat(file)).size;
  } catch (error) {
    throw fileSystemError(error, file);
  }
}

/** Reads exactly `length` bytes at `position` or throws `'DATASET_FORMAT'` (truncated). */
export async function readAt(handle: FileHandle, file: string, position: number, length: number): Promise<Uint8Array> {
  const out = new Uint8Array(length);
  let done = 0;
  while (done < length) {
    const { bytesRead } = await handle.read(out, done, length - done, position + done);
    if (bytesRead === 0) throw formatError('File is truncated', { file, offset: position + done, expected: `${length} bytes`, actual: `${done} bytes` });
    done += bytesRead;
  }
  return out;
}

/** Reads the first `length` bytes of a file (fewer if it is shorter). */
export async function readHead(file: string, length: number): Promise<Uint8Array> {
  const handle = await openFile(file);
  try {
    const out = new Uint8Array(length);
    const { bytesRead } = await handle.read(out, 0, length, 0);
    return out.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

/**
 * Yields `[k, record]` for the records at ascending `indices` of a file of fixed-size records starting at
 * `dataOffset`, grouping neighbouring records into reads of at most 4 MiB. Record views are only valid until
 * the next iteration step.
 */
export async function* readRecords(file: string, dataOffset: number, recordBytes: number, indices: Uint32Array, signal?: AbortSignal): AsyncGenerator<[number, Uint8Array]> {
  if (indices.length === 0) return;
  const handle = await openFile(file);
  try {
    const perChunk = Math.max(1, Math.floor(CHUNK_BYTES / recordBytes));
    let k = 0;
    while (k < indices.length) {
      signal?.throwIfAborted();
      const first = indices[k]!;
      let end = k + 1;
      while (end < indices.length && indices[end]! - first < perChunk) end++;
      const span = indices[end - 1]! - first + 1;
      const bytes = await readAt(handle, file, dataOffset + first * recordBytes, span * recordBytes);
      for (let j = k; j < end; j++) {
        const at = (indices[j]! - first) * recordBytes;
        yield [j, bytes.subarray(at, at + recordBytes)];
      }
      k = end;
    }
  } finally {
    await handle.close();
  }
}

/**
 * Yields `[k, record]` for the records at ascending `indices` of a (decompressed) stream of fixed-size records
 * starting at `dataOffset`, skipping the records in between. After the last record, `onEnd(next)` may check
 * what follows (`next` = index after the last record read). The reader is closed in every case.
 */
export async function* readStreamRecords(
  reader: StreamReader,
  dataOffset: number,
  recordBytes: number,
  indices: Uint32Array,
  signal?: AbortSignal,
  onEnd?: (reader: StreamReader, next: number) => Promise<void>,
): AsyncGenerator<[number, Uint8Array]> {
  try {
    await reader.skip(dataOffset);
    let next = 0;
    for (let k = 0; k < indices.length; k++) {
      signal?.throwIfAborted();
      const index = indices[k]!;
      await reader.skip((index - next) * recordBytes);
      yield [k, await reader.read(recordBytes)];
      next = index + 1;
    }
    await onEnd?.(reader, next);
  } finally {
    reader.close();
  }
}

/**
 * Sequential reader of a byte stream: `read(n)` returns exactly `n` bytes or throws a `'DATASET_FORMAT'`
 * error naming the (decompressed) offset where the data ended.
 */
export class StreamReader {
  private readonly iterator: AsyncIterator<Buffer>;
  private pending: Uint8Array = new Uint8Array(0);
  private pendingStart = 0;
  /** Bytes consumed so far. */
  position = 0;

  constructor(
    private readonly stream: Readable,
    private readonly file: string,
    private readonly what: string,
    private readonly upstream: Readable[] = [],
  ) {
    this.iterator = stream[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  }

  private async fill(): Promise<boolean> {
    let next: IteratorResult<Buffer>;
    try {
      next = await this.iterator.next();
    } catch (error) {
      throw formatError(`Corrupt ${this.what} (${(error as Error).message})`, { file: this.file, offset: this.position, cause: error });
    }
    if (next.done) return false;
    const chunk = next.value;
    const rest = this.pending.length - this.pendingStart;
    const merged = new Uint8Array(rest + chunk.length);
    merged.set(this.pending.subarray(this.pendingStart), 0);
    merged.set(chunk, rest);
    this.pending = merged;
    this.pendingStart = 0;
    return true;
  }

  /** Exactly `n` bytes (a copy-free view when possible). */
  async read(n: number): Promise<Uint8Array> {
    while (this.pending.length - this.pendingStart < n) {
      if (!(await this.fill())) {
        throw formatError(`${this.what} ends early (truncated)`, { file: this.file, offset: this.position + this.pending.length - this.pendingStart, expected: `${n - (this.pending.length - this.pendingStart)} more bytes` });
      }
    }
    const out = this.pending.subarray(this.pendingStart, this.pendingStart + n);
    this.pendingStart += n;
    this.position += n;
    return out;
  }

  /** Skips `n` bytes. */
  async skip(n: number): Promise<void> {
    let left = n;
    while (left > 0) {
      const available = this.pending.length - this.pendingStart;
      if (available === 0 && !(await this.fill())) {
        throw formatError(`${this.what} ends early (truncated)`, { file: this.file, offset: this.position, expected: `${left} more bytes` });
      }
      const take = Math.min(left, this.pending.length - this.pendingStart);
      this.pendingStart += take;
      this.position += take;
      left -= take;
    }
  }

  /** True when no byte is left. */
  async atEnd(): Promise<boolean> {
    while (this.pending.length - this.pendingStart === 0) if (!(await this.fill())) return true;
    return false;
  }

  /** Releases the stream and the file. */
  close(): void {
    this.stream.destroy();
    for (const s of this.upstream) s.destroy();
  }
}

/** A sequential reader of a gzip file's decompressed bytes. */
export function gunzipReader(file: string): StreamReader {
  const raw = createReadStream(file);
  const stream = raw.pipe(createGunzip());
  raw.on('error', (error) => stream.destroy(error));
  return new StreamReader(stream, file, 'gzip data', [raw]);
}

/** A sequential reader of the zlib-inflated bytes in `[start, end)` of a file. */
export function inflateReader(file: string, start: number, end: number): StreamReader {
  const raw = createReadStream(file, { start, end: end - 1 });
  const stream = raw.pipe(createInflate());
  raw.on('error', (error) => stream.destroy(error));
  return new StreamReader(stream, file, 'compressed MAT element', [raw]);
}
