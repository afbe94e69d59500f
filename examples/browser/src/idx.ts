/**
 * The demo's gzipped MNIST-family IDX image files, fetched and decoded in the page (the browser's
 * `DecompressionStream`).
 */
import { OpnpError } from '@opnp/core';

/** `count` gray images of `height x width` bytes, row-major. */
export interface GrayImages {
  readonly count: number;
  readonly height: number;
  readonly width: number;
  readonly pixels: Uint8Array;
}

/** Fetches a `.gz` file and gunzips it. */
async function fetchGunzip(url: string): Promise<Uint8Array> {
  const response = await fetch(url);
  if (!response.ok) throw new OpnpError('IO_ERROR', `Cannot fetch ${url}`, { file: url, actual: `HTTP ${response.status}` });
  const gzipped = new Blob([await response.arrayBuffer()]);
  return new Uint8Array(await new Response(gzipped.stream().pipeThrough(new DecompressionStream('gzip'))).arrayBuffer());
}

/**
 * Reads an IDX3 uint8 image file (magic `0x00000803`, big-endian count, rows, columns, then the pixels).
 *
 * @throws OpnpError `DATASET_FORMAT` for another magic or a file shorter than its header says
 */
export async function fetchIdxImages(url: string): Promise<GrayImages> {
  const bytes = await fetchGunzip(url);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 16 || view.getUint32(0) !== 0x803) {
    throw new OpnpError('DATASET_FORMAT', 'Not an IDX3 uint8 image file', { file: url, expected: 'magic 0x00000803', actual: bytes.length < 4 ? `${bytes.length} bytes` : `0x${view.getUint32(0).toString(16)}` });
  }
  const [count, height, width] = [view.getUint32(4), view.getUint32(8), view.getUint32(12)];
  if (bytes.length !== 16 + count * height * width) {
    throw new OpnpError('DATASET_FORMAT', 'The IDX file is not as long as its header says', { file: url, expected: 16 + count * height * width, actual: bytes.length });
  }
  return { count, height, width, pixels: bytes.subarray(16) };
}

/** Images `[start, start + n)` (a view). */
export function imageRange(images: GrayImages, start: number, n: number): GrayImages {
  if (start < 0 || n < 0 || start + n > images.count) {
    throw new OpnpError('INVALID_ARGUMENT', 'Not that many images in the file', { expected: `at most ${images.count - start} from image ${start}`, actual: n });
  }
  const per = images.height * images.width;
  return { ...images, count: n, pixels: images.pixels.subarray(start * per, (start + n) * per) };
}
