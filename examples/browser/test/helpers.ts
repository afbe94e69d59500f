/**
 * What the page test computes in Node, written out here: PNG files of dataset images, the page's preprocessing from
 * its definition, the demo files, and the CLI run that exports a detector.
 */
import { execFile } from 'node:child_process';
import { crc32, deflateSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const DEMO = `${ROOT}packages/cli/assets/demo/`;
export const MEAN = 0.1307;
export const STD = 0.3081;

/** An 8-bit grayscale PNG (colour type 0, no gamma or colour profile chunks) of `width x height` pixels. */
export function grayPng(width: number, height: number, pixels: ArrayLike<number>): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const out = Buffer.alloc(8 + data.length + 4);
    out.writeUInt32BE(data.length, 0);
    body.copy(out, 4);
    out.writeUInt32BE(crc32(body), 8 + data.length);
    return out;
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.set([8, 0, 0, 0, 0], 8); // bit depth 8, grayscale, deflate, filter 0, no interlace
  const raw = Buffer.alloc(height * (width + 1));
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) raw[y * (width + 1) + 1 + x] = pixels[y * width + x]!;
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', header), chunk('IDAT', deflateSync(raw)), chunk('IEND', Buffer.alloc(0))]);
}

/** `(v / 255 - mean) / std` of every pixel, rounded to float32: the preprocessing `opnp export --mean --std` documents. */
export function normalised(pixels: ArrayLike<number>): Float32Array {
  return Float32Array.from(pixels, (v) => (v / 255 - MEAN) / STD);
}

/** Runs the CLI from source: `opnp <args>`. */
export async function opnp(args: readonly string[]): Promise<{ stdout: string; stderr: string }> {
  return promisify(execFile)(process.execPath, ['--conditions=@opnp/source', '--import', 'tsx', `${ROOT}packages/cli/src/bin.ts`, ...args], { cwd: ROOT, maxBuffer: 16 << 20 });
}

/** `|a - e| <= rel * (1 + |e|)`: float32 agreement of two runtimes (see page.test.ts for the bound). */
export function close(actual: number, expected: number, rel: number): boolean {
  return Math.abs(actual - expected) <= rel * (1 + Math.abs(expected));
}
