/**
 * `decodeImageFile` decodes in one pass with Pillow's kernels: the same pixels, channels, sizes and typed errors
 * as the two-pass decode it replaced (a `metadata()` call, then alpha removal, sRGB output and raw pixels),
 * which is written out here as the reference, for every kind of file sharp treats specially.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { isOpnpError } from '@opnp/core';
import { decodeImageFile } from '../src/node/sharp-images.js';
import { formatError, notFoundError } from '../src/errors.js';
import { centerCropOffset, resolvePreprocess, resizedSize, type PixelImage } from '../src/preprocess.js';
import { pillowReference } from './pillow-reference.js';

let dir: string;

/** The decode before one-pass decoding: header first, then the pixels (errors worded as `decodeImageFile` words them). */
async function twoPassDecode(file: string): Promise<{ data: Uint8Array; channels: number; height: number; width: number }> {
  try {
    const image = sharp(file, { failOn: 'error', sequentialRead: true });
    const meta = await image.metadata();
    if (meta.width === undefined || meta.height === undefined) throw new Error('no image size');
    let pipeline = image.removeAlpha();
    if ((meta.channels ?? 3) >= 3 || meta.space === 'cmyk') pipeline = pipeline.toColourspace('srgb');
    const { data, info } = await pipeline.raw().toBuffer({ resolveWithObject: true });
    return { data: new Uint8Array(data), channels: info.channels, height: info.height, width: info.width };
  } catch (error) {
    const message = (error as Error).message;
    if (/^Input file is missing/.test(message)) throw notFoundError(`Image file not found: ${file}`, { file, cause: error });
    throw formatError(`Cannot decode image (${message.replace(/\s*\n\s*/g, '; ').trim()})`, { file, cause: error });
  }
}

function pattern(width: number, height: number, channels: number, seed: number): Buffer {
  const out = Buffer.alloc(width * height * channels);
  for (let i = 0; i < out.length; i++) out[i] = (i * 7 + ((i * seed) % 23) * 11 + seed) % 256;
  return out;
}

const raw = (w: number, h: number, c: 1 | 2 | 3 | 4, seed: number) => sharp(pattern(w, h, c, seed), { raw: { width: w, height: h, channels: c } });

/** name -> how to write it */
const FILES: Record<string, () => Promise<Buffer>> = {
  'rgb.jpg': () => raw(61, 43, 3, 1).jpeg({ quality: 85 }).toBuffer(),
  'rgb-444.jpg': () => raw(40, 30, 3, 2).jpeg({ quality: 95, chromaSubsampling: '4:4:4' }).toBuffer(),
  'cmyk.jpg': () => raw(33, 29, 3, 3).toColourspace('cmyk').jpeg().toBuffer(),
  'grey.jpg': () => raw(35, 27, 1, 4).jpeg().toBuffer(),
  'exif-rotated.jpg': () => raw(30, 20, 3, 5).jpeg().withMetadata({ orientation: 6 }).toBuffer(),
  'grey.png': () => raw(23, 17, 1, 6).png().toBuffer(),
  'grey-alpha.png': () => raw(23, 17, 2, 7).png().toBuffer(),
  'rgba.png': () => raw(21, 19, 4, 8).png().toBuffer(),
  'rgb16.png': () => raw(19, 13, 3, 9).toColourspace('rgb16').png().toBuffer(),
  'grey16.png': () => raw(19, 13, 1, 10).toColourspace('grey16').png().toBuffer(),
  'palette.png': () => raw(24, 18, 3, 11).png({ palette: true, colours: 16 }).toBuffer(),
  'rgb.webp': () => raw(26, 22, 3, 12).webp({ lossless: true }).toBuffer(),
};

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'opnp-decode-'));
  for (const [name, write] of Object.entries(FILES)) writeFileSync(join(dir, name), await write());
  const jpeg = await raw(90, 60, 3, 13).jpeg().toBuffer();
  writeFileSync(join(dir, 'truncated.jpg'), jpeg.subarray(0, jpeg.length >> 1));
  writeFileSync(join(dir, 'cut-short.jpg'), jpeg.subarray(0, jpeg.length - 2));
  writeFileSync(join(dir, 'not-an-image.jpg'), 'not a jpeg at all');
  writeFileSync(join(dir, 'empty.png'), '');
  mkdirSync(join(dir, 'folder.jpg'));
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

const noResize = resolvePreprocess({}, [3, 1, 1], false, true);

describe('one-pass decoding gives the two-pass pixels', () => {
  for (const name of Object.keys(FILES)) {
    it(`${name}: same pixels, channels and size`, async () => {
      const file = join(dir, name);
      const want = await twoPassDecode(file);
      const got = await decodeImageFile(file, noResize);
      expect({ channels: got.channels, height: got.height, width: got.width, layout: got.layout }).toEqual({ channels: want.channels, height: want.height, width: want.width, layout: 'HWC' });
      expect(got.window).toBeUndefined();
      expect(Buffer.from(got.data as Uint8Array).equals(Buffer.from(want.data))).toBe(true);
    });
  }

  it('resized and cropped: the crop of the Pillow resize of the two-pass pixels', async () => {
    for (const name of ['rgb.jpg', 'cmyk.jpg', 'rgba.png', 'rgb16.png', 'palette.png']) {
      const file = join(dir, name);
      const want = await twoPassDecode(file);
      const plan = resolvePreprocess({ resize: 16, centerCrop: [12, 14] }, [3, want.height, want.width], true, true);
      const got = await decodeImageFile(file, plan);
      const [rh, rw] = resizedSize(want.height, want.width, 16);
      const [top, left] = centerCropOffset(rh, rw, [12, 14]);
      expect({ height: got.height, width: got.width, window: got.window }).toEqual({ height: rh, width: rw, window: { top, left, height: 12, width: 14 } });
      const full = pillowReference(want.data, want.height, want.width, want.channels, rh, rw, 'bilinear');
      const c = want.channels;
      const crop = new Uint8Array(12 * 14 * c);
      for (let y = 0; y < 12; y++) crop.set(full.subarray(((top + y) * rw + left) * c, ((top + y) * rw + left + 14) * c), y * 14 * c);
      expect(Buffer.from(got.data as Uint8Array).equals(Buffer.from(crop)), name).toBe(true);
    }
  });
});

async function failure(run: () => Promise<PixelImage | unknown>): Promise<{ code: string; message: string; file: string | undefined }> {
  try {
    await run();
  } catch (error) {
    if (!isOpnpError(error)) throw error;
    return { code: error.code, message: error.message, file: error.file };
  }
  throw new Error('expected an error');
}

describe('one-pass decoding fails as the two-pass decode did', () => {
  for (const name of ['truncated.jpg', 'cut-short.jpg', 'not-an-image.jpg', 'empty.png', 'missing.jpg', 'folder.jpg']) {
    it(`${name}: same code, message and file`, async () => {
      const file = join(dir, name);
      const want = await failure(() => twoPassDecode(file));
      const got = await failure(() => decodeImageFile(file, noResize));
      expect(got).toEqual(want);
      expect(got.file).toBe(file);
      expect(got.code).toBe(name === 'missing.jpg' ? 'DATASET_NOT_FOUND' : 'DATASET_FORMAT');
    });
  }
});
