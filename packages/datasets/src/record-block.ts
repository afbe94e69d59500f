/**
 * The fast path of {@link prepareChunk} for fixed-shape 8-bit records (IDX files and in-memory IDX arrays, or
 * any 8-bit pixels in memory that qualify): when every sample of a chunk is a view of stored bytes that needs
 * no resize, no crop and no channel conversion, runs of consecutive records of one buffer are normalised in one
 * call of the WebAssembly kernel (`affine-wasm.ts`) per run, straight into the batch, instead of one call and
 * two copies per sample.
 *
 * Each value is the kernel's `f32(f64(v) * a[c] + b[c])` with the coefficients of {@link writeSample}, so the
 * batch is the same bit for bit as the per-sample path's (docs/numerics.md, "Preprocessing").
 */
import type { RawSample } from './dataset.js';
import type { PixelImage, PreprocessPlan } from './preprocess.js';
import { writeAffine, type AffinePass } from './affine-wasm.js';
import { affineCoefficients } from './preprocess.js';
import { needsResize } from './resize.js';

/** Source bytes handed to the kernel in one call at most (the kernel's memory holds them and 4 x as many output bytes). */
const BLOCK_BYTES = 4 << 20;

/** The pixels of a sample written as they are stored: 8-bit, the batch's size and channels, CHW or HWC, whole. */
function plainBytes(sample: RawSample, plan: PreprocessPlan): PixelImage | undefined {
  if (!('pixels' in sample)) return undefined;
  const image = sample.pixels;
  if (!(image.data instanceof Uint8Array) || image.window !== undefined || (image.layout !== 'CHW' && image.layout !== 'HWC')) return undefined;
  if (image.channels !== plan.channels || image.height !== plan.height || image.width !== plan.width || needsResize(image, plan)) return undefined;
  return image.data.length === plan.channels * plan.height * plan.width ? image : undefined;
}

/** True when `image` follows `previous` in the same buffer, with the same layout. */
function follows(image: PixelImage, previous: PixelImage): boolean {
  const data = image.data as Uint8Array;
  const before = previous.data as Uint8Array;
  return image.layout === previous.layout && data.buffer === before.buffer && data.byteOffset === before.byteOffset + before.length;
}

/**
 * Writes `count` consecutive records starting at byte `start` of `buffer` (all laid out as `image`) into rows
 * `row ..` of `out`: one kernel pass per channel, a record per kernel row. False where the kernel does not run.
 */
function writeRun(plan: PreprocessPlan, image: PixelImage, buffer: ArrayBufferLike, start: number, count: number, out: Float32Array, row: number): boolean {
  const { channels: C, height: H, width: W } = plan;
  const size = C * H * W;
  const { a, b } = affineCoefficients(plan);
  const hwc = image.layout === 'HWC';
  const nchw = plan.layout === 'NCHW';
  const passes: AffinePass[] = [];
  for (let c = 0; c < C; c++) {
    passes.push({ srcStart: hwc ? c : c * H * W, srcRowStride: size, srcStep: hwc ? C : 1, outStart: nchw ? c * H * W : c, outRowStride: size, outStep: nchw ? 1 : C, rows: count, cols: H * W, a: a[c]!, b: b[c]! });
  }
  return writeAffine(new Uint8Array(buffer, start, count * size), passes, count * size, out, row * size);
}

/**
 * Writes every sample of `chunk` into its row of `out` (`[chunk.length x C*H*W]`) when all of them are plain 8-bit
 * records (see the module comment) and the kernel runs; returns false, leaving `out` to the per-sample path,
 * otherwise. Runs of consecutive records are cut at {@link BLOCK_BYTES}.
 */
export function writeRecordChunk(chunk: readonly RawSample[], plan: PreprocessPlan, out: Float32Array): boolean {
  if (chunk.length === 0 || !affineCoefficients(plan).finite) return false;
  const images: PixelImage[] = [];
  for (const sample of chunk) {
    const image = plainBytes(sample, plan);
    if (!image) return false;
    images.push(image);
  }
  const size = plan.channels * plan.height * plan.width;
  const most = Math.max(1, Math.floor(BLOCK_BYTES / size));
  let first = 0;
  for (let k = 1; k <= images.length; k++) {
    if (k < images.length && k - first < most && follows(images[k]!, images[k - 1]!)) continue;
    const data = images[first]!.data as Uint8Array;
    if (!writeRun(plan, images[first]!, data.buffer, data.byteOffset, k - first, out, first)) return false;
    first = k;
  }
  return true;
}
