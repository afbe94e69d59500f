/**
 * Decoding (and resizing with sharp's kernels) with sharp (libvips), on libuv's threadpool; the default
 * `'pil-bilinear'` resize runs on the decoded pixels (`resize.ts`, WebAssembly SIMD). Node only.
 */
import { loadSharp } from './sharp-loader.js';
import type { Sharp } from 'sharp';
import type { PixelImage, PreprocessPlan } from '../preprocess.js';
import { resizedSize } from '../preprocess.js';
import { formatError, notFoundError } from '../errors.js';
import { hwcPixels, needsResize, pillowFilter, resizePixels } from '../resize.js';
import { createDataset, type DatasetParts, type RawSample } from '../dataset.js';
import type { Dataset } from '../types.js';

async function toPixels(pipeline: Sharp): Promise<PixelImage> {
  const { data, info } = await pipeline.raw().toBuffer({ resolveWithObject: true });
  return { data: new Uint8Array(data.buffer, data.byteOffset, data.length), channels: info.channels, height: info.height, width: info.width, layout: 'HWC' };
}

/** Decoded pixels of `pipeline`, resized as `plan` says (by sharp, or by Pillow's resampling after decoding). */
async function resizedPixels(pipeline: Sharp, plan: PreprocessPlan, height: number, width: number): Promise<PixelImage> {
  const [h, w] = resizedSize(height, width, plan.resize);
  if (h === height && w === width) return toPixels(pipeline);
  const kernel = plan.kernel;
  if (kernel === 'pil-bilinear' || kernel === 'pil-bicubic') return resizePixels(await toPixels(pipeline), plan);
  return toPixels(pipeline.resize({ width: w, height: h, fit: 'fill', kernel, fastShrinkOnLoad: false }));
}

/**
 * Resizes stored pixels as `plan.resize` says (no-op when the size is unchanged): Pillow's filters in
 * JavaScript, sharp's kernels with sharp. Resizing needs 8-bit unsigned values (`Uint8Array` data).
 */
export function resizePixelsWithSharp(image: PixelImage, plan: PreprocessPlan): PixelImage | Promise<PixelImage> {
  if (!needsResize(image, plan) || pillowFilter(plan)) return resizePixels(image, plan);
  return resizeWithSharp(image, plan);
}

async function resizeWithSharp(image: PixelImage, plan: PreprocessPlan): Promise<PixelImage> {
  const { channels: C, height: H, width: W } = image;
  const sharp = await loadSharp();
  return resizedPixels(sharp(hwcPixels(image, plan), { raw: { width: W, height: H, channels: C as 1 | 2 | 3 | 4 } }), plan, H, W);
}

/**
 * Decodes an image file (JPEG, PNG, WebP...) into 8-bit HWC pixels (alpha dropped), resized as `plan` says.
 * Pillow's kernels (the default) decode in one pass and resize the pixels; sharp's kernels read the header
 * first, for the size they resize to. Every file comes out as 8-bit RGB, sharp's default output colour space
 * (sRGB): grey replicated, CMYK converted, 16-bit reduced, palettes expanded, EXIF orientation not applied.
 *
 * @throws OpnpError `'DATASET_FORMAT'` naming the file when it cannot be decoded, `'DATASET_NOT_FOUND'` when it is missing.
 */
export async function decodeImageFile(file: string, plan: PreprocessPlan): Promise<PixelImage> {
  try {
    const sharp = await loadSharp();
    const image = sharp(file, { failOn: 'error', sequentialRead: true });
    if (pillowFilter(plan)) return resizePixels(await toPixels(image.removeAlpha()), plan);
    const meta = await image.metadata();
    if (meta.width === undefined || meta.height === undefined) throw new Error('no image size');
    return await resizedPixels(image.removeAlpha(), plan, meta.height, meta.width);
  } catch (error) {
    const message = (error as Error).message;
    if (/^Input file is missing/.test(message)) throw notFoundError(`Image file not found: ${file}`, { file, cause: error });
    // sharp's messages span lines; the error stays one line so the file name is never cut off.
    throw formatError(`Cannot decode image (${message.replace(/\s*\n\s*/g, '; ').trim()})`, { file, cause: error });
  }
}

/** Loads a stored sample in Node: image files decoded with sharp, pixels resized with any kernel. */
export function loadSampleWithSharp(sample: RawSample, plan: PreprocessPlan): PixelImage | Promise<PixelImage> {
  return 'file' in sample ? decodeImageFile(sample.file, plan) : resizePixelsWithSharp(sample.pixels, plan);
}

/** {@link createDataset} for the Node loaders: image files and sharp's resize kernels available. */
export function createNodeDataset(parts: DatasetParts): Dataset {
  return createDataset({ ...parts, loadSample: loadSampleWithSharp });
}
