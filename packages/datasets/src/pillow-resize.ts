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
 * the source rows and columns it reads, with the same bytes. Pure JavaScript, no dependencies (browser-safe).
 */
import { FILTERS, PRECISION_BITS, coefficients, uniformTaps, type Coefficients, type PillowFilter, type UniformTaps } from './pillow-coefficients.js';

export type { PillowFilter } from './pillow-coefficients.js';

const HALF = 1 << (PRECISION_BITS - 1);

/** A rectangle of a resized image: rows `top .. top + height - 1`, columns `left .. left + width - 1`. */
export interface ResizeWindow {
  readonly top: number;
  readonly left: number;
  readonly height: number;
  readonly width: number;
}

/** Pillow's `clip8`: the fixed-point sum shifted down and clamped to 0-255. */
function clip8(sum: number): number {
  const v = sum >> PRECISION_BITS;
  return v < 0 ? 0 : v > 255 ? 255 : v;
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
  const rowLength = window.width * channels;
  if (!needVertical) return horizontalPass(src, width, channels, window.top, window.height, uniformTaps(coefficients(width, outWidth, filter), width), window.left, window.width);
  const vertical = coefficients(height, outHeight, filter);
  if (!needHorizontal) return verticalPass(src, width * channels, window.left * channels, 0, vertical, window, rowLength);
  // Only the source rows the window's vertical taps read: the first row's first .. the last row's end.
  const last = window.top + window.height - 1;
  const rowStart = vertical.first[window.top]!;
  const rows = vertical.first[last]! + vertical.count[last]! - rowStart;
  const horizontal = horizontalPass(src, width, channels, rowStart, rows, uniformTaps(coefficients(width, outWidth, filter), width), window.left, window.width);
  return verticalPass(horizontal, rowLength, 0, rowStart, vertical, window, rowLength);
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

/**
 * The horizontal pass (Pillow's `ImagingResampleHorizontal_8bpc`) over `rows` source rows from `rowStart`, for
 * the `cols` output columns from `colStart`: per output pixel and channel, the fixed-point sum of its taps.
 */
function horizontalPass(src: Uint8Array, width: number, channels: number, rowStart: number, rows: number, taps: UniformTaps, colStart: number, cols: number): Uint8Array {
  const out = new Uint8Array(rows * cols * channels);
  const row = channels === 3 ? (RGB_ROWS[taps.taps] ?? horizontalRowRgbAny) : horizontalRow;
  for (let y = 0; y < rows; y++) row(src, (y + rowStart) * width * channels, out, y * cols * channels, taps, colStart, cols, channels);
  return out;
}

function horizontalRowRgb2(src: Uint8Array, srcRow: number, out: Uint8Array, outRow: number, { start, weights }: UniformTaps, colStart: number, cols: number): void {
  for (let xx = colStart, o = outRow, end = colStart + cols; xx < end; xx++, o += 3) {
    const p = srcRow + start[xx]! * 3;
    const k = 2 * xx;
    const w0 = weights[k]!;
    const w1 = weights[k + 1]!;
    out[o] = clip8(HALF + src[p]! * w0 + src[p + 3]! * w1);
    out[o + 1] = clip8(HALF + src[p + 1]! * w0 + src[p + 4]! * w1);
    out[o + 2] = clip8(HALF + src[p + 2]! * w0 + src[p + 5]! * w1);
  }
}

function horizontalRowRgb3(src: Uint8Array, srcRow: number, out: Uint8Array, outRow: number, { start, weights }: UniformTaps, colStart: number, cols: number): void {
  for (let xx = colStart, o = outRow, end = colStart + cols; xx < end; xx++, o += 3) {
    const p = srcRow + start[xx]! * 3;
    const k = 3 * xx;
    const w0 = weights[k]!;
    const w1 = weights[k + 1]!;
    const w2 = weights[k + 2]!;
    out[o] = clip8(HALF + src[p]! * w0 + src[p + 3]! * w1 + src[p + 6]! * w2);
    out[o + 1] = clip8(HALF + src[p + 1]! * w0 + src[p + 4]! * w1 + src[p + 7]! * w2);
    out[o + 2] = clip8(HALF + src[p + 2]! * w0 + src[p + 5]! * w1 + src[p + 8]! * w2);
  }
}

function horizontalRowRgb4(src: Uint8Array, srcRow: number, out: Uint8Array, outRow: number, { start, weights }: UniformTaps, colStart: number, cols: number): void {
  for (let xx = colStart, o = outRow, end = colStart + cols; xx < end; xx++, o += 3) {
    const p = srcRow + start[xx]! * 3;
    const k = 4 * xx;
    const w0 = weights[k]!;
    const w1 = weights[k + 1]!;
    const w2 = weights[k + 2]!;
    const w3 = weights[k + 3]!;
    out[o] = clip8(HALF + src[p]! * w0 + src[p + 3]! * w1 + src[p + 6]! * w2 + src[p + 9]! * w3);
    out[o + 1] = clip8(HALF + src[p + 1]! * w0 + src[p + 4]! * w1 + src[p + 7]! * w2 + src[p + 10]! * w3);
    out[o + 2] = clip8(HALF + src[p + 2]! * w0 + src[p + 5]! * w1 + src[p + 8]! * w2 + src[p + 11]! * w3);
  }
}

function horizontalRowRgbAny(src: Uint8Array, srcRow: number, out: Uint8Array, outRow: number, { start, weights, taps: n }: UniformTaps, colStart: number, cols: number): void {
  for (let xx = colStart, o = outRow, end = colStart + cols; xx < end; xx++, o += 3) {
    let p = srcRow + start[xx]! * 3;
    let s0 = HALF;
    let s1 = HALF;
    let s2 = HALF;
    for (let k = xx * n, last = k + n; k < last; k++, p += 3) {
      const w = weights[k]!;
      s0 += src[p]! * w;
      s1 += src[p + 1]! * w;
      s2 += src[p + 2]! * w;
    }
    out[o] = clip8(s0);
    out[o + 1] = clip8(s1);
    out[o + 2] = clip8(s2);
  }
}

/** One row of the horizontal pass: `cols` output pixels from `colStart` of the source row at `srcRow`. */
type HorizontalRow = (src: Uint8Array, srcRow: number, out: Uint8Array, outRow: number, taps: UniformTaps, colStart: number, cols: number, channels: number) => void;

/**
 * The rows of RGB images, the common case, by tap count: the three sums of a pixel together, the taps unrolled
 * when there are 2, 3 or 4 (enlarging, and shrinking by up to 2 with the bilinear filter).
 */
const RGB_ROWS: Record<number, HorizontalRow> = { 2: horizontalRowRgb2, 3: horizontalRowRgb3, 4: horizontalRowRgb4 };

function horizontalRow(src: Uint8Array, srcRow: number, out: Uint8Array, outRow: number, taps: UniformTaps, colStart: number, cols: number, channels: number): void {
  const { start, weights, taps: n } = taps;
  for (let j = 0; j < cols; j++) {
    const xx = colStart + j;
    const p = srcRow + start[xx]! * channels;
    for (let c = 0; c < channels; c++) {
      let sum = HALF;
      for (let t = 0; t < n; t++) sum += src[p + t * channels + c]! * weights[xx * n + t]!;
      out[outRow + j * channels + c] = clip8(sum);
    }
  }
}

/**
 * The vertical pass (Pillow's `ImagingResampleVertical_8bpc`) for the window's rows: each output row is the
 * fixed-point sum of its taps' rows (`rowLength` values from column offset `srcColumn` of rows `srcStride` apart,
 * the first being source row `rowOffset`). Taps go four at a time (missing ones with weight 0 on a row already
 * read) through whole rows, so the usual 2-4 taps of a shrink by up to 2 take one sequential sweep. The sums are
 * integers below 2^31 (Pillow keeps them in a C int too), exact in any order: Pillow's bytes.
 */
function verticalPass(src: Uint8Array, srcStride: number, srcColumn: number, rowOffset: number, coeffs: Coefficients, window: ResizeWindow, rowLength: number): Uint8Array {
  const { first, count, weights, taps } = coeffs;
  const out = new Uint8Array(window.height * rowLength);
  const sums = new Int32Array(rowLength);
  for (let j = 0; j < window.height; j++) {
    const yy = window.top + j;
    const ymin = first[yy]! - rowOffset;
    const n = count[yy]!;
    const outRow = j * rowLength;
    for (let t = 0; t < n; t += 4) {
      const k = yy * taps + t;
      const r0 = (ymin + t) * srcStride + srcColumn;
      // taps past `n`: weight 0 on row r0
      const w0 = weights[k]!;
      const w1 = t + 1 < n ? weights[k + 1]! : 0;
      const w2 = t + 2 < n ? weights[k + 2]! : 0;
      const w3 = t + 3 < n ? weights[k + 3]! : 0;
      const r1 = t + 1 < n ? r0 + srcStride : r0;
      const r2 = t + 2 < n ? r0 + 2 * srcStride : r0;
      const r3 = t + 3 < n ? r0 + 3 * srcStride : r0;
      const last = t + 4 >= n;
      if (t === 0 && last) {
        for (let i = 0; i < rowLength; i++) out[outRow + i] = clip8(HALF + src[r0 + i]! * w0 + src[r1 + i]! * w1 + src[r2 + i]! * w2 + src[r3 + i]! * w3);
        continue;
      }
      if (t === 0) for (let i = 0; i < rowLength; i++) sums[i] = HALF + src[r0 + i]! * w0 + src[r1 + i]! * w1 + src[r2 + i]! * w2 + src[r3 + i]! * w3;
      else for (let i = 0; i < rowLength; i++) sums[i] = sums[i]! + src[r0 + i]! * w0 + src[r1 + i]! * w1 + src[r2 + i]! * w2 + src[r3 + i]! * w3;
      if (last) for (let i = 0; i < rowLength; i++) out[outRow + i] = clip8(sums[i]!);
    }
  }
  return out;
}
