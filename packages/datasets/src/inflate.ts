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
import { formatError } from './errors.js';

/** The two deflate containers the formats use: gzip (`.gz` IDX files) and zlib (`miCOMPRESSED` MAT elements). */
export type DeflateKind = 'gzip' | 'zlib';

/** A decompressor. Errors it throws (corrupt or truncated data) become typed errors in {@link inflateAll}. */
export interface InflateEngine {
  /**
   * Inflates all of `bytes` and checks the container's checksum; `null` as soon as the output exceeds
   * `maxBytes` (the engine stops early: never holds much more than `maxBytes`).
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

/**
 * Inflates all of `bytes`; with `maxBytes`, output beyond it is refused with a typed error (the data is
 * longer than its header announced, e.g. a decompression bomb).
 *
 * @throws OpnpError `'DATASET_FORMAT'` when the data is corrupt, truncated, or longer than `maxBytes`.
 */
export function inflateAll(engine: InflateEngine, kind: DeflateKind, bytes: Uint8Array, file: string | undefined, offset: number, maxBytes: number | undefined): Uint8Array {
  let out: Uint8Array | null;
  try {
    out = engine.inflate(kind, bytes, maxBytes === undefined ? undefined : Math.max(1, maxBytes));
  } catch (error) {
    throw formatError(`Corrupt ${kindName(kind)} data (${(error as Error).message})`, { file, offset, cause: error });
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
      throw formatError(`Corrupt ${kindName(kind)} data (${(error as Error).message})`, { file, offset, cause: error });
    }
    if (out.length >= want || part.length === bytes.length) break;
  }
  return out;
}
