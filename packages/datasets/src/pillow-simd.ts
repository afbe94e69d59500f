/**
 * Pillow's two resampling passes (`pillow-resize.ts`) as WebAssembly SIMD kernels, four 32-bit sums at a time:
 * the same integer arithmetic as Pillow's C (`weight * byte` products summed from `1 << 21`, shifted right by 22,
 * clamped to 0..255 by two saturating narrowings), so the same bytes. The module is assembled at first use from
 * the instructions below (`@opnp/core/backend`'s WebAssembly encoder), once per thread; where WebAssembly or its SIMD is missing,
 * {@link simdResizeWindow} returns undefined and the JavaScript passes run instead.
 *
 * Kernels (all arguments are byte offsets or counts in the module's memory; every pointer has 16 bytes of room
 * after its data, as the kernels read and write whole vectors):
 * - `horizontal(src, srcStride, rows, starts, weights, taps, cols, out, channels)`: for each of `rows` rows
 *   `srcStride` apart and each of `cols` output pixels, the pixel's `channels` sums over its `taps` taps starting
 *   at byte `starts[j]` of the row (one i32 per pixel), weights `weights[j * taps + t]` (i32); out is
 *   `rows x cols x channels`, packed. A pixel is one vector (channels 1-4), its first 4 bytes stored.
 * - `vertical(src, srcStride, rowLength, rowStarts, weights, taps, rows, out)`: output row `r` is the sum over
 *   `taps` source rows `srcStride` apart from byte `rowStarts[r]` (i32), weights `weights[r * taps + t]`, 16 bytes
 *   at a time over `rowLength` bytes; out is `rows x rowLength`, packed.
 */
import { ensureMemory, I32, lazyWasmInstance, op, V128, type Code, type WasmFunction } from '@opnp/core/backend';
import { PRECISION_BITS, coefficients, uniformTaps, type PillowFilter, type UniformTaps } from './pillow-coefficients.js';
import type { ResizeWindow } from './pillow-resize.js';

const HALF = 1 << (PRECISION_BITS - 1);
const { get, set, tee, i32Const } = op;
const increment = (local: number, by: number | Code): Code[] => [get(local), typeof by === 'number' ? i32Const(by) : by, op.i32Add, set(local)];
/** `local -= 1`, then loops while it is not zero (do-while). */
const countDown = (local: number): Code[] => [get(local), i32Const(1), op.i32Sub, tee(local), op.brIf(0)];
/** `local += 1`, then loops while `local < limit` (do-while). */
const countUp = (local: number, limit: number, by = 1): Code[] => [...increment(local, by), get(local), get(limit), op.i32LtS, op.brIf(0)];
/** `acc = acc + lanes * w` on the stack: `lanes` pushes an i32x4. */
const accumulate = (acc: number, lanes: Code[], w: number): Code[] => [get(acc), ...lanes, get(w), op.i32x4Mul, op.i32x4Add, set(acc)];
/** The i32x4 of `acc >> 22`. */
const shifted = (acc: number): Code[] => [get(acc), i32Const(PRECISION_BITS), op.i32x4ShrS];

/** `horizontal` (see above): per pixel, its bytes zero-extended to 32-bit lanes times each tap's weight. */
function horizontalKernel(): WasmFunction {
  const [src, srcStride, rows, starts, weights, taps, cols, out, channels] = [0, 1, 2, 3, 4, 5, 6, 7, 8];
  const [y, j, t, p, k, s, o, row, acc, w] = [9, 10, 11, 12, 13, 14, 15, 16, 17, 18];
  const pixel: Code[] = [
    get(row), get(s), op.i32Load, op.i32Add, set(p),
    i32Const(HALF), op.i32x4Splat, set(acc),
    get(taps), set(t),
    op.loop,
    get(k), op.i32Load, op.i32x4Splat, set(w),
    ...accumulate(acc, [get(p), op.v128Load8x8U, op.i32x4ExtendLowI16x8U], w),
    ...increment(p, get(channels)), ...increment(k, 4),
    ...countDown(t),
    op.end,
    get(o), ...shifted(acc), tee(acc), get(acc), op.i16x8NarrowI32x4S, tee(acc), get(acc), op.i8x16NarrowI16x8U, op.v128Store32Lane0,
    ...increment(o, get(channels)), ...increment(s, 4),
  ];
  const body: Code[] = [
    get(out), set(o), get(src), set(row), i32Const(0), set(y),
    op.loop,
    i32Const(0), set(j), get(starts), set(s), get(weights), set(k),
    op.loop, ...pixel, ...countUp(j, cols), op.end,
    ...increment(row, get(srcStride)),
    ...countUp(y, rows),
    op.end,
  ];
  return { name: 'horizontal', params: 9, locals: [{ count: 8, type: I32 }, { count: 2, type: V128 }], body };
}

/** `vertical` (see above): 16 bytes of every tap row zero-extended to four i32x4 sums, narrowed back to 16 bytes. */
function verticalKernel(): WasmFunction {
  const [src, srcStride, rowLength, rowStarts, weights, taps, rows, out] = [0, 1, 2, 3, 4, 5, 6, 7];
  const [r, i, t, p, kk, base, o, k] = [8, 9, 10, 11, 12, 13, 14, 15];
  const [acc0, acc1, acc2, acc3, lo, hi, w, half] = [16, 17, 18, 19, 20, 21, 22, 23];
  const tap: Code[] = [
    get(p), op.v128Load, tee(lo), op.i16x8ExtendHighI8x16U, set(hi),
    get(lo), op.i16x8ExtendLowI8x16U, set(lo),
    get(kk), op.i32Load, op.i32x4Splat, set(w),
    ...accumulate(acc0, [get(lo), op.i32x4ExtendLowI16x8U], w),
    ...accumulate(acc1, [get(lo), op.i32x4ExtendHighI16x8U], w),
    ...accumulate(acc2, [get(hi), op.i32x4ExtendLowI16x8U], w),
    ...accumulate(acc3, [get(hi), op.i32x4ExtendHighI16x8U], w),
    ...increment(p, get(srcStride)), ...increment(kk, 4),
  ];
  const sixteen: Code[] = [
    get(half), tee(acc0), tee(acc1), tee(acc2), set(acc3),
    get(base), get(i), op.i32Add, set(p), get(k), set(kk), get(taps), set(t),
    op.loop, ...tap, ...countDown(t), op.end,
    get(o), get(i), op.i32Add,
    ...shifted(acc0), ...shifted(acc1), op.i16x8NarrowI32x4S,
    ...shifted(acc2), ...shifted(acc3), op.i16x8NarrowI32x4S,
    op.i8x16NarrowI16x8U, op.v128Store,
  ];
  const body: Code[] = [
    i32Const(HALF), op.i32x4Splat, set(half),
    get(out), set(o), get(weights), set(k), i32Const(0), set(r),
    op.loop,
    get(src), get(rowStarts), op.i32Load, op.i32Add, set(base),
    i32Const(0), set(i),
    op.loop, ...sixteen, ...countUp(i, rowLength, 16), op.end,
    ...increment(o, get(rowLength)), ...increment(rowStarts, 4),
    get(k), get(taps), i32Const(4), op.i32Mul, op.i32Add, set(k),
    ...countUp(r, rows),
    op.end,
  ];
  return { name: 'vertical', params: 8, locals: [{ count: 8, type: I32 }, { count: 8, type: V128 }], body };
}

/** The kernels of this thread (instantiated at first use), null where WebAssembly SIMD is missing. */
const loadKernels = lazyWasmInstance(() => [horizontalKernel(), verticalKernel()]);

/** True when the WebAssembly SIMD kernels run here. */
export function simdAvailable(): boolean {
  return loadKernels() !== null;
}

/** Bump allocation of 16-byte aligned blocks with 16 bytes of room after each. */
class Layout {
  size = 0;
  take(bytes: number): number {
    const at = this.size;
    this.size += Math.ceil((bytes + 16) / 16) * 16;
    return at;
  }
}

/** One pass's tables: per output pixel (or row), the byte offset of its first tap and its weights. */
interface PassTables {
  readonly starts: Int32Array;
  readonly weights: Int32Array;
  readonly taps: number;
}

/**
 * The tables of outputs `from .. from + count - 1` of `taps`: first taps `bytesPerStep` apart (a pixel, or a
 * row), from byte `offset`.
 */
function passTables(taps: UniformTaps, from: number, count: number, bytesPerStep: number, offset: number): PassTables {
  const starts = new Int32Array(count);
  for (let j = 0; j < count; j++) starts[j] = taps.start[from + j]! * bytesPerStep + offset;
  return { starts, weights: taps.weights.subarray(from * taps.taps, (from + count) * taps.taps), taps: taps.taps };
}

/** Copies `tables` into the memory (at `at.starts`, `at.weights`). */
function copyTables(i32: Int32Array, tables: PassTables, at: { starts: number; weights: number }): void {
  i32.set(tables.starts, at.starts / 4);
  i32.set(tables.weights, at.weights / 4);
}

/**
 * The `window` of Pillow's resize of an 8-bit HWC image (see `pillowResizeWindow`, which checks the arguments),
 * computed by the SIMD kernels; undefined where they do not run. At least one axis changes size.
 */
export function simdResizeWindow(src: Uint8Array, height: number, width: number, channels: number, outHeight: number, outWidth: number, window: ResizeWindow, filter: PillowFilter): Uint8Array | undefined {
  const k = loadKernels();
  if (!k || channels > 4) return undefined;
  const stride = width * channels;
  const rowLength = window.width * channels;
  const horizontalTaps = outWidth !== width ? uniformTaps(coefficients(width, outWidth, filter), width) : undefined;
  const verticalTaps = outHeight !== height ? uniformTaps(coefficients(height, outHeight, filter), height) : undefined;
  // the source rows read: those of the window's vertical taps, or the window's own
  const rowStart = verticalTaps ? verticalTaps.start[window.top]! : window.top;
  const rowEnd = verticalTaps ? verticalTaps.start[window.top + window.height - 1]! + verticalTaps.taps : window.top + window.height;
  const rows = rowEnd - rowStart;
  const h = horizontalTaps && passTables(horizontalTaps, window.left, window.width, channels, 0);
  // the vertical pass reads the horizontal pass's rows (rowLength bytes each), or the window's columns of the source rows
  const verticalStride = h ? rowLength : stride;
  const v = verticalTaps && passTables(verticalTaps, window.top, window.height, verticalStride, (h ? 0 : window.left * channels) - rowStart * verticalStride);
  const layout = new Layout();
  const at = {
    src: layout.take(rows * stride),
    out: layout.take(window.height * rowLength),
    h: h && { starts: layout.take(4 * h.starts.length), weights: layout.take(4 * h.weights.length) },
    v: v && { starts: layout.take(4 * v.starts.length), weights: layout.take(4 * v.weights.length) },
    between: h && v ? layout.take(rows * rowLength) : 0,
  };
  // the memory grows to the largest image seen by this thread; where it cannot, JavaScript resizes
  if (!ensureMemory(k.memory, layout.size)) return undefined;
  const memory = k.memory.buffer;
  new Uint8Array(memory).set(src.subarray(rowStart * stride, rowEnd * stride), at.src);
  if (h) copyTables(new Int32Array(memory), h, at.h!);
  if (v) copyTables(new Int32Array(memory), v, at.v!);
  if (h) k.functions.horizontal!(at.src, stride, v ? rows : window.height, at.h!.starts, at.h!.weights, h.taps, window.width, v ? at.between : at.out, channels);
  if (v) k.functions.vertical!(h ? at.between : at.src, verticalStride, rowLength, at.v!.starts, at.v!.weights, v.taps, window.height, at.out);
  return new Uint8Array(memory, at.out, window.height * rowLength).slice();
}
