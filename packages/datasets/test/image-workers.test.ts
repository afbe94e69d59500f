/**
 * The image workers (`BatchOptions.workers`) against the main thread: the same batches bit for bit, in dataset
 * order, with the same skips, warnings and errors, for JPEGs and PNGs of different sizes, every resize kernel,
 * channel conversions and both layouts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { closeImageWorkers, defaultImageWorkers, openDataset, openImageFolder, type BatchOptions, type Dataset, type PreprocessOptions, type SkipEvent } from '../src/node/index.js';
import { expectOpnpError } from './helpers.js';

let root: string;

/** A pattern with enough detail that every resize kernel changes it. */
function pixels(width: number, height: number, channels: number, seed: number): Buffer {
  const out = Buffer.alloc(width * height * channels);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      for (let c = 0; c < channels; c++) out[(y * width + x) * channels + c] = (x * 7 + y * 13 + c * 50 + ((x * y + seed) % 17) * 9 + seed * 31) % 256;
    }
  }
  return out;
}

async function writeImage(file: string, width: number, height: number, channels: 1 | 3 | 4, seed: number): Promise<void> {
  const image = sharp(pixels(width, height, channels, seed), { raw: { width, height, channels } });
  await (file.endsWith('.png') ? image.png() : image.jpeg({ quality: 90 })).toFile(file);
}

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'opnp-workers-'));
  mkdirSync(join(root, 'cats'));
  mkdirSync(join(root, 'dogs'));
  // The first image is by far the largest, so a worker finishes the small ones behind it first.
  await writeImage(join(root, 'cats', '00-large.jpg'), 1200, 900, 3, 1);
  await writeImage(join(root, 'cats', '01.jpg'), 500, 375, 3, 2);
  await writeImage(join(root, 'cats', '02-grey.png'), 53, 37, 1, 3);
  writeFileSync(join(root, 'cats', '03-corrupt.jpg'), Buffer.from('not a jpeg at all'));
  await writeImage(join(root, 'cats', '04-rgba.png'), 64, 48, 4, 4);
  await writeImage(join(root, 'dogs', '05.jpg'), 375, 500, 3, 5);
  await writeImage(join(root, 'dogs', '06.png'), 40, 30, 3, 6);
  const jpeg = await sharp(pixels(90, 60, 3, 7), { raw: { width: 90, height: 60, channels: 3 } }).jpeg().toBuffer();
  writeFileSync(join(root, 'dogs', '07-truncated.jpg'), jpeg.subarray(0, jpeg.length >> 1));
  await writeImage(join(root, 'dogs', '08.jpg'), 33, 300, 3, 8);
  await writeImage(join(root, 'dogs', '09.png'), 17, 19, 3, 9);
});

afterAll(async () => {
  await closeImageWorkers();
  rmSync(root, { recursive: true, force: true });
});

interface Pass {
  readonly bytes: Buffer[];
  readonly shapes: number[][];
  readonly labels: number[];
  readonly indices: number[];
  readonly skips: SkipEvent[];
  readonly warnings: string[];
  readonly progress: { count: number; total: number; skipped: number }[];
}

/**
 * libvips words a JPEG cut short from its process-wide error buffer, which concurrent decodes share: "premature
 * end of JPEG image", that repeated, or "Unknown error" (on the main thread as in workers). Its text is compared
 * up to that race; sharp's own reasons (the corrupt file's) exactly.
 */
function withoutRace(text: string): string {
  return text.replace(/\((Unknown error|VipsJpeg: [^)]*)\)/, '(<libvips>)');
}

function skipWithoutRace(skip: SkipEvent): SkipEvent {
  return { ...skip, reason: withoutRace(skip.reason) };
}

async function pass(dataset: Dataset, options: BatchOptions): Promise<Pass> {
  const out: Pass = { bytes: [], shapes: [], labels: [], indices: [], skips: [], warnings: [], progress: [] };
  for await (const batch of dataset.batches({
    ...options,
    onSkip: (s) => out.skips.push(s),
    onWarning: (m) => out.warnings.push(m),
    onProgress: ({ count, total, skipped }) => out.progress.push({ count, total, skipped }),
  })) {
    out.bytes.push(Buffer.from(batch.data.buffer, batch.data.byteOffset, batch.data.byteLength));
    out.shapes.push([...batch.shape]);
    out.labels.push(...batch.labels);
    out.indices.push(...batch.indices);
  }
  return out;
}

const PLANS: Record<string, PreprocessOptions> = {
  'pil-bilinear, ImageNet-style': { resize: 32, centerCrop: 28, mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] },
  'pil-bicubic, NHWC': { resize: 24, centerCrop: 24, kernel: 'pil-bicubic', layout: 'NHWC', mean: 0.5, std: 0.25 },
  'sharp linear': { resize: 20, centerCrop: 16, kernel: 'linear' },
  'sharp lanczos3, exact size': { resize: [18, 22], kernel: 'lanczos3' },
  'grey, crop larger than the image (padding)': { resize: 16, centerCrop: 20, channels: 1 },
  'no resize, crop only': { centerCrop: 24 },
};

describe('image workers', () => {
  it('default to the number of cores, at most 8', () => {
    expect([1, 2, 3, 8, 9, 64].map((cores) => defaultImageWorkers(cores))).toEqual([1, 2, 3, 8, 8, 8]);
  });

  for (const [name, preprocess] of Object.entries(PLANS)) {
    it(`give the main thread's batches bit for bit, in order, with the same skips (${name})`, async () => {
      const dataset = await openImageFolder(root);
      const reference = await pass(dataset, { batchSize: 3, preprocess, workers: 0 });
      expect(reference.indices).toEqual([0, 1, 2, 4, 5, 6, 8, 9]);
      expect(reference.skips.map((s) => s.index)).toEqual([3, 7]);
      for (const workers of [1, 3]) {
        const actual = await pass(dataset, { batchSize: 3, preprocess, workers });
        expect(actual.shapes).toEqual(reference.shapes);
        expect(actual.indices).toEqual(reference.indices);
        expect(actual.labels).toEqual(reference.labels);
        expect(actual.skips.map(skipWithoutRace)).toEqual(reference.skips.map(skipWithoutRace));
        expect(actual.warnings.map(withoutRace)).toEqual(reference.warnings.map(withoutRace));
        expect(actual.progress).toEqual(reference.progress);
        for (const [k, bytes] of reference.bytes.entries()) expect(actual.bytes[k]!.equals(bytes), `batch ${k} with ${workers} workers`).toBe(true);
      }
    });
  }

  it('stop at the first unreadable image with strict, with the same error', async () => {
    const strict = await openDataset(`folder:${root}#strict`);
    const preprocess = PLANS['pil-bilinear, ImageNet-style']!;
    const reference = await expectOpnpError(() => pass(strict, { batchSize: 4, preprocess, workers: 0 }), 'DATASET_FORMAT');
    const actual = await expectOpnpError(() => pass(strict, { batchSize: 4, preprocess, workers: 2 }), 'DATASET_FORMAT');
    expect(reference.file).toBe(join(root, 'cats', '03-corrupt.jpg'));
    expect({ message: actual.message, file: actual.file, offset: actual.offset, hint: actual.hint }).toEqual({ message: reference.message, file: reference.file, offset: reference.offset, hint: reference.hint });
  });

  it('skip a missing file of an image list as the main thread does', async () => {
    const list = join(root, 'list.txt');
    writeFileSync(list, 'dogs/06.png 1\ndogs/missing.jpg 1\ncats/01.jpg 0\n');
    const dataset = await openDataset(`imglist:${list}#root=${root}`);
    const preprocess = { resize: 16, centerCrop: 16 };
    const reference = await pass(dataset, { preprocess, workers: 0 });
    const actual = await pass(dataset, { preprocess, workers: 2 });
    expect(reference.skips).toHaveLength(1);
    expect(reference.skips[0]!.reason).toMatch(/not found/i);
    expect(actual.skips).toEqual(reference.skips);
    expect(actual.bytes).toEqual(reference.bytes);
    const strict = await openDataset(`imglist:${list}#root=${root},strict`);
    const mainError = await expectOpnpError(() => pass(strict, { preprocess, workers: 0 }), 'DATASET_NOT_FOUND');
    const workerError = await expectOpnpError(() => pass(strict, { preprocess, workers: 2 }), 'DATASET_NOT_FOUND');
    expect(workerError.message).toBe(mainError.message);
  });

  it('refuse a worker count that is not a non-negative integer', async () => {
    const dataset = await openImageFolder(root);
    for (const workers of [-1, 1.5, Number.NaN]) await expectOpnpError(() => pass(dataset, { preprocess: { centerCrop: 8 }, workers }), 'INVALID_ARGUMENT');
  });
});
