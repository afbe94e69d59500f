/**
 * Preprocessing: stored pixels -> model input. Pure planning and pixel arithmetic live here; resizing
 * (the only step that needs an image library) is delegated to `resize.ts` (sharp).
 *
 * Order of operations, per sample: resize (optional) -> centre crop (optional) -> channel conversion ->
 * `x * scale` -> `(x - mean[c]) / std[c]` -> write in the requested layout.
 */
import type { InputSpec, OpnpError } from '@opnp/core/base';
import { argumentError } from './errors.js';
import { writeAffine, type AffinePass } from './affine-wasm.js';

/** Memory layout of a preprocessed batch. */
export type BatchLayout = 'NCHW' | 'NHWC';

/**
 * Resampling kernels for resizing: `'pil-bilinear'`, `'pil-bicubic'` (Pillow's, bit for bit, in WebAssembly SIMD or
 * JavaScript) or one of sharp's (libvips) kernels.
 */
export type ResizeKernel = 'pil-bilinear' | 'pil-bicubic' | 'nearest' | 'linear' | 'cubic' | 'mitchell' | 'lanczos2' | 'lanczos3';

/** Every {@link ResizeKernel}, for validating user input. */
export const RESIZE_KERNELS: readonly ResizeKernel[] = Object.freeze(['pil-bilinear', 'pil-bicubic', 'nearest', 'linear', 'cubic', 'mitchell', 'lanczos2', 'lanczos3']);

/**
 * How stored pixels become model input (all fields optional).
 *
 * - `resize`: a number resizes the *shorter* side to it keeping the aspect ratio (the longer side becomes
 *   `floor(size * long / short)`, as torchvision's `Resize(int)`); `[height, width]` resizes to exactly that.
 * - `centerCrop`: crops the centre (`top = round((H - h) / 2)`, Python rounding, as torchvision's
 *   `CenterCrop`); a crop larger than the image pads with zeros.
 * - `kernel`: the resampling kernel, default `'pil-bilinear'`: exactly Pillow's `Image.resize(..., BILINEAR)`, which
 *   torchvision's `Resize` uses for PIL images, so ImageNet-style inputs equal the PyTorch reference pipelines'
 *   pixel for pixel (sharp decodes JPEGs as Pillow does; checked against Pillow in the tests). It runs as
 *   WebAssembly SIMD kernels (JavaScript where SIMD is missing), only over the part a centre crop keeps (about
 *   0.6 ms for a 500 x 375 image to its 224 x 224 centre at 256); sharp's kernels (`'linear'`: libvips' antialiased triangle
 *   filter, within a few levels of Pillow's when shrinking, up to 10 when enlarging; `'cubic'`, `'lanczos3'`, ...) run
 *   natively on libuv's threads. `'pil-bicubic'` is Pillow's `BICUBIC` (timm's ViT pipelines). JPEG shrink-on-load is
 *   disabled so results do not depend on DCT scaling.
 * - `channels`: the model's channel count (1 or 3). Grey -> RGB replicates the channel; RGB -> grey uses
 *   `0.299 R + 0.587 G + 0.114 B` (ITU-R 601-2, PIL's `convert('L')` without its rounding).
 * - `scale`: multiplies stored values; default `1/255` for 8-bit unsigned data and `1` otherwise.
 * - `mean`, `std`: per-channel (or one value for all channels), applied after scaling; default 0 and 1.
 * - `layout`: `'NCHW'` (default) or `'NHWC'`.
 *
 * ImageNet: `{ resize: 256, centerCrop: 224, mean: IMAGENET_MEAN, std: IMAGENET_STD }`.
 * CIFAR-scale OOD folders: `{ resize: 32, centerCrop: 32, ... }`.
 */
export interface PreprocessOptions {
  resize?: number | readonly [number, number];
  centerCrop?: number | readonly [number, number];
  kernel?: ResizeKernel;
  channels?: number;
  scale?: number;
  mean?: number | readonly number[];
  std?: number | readonly number[];
  layout?: BatchLayout;
}

/** ImageNet per-channel mean (RGB, after `x / 255`). */
export const IMAGENET_MEAN: readonly number[] = Object.freeze([0.485, 0.456, 0.406]);
/** ImageNet per-channel standard deviation (RGB, after `x / 255`). */
export const IMAGENET_STD: readonly number[] = Object.freeze([0.229, 0.224, 0.225]);

/** A preprocessing plan resolved against a dataset's stored shape. */
export interface PreprocessPlan {
  readonly layout: BatchLayout;
  /** Output channels, height, width. */
  readonly channels: number;
  readonly height: number;
  readonly width: number;
  readonly resize: number | readonly [number, number] | undefined;
  readonly crop: readonly [number, number] | undefined;
  readonly kernel: ResizeKernel;
  readonly scale: number;
  readonly mean: Float64Array;
  readonly std: Float64Array;
}

/** Stored pixels of one image: value of `(c, y, x)` depends on `layout`. */
export interface PixelImage {
  readonly data: ArrayLike<number>;
  readonly channels: number;
  readonly height: number;
  readonly width: number;
  /**
   * `'HWC'`: `data[(y * W + x) * C + c]`; `'CHW'`: `data[(c * H + y) * W + x]`;
   * `'CWH'` (MATLAB column-major planes, SVHN): `data[(c * W + x) * H + y]`.
   */
  readonly layout: 'HWC' | 'CHW' | 'CWH';
  /**
   * Set when `data` holds only this rectangle of the `height x width` image (`'HWC'`, `window.width` pixels a
   * row): what a resize computes when the plan's centre crop keeps only that part. It always covers the crop.
   */
  readonly window?: ImageWindow;
}

/** A rectangle of an image: rows `top .. top + height - 1`, columns `left .. left + width - 1`. */
export interface ImageWindow {
  readonly top: number;
  readonly left: number;
  readonly height: number;
  readonly width: number;
}

/**
 * What messages call each preprocessing option (default `preprocess.<option>`). An application that exposes the
 * options under its own names passes those (the CLI: `{ mean: '--mean', std: '--std', centerCrop: '--crop', ... }`),
 * so a bad value is reported under the name the user gave it.
 */
export type PreprocessOptionNames = { readonly [K in keyof PreprocessOptions]?: string };

/** The name of `option` in messages. */
type OptionLabel = (option: keyof PreprocessOptions) => string;

function optionLabels(names: PreprocessOptionNames): OptionLabel {
  return (option) => names[option] ?? `preprocess.${option}`;
}

function positiveInt(label: string, value: number): number {
  if (!Number.isInteger(value) || value <= 0) throw argumentError(`${label} must be a positive integer`, { actual: value });
  return value;
}

function pair(label: string, value: number | readonly [number, number]): readonly [number, number] {
  if (typeof value === 'number') return [positiveInt(label, value), value];
  if (!Array.isArray(value) || value.length !== 2) throw argumentError(`${label} must be a number or [height, width]`, { actual: value });
  return [positiveInt(label, value[0]), positiveInt(label, value[1])];
}

/** Where the output channel count came from, for messages. */
interface ChannelSource {
  /** Channels of the stored images. */
  readonly stored: number;
  /** `preprocess.channels` was given. */
  readonly explicit: boolean;
}

function channelWords(n: number): string {
  return `${n} channel${n === 1 ? '' : 's'}`;
}

function perChannel(field: 'mean' | 'std', value: number | readonly number[] | undefined, channels: number, source: ChannelSource, label: OptionLabel): Float64Array {
  const out = new Float64Array(channels).fill(field === 'std' ? 1 : 0);
  if (value === undefined) return out;
  const values = typeof value === 'number' ? [value] : value;
  if (values.length !== 1 && values.length !== channels) {
    const why = source.explicit ? `${label('channels')} is ${channels}` : `the images have ${channelWords(source.stored)}`;
    const canConvert = !source.explicit && (values.length === 1 || values.length === 3) && (channels === 1 || channels === 3);
    throw argumentError(`${label(field)} has ${values.length} values, but ${why}`, {
      expected: channels === 1 ? '1 value' : `1 value or ${channels} (one per channel)`,
      actual: [...values],
      ...(canConvert ? { hint: `Or set ${label('channels')} to ${values.length} to convert the ${channelWords(source.stored)} of the stored images` } : {}),
    });
  }
  for (let c = 0; c < channels; c++) {
    const v = values.length === 1 ? values[0]! : values[c]!;
    if (!Number.isFinite(v) || (field === 'std' && v === 0)) throw argumentError(`${label(field)} values must be finite${field === 'std' ? ' and non-zero' : ''}`, { actual: values });
    out[c] = v;
  }
  return out;
}

/**
 * Size `[height, width]` after resizing an `height x width` image with `resize` (see {@link PreprocessOptions}).
 */
export function resizedSize(height: number, width: number, resize: number | readonly [number, number] | undefined): [number, number] {
  if (resize === undefined) return [height, width];
  if (typeof resize !== 'number') return [resize[0], resize[1]];
  if (width <= height) return [Math.floor((resize * height) / width), resize];
  return [resize, Math.floor((resize * width) / height)];
}

/** Python's `round` (half to even), as torchvision's centre crop uses it. */
function roundHalfEven(x: number): number {
  const f = Math.floor(x);
  const d = x - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

/** Top-left corner of a centred `crop` in an image (negative when the crop pads). */
export function centerCropOffset(height: number, width: number, crop: readonly [number, number]): [number, number] {
  return [roundHalfEven((height - crop[0]) / 2), roundHalfEven((width - crop[1]) / 2)];
}

/**
 * The error for images of varying size and no output size, in the caller's names of the options: the library's
 * (`preprocess.centerCrop`, `{ resize: 256, centerCrop: 224 }`) or, when the caller names both, those names with
 * values after them (a command line's `--crop`, `--resize 256 --crop 224`).
 */
function sizesVaryError(names: PreprocessOptionNames): OpnpError {
  if (names.resize !== undefined && names.centerCrop !== undefined) {
    const [resize, crop] = [names.resize, names.centerCrop];
    return argumentError(`The images of this dataset differ in size: give ${crop} or ${resize} height,width (the model input does not fix the size)`, {
      hint: `ImageNet-style: ${resize} 256 ${crop} 224; CIFAR-scale: ${resize} 32 ${crop} 32`,
    });
  }
  return argumentError('The images of this dataset differ in size: give preprocess.centerCrop or preprocess.resize: [height, width]', {
    hint: 'ImageNet-style: { resize: 256, centerCrop: 224 }; CIFAR-scale: { resize: 32, centerCrop: 32 }',
  });
}

/**
 * Resolves options against a dataset's stored `[C, H, W]`.
 *
 * @param sizesVary stored images differ in size (then the output size must come from `centerCrop` or `resize: [h, w]`).
 * @param eightBit stored values are 8-bit unsigned (default `scale = 1/255`).
 * @param names what messages call the options (default `preprocess.<option>`).
 * @throws OpnpError `'INVALID_ARGUMENT'` for bad options or an output size that would vary per image.
 */
export function resolvePreprocess(
  options: PreprocessOptions | undefined,
  stored: readonly [number, number, number],
  sizesVary: boolean,
  eightBit: boolean,
  names: PreprocessOptionNames = {},
): PreprocessPlan {
  const o = options ?? {};
  const label = optionLabels(names);
  const layout = o.layout ?? 'NCHW';
  if (layout !== 'NCHW' && layout !== 'NHWC') throw argumentError(`${label('layout')} must be "NCHW" or "NHWC"`, { actual: layout });
  const channels = o.channels === undefined ? stored[0] : positiveInt(label('channels'), o.channels);
  if (channels !== stored[0] && !((channels === 1 || channels === 3) && (stored[0] === 1 || stored[0] === 3))) {
    throw argumentError('Channel conversion is only defined between 1 (grey) and 3 (RGB) channels', { expected: stored[0], actual: channels });
  }
  const resize = o.resize === undefined ? undefined : typeof o.resize === 'number' ? positiveInt(label('resize'), o.resize) : pair(label('resize'), o.resize);
  const crop = o.centerCrop === undefined ? undefined : pair(label('centerCrop'), o.centerCrop);
  let height: number;
  let width: number;
  if (crop) [height, width] = crop;
  else if (resize !== undefined && typeof resize !== 'number') [height, width] = resize;
  else if (sizesVary) throw sizesVaryError(names);
  else [height, width] = resizedSize(stored[1], stored[2], resize);
  const scale = o.scale ?? (eightBit ? 1 / 255 : 1);
  if (!Number.isFinite(scale)) throw argumentError(`${label('scale')} must be finite`, { actual: scale });
  const kernel = o.kernel ?? 'pil-bilinear';
  const source: ChannelSource = { stored: stored[0], explicit: o.channels !== undefined };
  if (!RESIZE_KERNELS.includes(kernel)) throw argumentError(`Unknown ${label('kernel')}`, { expected: RESIZE_KERNELS.join(' | '), actual: kernel });
  return {
    layout,
    channels,
    height,
    width,
    resize,
    crop,
    kernel,
    scale,
    mean: perChannel('mean', o.mean, channels, source, label),
    std: perChannel('std', o.std, channels, source, label),
  };
}

/**
 * Options derived from a model's input: layout, channel count and size follow `input`, the rest from `extra`.
 * For image inputs of side >= 128 without an explicit `resize`, the shorter side is resized to
 * `floor(side / 0.875)` (256 for 224) before the centre crop, as ImageNet evaluation does; smaller inputs
 * resize the shorter side straight to the input size. `'flat'` inputs keep the stored size (CHW order).
 *
 * @example
 * ```ts
 * const preprocess = preprocessOptionsFor(extractor.input, { mean: IMAGENET_MEAN, std: IMAGENET_STD });
 * ```
 */
export function preprocessOptionsFor(input: InputSpec, extra: PreprocessOptions = {}): PreprocessOptions {
  if (input.layout === 'flat') return { ...extra, layout: 'NCHW' };
  const dims = input.shape;
  const [c, h, w] = input.layout === 'NCHW' ? [dims[1], dims[2], dims[3]] : [dims[3], dims[1], dims[2]];
  const out: PreprocessOptions = { ...extra, layout: input.layout };
  if (typeof c === 'number' && out.channels === undefined) out.channels = c;
  if (typeof h === 'number' && typeof w === 'number' && out.centerCrop === undefined) {
    out.centerCrop = [h, w];
    if (out.resize === undefined) {
      const side = Math.min(h, w);
      out.resize = side >= 128 ? Math.floor(side / 0.875) : side;
    }
  }
  return out;
}

/**
 * Writes one image into `out` (sample `n` of a batch) following `plan`: centre crop (with zero padding),
 * channel conversion, scale, normalisation and layout. `image` must already have the resized size.
 */
export function writeSample(plan: PreprocessPlan, image: PixelImage, out: Float32Array, n: number): void {
  const { channels: C, height: H, width: W } = plan;
  const [cropTop, cropLeft] = plan.crop ? centerCropOffset(image.height, image.width, plan.crop) : [0, 0];
  const stored = storedArea(image);
  // offsets into the stored pixels
  const top = cropTop - stored.top;
  const left = cropLeft - stored.left;
  const inside = top >= 0 && left >= 0 && top + H <= stored.height && left + W <= stored.width;
  if (image.window && !inside) throw new Error(`The stored window of the image does not cover the ${H} x ${W} crop at (${cropTop}, ${cropLeft})`);
  const strides = sourceStrides(image, stored);
  if (image.channels === C && inside) {
    if ((image.data instanceof Uint8Array || image.data instanceof Uint8ClampedArray) && writeCropInsideWasm(plan, image.data, strides, top, left, out, n)) return;
    if (image.data instanceof Uint8Array) writeCropInsideBytes(plan, image.data, strides, top, left, out, n);
    else writeCropInside(plan, image.data, strides, top, left, out, n);
  } else writeConverted(plan, image, stored, strides, top, left, out, n);
}

/** The part of the image `data` holds: its window, or all of it. */
function storedArea(image: PixelImage): ImageWindow {
  return image.window ?? { top: 0, left: 0, height: image.height, width: image.width };
}

/** `[channel, row, column]` strides of the stored pixels. */
function sourceStrides(image: PixelImage, stored: ImageWindow): [number, number, number] {
  const { channels: sc } = image;
  const { height: sh, width: sw } = stored;
  if (image.layout === 'HWC') return [1, sw * sc, sc];
  if (image.layout === 'CHW') return [sh * sw, sw, 1];
  return [sh * sw, 1, sh];
}

/** `a[c] = scale / std[c]`, `b[c] = -mean[c] / std[c]`: every value is written as `v * a[c] + b[c]`. */
function affine(plan: PreprocessPlan): { a: Float64Array; b: Float64Array } {
  const { channels: C, scale, mean, std } = plan;
  const a = new Float64Array(C);
  const b = new Float64Array(C);
  for (let c = 0; c < C; c++) {
    a[c] = scale / std[c]!;
    b[c] = -mean[c]! / std[c]!;
  }
  return { a, b };
}

/** The affine coefficients of each plan, computed once per plan (plans are never modified). */
const planCoefficients = new WeakMap<PreprocessPlan, { a: Float64Array; b: Float64Array; finite: boolean }>();

/**
 * The coefficients every value is written with, `v * a[c] + b[c]` (see `affine`), computed once per plan;
 * `finite` is false when any is not finite (the WebAssembly kernel is not used then).
 */
export function affineCoefficients(plan: PreprocessPlan): { a: Float64Array; b: Float64Array; finite: boolean } {
  let entry = planCoefficients.get(plan);
  if (!entry) {
    const { a, b } = affine(plan);
    entry = { a, b, finite: a.every(Number.isFinite) && b.every(Number.isFinite) };
    planCoefficients.set(plan, entry);
  }
  return entry;
}

/**
 * {@link writeSample} when the image has the model's channel count and the crop lies inside it (decoded image
 * files, IDX, CIFAR, ...): the same `v * a[c] + b[c]` per value, row by row without per-value branches.
 */
function writeCropInside(plan: PreprocessPlan, src: ArrayLike<number>, strides: [number, number, number], top: number, left: number, out: Float32Array, n: number): void {
  const { channels: C, height: H, width: W } = plan;
  const [cs, ys, xs] = strides;
  const { a, b } = affineCoefficients(plan);
  const base = n * C * H * W;
  const nchw = plan.layout === 'NCHW';
  for (let c = 0; c < C; c++) {
    const ac = a[c]!;
    const bc = b[c]!;
    for (let y = 0; y < H; y++) {
      let p = c * cs + (y + top) * ys + left * xs;
      let o = nchw ? base + (c * H + y) * W : base + y * W * C + c;
      const step = nchw ? 1 : C;
      for (let x = 0; x < W; x++, p += xs, o += step) out[o] = src[p]! * ac + bc;
    }
  }
}

/**
 * {@link writeCropInside} for 8-bit pixels in the WebAssembly kernel (`affine-wasm.ts`: the same operations, the
 * same bits), one pass per channel; false where it does not run or the coefficients are not finite.
 */
function writeCropInsideWasm(plan: PreprocessPlan, src: Uint8Array | Uint8ClampedArray, strides: [number, number, number], top: number, left: number, out: Float32Array, n: number): boolean {
  const { channels: C, height: H, width: W } = plan;
  const { a, b, finite } = affineCoefficients(plan);
  if (!finite) return false;
  const [cs, ys, xs] = strides;
  const nchw = plan.layout === 'NCHW';
  const passes: AffinePass[] = [];
  for (let c = 0; c < C; c++) {
    passes.push({ srcStart: c * cs + top * ys + left * xs, srcRowStride: ys, srcStep: xs, outStart: nchw ? c * H * W : c, outRowStride: nchw ? W : W * C, outStep: nchw ? 1 : C, rows: H, cols: W, a: a[c]!, b: b[c]! });
  }
  return writeAffine(src, passes, C * H * W, out, n * C * H * W);
}

/**
 * {@link writeCropInside} for 8-bit pixels: each channel's 256 possible values written once into a float32 table
 * as `v * a[c] + b[c]` (the same double, rounded to float32 the same way), then copied as bits (32-bit integer
 * views, no float conversions), one pass over each row of pixels writing every channel.
 */
function writeCropInsideBytes(plan: PreprocessPlan, src: Uint8Array, strides: [number, number, number], top: number, left: number, out: Float32Array, n: number): void {
  const { channels: C, height: H, width: W } = plan;
  const [cs, ys, xs] = strides;
  const { a, b } = affineCoefficients(plan);
  const table = new Float32Array(256 * C);
  for (let c = 0; c < C; c++) for (let v = 0; v < 256; v++) table[c * 256 + v] = v * a[c]! + b[c]!;
  const bits = new Uint32Array(table.buffer);
  const outBits = new Uint32Array(out.buffer, out.byteOffset, out.length);
  const base = n * C * H * W;
  // output steps: to the next pixel of a row, and to the next channel
  const [xStep, cStep] = plan.layout === 'NCHW' ? [1, H * W] : [C, 1];
  const rowStep = plan.layout === 'NCHW' ? W : W * C;
  for (let y = 0; y < H; y++) {
    let p = (y + top) * ys + left * xs;
    let o = base + y * rowStep;
    if (C === 3 && cs === 1) {
      for (let x = 0; x < W; x++, p += xs, o += xStep) {
        outBits[o] = bits[src[p]!]!;
        outBits[o + cStep] = bits[256 + src[p + 1]!]!;
        outBits[o + 2 * cStep] = bits[512 + src[p + 2]!]!;
      }
      continue;
    }
    for (let x = 0; x < W; x++, p += xs, o += xStep) for (let c = 0; c < C; c++) outBits[o + c * cStep] = bits[c * 256 + src[p + c * cs]!]!;
  }
}

/** {@link writeSample} with channel conversion or zero padding around the image. */
function writeConverted(plan: PreprocessPlan, image: PixelImage, stored: ImageWindow, strides: [number, number, number], top: number, left: number, out: Float32Array, n: number): void {
  const { channels: C, height: H, width: W } = plan;
  const sh = stored.height;
  const sw = stored.width;
  const sc = image.channels;
  const src = image.data;
  const [cs, ys, xs] = strides;
  const base = n * C * H * W;
  const nhwc = plan.layout === 'NHWC';
  const grey = C === 1 && sc === 3;
  const replicate = C === 3 && sc === 1;
  const { a, b } = affineCoefficients(plan);
  for (let y = 0; y < H; y++) {
    const sy = y + top;
    const rowInside = sy >= 0 && sy < sh;
    for (let x = 0; x < W; x++) {
      const sx = x + left;
      const inside = rowInside && sx >= 0 && sx < sw;
      const p = sy * ys + sx * xs;
      for (let c = 0; c < C; c++) {
        let v = 0;
        if (inside) {
          if (grey) v = 0.299 * src[p]! + 0.587 * src[p + cs]! + 0.114 * src[p + 2 * cs]!;
          else v = src[p + (replicate ? 0 : c) * cs]!;
        }
        const o = nhwc ? base + (y * W + x) * C + c : base + (c * H + y) * W + x;
        out[o] = v * a[c]! + b[c]!;
      }
    }
  }
}
