/**
 * Pillow's bilinear and bicubic resampling of 8-bit images, bit for bit: what `Image.resize(size, Image.BILINEAR)`
 * (or `BICUBIC`) returns, and therefore what torchvision's `Resize` does to PIL images (the ImageNet reference
 * pipelines; timm's ViT pipelines use bicubic).
 *
 * The algorithm is Pillow's `ImagingResample` (`src/libImaging/Resample.c`): a separable filter (triangle, or
 * Keys' cubic with `a = -0.5`) whose support widens with the shrink factor (antialiasing), coefficients normalised
 * per output pixel in float64 and rounded to 22-bit fixed point (`pillow-coefficients.ts`), a horizontal pass over
 * the source rows the vertical pass needs (rounded to 8 bits), then the vertical pass. Every output value is its
 * own integer sum over its taps, so a window of the output (the part a centre crop keeps) is computed alone from
 * the source rows and columns it reads, with the same bytes. The passes run as WebAssembly SIMD kernels
 * (`pillow-simd.ts`) where the engine has them, else in JavaScript (`pillow-resize-js.ts`); no dependencies
 * (browser-safe).
 */
import { FILTERS, type PillowFilter } from './pillow-coefficients.js';
import { jsResizeWindow } from './pillow-resize-js.js';
import { simdResizeWindow } from './pillow-simd.js';

export type { PillowFilter } from './pillow-coefficients.js';

/** A rectangle of a resized image: rows `top .. top + height - 1`, columns `left .. left + width - 1`. */
export interface ResizeWindow {
  readonly top: number;
  readonly left: number;
  readonly height: number;
  readonly width: number;
}

/**
 * Resizes an 8-bit `height x width x channels` (HWC, row-major) image to `outHeight x outWidth` exactly as
 * Pillow's `Image.resize((outWidth, outHeight), Image.BILINEAR)` (or `Image.BICUBIC`) does, each channel
 * independently as Pillow treats `L` and `RGB` images.
 *
 * @example
 * ```ts
 * const small = pillowResize(pixels, 375, 500, 3, 256, 341); // torchvision Resize(256) of a 500x375 image
 * const vit = pillowResize(pixels, 375, 500, 3, 248, 330, 'bicubic'); // timm ViT: Resize(248, bicubic)
 * ```
 */
export function pillowResize(src: Uint8Array, height: number, width: number, channels: number, outHeight: number, outWidth: number, filter: PillowFilter = 'bilinear'): Uint8Array {
  return pillowResizeWindow(src, height, width, channels, outHeight, outWidth, { top: 0, left: 0, height: outHeight, width: outWidth }, filter);
}

/**
 * The `window` of {@link pillowResize}'s output (`window.height x window.width x channels`, HWC), computed from
 * the source pixels it reads only: the same bytes as resizing the whole image and cutting the window out.
 */
export function pillowResizeWindow(
  src: Uint8Array,
  height: number,
  width: number,
  channels: number,
  outHeight: number,
  outWidth: number,
  window: ResizeWindow,
  filter: PillowFilter = 'bilinear',
): Uint8Array {
  checkArguments(src, height, width, channels, outHeight, outWidth, window, filter);
  const needHorizontal = outWidth !== width;
  const needVertical = outHeight !== height;
  if (!needHorizontal && !needVertical) return copyWindow(src, width, channels, window);
  return simdResizeWindow(src, height, width, channels, outHeight, outWidth, window, filter) ?? jsResizeWindow(src, height, width, channels, outHeight, outWidth, window, filter);
}

function checkArguments(src: Uint8Array, height: number, width: number, channels: number, outHeight: number, outWidth: number, window: ResizeWindow, filter: PillowFilter): void {
  if (!(filter in FILTERS)) throw new RangeError(`Unknown Pillow filter ${String(filter)} (expected bilinear or bicubic)`);
  if (src.length !== height * width * channels) throw new RangeError(`Expected ${height} x ${width} x ${channels} pixels, got ${src.length}`);
  if (!(outHeight >= 1 && outWidth >= 1 && Number.isInteger(outHeight) && Number.isInteger(outWidth))) {
    throw new RangeError(`Output size must be positive integers, got ${outHeight} x ${outWidth}`);
  }
  const { top, left, height: h, width: w } = window;
  if (![top, left, h, w].every(Number.isInteger) || top < 0 || left < 0 || h < 1 || w < 1 || top + h > outHeight || left + w > outWidth) {
    throw new RangeError(`Window ${h} x ${w} at (${top}, ${left}) is not inside the ${outHeight} x ${outWidth} output`);
  }
}

function copyWindow(src: Uint8Array, width: number, channels: number, window: ResizeWindow): Uint8Array {
  const rowLength = window.width * channels;
  const out = new Uint8Array(window.height * rowLength);
  for (let y = 0; y < window.height; y++) {
    const from = ((window.top + y) * width + window.left) * channels;
    out.set(src.subarray(from, from + rowLength), y * rowLength);
  }
  return out;
}

