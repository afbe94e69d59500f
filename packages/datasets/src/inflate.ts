/**
 * In-memory decompression for the buffer parsers (`fromIdx`, `fromMat`). Uses `node:zlib`; in a browser
 * bundle, alias it to a zlib polyfill. No file access.
 */
import { gunzipSync, inflateSync } from 'node:zlib';
import { formatError } from './errors.js';

/** True when `bytes` start with the gzip magic `1f 8b`. */
export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/** Decompresses gzip bytes (typed `'DATASET_FORMAT'` error when corrupt or truncated). */
export function gunzipBytes(bytes: Uint8Array, file?: string): Uint8Array {
  try {
    const out = gunzipSync(bytes);
    return new Uint8Array(out.buffer, out.byteOffset, out.length);
  } catch (error) {
    throw formatError(`Corrupt gzip data (${(error as Error).message})`, { file, offset: 0, cause: error });
  }
}

/** Inflates zlib bytes (typed `'DATASET_FORMAT'` error when corrupt or truncated). */
export function inflateBytes(bytes: Uint8Array, file: string | undefined, offset: number): Uint8Array {
  try {
    const out = inflateSync(bytes);
    return new Uint8Array(out.buffer, out.byteOffset, out.length);
  } catch (error) {
    throw formatError(`Corrupt zlib-compressed data (${(error as Error).message})`, { file, offset, cause: error });
  }
}
