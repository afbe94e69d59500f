/**
 * Images as the model sees them, with `@opnp/datasets`' preprocessing (the CLI's: resize the shorter side with
 * Pillow's bilinear kernel, centre crop to the model input, grey / RGB conversion, `x / 255`, `(x - mean) / std`,
 * the model's layout): a picked image decoded by the browser, or the demo's IDX files.
 */
import { OpnpError, type DetectorPreprocessing, type InputBatch, type InputSpec } from '@opnp/core';
import { idxDataset, preprocessOptionsFor, type Dataset, type IdxArray, type PreprocessOptions } from '@opnp/datasets';

/**
 * How images are preprocessed: `x * scale` (default `1 / 255`), then `(x - mean) / std` (one value for every
 * channel, or one per channel); resize, crop, kernel and channels follow the model input unless given (a detector's
 * recorded preprocessing gives them).
 */
export type Normalisation = Readonly<PreprocessOptions> & {
  readonly mean: number | readonly number[];
  readonly std: number | readonly number[];
};

/** The preprocessing recorded in a detector (`opnp.preprocess`) as the page's {@link Normalisation}. */
export function recordedNormalisation(recorded: DetectorPreprocessing): Normalisation {
  // The kernel name is checked by @opnp/datasets when the batch is made.
  return { ...(recorded as PreprocessOptions), mean: recorded.mean ?? 0, std: recorded.std ?? 1 };
}

/** Longest side a picked image is decoded at (larger photos are scaled down by the browser first). */
const MAX_SIDE = 1024;

/**
 * Decodes an image file (drawn over black) into an in-memory IDX array: `[1, H, W]` when every pixel is grey
 * (`r = g = b`, so the values are exact), else `[1, H, W, 3]` RGB; inverted (`255 - v`) on request.
 */
export async function decodeImage(file: Blob, invert: boolean): Promise<IdxArray> {
  let bitmap: ImageBitmap;
  try {
    bitmap = await createImageBitmap(file);
  } catch (cause) {
    throw new OpnpError('INVALID_ARGUMENT', 'The file is not an image the browser can decode', { expected: 'PNG, JPEG, WebP, GIF or BMP', cause });
  }
  const shrink = Math.min(1, MAX_SIDE / Math.max(bitmap.width, bitmap.height));
  const width = Math.max(1, Math.round(bitmap.width * shrink));
  const height = Math.max(1, Math.round(bitmap.height * shrink));
  const canvas = new OffscreenCanvas(width, height);
  const context = canvas.getContext('2d', { willReadFrequently: true })!;
  context.fillStyle = '#000';
  context.fillRect(0, 0, width, height);
  context.imageSmoothingQuality = 'high';
  context.drawImage(bitmap, 0, 0, width, height);
  bitmap.close();
  const rgba = context.getImageData(0, 0, width, height).data;
  let grey = true;
  for (let i = 0; i < rgba.length && grey; i += 4) grey = rgba[i] === rgba[i + 1] && rgba[i] === rgba[i + 2];
  const channels = grey ? 1 : 3;
  const data = new Uint8Array(width * height * channels);
  for (let p = 0; p < width * height; p++) {
    for (let c = 0; c < channels; c++) data[p * channels + c] = invert ? 255 - rgba[p * 4 + c]! : rgba[p * 4 + c]!;
  }
  return { dtype: 'uint8', dims: grey ? [1, height, width] : [1, height, width, 3], data };
}

/** The preprocessing of `input` (a flat `[N, D]` input with `D` a square takes a grey `sqrt(D) x sqrt(D)` image). */
function preprocessFor(input: InputSpec, norm: Normalisation): PreprocessOptions {
  const extra: PreprocessOptions = { ...norm };
  if (input.layout !== 'flat') return preprocessOptionsFor(input, extra);
  const side = Math.sqrt(input.shape[1] ?? NaN);
  if (!Number.isInteger(side)) {
    throw new OpnpError('SHAPE_MISMATCH', 'The model takes flat vectors that are not square images', { expected: '[N, D] with D = side x side', actual: input.shape });
  }
  return { layout: 'NCHW', channels: 1, resize: [side, side], ...extra };
}

/** Samples `indices` (ascending) of `dataset`, preprocessed for `input`, as one batch. */
export async function preprocessedBatch(dataset: Dataset, indices: Uint32Array, input: InputSpec, norm: Normalisation): Promise<InputBatch> {
  const preprocess = preprocessFor(input, norm);
  let batch: InputBatch | undefined;
  for await (const b of dataset.batches({ batchSize: Math.max(1, indices.length), preprocess, subset: indices, prefetch: 0 })) batch = b;
  if (!batch) throw new OpnpError('EMPTY_INPUT', 'No images to preprocess');
  return input.layout === 'flat' ? { data: batch.data, shape: [indices.length, input.shape[1]!] } : batch;
}

/** A picked image, preprocessed for `input` (one sample). */
export function imageBatch(image: IdxArray, input: InputSpec, norm: Normalisation): Promise<InputBatch> {
  return preprocessedBatch(idxDataset(image, { source: 'the picked image' }), Uint32Array.of(0), input, norm);
}

/** Draws sample 0 of a preprocessed batch back as pixels (`(x std + mean) / scale`): the image as the model sees it. */
export function drawInput(canvas: HTMLCanvasElement, batch: InputBatch, input: InputSpec, norm: Normalisation): void {
  const dims = batch.shape.slice(1);
  const [C, H, W] = input.layout === 'NHWC' ? [dims[2]!, dims[0]!, dims[1]!] : input.layout === 'flat' ? [1, Math.sqrt(dims[0]!), Math.sqrt(dims[0]!)] : [dims[0]!, dims[1]!, dims[2]!];
  const image = new ImageData(W, H);
  const at = (v: number | readonly number[], k: number) => (typeof v === 'number' ? v : (v[k] ?? v[0]!));
  const scale = norm.scale ?? 1 / 255;
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      for (let c = 0; c < 3; c++) {
        const k = Math.min(c, C - 1);
        const v = batch.data[input.layout === 'NHWC' ? (y * W + x) * C + k : (k * H + y) * W + x]!;
        image.data[(y * W + x) * 4 + c] = Math.round((v * at(norm.std, k) + at(norm.mean, k)) / scale);
      }
      image.data[(y * W + x) * 4 + 3] = 255;
    }
  }
  const full = new OffscreenCanvas(W, H);
  full.getContext('2d')!.putImageData(image, 0, 0);
  const context = canvas.getContext('2d')!;
  context.imageSmoothingEnabled = false;
  context.clearRect(0, 0, canvas.width, canvas.height);
  context.drawImage(full, 0, 0, canvas.width, canvas.height);
}
