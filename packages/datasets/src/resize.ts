/**
 * Decoding (and resizing with sharp's kernels) with sharp (libvips), on libuv's threadpool; the default
 * `'pil-bilinear'` resize runs in JavaScript on the decoded pixels. Node only.
 */
import { loadSharp } from './sharp-loader.js';
import type { Sharp } from 'sharp';
import type { PixelImage, PreprocessPlan } from './preprocess.js';
import { resizedSize } from './preprocess.js';
import { argumentError, formatError, notFoundError } from './errors.js';
import { pillowResize, type PillowFilter } from './pillow-resize.js';

async function toPixels(pipeline: Sharp): Promise<PixelImage> {
  const { data, info } = await pipeline.raw().toBuffer({ resolveWithObject: true });
  return { data: new Uint8Array(data.buffer, data.byteOffset, data.length), channels: info.channels, height: info.height, width: info.width, layout: 'HWC' };
}

/** Decoded pixels of `pipeline`, resized as `plan` says (by sharp, or by the Pillow port after decoding). */
async function resizedPixels(pipeline: Sharp, plan: PreprocessPlan, height: number, width: number): Promise<PixelImage> {
  const [h, w] = resizedSize(height, width, plan.resize);
  if (h === height && w === width) return toPixels(pipeline);
  const kernel = plan.kernel;
  if (kernel !== 'pil-bilinear' && kernel !== 'pil-bicubic') return toPixels(pipeline.resize({ width: w, height: h, fit: 'fill', kernel, fastShrinkOnLoad: false }));
  const filter = pillowFilter(plan)!;
  const image = await toPixels(pipeline);
  const data = pillowResize(image.data as Uint8Array, image.height, image.width, image.channels, h, w, filter);
  return { data, channels: image.channels, height: h, width: w, layout: 'HWC' };
}

/** The Pillow filter of a `'pil-*'` kernel, or undefined for sharp's kernels. */
function pillowFilter(plan: PreprocessPlan): PillowFilter | undefined {
  return plan.kernel === 'pil-bilinear' ? 'bilinear' : plan.kernel === 'pil-bicubic' ? 'bicubic' : undefined;
}

/**
 * Resizes stored pixels as `plan.resize` says (no-op when the size is unchanged).
 * Resizing needs 8-bit unsigned values (`Uint8Array` data).
 */
export async function resizePixels(image: PixelImage, plan: PreprocessPlan): Promise<PixelImage> {
  const [h, w] = resizedSize(image.height, image.width, plan.resize);
  if (h === image.height && w === image.width) return image;
  if (!(image.data instanceof Uint8Array)) {
    throw argumentError('Resizing is only supported for 8-bit unsigned images', { hint: 'Drop preprocess.resize for this dataset' });
  }
  const { channels: C, height: H, width: W } = image;
  let hwc: Uint8Array;
  if (image.layout === 'HWC') hwc = image.data;
  else {
    hwc = new Uint8Array(C * H * W);
    const src = image.data;
    for (let c = 0; c < C; c++) {
      for (let y = 0; y < H; y++) {
        for (let x = 0; x < W; x++) {
          hwc[(y * W + x) * C + c] = image.layout === 'CHW' ? src[(c * H + y) * W + x]! : src[(c * W + x) * H + y]!;
        }
      }
    }
  }
  const filter = pillowFilter(plan);
  if (filter) return { data: pillowResize(hwc, H, W, C, h, w, filter), channels: C, height: h, width: w, layout: 'HWC' };
  const raw = { width: W, height: H, channels: C as 1 | 2 | 3 | 4 };
  const sharp = await loadSharp();
  return resizedPixels(sharp(hwc, { raw }), plan, H, W);
}

/**
 * Decodes an image file (JPEG, PNG, WebP...) into 8-bit HWC pixels (alpha dropped), resized as `plan` says.
 *
 * @throws OpnpError `'DATASET_FORMAT'` naming the file when it cannot be decoded, `'DATASET_NOT_FOUND'` when it is missing.
 */
export async function decodeImageFile(file: string, plan: PreprocessPlan): Promise<PixelImage> {
  try {
    const sharp = await loadSharp();
    const image = sharp(file, { failOn: 'error', sequentialRead: true });
    const meta = await image.metadata();
    if (meta.width === undefined || meta.height === undefined) throw new Error('no image size');
    let pipeline = image.removeAlpha();
    if ((meta.channels ?? 3) >= 3 || meta.space === 'cmyk') pipeline = pipeline.toColourspace('srgb');
    return await resizedPixels(pipeline, plan, meta.height, meta.width);
  } catch (error) {
    const message = (error as Error).message;
    if (/^Input file is missing/.test(message)) throw notFoundError(`Image file not found: ${file}`, { file, cause: error });
    // sharp's messages span lines; the error stays one line so the file name is never cut off.
    throw formatError(`Cannot decode image (${message.replace(/\s*\n\s*/g, '; ').trim()})`, { file, cause: error });
  }
}
