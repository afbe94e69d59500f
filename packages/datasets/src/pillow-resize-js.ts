/**
 * Pillow's two resampling passes in JavaScript (`pillow-resize.ts` says what they compute): where WebAssembly
 * SIMD is missing, and the reference the SIMD kernels are tested against besides the brute force.
 */
import { PRECISION_BITS, coefficients, uniformTaps, type Coefficients, type PillowFilter, type UniformTaps } from './pillow-coefficients.js';
import type { ResizeWindow } from './pillow-resize.js';

const HALF = 1 << (PRECISION_BITS - 1);

/** Pillow's `clip8`: the fixed-point sum shifted down and clamped to 0-255. */
function clip8(sum: number): number {
  const v = sum >> PRECISION_BITS;
  return v < 0 ? 0 : v > 255 ? 255 : v;
}

/**
 * The `window` of Pillow's resize of an 8-bit HWC image (see `pillowResizeWindow`, which checks the arguments),
 * in JavaScript. At least one axis changes size.
 */
export function jsResizeWindow(src: Uint8Array, height: number, width: number, channels: number, outHeight: number, outWidth: number, window: ResizeWindow, filter: PillowFilter): Uint8Array {
  const rowLength = window.width * channels;
  if (outHeight === height) return horizontalPass(src, width, channels, window.top, window.height, uniformTaps(coefficients(width, outWidth, filter), width), window.left, window.width);
  const vertical = coefficients(height, outHeight, filter);
  if (outWidth === width) return verticalPass(src, width * channels, window.left * channels, 0, vertical, window, rowLength);
  // Only the source rows the window's vertical taps read: the first row's first .. the last row's end.
  const last = window.top + window.height - 1;
  const rowStart = vertical.first[window.top]!;
  const rows = vertical.first[last]! + vertical.count[last]! - rowStart;
  const horizontal = horizontalPass(src, width, channels, rowStart, rows, uniformTaps(coefficients(width, outWidth, filter), width), window.left, window.width);
  return verticalPass(horizontal, rowLength, 0, rowStart, vertical, window, rowLength);
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
