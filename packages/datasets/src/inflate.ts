/**
 * In-memory decompression for the buffer parsers (`fromIdx`, `fromMat`). Uses `node:zlib`; in a browser
 * bundle, alias it to a zlib polyfill. No file access.
 *
 * Decompression is bounded: callers inflate a small prefix to read a header, check that the header's sizes
 * are possible for the compressed length ({@link maxInflatedBytes}), then inflate with a cap so a
 * decompression bomb fails instead of filling memory.
 */
import { constants, gunzipSync, inflateSync } from 'node:zlib';
import { formatError } from './errors.js';

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

type Kind = 'gzip' | 'zlib';

function run(kind: Kind, bytes: Uint8Array, options: { finishFlush?: number; maxOutputLength?: number }): Uint8Array {
  const out = kind === 'gzip' ? gunzipSync(bytes, options) : inflateSync(bytes, options);
  return new Uint8Array(out.buffer, out.byteOffset, out.length);
}

/**
 * Inflates all of `bytes`; with `maxBytes`, output beyond it is refused with a typed error (the data is
 * longer than its header announced, e.g. a decompression bomb).
 */
function inflateAll(kind: Kind, bytes: Uint8Array, file: string | undefined, offset: number, maxBytes: number | undefined): Uint8Array {
  try {
    return run(kind, bytes, maxBytes === undefined ? {} : { maxOutputLength: Math.max(1, maxBytes) });
  } catch (error) {
    if ((error as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE' && maxBytes !== undefined) {
      throw formatError(`${kind === 'gzip' ? 'gzip' : 'zlib-compressed'} data inflates to more bytes than its header announces`, { file, offset, expected: `at most ${maxBytes} bytes` });
    }
    throw formatError(`Corrupt ${kind === 'gzip' ? 'gzip' : 'zlib-compressed'} data (${(error as Error).message})`, { file, offset, cause: error });
  }
}

/** Decompresses gzip bytes (typed `'DATASET_FORMAT'` error when corrupt, truncated, or longer than `maxBytes`). */
export function gunzipBytes(bytes: Uint8Array, file?: string, maxBytes?: number): Uint8Array {
  return inflateAll('gzip', bytes, file, 0, maxBytes);
}

/** Inflates zlib bytes (typed `'DATASET_FORMAT'` error when corrupt, truncated, or longer than `maxBytes`). */
export function inflateBytes(bytes: Uint8Array, file: string | undefined, offset: number, maxBytes?: number): Uint8Array {
  return inflateAll('zlib', bytes, file, offset, maxBytes);
}

/**
 * The first (at least `want`, when the data has them) decompressed bytes of gzip / zlib data, inflating a
 * growing prefix of the input (256, 4096, then 65536 bytes) so the output stays small.
 */
export function inflatePrefix(kind: Kind, bytes: Uint8Array, want: number, file?: string, offset = 0): Uint8Array {
  let out: Uint8Array = new Uint8Array(0);
  for (const take of [256, 4096, 65536]) {
    const part = bytes.subarray(0, Math.min(bytes.length, take));
    try {
      out = run(kind, part, { finishFlush: constants.Z_SYNC_FLUSH });
    } catch (error) {
      throw formatError(`Corrupt ${kind === 'gzip' ? 'gzip' : 'zlib-compressed'} data (${(error as Error).message})`, { file, offset, cause: error });
    }
    if (out.length >= want || part.length === bytes.length) break;
  }
  return out;
}
