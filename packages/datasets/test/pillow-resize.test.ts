import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { openDataset, pillowResize, type PillowFilter } from '../src/node/index.js';
import { collect, fixture, pix } from './helpers.js';
import { pillowReference } from './pillow-reference.js';

/**
 * References written by Pillow (tools/fixtures/datasets/make_pillow_resize.py): `Image.resize(size, BILINEAR | BICUBIC)` of
 * `texture` images, a Pillow-encoded JPEG with Pillow's decoding, and torchvision's Resize + CenterCrop of it.
 */
interface Manifest {
  pillow: string;
  cases: { name: string; filter: PillowFilter; input: [number, number, number]; output: [number, number]; sha256: string; npy?: string }[];
  jpeg: { file: string; decoded: string; pipeline: { resize: number; centerCrop: number; npy: string } };
}
const manifest = JSON.parse(readFileSync(fixture('pillow', 'manifest.json'), 'utf8')) as Manifest;

/** The fixture script's `texture(h, w, c)`, HWC. */
function texture(h: number, w: number, c: number): Uint8Array {
  const out = new Uint8Array(h * w * c);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      for (let ch = 0; ch < c; ch++) out[(y * w + x) * c + ch] = (3 * x * x + 5 * y * y + x * y + 41 * ch + ((7919 * x + 104729 * y + 13 * ch) % 61)) % 256;
    }
  }
  return out;
}

/** The bytes of a uint8 `.npy` fixture (the package's `readNpy` reads float feature matrices only). */
function npyBytes(name: string): Uint8Array {
  const bytes = readFileSync(fixture('pillow', name));
  const headerLength = bytes.readUInt16LE(8);
  expect(bytes.subarray(10, 10 + headerLength).toString('latin1')).toContain("'descr': '|u1'");
  return bytes.subarray(10 + headerLength);
}

/** Fails with the first differing index (and both values) instead of a huge diff. */
function expectSameBytes(got: ArrayLike<number>, want: ArrayLike<number>, what: string): void {
  expect(got.length, `${what}: length`).toBe(want.length);
  for (let i = 0; i < want.length; i++) {
    if (got[i] !== want[i]) throw new Error(`${what}: first difference at byte ${i}: got ${got[i]}, Pillow ${want[i]}`);
  }
}

describe(`pillowResize equals Pillow ${manifest.pillow}'s Image.resize(BILINEAR | BICUBIC) bit for bit`, () => {
  for (const { name, filter, input, output, sha256, npy } of manifest.cases) {
    it(`${name}: ${input.join(' x ')} -> ${output.join(' x ')} (${filter})`, () => {
      const [h, w, c] = input;
      const got = pillowResize(texture(h, w, c), h, w, c, output[0], output[1], filter);
      if (npy) expectSameBytes(got, npyBytes(npy), name);
      expect(createHash('sha256').update(got).digest('hex')).toBe(sha256);
    });
  }

  it('returns a copy when the size is unchanged and rejects bad sizes', () => {
    const src = texture(4, 5, 3);
    const same = pillowResize(src, 4, 5, 3, 4, 5);
    expect(same).toEqual(src);
    expect(same).not.toBe(src);
    expect(() => pillowResize(src, 4, 5, 2, 2, 2)).toThrow(RangeError);
    expect(() => pillowResize(src, 4, 5, 3, 0, 2)).toThrow(RangeError);
    expect(() => pillowResize(src, 4, 5, 3, 2.5, 2)).toThrow(RangeError);
    expect(() => pillowResize(src, 4, 5, 3, 2, 2, 'lanczos' as PillowFilter)).toThrow(RangeError);
  });
});

describe('image pipeline against Pillow + torchvision', () => {
  it('sharp decodes the Pillow-encoded JPEG to the same pixels as Pillow', async () => {
    const { data } = await sharp(fixture('pillow', manifest.jpeg.file)).raw().toBuffer({ resolveWithObject: true });
    expectSameBytes(data, npyBytes(manifest.jpeg.decoded), 'decoded JPEG');
  });

  it('default preprocessing = PIL decode, Resize(64) (bilinear), CenterCrop(56), ToTensor', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'opnp-pillow-'));
    try {
      mkdirSync(join(dir, 'class'));
      copyFileSync(fixture('pillow', manifest.jpeg.file), join(dir, 'class', 'image.jpg'));
      const ds = await openDataset(dir);
      const { resize, centerCrop } = manifest.jpeg.pipeline;
      const { data, shapes } = await collect(ds, { preprocess: { resize, centerCrop, layout: 'NHWC' } });
      expect(shapes).toEqual([[1, centerCrop, centerCrop, 3]]);
      const want = npyBytes(manifest.jpeg.pipeline.npy);
      expectSameBytes(Array.from(data, (v) => Math.round(v * 255)), want, 'pipeline');
      data.forEach((v, i) => expect(v).toBe(Math.fround(want[i]! / 255)));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('stored arrays (CIFAR) resize through the same Pillow port', async () => {
    const ds = await openDataset(fixture('cifar10')); // test split: fixture images 15-18
    const { data } = await collect(ds, { subset: Uint32Array.from([0]), preprocess: { resize: 45, scale: 1, layout: 'NHWC' } });
    const hwc = new Uint8Array(32 * 32 * 3);
    for (let y = 0; y < 32; y++) for (let x = 0; x < 32; x++) for (let c = 0; c < 3; c++) hwc[(y * 32 + x) * 3 + c] = pix(15, c, y, x);
    expectSameBytes(data, pillowResize(hwc, 32, 32, 3, 45, 45), 'CIFAR test sample 0');
    const bicubic = await collect(ds, { subset: Uint32Array.from([0]), preprocess: { resize: 45, scale: 1, layout: 'NHWC', kernel: 'pil-bicubic' } });
    expectSameBytes(bicubic.data, pillowResize(hwc, 32, 32, 3, 45, 45, 'bicubic'), 'CIFAR test sample 0, bicubic');
  });

  it('rejects an unknown kernel', async () => {
    const ds = await openDataset(fixture('cifar10'));
    await expect(collect(ds, { preprocess: { resize: 45, kernel: 'sinc' as 'linear' } })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });
});

describe('pillowResize equals a direct transcription of Pillow\'s resampling', () => {
  let seed = 12345;
  const random = (n: number) => {
    seed = (seed * 1103515245 + 12345) >>> 0;
    return seed % n;
  };
  for (const filter of ['bilinear', 'bicubic'] as const) {
    it(`random images, 1-4 channels, shrinking up to 9x and enlarging (${filter})`, () => {
      for (let trial = 0; trial < 60; trial++) {
        const c = 1 + (trial % 4);
        const h = 1 + random(90);
        const w = 1 + random(90);
        const oh = 1 + random(trial % 3 === 0 ? 12 : 120);
        const ow = 1 + random(trial % 3 === 1 ? 12 : 120);
        // noise, saturated and checkerboard images (bicubic's negative lobes clip at 0 and 255)
        const kind = trial % 3;
        const src = Uint8Array.from({ length: h * w * c }, (_, i) => (kind === 0 ? random(256) : kind === 1 ? 255 : ((i / c) ^ Math.floor(i / c / w)) & 1 ? 255 : 0));
        const got = pillowResize(src, h, w, c, oh, ow, filter);
        expectSameBytes(got, pillowReference(src, h, w, c, oh, ow, filter), `${h}x${w}x${c} -> ${oh}x${ow}`);
      }
    });
  }
});

describe('resizing values that are not 8-bit', () => {
  it('names the stored size, the value type and the size they would be resized to', async () => {
    const { resolvePreprocess } = await import('../src/preprocess.js');
    const { resizePixels } = await import('../src/resize.js');
    const plan = resolvePreprocess({ resize: 8 }, [1, 4, 4], false, false);
    const image = { data: new Float32Array(16), channels: 1, height: 4, width: 4, layout: 'CHW' as const };
    expect(() => resizePixels(image, plan)).toThrow(/^The samples are 4 x 4 \(1 channel, float32 values\) and would have to be resized to 8 x 8, but only 8-bit images can be resized/);
  });
});
