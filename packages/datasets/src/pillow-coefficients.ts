/**
 * The resampling coefficients of Pillow's `ImagingResample` for 8-bit images (`src/libImaging/Resample.c`):
 * `precompute_coeffs` then `normalize_coeffs_8bpc`, one table per axis, kept in a small cache (a folder of
 * same-size images computes them once).
 */

/** Fixed-point precision of Pillow's 8-bit coefficients: `32 - 8 - 2`. */
export const PRECISION_BITS = 22;
const ONE = 1 << PRECISION_BITS;

/**
 * One axis of a resize, `inSize -> outSize`: per output pixel `o`, its taps are the source pixels
 * `first[o] .. first[o] + count[o] - 1` with the fixed-point weights `weights[o * taps + t]`.
 */
export interface Coefficients {
  readonly first: Int32Array;
  readonly count: Int32Array;
  /** `outSize x taps`, zero past each pixel's `count`. */
  readonly weights: Int32Array;
  /** The largest `count` (at most `inSize`). */
  readonly taps: number;
}

/**
 * {@link Coefficients} with `taps` taps for every output pixel: the window `start[o] .. start[o] + taps - 1` lies
 * inside the source and holds Pillow's taps of `o` (weights `weights[o * taps + t]`), zero weights on the rest.
 * The integer sums are the same, so inner loops need no per-pixel tap count.
 */
export interface UniformTaps {
  readonly start: Int32Array;
  readonly weights: Int32Array;
  readonly taps: number;
}

/** Pillow's resampling filters: the kernel and its support (at scale 1). */
export const FILTERS = {
  bilinear: { support: 1, kernel: (t: number) => (t < 1 ? 1 - t : 0) },
  // Keys' cubic convolution with a = -0.5, written as Pillow's bicubic_filter.
  bicubic: {
    support: 2,
    kernel: (t: number) => (t < 1 ? (1.5 * t - 2.5) * t * t + 1 : t < 2 ? (((t - 5) * t + 8) * t - 4) * -0.5 : 0),
  },
} as const;

/** Filters of `pillowResize`: Pillow's `Image.BILINEAR` and `Image.BICUBIC`. */
export type PillowFilter = keyof typeof FILTERS;

/** Pillow's `precompute_coeffs` for one axis, then `normalize_coeffs_8bpc`. */
function computeCoefficients(inSize: number, outSize: number, filter: PillowFilter): Coefficients {
  const { support: filterSupport, kernel } = FILTERS[filter];
  const scale = inSize / outSize;
  const filterScale = Math.max(scale, 1);
  const support = filterSupport * filterScale;
  const size = Math.ceil(support) * 2 + 1;
  const first = new Int32Array(outSize);
  const count = new Int32Array(outSize);
  const pillowWeights = new Int32Array(outSize * size);
  const k = new Float64Array(size);
  const inverse = 1 / filterScale;
  let taps = 0;
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
      pillowWeights[xx * size + x] = Math.trunc(w < 0 ? -0.5 + w * ONE : 0.5 + w * ONE);
    }
    first[xx] = xmin;
    count[xx] = xmax;
    taps = Math.max(taps, xmax);
  }
  const weights = new Int32Array(outSize * taps);
  for (let xx = 0; xx < outSize; xx++) weights.set(pillowWeights.subarray(xx * size, xx * size + count[xx]!), xx * taps);
  return { first, count, weights, taps };
}

/** Tables kept; a dataset of many image sizes recomputes them (cheap next to a resize). */
const CACHE_LIMIT = 32;
const cache = new Map<string, Coefficients>();

/** The coefficients of `inSize -> outSize` with `filter` (cached). */
export function coefficients(inSize: number, outSize: number, filter: PillowFilter): Coefficients {
  const key = `${filter} ${inSize} ${outSize}`;
  let found = cache.get(key);
  if (!found) {
    if (cache.size >= CACHE_LIMIT) cache.clear();
    cache.set(key, (found = computeCoefficients(inSize, outSize, filter)));
  }
  return found;
}

const uniformCache = new WeakMap<Coefficients, UniformTaps>();

/** `coeffs` as {@link UniformTaps} over a source of `inSize` pixels (cached with them). */
export function uniformTaps(coeffs: Coefficients, inSize: number): UniformTaps {
  let found = uniformCache.get(coeffs);
  if (found) return found;
  const { first, count, weights: pillowWeights, taps } = coeffs;
  const outSize = first.length;
  const start = new Int32Array(outSize);
  const weights = new Int32Array(outSize * taps);
  for (let o = 0; o < outSize; o++) {
    // taps <= inSize, so the window fits; Pillow's taps sit at first[o] - start[o] inside it
    const s = Math.min(first[o]!, inSize - taps);
    start[o] = s;
    weights.set(pillowWeights.subarray(o * taps, o * taps + count[o]!), o * taps + first[o]! - s);
  }
  uniformCache.set(coeffs, (found = { start, weights, taps }));
  return found;
}
