/**
 * In-memory decompression for the buffer parsers (`fromIdx`, `fromMat`), independent of the decompressor:
 * an {@link InflateEngine} does the work (fflate in `inflate-fflate.ts`, everywhere; node:zlib in
 * `node/inflate-zlib.ts`, for the Node entry), this module bounds it and turns failures into typed errors.
 * Both engines give the same bytes for the same input.
 *
 * Decompression is bounded: callers inflate a small prefix to read a header, check that the header's sizes
 * are possible for the compressed length ({@link maxInflatedBytes}), then inflate with a cap so a
 * decompression bomb fails instead of filling memory.
 */
import type { OpnpError } from '@opnp/core/base';
import { formatError } from './errors.js';

/** The two deflate containers the formats use: gzip (`.gz` IDX files) and zlib (`miCOMPRESSED` MAT elements). */
export type DeflateKind = 'gzip' | 'zlib';

/**
 * Thrown by an {@link InflateEngine} when its input ends before the compressed stream does (a cut file), as
 * opposed to damaged data.
 */
export class InflateEndedEarly extends Error {
  override readonly name = 'InflateEndedEarly';
}

/** The length decompressed data must have, as a header announced it, e.g. `{ bytes: 7840016, describe: '(header and data of dims [10000, 28, 28] of uint8)' }`. */
export interface ExpectedLength {
  readonly bytes: number;
  /** What the length is made of, in words, for messages. */
  readonly describe: string;
}

/** What the message of a compressed stream that ends early says. */
export interface EndedEarly {
  /** The data in messages, e.g. `gzip data`. */
  readonly what: string;
  readonly file: string | undefined;
  /** File offset at which the compressed bytes stop. */
  readonly stoppedAt: number;
  /** The file's size, when known. */
  readonly fileBytes: number | undefined;
  /** The decompressed length a header announced, when known. */
  readonly expected: ExpectedLength | undefined;
  /** The decompressed bytes the cut stream holds, when known. */
  readonly available: number | undefined;
  readonly cause: unknown;
}

/**
 * The `DATASET_FORMAT` error of a compressed stream that ends early: where in the file its compressed bytes stop,
 * the file's size, and the decompressed bytes expected (when a header said) against those the cut stream holds.
 */
export function endedEarlyError(e: EndedEarly): OpnpError {
  if (e.expected !== undefined && e.available !== undefined && e.available >= e.expected.bytes) return trailerCutError(e, e.expected);
  const got = e.available === undefined ? 'an unknown number of decompressed bytes' : `${e.available} decompressed bytes`;
  const missing = e.expected !== undefined && e.available !== undefined ? ` (${e.expected.bytes - e.available} missing)` : '';
  const ofFile = e.fileBytes === undefined ? 'of the file' : `of the file, whose size is ${e.fileBytes} bytes,`;
  return formatError(`The ${e.what} ends early: the compressed stream stops at byte ${e.stoppedAt} ${ofFile} before its end${e.expected === undefined ? `, after ${got}` : ''}`, {
    file: e.file,
    offset: e.stoppedAt,
    ...(e.expected !== undefined ? { expected: `${e.expected.bytes} decompressed bytes ${e.expected.describe}`, actual: `${got}${missing}` } : {}),
    hint: 'The file is cut short (an interrupted download or copy?): fetch or copy it again',
    cause: e.cause,
  });
}

/**
 * What a decompressor's message for damaged data (zlib's or fflate's wording, e.g. `incorrect data check`) means,
 * in words about the file; other messages are returned as they are.
 */
export function damagedDataWords(message: string): string {
  if (/data check/i.test(message)) return 'its decompressed bytes do not match the checksum stored at the end of the compressed stream';
  if (/length check/i.test(message)) return 'its decompressed length does not match the length stored at the end of the compressed stream';
  if (/header check|header crc|unknown compression method|unknown header flags/i.test(message)) return 'its compression header is not valid';
  if (/invalid|too many|distance|block type/i.test(message)) return `its compressed bytes are not valid deflate data (${message})`;
  return message;
}

/**
 * The `DATASET_FORMAT` error of damaged compressed data (`what`, e.g. `gzip data`) in `file`: what is wrong in
 * words ({@link damagedDataWords}) and what to do, without the decompressor's jargon. `offset`: where in the file
 * the compressed data starts, when it is not the whole file (a MAT-file element).
 */
export function damagedDataError(what: string, file: string | undefined, cause: unknown, offset = 0): OpnpError {
  const words = damagedDataWords(cause instanceof Error ? cause.message : String(cause));
  const where = `${offset > 0 ? ` at byte ${offset}` : ''}${file === undefined ? '' : ` of ${file}`}`;
  return formatError(`The ${what}${where} is damaged: ${words}`, {
    ...(file !== undefined ? { file } : {}),
    hint: 'The file changed after it was written (a failed download, copy or disk?): fetch or copy it again',
    cause,
  });
}

/**
 * A stream that ends early although every decompressed byte its header announced is there: the end of the file,
 * which holds the checksum and length that check the data (gzip's 8-byte trailer, zlib's 4-byte Adler-32), is cut.
 */
function trailerCutError(e: EndedEarly, expected: ExpectedLength): OpnpError {
  const size = e.fileBytes === undefined ? '' : ` (${e.fileBytes} bytes)`;
  return formatError(`The ${e.what} of ${e.file ?? 'the file'} ends early: the file${size} stops inside the checksum at the end of the compressed stream, so all ${expected.bytes} decompressed bytes ${expected.describe} are there but cannot be checked`, {
    file: e.file,
    hint: 'The file is cut short (an interrupted download or copy?): fetch or copy it again',
    cause: e.cause,
  });
}

/** A decompressor. Errors it throws (corrupt or truncated data) become typed errors in {@link inflateAll}. */
export interface InflateEngine {
  /**
   * Inflates all of `bytes` and checks the container's checksum; `null` as soon as the output exceeds
   * `maxBytes` (the engine stops early: never holds much more than `maxBytes`). Throws {@link InflateEndedEarly}
   * when `bytes` end before the stream does.
   */
  inflate(kind: DeflateKind, bytes: Uint8Array, maxBytes: number | undefined): Uint8Array | null;
  /** The bytes a possibly cut prefix of a stream inflates to (no error for the missing end). */
  inflatePrefix(kind: DeflateKind, bytes: Uint8Array): Uint8Array;
}

/** True when `bytes` start with the gzip magic `1f 8b`. */
export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/**
 * Most bytes `compressed` bytes of deflate data (gzip, zlib) can inflate to: deflate's ratio is at most
 * about 1032:1, so a header announcing more than this is lying or the file is truncated.
 */
export function maxInflatedBytes(compressed: number): number {
  return compressed * 1100 + 1024;
}

function kindName(kind: DeflateKind): string {
  return kind === 'gzip' ? 'gzip' : 'zlib-compressed';
}

/** Where the data {@link inflateAll} inflates lies, and what it may and should inflate to. */
export interface InflateWhere {
  /** The file, for messages. */
  readonly file: string | undefined;
  /** File offset of the compressed bytes. */
  readonly offset: number;
  /** The file's size, for messages, when known. */
  readonly fileBytes?: number;
  /** Output beyond this many bytes is refused (a decompression bomb, a lying header). */
  readonly maxBytes?: number;
  /** The decompressed length a header announced, for the message of data that ends early. */
  readonly expected?: ExpectedLength;
}

/**
 * Inflates all of `bytes`; with `maxBytes`, output beyond it is refused with a typed error (the data is
 * longer than its header announced, e.g. a decompression bomb).
 *
 * @throws OpnpError `'DATASET_FORMAT'` when the data is corrupt, ends early (saying at which byte of the file, and
 * how many decompressed bytes it holds against the `expected` ones), or is longer than `maxBytes`.
 */
export function inflateAll(engine: InflateEngine, kind: DeflateKind, bytes: Uint8Array, where: InflateWhere): Uint8Array {
  const { file, offset, maxBytes } = where;
  let out: Uint8Array | null;
  try {
    out = engine.inflate(kind, bytes, maxBytes === undefined ? undefined : Math.max(1, maxBytes));
  } catch (error) {
    if (error instanceof InflateEndedEarly) {
      const available = (() => {
        try {
          return engine.inflatePrefix(kind, bytes).length;
        } catch {
          return undefined;
        }
      })();
      throw endedEarlyError({ what: `${kindName(kind)} data`, file, stoppedAt: offset + bytes.length, fileBytes: where.fileBytes, expected: where.expected, available, cause: error });
    }
    throw damagedDataError(`${kindName(kind)} data`, file, error, offset);
  }
  if (out === null) throw formatError(`${kindName(kind)} data inflates to more bytes than its header announces`, { file, offset, expected: `at most ${maxBytes} bytes` });
  return out;
}

/**
 * The first (at least `want`, when the data has them) decompressed bytes of gzip / zlib data, inflating a
 * growing prefix of the input (256, 4096, then 65536 bytes) so the output stays small.
 *
 * @throws OpnpError `'DATASET_FORMAT'` when the prefix is corrupt.
 */
export function inflatePrefix(engine: InflateEngine, kind: DeflateKind, bytes: Uint8Array, want: number, file?: string, offset = 0): Uint8Array {
  let out: Uint8Array = new Uint8Array(0);
  for (const take of [256, 4096, 65536]) {
    const part = bytes.subarray(0, Math.min(bytes.length, take));
    try {
      out = engine.inflatePrefix(kind, part);
    } catch (error) {
      throw damagedDataError(`${kindName(kind)} data`, file, error, offset);
    }
    if (out.length >= want || part.length === bytes.length) break;
  }
  return out;
}
