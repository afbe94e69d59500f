/**
 * Node file access shared by the loaders: positional chunked reads of fixed-size records and a sequential
 * byte reader over a (decompressed) stream. Never reads a whole large file at once.
 */
import { open, stat } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { isOpnpError, type OpnpError } from '@opnp/core/base';
import { formatError } from '../errors.js';
import type { ExpectedLength } from '../inflate.js';
import { fileSystemError } from './fs-errors.js';

/** Largest positional read issued at once. */
const CHUNK_BYTES = 4 << 20;

/** Largest sample (one image / row) accepted from a header: 256 MiB. */
export const MAX_SAMPLE_BYTES = 2 ** 28;

/**
 * Refuses a sample size above {@link MAX_SAMPLE_BYTES} (a lying or corrupt header) before anything is read.
 *
 * @param describe the header's dimensions in words, e.g. `dims [2, 20000, 20000] of uint8`.
 */
export function checkSampleBytes(sampleBytes: number, describe: string, file: string, offset: number): void {
  if (sampleBytes > MAX_SAMPLE_BYTES) {
    throw formatError(`Implausibly large samples: the header's ${describe} make ${sampleBytes} bytes per sample`, {
      file,
      offset,
      expected: `at most ${MAX_SAMPLE_BYTES} bytes (256 MiB) per sample`,
      hint: 'The header is corrupt, or this is not a dataset of images / rows',
    });
  }
}

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
 * One read of {@link readRecordBlocks}: the records `indices[start..end)` lie in `bytes`, record `j` at byte
 * `(indices[j] - indices[start]) * recordBytes`.
 */
export interface RecordBlock {
  readonly start: number;
  readonly end: number;
  readonly bytes: Uint8Array;
}

/**
 * Yields the records at ascending `indices` of a file of fixed-size records starting at `dataOffset` in
 * blocks, one per read: neighbouring records are grouped into reads of at most 4 MiB. Every block is a fresh
 * buffer, never written again.
 */
export async function* readRecordBlocks(file: string, dataOffset: number, recordBytes: number, indices: Uint32Array, signal?: AbortSignal): AsyncGenerator<RecordBlock> {
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
      yield { start: k, end, bytes: await readAt(handle, file, dataOffset + first * recordBytes, span * recordBytes) };
      k = end;
    }
  } finally {
    await handle.close();
  }
}

/**
 * Yields `[k, record]` for the records at ascending `indices` of a file of fixed-size records starting at
 * `dataOffset`, grouping neighbouring records into reads of at most 4 MiB ({@link readRecordBlocks}). Records
 * are views of a fresh buffer per read, never written again: they stay valid (and keep their read's buffer
 * alive) as long as they are held.
 */
export async function* readRecords(file: string, dataOffset: number, recordBytes: number, indices: Uint32Array, signal?: AbortSignal): AsyncGenerator<[number, Uint8Array]> {
  for await (const { start, end, bytes } of readRecordBlocks(file, dataOffset, recordBytes, indices, signal)) {
    const first = indices[start]!;
    for (let j = start; j < end; j++) {
      const at = (indices[j]! - first) * recordBytes;
      yield [j, bytes.subarray(at, at + recordBytes)];
    }
  }
}

/**
 * Yields `[k, record]` for the records at ascending `indices` of a (decompressed) stream of fixed-size records
 * starting at `dataOffset`, skipping the records in between. After the last record, `onEnd(next)` may check
 * what follows (`next` = index after the last record read). The reader is closed in every case. Records are
 * views of the stream's chunks (or copies when they span two), never written again.
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

/** Called with every new {@link StreamReader} (tests observe buffering through it); see {@link observeStreamReaders}. */
let readerObserver: ((reader: StreamReader) => void) | undefined;

/**
 * Registers a function called with every {@link StreamReader} created from now on (`undefined` to stop).
 * Internal: lets tests assert how many bytes a loader pulled from a decompressor and how many it buffered.
 *
 * @internal
 */
export function observeStreamReaders(observer: ((reader: StreamReader) => void) | undefined): void {
  readerObserver = observer;
}

/** What a {@link StreamReader} knows beyond its bytes, for messages. */
export interface StreamReaderOptions {
  /** The length the data must have (from a header), when known. */
  readonly expected?: ExpectedLength;
  /**
   * The error to report for a failure of the stream (a decompressor's), or undefined for the default
   * `Corrupt <what>`: e.g. where in the file a compressed stream that ends early stops.
   */
  readonly streamError?: (error: unknown) => Promise<OpnpError | undefined>;
}

/**
 * Sequential reader of a byte stream: `read(n)` returns exactly `n` bytes or throws a `'DATASET_FORMAT'`
 * error saying where the data ended and, when a header announced it, how long it should be.
 *
 * Buffering is linear: pulled chunks are kept in a list consumed by offset, every byte is copied at most
 * once, and at most `n` bytes plus one chunk are held while reading `n` bytes (`skip` holds one chunk).
 */
export class StreamReader {
  private readonly iterator: AsyncIterator<Buffer>;
  private chunks: Uint8Array[] = [];
  /** Offset of the first unconsumed byte in `chunks[0]`. */
  private head = 0;
  /** Unconsumed bytes held in `chunks`. */
  private buffered = 0;
  /** Bytes consumed so far. */
  position = 0;
  /** Bytes pulled from the stream so far (decompressed bytes for gzip / zlib streams). */
  pulled = 0;
  /**
   * Set once the stream's failure was described by `streamError` (data that ends early: the error thrown says where
   * and how much is missing; damaged compressed data: it says what is wrong with which file).
   */
  endedEarly = false;
  /** Most bytes held at once. */
  maxBuffered = 0;
  /** Bytes copied into assembled reads (at most the bytes read: no quadratic re-copying). */
  copied = 0;

  constructor(
    private readonly stream: Readable,
    private readonly file: string,
    private readonly what: string,
    private readonly upstream: Readable[] = [],
    private readonly options: StreamReaderOptions = {},
  ) {
    this.iterator = stream[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
    readerObserver?.(this);
  }

  private async fill(): Promise<boolean> {
    let next: IteratorResult<Buffer>;
    try {
      next = await this.iterator.next();
    } catch (error) {
      const described = await this.options.streamError?.(error);
      if (described) {
        this.endedEarly = true;
        throw described;
      }
      throw formatError(`Cannot read the ${this.what} of ${this.file}: ${(error as Error).message}`, { file: this.file, offset: this.position + this.buffered, cause: error });
    }
    if (next.done) return false;
    const chunk = next.value;
    if (chunk.length === 0) return true;
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    this.pulled += chunk.length;
    this.maxBuffered = Math.max(this.maxBuffered, this.buffered);
    return true;
  }

  /** The stream ended cleanly while `more` bytes past the buffered ones were wanted: all of it was pulled. */
  private truncated(more: number): never {
    const { expected } = this.options;
    const wanted = expected ? `${expected.bytes} bytes ${expected.describe}` : `at least ${this.pulled + more} bytes`;
    this.endedEarly = true;
    throw formatError(`${this.what} ends early (truncated) after ${this.pulled} bytes`, { file: this.file, expected: wanted, actual: `${this.pulled} bytes in all` });
  }

  /** Drops `n` buffered bytes (`n <= buffered`). */
  private consume(n: number): void {
    let left = n;
    let drop = 0;
    while (left > 0) {
      const chunk = this.chunks[drop]!;
      const take = Math.min(left, chunk.length - this.head);
      this.head += take;
      left -= take;
      if (this.head === chunk.length) {
        drop++;
        this.head = 0;
      }
    }
    if (drop > 0) this.chunks.splice(0, drop);
    this.buffered -= n;
    this.position += n;
  }

  /** Exactly `n` bytes (a copy-free view when they lie in one chunk). */
  async read(n: number): Promise<Uint8Array> {
    while (this.buffered < n) if (!(await this.fill())) this.truncated(n - this.buffered);
    const first = this.chunks[0];
    if (n === 0 || first === undefined) return new Uint8Array(0);
    if (first.length - this.head >= n) {
      const view = first.subarray(this.head, this.head + n);
      this.consume(n);
      return view;
    }
    const out = new Uint8Array(n);
    let done = 0;
    for (const [i, chunk] of this.chunks.entries()) {
      if (done === n) break;
      const from = i === 0 ? this.head : 0;
      const take = Math.min(n - done, chunk.length - from);
      out.set(chunk.subarray(from, from + take), done);
      done += take;
    }
    this.copied += n;
    this.consume(n);
    return out;
  }

  /** Up to `n` bytes: fewer only when the stream ends first. */
  async readUpTo(n: number): Promise<Uint8Array> {
    while (this.buffered < n) if (!(await this.fill())) break;
    return this.read(Math.min(n, this.buffered));
  }

  /** Skips `n` bytes, holding at most one chunk at a time. */
  async skip(n: number): Promise<void> {
    let left = n;
    while (left > 0) {
      if (this.buffered === 0 && !(await this.fill())) this.truncated(left);
      const take = Math.min(left, this.buffered);
      this.consume(take);
      left -= take;
    }
  }

  /** Bytes pulled but not consumed yet. */
  get available(): number {
    return this.buffered;
  }

  /** True when no byte is left. */
  async atEnd(): Promise<boolean> {
    while (this.buffered === 0) if (!(await this.fill())) return true;
    return false;
  }

  /** Releases the stream and the file. */
  close(): void {
    this.chunks = [];
    this.buffered = 0;
    this.stream.destroy();
    for (const s of this.upstream) s.destroy();
  }
}

/**
 * Streams the rest of `reader` without keeping it and checks that the stream holds exactly `expected` bytes
 * (counted from its start). Pulls at most one chunk past `expected`. Returns the byte count.
 *
 * @param describe what the header announced, e.g. `for dims [10000, 28, 28] of uint8`.
 * @param what the data in messages, e.g. `IDX file`.
 * @throws OpnpError `'DATASET_FORMAT'` naming the file, the expected and the actual byte count.
 */
export async function verifyStreamLength(reader: StreamReader, file: string, expected: number, describe: string, what = 'The data'): Promise<number> {
  const wanted = `${expected} bytes ${describe}`;
  // a decompressor error (cut or damaged compressed data) also says how far the data got
  const pull = async <T>(step: () => Promise<T>): Promise<T> => {
    try {
      return await step();
    } catch (error) {
      if (reader.endedEarly) throw error; // the reader's error already says where and how much is missing
      const got = reader.position + reader.available;
      const reason = isOpnpError(error) && error.cause instanceof Error ? error.cause.message : (error as Error).message;
      throw formatError(`${what} is truncated or corrupt: ${reason}`, { file, offset: got, expected: wanted, actual: `${got} bytes before the data ended`, cause: error });
    }
  };
  while (reader.position < expected) {
    if (await pull(() => reader.atEnd())) throw formatError(`${what} is truncated`, { file, offset: reader.position, expected: wanted, actual: `${reader.position} bytes` });
    await reader.skip(Math.min(expected - reader.position, reader.available));
  }
  if (!(await pull(() => reader.atEnd()))) {
    throw formatError(`${what} has trailing bytes after the announced data`, { file, offset: expected, expected: wanted, actual: `more than ${expected} bytes` });
  }
  return expected;
}
