/**
 * Images as the model sees them: a picked image decoded and resized to the model input, converted to the model's
 * channels, and normalised (`x / 255`, then `(x - mean) / std`, as `opnp export --mean --std` expects).
 */
import { OpnpError, type InputSpec } from '@opnp/core';

/** Channels, height and width of one image input, and its layout. */
export interface ImageGeometry {
  readonly channels: 1 | 3;
  readonly height: number;
  readonly width: number;
  /** Where the channel axis is: `NCHW` (planes) or `NHWC` (interleaved); `flat` = one gray `height x width` vector. */
  readonly layout: 'NCHW' | 'NHWC' | 'flat';
}

/** Per-channel normalisation after `x / 255` (one value for every channel, or one per channel). */
export interface Normalisation {
  readonly mean: readonly number[];
  readonly std: readonly number[];
}

/**
 * The image geometry of a model input: `[N, C, H, W]`, `[N, H, W, C]` with static `C` in {1, 3}, or a flat
 * `[N, D]` with `D` a square (a gray `sqrt(D) x sqrt(D)` image, as MLPs on MNIST take).
 *
 * @throws OpnpError `SHAPE_MISMATCH` for inputs this page cannot feed an image to
 */
export function imageGeometry(input: InputSpec): ImageGeometry {
  const dims = input.shape.slice(1);
  if (dims.some((d) => d === null)) {
    throw new OpnpError('SHAPE_MISMATCH', 'The model input has dynamic image dimensions; this page needs fixed ones', { actual: input.shape });
  }
  const [a, b, c] = dims as number[];
  if (input.layout === 'flat' && dims.length === 1 && Number.isInteger(Math.sqrt(a!))) {
    return { channels: 1, height: Math.sqrt(a!), width: Math.sqrt(a!), layout: 'flat' };
  }
  if (input.layout === 'NCHW' && (a === 1 || a === 3)) return { channels: a, height: b!, width: c!, layout: 'NCHW' };
  if (input.layout === 'NHWC' && (c === 1 || c === 3)) return { channels: c, height: a!, width: b!, layout: 'NHWC' };
  throw new OpnpError('SHAPE_MISMATCH', 'The model input is not an image this page can feed', {
    expected: '[N, 1 or 3, H, W], [N, H, W, 1 or 3], or [N, D] with D a square',
    actual: `[${input.shape.map((d) => d ?? '?').join(', ')}] (${input.layout})`,
  });
}

/**
 * One channel of an RGBA pixel: the value itself for gray pixels (`r = g = b`, exact), else ITU-R BT.601 luma
 * `(299 r + 587 g + 114 b) / 1000` rounded; 255 minus it when inverting.
 */
function grayOf(r: number, g: number, b: number, invert: boolean): number {
  const v = r === g && g === b ? r : Math.round((299 * r + 587 * g + 114 * b) / 1000);
  return invert ? 255 - v : v;
}

/**
 * Decodes an image file and draws it (over black) at the model's size; returns its pixels, interleaved
 * `height x width x channels` (0-255), and the canvas for a preview.
 */
export async function decodeImage(file: Blob, geometry: ImageGeometry, invert: boolean): Promise<{ pixels: Uint8Array; canvas: HTMLCanvasElement }> {
  let bitmap: ImageBitmap;
  try {
    bitmap = await createImageBitmap(file);
  } catch (cause) {
    throw new OpnpError('INVALID_ARGUMENT', 'The file is not an image the browser can decode', { expected: 'PNG, JPEG, WebP, GIF, BMP', cause });
  }
  const { height, width, channels } = geometry;
  const canvas = document.createElement('canvas');
  canvas.width = width;
  canvas.height = height;
  const context = canvas.getContext('2d', { willReadFrequently: true })!;
  context.fillStyle = '#000';
  context.fillRect(0, 0, width, height);
  context.imageSmoothingQuality = 'high';
  context.drawImage(bitmap, 0, 0, width, height);
  bitmap.close();
  const rgba = context.getImageData(0, 0, width, height).data;
  const pixels = new Uint8Array(height * width * channels);
  for (let i = 0; i < height * width; i++) {
    const [r, g, b] = [rgba[i * 4]!, rgba[i * 4 + 1]!, rgba[i * 4 + 2]!];
    if (channels === 1) pixels[i] = grayOf(r, g, b, invert);
    else for (let c = 0; c < 3; c++) pixels[i * 3 + c] = invert ? 255 - rgba[i * 4 + c]! : rgba[i * 4 + c]!;
  }
  return { pixels, canvas };
}

/**
 * Normalises `count` interleaved images (`count x height x width x channels`, 0-255) into the model's layout:
 * `(x / 255 - mean[c]) / std[c]`, computed in float64 and stored as float32.
 */
export function normalise(pixels: ArrayLike<number>, count: number, geometry: ImageGeometry, norm: Normalisation): Float32Array {
  const { channels: C, height: H, width: W, layout } = geometry;
  const out = new Float32Array(count * C * H * W);
  const at = (m: readonly number[], c: number) => (m.length === 1 ? m[0]! : m[c]!);
  for (let n = 0; n < count; n++) {
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        for (let c = 0; c < C; c++) {
          const v = pixels[((n * H + y) * W + x) * C + c]!;
          const target = layout === 'NCHW' ? ((n * C + c) * H + y) * W + x : ((n * H + y) * W + x) * C + c;
          out[target] = (v / 255 - at(norm.mean, c)) / at(norm.std, c);
        }
      }
    }
  }
  return out;
}

/** The batch shape of `count` images for the model input. */
export function batchShape(count: number, geometry: ImageGeometry): number[] {
  const { channels: C, height: H, width: W, layout } = geometry;
  if (layout === 'flat') return [count, H * W];
  return layout === 'NCHW' ? [count, C, H, W] : [count, H, W, C];
}
