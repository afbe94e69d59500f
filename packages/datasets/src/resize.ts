/**
 * Resizing stored pixels with Pillow's filters (`'pil-bilinear'`, `'pil-bicubic'`, bit for bit; WebAssembly
 * SIMD or JavaScript, no dependencies): the resize that runs everywhere. sharp's kernels (`'linear'`,
 * `'lanczos3'`, ...) and image-file decoding are in `node/sharp-images.ts`.
 */
import type { ImageWindow, PixelImage, PreprocessPlan } from './preprocess.js';
import { centerCropOffset, resizedSize } from './preprocess.js';
import { argumentError } from './errors.js';
import { pillowResizeWindow, type PillowFilter } from './pillow-resize.js';

/** The Pillow filter of a `'pil-*'` kernel, or undefined for sharp's kernels. */
export function pillowFilter(plan: PreprocessPlan): PillowFilter | undefined {
  return plan.kernel === 'pil-bilinear' ? 'bilinear' : plan.kernel === 'pil-bicubic' ? 'bicubic' : undefined;
}

/** True when `plan` changes the size of `image`. */
export function needsResize(image: PixelImage, plan: PreprocessPlan): boolean {
  const [h, w] = resizedSize(image.height, image.width, plan.resize);
  return h !== image.height || w !== image.width;
}

/**
 * The 8-bit pixels of `image` in HWC order (`data[(y * W + x) * C + c]`): the data itself when already HWC,
 * else a copy.
 *
 * @throws OpnpError `'INVALID_ARGUMENT'` when the values are not 8-bit unsigned (only those can be resized).
 */
export function hwcPixels(image: PixelImage, plan?: PreprocessPlan): Uint8Array {
  if (!(image.data instanceof Uint8Array)) {
    const to = plan ? resizedSize(image.height, image.width, plan.resize).join(' x ') : 'another size';
    const type = image.data.constructor.name.replace('Array', '').toLowerCase();
    throw argumentError(`The samples are ${image.height} x ${image.width} (${image.channels} channel${image.channels === 1 ? '' : 's'}, ${type} values) and would have to be resized to ${to}, but only 8-bit images can be resized`, {
      hint: `Give samples of the model input's size (${to}) already, or 8-bit images; if you set preprocess.resize yourself, drop it`,
    });
  }
  if (image.layout === 'HWC') return image.data;
  const { channels: C, height: H, width: W } = image;
  const src = image.data;
  const hwc = new Uint8Array(C * H * W);
  for (let c = 0; c < C; c++) {
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        hwc[(y * W + x) * C + c] = image.layout === 'CHW' ? src[(c * H + y) * W + x]! : src[(c * W + x) * H + y]!;
      }
    }
  }
  return hwc;
}

/**
 * The part of a `height x width` resized image that `plan`'s centre crop keeps, when the crop lies inside it
 * (else undefined: the crop pads, or there is none, and the whole image is needed).
 */
export function cropWindow(height: number, width: number, plan: PreprocessPlan): ImageWindow | undefined {
  if (!plan.crop) return undefined;
  const [top, left] = centerCropOffset(height, width, plan.crop);
  const [h, w] = plan.crop;
  if (top < 0 || left < 0 || top + h > height || left + w > width || (h === height && w === width)) return undefined;
  return { top, left, height: h, width: w };
}

/**
 * Resizes stored pixels as `plan.resize` says with Pillow's filter (no-op when the size is unchanged). When the
 * plan's centre crop lies inside the resized image, only that part is computed (the result's `window`), with
 * the same bytes as resizing all of it: every output value of Pillow's resampling is its own sum.
 *
 * @throws OpnpError `'INVALID_ARGUMENT'` for values that are not 8-bit unsigned, or a sharp kernel (those
 * need `@opnp/datasets/node`).
 */
export function resizePixels(image: PixelImage, plan: PreprocessPlan): PixelImage {
  if (!needsResize(image, plan)) return image;
  const filter = pillowFilter(plan);
  if (!filter) {
    throw argumentError(`preprocess.kernel "${plan.kernel}" is one of sharp's kernels, which need Node`, {
      expected: '"pil-bilinear" or "pil-bicubic" (these run everywhere)',
      actual: plan.kernel,
      hint: 'Use a pil-* kernel, or open the dataset with @opnp/datasets/node',
    });
  }
  const [h, w] = resizedSize(image.height, image.width, plan.resize);
  const { channels: C, height: H, width: W } = image;
  const window = cropWindow(h, w, plan);
  const data = pillowResizeWindow(hwcPixels(image, plan), H, W, C, h, w, window ?? { top: 0, left: 0, height: h, width: w }, filter);
  return { data, channels: C, height: h, width: w, layout: 'HWC', ...(window ? { window } : {}) };
}
