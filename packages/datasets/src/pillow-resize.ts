/**
 * Pillow's bilinear and bicubic resampling of 8-bit images, bit for bit: what `Image.resize(size, Image.BILINEAR)`
 * (or `BICUBIC`) returns, and therefore what torchvision's `Resize` does to PIL images (the ImageNet reference
 * pipelines; timm's ViT pipelines use bicubic).
 *
 * The algorithm is Pillow's `ImagingResample` (`src/libImaging/Resample.c`): a separable filter (triangle, or
 * Keys' cubic with `a = -0.5`) whose support widens with the shrink factor (antialiasing), coefficients normalised
 * per output pixel in float64 and rounded to 22-bit fixed point, a horizontal pass over the source rows the
 * vertical pass needs (rounded to 8 bits), then the vertical pass. Pure JavaScript, no dependencies (browser-safe).
 */

/** Fixed-point precision of Pillow's 8-bit coefficients: `32 - 8 - 2`. */
const PRECISION_BITS = 22;
const ONE = 1 << PRECISION_BITS;
const HALF = 1 << (PRECISION_BITS - 1);

/** Per output pixel: first source index, number of taps, and the taps' fixed-point weights (`size` apart). */
interface Coefficients {
  readonly first: Int32Array;
  readonly count: Int32Array;
  readonly weights: Int32Array;
  readonly size: number;
}

/** Pillow's resampling filters: the kernel and its support (at scale 1). */
const FILTERS = {
  bilinear: { support: 1, kernel: (t: number) => (t < 1 ? 1 - t : 0) },
  // Keys' cubic convolution with a = -0.5, written as Pillow's bicubic_filter.
  bicubic: {
    support: 2,
    kernel: (t: number) => (t < 1 ? (1.5 * t - 2.5) * t * t + 1 : t < 2 ? (((t - 5) * t + 8) * t - 4) * -0.5 : 0),
  },
} as const;

/** Filters of {@link pillowResize}: Pillow's `Image.BILINEAR` and `Image.BICUBIC`. */
export type PillowFilter = keyof typeof FILTERS;

/** Pillow's `precompute_coeffs` for one axis, then `normalize_coeffs_8bpc`. */
function coefficients(inSize: number, outSize: number, filter: PillowFilter): Coefficients {
  const { support: filterSupport, kernel } = FILTERS[filter];
  const scale = inSize / outSize;
  const filterScale = Math.max(scale, 1);
  const support = filterSupport * filterScale;
  const size = Math.ceil(support) * 2 + 1;
  const first = new Int32Array(outSize);
  const count = new Int32Array(outSize);
  const weights = new Int32Array(outSize * size);
  const k = new Float64Array(size);
  const inverse = 1 / filterScale;
  for (let xx = 0; xx < outSize; xx++) {
    const center = (xx + 0.5) * scale;
    // C's (int) cast truncates toward zero.
    const xmin = Math.max(Math.trunc(center - support + 0.5), 0);
    const xmax = Math.min(Math.trunc(center + support + 0.5), inSize) - xmin;
    let sum = 0;
    for (let x = 0; x < xmax; x++) {
      const w = kernel(Math.abs((x + xmin - center + 0.5) * inverse));
      k[x] = w;
      sum += w;
    }
    for (let x = 0; x < xmax; x++) {
      const w = sum !== 0 ? k[x]! / sum : k[x]!;
      weights[xx * size + x] = Math.trunc(w < 0 ? -0.5 + w * ONE : 0.5 + w * ONE);
    }
    first[xx] = xmin;
    count[xx] = xmax;
  }
  return { first, count, weights, size };
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
  if (!(filter in FILTERS)) throw new RangeError(`Unknown Pillow filter ${String(filter)} (expected bilinear or bicubic)`);
  if (src.length !== height * width * channels) throw new RangeError(`Expected ${height} x ${width} x ${channels} pixels, got ${src.length}`);
  if (!(outHeight >= 1 && outWidth >= 1 && Number.isInteger(outHeight) && Number.isInteger(outWidth))) {
    throw new RangeError(`Output size must be positive integers, got ${outHeight} x ${outWidth}`);
  }
  const needHorizontal = outWidth !== width;
  const needVertical = outHeight !== height;
  if (!needHorizontal && !needVertical) return src.slice();
  const vertical = coefficients(height, outHeight, filter);
  let image = src;
  let rows = height;
  let rowOffset = 0;
  if (needHorizontal) {
    // Only the source rows the vertical pass reads: first of the first output row .. end of the last.
    rowOffset = vertical.first[0]!;
    const rowEnd = vertical.first[outHeight - 1]! + vertical.count[outHeight - 1]!;
    rows = needVertical ? rowEnd - rowOffset : height;
    if (!needVertical) rowOffset = 0;
    image = horizontalPass(src, width, channels, rowOffset, rows, outWidth, filter);
  }
  if (!needVertical) return image;
  return verticalPass(image, needHorizontal ? outWidth : width, channels, vertical, needHorizontal ? rowOffset : 0, outHeight);
}

/**
 * The horizontal pass over `rows` source rows from `rowOffset`: per output pixel and channel, the fixed-point
 * sum of its taps (Pillow's `ImagingResampleHorizontal_8bpc`). RGB, the common case, keeps the three sums of a
 * pixel together; the integer sums are exact in any order, so every path gives Pillow's bytes.
 */
function horizontalPass(src: Uint8Array, width: number, channels: number, rowOffset: number, rows: number, outWidth: number, filter: PillowFilter): Uint8Array {
  const coeffs = coefficients(width, outWidth, filter);
  const out = new Uint8Array(rows * outWidth * channels);
  for (let y = 0; y < rows; y++) {
    const srcRow = (y + rowOffset) * width * channels;
    const outRow = y * outWidth * channels;
    if (channels === 3) horizontalRowRgb(src, srcRow, out, outRow, coeffs, outWidth);
    else horizontalRow(src, srcRow, out, outRow, coeffs, outWidth, channels);
  }
  return out;
}

function horizontalRowRgb(src: Uint8Array, srcRow: number, out: Uint8Array, outRow: number, coeffs: Coefficients, outWidth: number): void {
  const { first, count, weights, size } = coeffs;
  for (let xx = 0; xx < outWidth; xx++) {
    const n = count[xx]!;
    const k = xx * size;
    let p = srcRow + first[xx]! * 3;
    let s0 = HALF;
    let s1 = HALF;
    let s2 = HALF;
    for (let x = 0; x < n; x++, p += 3) {
      const w = weights[k + x]!;
      s0 += src[p]! * w;
      s1 += src[p + 1]! * w;
      s2 += src[p + 2]! * w;
    }
    const o = outRow + xx * 3;
    out[o] = clip8(s0);
    out[o + 1] = clip8(s1);
    out[o + 2] = clip8(s2);
  }
}

function horizontalRow(src: Uint8Array, srcRow: number, out: Uint8Array, outRow: number, coeffs: Coefficients, outWidth: number, channels: number): void {
  const { first, count, weights, size } = coeffs;
  for (let xx = 0; xx < outWidth; xx++) {
    const xmin = first[xx]!;
    const n = count[xx]!;
    const k = xx * size;
    for (let c = 0; c < channels; c++) {
      let sum = HALF;
      for (let x = 0; x < n; x++) sum += src[srcRow + (x + xmin) * channels + c]! * weights[k + x]!;
      out[outRow + xx * channels + c] = clip8(sum);
    }
  }
}

/**
 * The vertical pass (Pillow's `ImagingResampleVertical_8bpc`): each output row is the fixed-point sum of its
 * taps' rows. Taps go four at a time (missing ones with weight 0 on a row already read) through whole rows, so
 * the usual 2-4 taps of a shrink by up to 2 take one sequential sweep. The sums are integers below 2^31 (Pillow
 * keeps them in a C int too), exact in any order: Pillow's bytes.
 */
function verticalPass(src: Uint8Array, width: number, channels: number, coeffs: Coefficients, rowOffset: number, outHeight: number): Uint8Array {
  const { first, count, weights, size } = coeffs;
  const stride = width * channels;
  const out = new Uint8Array(outHeight * stride);
  const sums = new Int32Array(stride);
  for (let yy = 0; yy < outHeight; yy++) {
    const ymin = first[yy]! - rowOffset;
    const n = count[yy]!;
    const outRow = yy * stride;
    for (let t = 0; t < n; t += 4) {
      const k = yy * size + t;
      const r0 = (ymin + t) * stride;
      // taps past `n`: weight 0 on row r0
      const w0 = weights[k]!;
      const w1 = t + 1 < n ? weights[k + 1]! : 0;
      const w2 = t + 2 < n ? weights[k + 2]! : 0;
      const w3 = t + 3 < n ? weights[k + 3]! : 0;
      const r1 = t + 1 < n ? r0 + stride : r0;
      const r2 = t + 2 < n ? r0 + 2 * stride : r0;
      const r3 = t + 3 < n ? r0 + 3 * stride : r0;
      const last = t + 4 >= n;
      if (t === 0 && last) {
        for (let i = 0; i < stride; i++) out[outRow + i] = clip8(HALF + src[r0 + i]! * w0 + src[r1 + i]! * w1 + src[r2 + i]! * w2 + src[r3 + i]! * w3);
        continue;
      }
      if (t === 0) for (let i = 0; i < stride; i++) sums[i] = HALF + src[r0 + i]! * w0 + src[r1 + i]! * w1 + src[r2 + i]! * w2 + src[r3 + i]! * w3;
      else for (let i = 0; i < stride; i++) sums[i] = sums[i]! + src[r0 + i]! * w0 + src[r1 + i]! * w1 + src[r2 + i]! * w2 + src[r3 + i]! * w3;
      if (last) for (let i = 0; i < stride; i++) out[outRow + i] = clip8(sums[i]!);
    }
  }
  return out;
}
