/**
 * The {@link InflateEngine} of the browser-safe entry: fflate's streaming decompressors (pure JavaScript),
 * fed in steps so a decompression bomb is stopped early, with the container checksums verified here
 * (fflate does not check them; node:zlib does, so both entries refuse the same corrupt data).
 */
import { Gunzip, Unzlib } from 'fflate';
import { adler32, crc32 } from './checksums.js';
import { InflateEndedEarly, type DeflateKind, type InflateEngine } from './inflate.js';

/**
 * Input bytes pushed per step. Deflate inflates at most ~1032:1, so one step adds at most
 * `max(maxBytes, 4 MiB)` of output: the engine never holds more than about twice the cap plus 4 MiB.
 */
function stepFor(maxBytes: number | undefined): number {
  return maxBytes === undefined ? 1 << 20 : Math.max(4096, Math.ceil(maxBytes / 1032));
}

/** Output chunks of a stream, and whether a gzip stream had more than one member. */
class Collector {
  readonly chunks: Uint8Array[] = [];
  total = 0;
  members = 1;
  readonly decoder: Gunzip | Unzlib;

  constructor(kind: DeflateKind) {
    const onData = (chunk: Uint8Array) => {
      if (chunk.length === 0) return;
      this.chunks.push(chunk);
      this.total += chunk.length;
    };
    if (kind === 'zlib') this.decoder = new Unzlib(onData);
    else {
      const gunzip = new Gunzip(onData);
      gunzip.onmember = () => void this.members++;
      this.decoder = gunzip;
    }
  }

  bytes(): Uint8Array {
    if (this.chunks.length === 1) return this.chunks[0]!;
    const out = new Uint8Array(this.total);
    let at = 0;
    for (const chunk of this.chunks) {
      out.set(chunk, at);
      at += chunk.length;
    }
    return out;
  }
}

/** fflate's error code for input that ends before the stream does. */
const FFLATE_UNEXPECTED_EOF = 0;

/**
 * Whether a gzip stream's deflate data runs into the last 8 bytes of `bytes`, so its trailer cannot be whole (the
 * file is cut short, as node:zlib reports it) rather than present with a wrong checksum. fflate's Gunzip does not
 * check that the trailer is there: inflating all but the last 8 bytes ends early exactly when part of it is missing.
 * (Its Unzlib takes the last 4 bytes as the Adler-32 itself, so a cut zlib stream already ends early there.)
 */
function gzipTrailerIsCut(bytes: Uint8Array): boolean {
  try {
    new Gunzip(() => undefined).push(bytes.subarray(0, bytes.length - 8), true);
    return false;
  } catch (error) {
    return (error as { code?: unknown }).code === FFLATE_UNEXPECTED_EOF;
  }
}

/**
 * Checks the trailer of a whole stream against its output: zlib's Adler-32, gzip's CRC-32 and length (a
 * multi-member gzip file is checked by fflate's framing only). Throws with zlib's wording: {@link InflateEndedEarly}
 * when a gzip trailer is cut off, an error ("incorrect data check") when it is whole but does not match.
 */
function checkTrailer(kind: DeflateKind, bytes: Uint8Array, out: Uint8Array, members: number): void {
  const tail = kind === 'zlib' ? 4 : 8;
  if (bytes.length < tail) throw new InflateEndedEarly('unexpected end of file');
  const view = new DataView(bytes.buffer, bytes.byteOffset + bytes.length - tail, tail);
  if (kind === 'zlib') {
    if (view.getUint32(0, false) !== adler32(out)) throw new Error('incorrect data check');
    return;
  }
  const mismatch = (message: string) => (gzipTrailerIsCut(bytes) ? new InflateEndedEarly('unexpected end of file') : new Error(message));
  if (members > 1) return;
  if (view.getUint32(0, true) !== crc32(out)) throw mismatch('incorrect data check');
  if (view.getUint32(4, true) !== out.length % 2 ** 32) throw mismatch('incorrect length check');
}

/** Pushes input to fflate, turning its "unexpected EOF" into {@link InflateEndedEarly}. */
function pushChecked(decoder: Gunzip | Unzlib, chunk: Uint8Array, final: boolean): void {
  try {
    decoder.push(chunk, final);
  } catch (error) {
    if ((error as { code?: unknown }).code === FFLATE_UNEXPECTED_EOF) throw new InflateEndedEarly((error as Error).message, { cause: error });
    throw error;
  }
}

/** Called with the bytes each whole-stream inflation produced; see {@link observeFflateOutput}. */
let outputObserver: ((produced: number) => void) | undefined;

/**
 * Registers a function called with the output bytes of every whole-stream inflation from now on, also when
 * it stopped at the cap (`undefined` to stop). Internal: lets tests check that a bomb is stopped early.
 *
 * @internal
 */
export function observeFflateOutput(observer: ((produced: number) => void) | undefined): void {
  outputObserver = observer;
}

/** fflate, bounded and checksum-verified. */
export const fflateEngine: InflateEngine = {
  inflate(kind, bytes, maxBytes) {
    const c = new Collector(kind);
    const step = stepFor(maxBytes);
    let at = 0;
    do {
      const end = Math.min(bytes.length, at + step);
      pushChecked(c.decoder, bytes.subarray(at, end), end === bytes.length);
      if (maxBytes !== undefined && c.total > maxBytes) {
        outputObserver?.(c.total);
        return null;
      }
      at = end;
    } while (at < bytes.length);
    outputObserver?.(c.total);
    const out = c.bytes();
    checkTrailer(kind, bytes, out, c.members);
    return out;
  },
  inflatePrefix(kind, bytes) {
    const c = new Collector(kind);
    c.decoder.push(bytes, false);
    return c.bytes();
  },
};
