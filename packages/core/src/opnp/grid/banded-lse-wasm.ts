/**
 * The `bandedGridLogSumExp` step of banded grid scoring in WebAssembly SIMD (float32 lanes, `banded-lse-wasm-code.ts`),
 * row by row: the row's parts are copied into the module's memory (each class vector padded to a multiple of 16 with
 * `-Infinity`, whose exponential is 0), summed from the centre outwards, shifted by each group's maximum and
 * exponentiated once per entry; each combination's sum over classes is then `sum_c x_an y_bn`. The numerics are
 * described in docs/numerics.md#fast-grid-evaluation.
 */
import type { BandedGridLogSumExp, BandedGridParts, BandedGridShape } from '../../kernel-accelerators.js';
import { ensureMemory, lazyWasmInstance, type WasmInstance } from '../../internal/wasm-instance.js';
import { bandedLseFunctions } from './banded-lse-wasm-code.js';

const instance = lazyWasmInstance(bandedLseFunctions);

/** Byte addresses and strides of one call's buffers in the module's memory. */
interface BandedLayout {
  /** Floats per padded class vector (a multiple of 16) and its bytes. */
  readonly Cp: number;
  readonly vectorBytes: number;
  /** Bytes of one part's `[S x Cp]` stack. */
  readonly partBytes: number;
  /** Group values (parts, then their sums from the centre outwards), their exponentials, the tiled bias. */
  readonly values: number;
  readonly exps: number;
  readonly bias: number;
  /** `nH` products `y_bn`, a vector of ones, zero vectors up to a multiple of four. */
  readonly ys: number;
  /** Four float32 lanes of each combination's sum over classes; the scratch of `maxOf` and `expShifted`. */
  readonly out: number;
  readonly scratch: number;
  readonly end: number;
}

function layoutOf(shape: BandedGridShape): BandedLayout {
  const { classes: C, weightLow: wL, weightHigh: wH, neuronLow: nL, neuronHigh: nH } = shape;
  const Cp = Math.ceil(C / 16) * 16;
  const vectorBytes = 4 * Cp;
  const partBytes = (wL + wH) * vectorBytes;
  const values = 0;
  const exps = values + (nL + nH) * partBytes;
  const bias = exps + (nL + nH) * partBytes;
  const ys = bias + partBytes;
  const ySlots = Math.ceil((nH + 1) / 4) * 4;
  const out = ys + ySlots * vectorBytes;
  // The last block of four y vectors writes up to three combinations per an past the end.
  const scratch = out + 16 * (wL * (wH + 1) * nL * (nH + 1) + (ySlots - nH - 1) * nL);
  return { Cp, vectorBytes, partBytes, values, exps, bias, ys, out, scratch, end: scratch + 32 };
}

/** Fills the padding of every class vector of the value stacks with `-Infinity`, the tiled bias and the ones vector. */
function prepareMemory(heap: Float32Array, layout: BandedLayout, shape: BandedGridShape, bias: Float32Array): void {
  const { classes: C, weightLow: wL, weightHigh: wH, neuronLow: nL, neuronHigh: nH } = shape;
  const { Cp } = layout;
  const vectors = (nL + nH) * (wL + wH);
  for (let v = 0; v < vectors; v++) heap.fill(-Infinity, layout.values / 4 + v * Cp + C, layout.values / 4 + (v + 1) * Cp);
  heap.fill(0, layout.bias / 4, layout.out / 4);
  for (let a = 0; a < wL; a++) heap.set(bias, layout.bias / 4 + a * Cp);
  heap.fill(1, layout.ys / 4 + nH * Cp, layout.ys / 4 + (nH + 1) * Cp);
}

/** The lane-wise maximum of `bytes` at `from` over `count` stacks `partBytes` apart, as one number (NaN if any is). */
function groupMax(wasm: WasmInstance, heap: Float32Array, layout: BandedLayout, from: number, count: number, bytes: number): number {
  let max = -Infinity;
  for (let i = 0; i < count; i++) {
    wasm.functions.maxOf!(from + i * layout.partBytes, bytes, layout.scratch);
    const s = layout.scratch / 4;
    max = Math.max(max, heap[s]!, heap[s + 1]!, heap[s + 2]!, heap[s + 3]!);
  }
  return max;
}

/** `exp(value - shift)` of `bytes` at `from` (and the `count - 1` stacks after it) into the exponentials. */
function groupExp(wasm: WasmInstance, heap: Float32Array, layout: BandedLayout, from: number, count: number, bytes: number, shift: number): void {
  heap[layout.scratch / 4 + 4] = shift;
  for (let i = 0; i < count; i++) {
    const src = from + i * layout.partBytes;
    wasm.functions.expShifted!(src, src - layout.values + layout.exps, bytes, layout.scratch + 16);
  }
}

/** Copies `count` class vectors of `C` floats from `src[from ..]` to `heap[dst ..]`, `Cp` floats apart there. */
function copyVectors(heap: Float32Array, dst: number, Cp: number, src: Float32Array, from: number, count: number, C: number): void {
  if (Cp === C) heap.set(src.subarray(from, from + count * C), dst);
  else for (let s = 0; s < count; s++) heap.set(src.subarray(from + s * C, from + (s + 1) * C), dst + s * Cp);
}

/**
 * One row: copies its parts into the value stacks, sums them from the centre outwards (bias on the last low part),
 * writes the four group shifts to `shifts[4r ..]` and the four lanes of each combination's shifted sum at `layout.out`.
 */
function scoreRow(wasm: WasmInstance, heap: Float32Array, layout: BandedLayout, parts: BandedGridParts, shape: BandedGridShape, r: number, shifts: Float32Array): void {
  const { classes: C, weightLow: wL, weightHigh: wH, neuronLow: nL, neuronHigh: nH } = shape;
  const { Cp, partBytes, vectorBytes, values } = layout;
  const f = wasm.functions;
  for (let k = 0; k < nL + nH; k++) {
    const dst = (values + k * partBytes) / 4;
    copyVectors(heap, dst, Cp, parts.low[k]!, r * wL * C, wL, C);
    copyVectors(heap, dst + wL * Cp, Cp, parts.high[k]!, r * wH * C, wH, C);
  }
  const slot = (k: number): number => values + k * partBytes;
  f.addInto!(slot(nL - 1), layout.bias, partBytes);
  for (let i = nL - 2; i >= 0; i--) f.addInto!(slot(i), slot(i + 1), partBytes);
  for (let i = nH - 2; i >= 0; i--) f.addInto!(slot(nL + i), slot(nL + i + 1), partBytes);
  const low = wL * vectorBytes, high = wH * vectorBytes;
  const shift = [
    groupMax(wasm, heap, layout, slot(0), nL, low),
    nH > 0 ? groupMax(wasm, heap, layout, slot(nL), nH, low) : 0,
    wH > 0 ? groupMax(wasm, heap, layout, slot(0) + low, nL, high) : 0,
    wH > 0 && nH > 0 ? groupMax(wasm, heap, layout, slot(nL) + low, nH, high) : 0,
  ];
  shifts.set(shift, r * 4);
  groupExp(wasm, heap, layout, slot(0), nL, low, shift[0]!);
  if (nH > 0) groupExp(wasm, heap, layout, slot(nL), nH, low, shift[1]!);
  if (wH > 0) groupExp(wasm, heap, layout, slot(0) + low, nL, high, shift[2]!);
  if (wH > 0 && nH > 0) groupExp(wasm, heap, layout, slot(nL) + low, nH, high, shift[3]!);
  f.comboSums!(layout.exps, layout.exps + nL * partBytes, layout.ys, layout.out, wL, wH, nL, nH, partBytes, vectorBytes);
}

/**
 * The `bandedGridLogSumExp` accelerator operation (`KernelAccelerators`) in WebAssembly SIMD: float32 group sums,
 * exponentials (Cephes `expf`, about 1 ulp) and products, each combination's sum over classes in sixteen float32 partial
 * sums added in float64, its logarithm in float64 rounded once into `logSum`. Returns null, having computed nothing,
 * where WebAssembly SIMD is missing or its memory cannot hold one row's buffers; the caller then runs another
 * implementation. `shape` and the lengths of `parts` and `bias` must fit (`BandedGridShape`, `BandedGridParts`; not
 * checked here).
 *
 * @example
 * ```ts
 * const result = bandedGridLogSumExpWasm(parts, shape, bias) ?? (await otherImplementation(parts, shape, bias));
 * ```
 */
export function bandedGridLogSumExpWasm(parts: BandedGridParts, shape: BandedGridShape, bias: Float32Array): BandedGridLogSumExp | null {
  const wasm = instance();
  if (wasm === null) return null;
  const { rows: R, weightLow: wL, weightHigh: wH, neuronLow: nL, neuronHigh: nH } = shape;
  const combos = wL * (wH + 1) * nL * (nH + 1);
  const logSum = new Float32Array(R * combos);
  const shifts = new Float32Array(R * 4);
  if (R === 0) return { logSum, shifts };
  const layout = layoutOf(shape);
  if (!ensureMemory(wasm.memory, layout.end)) return null;
  const heap = new Float32Array(wasm.memory.buffer);
  prepareMemory(heap, layout, shape, bias);
  const out = layout.out / 4;
  for (let r = 0; r < R; r++) {
    scoreRow(wasm, heap, layout, parts, shape, r, shifts);
    for (let g = 0, o = out; g < combos; g++, o += 4) logSum[r * combos + g] = Math.log((heap[o]! + heap[o + 1]!) + (heap[o + 2]! + heap[o + 3]!));
  }
  return { logSum, shifts };
}

/**
 * `exp(values[i] - shift)` through the kernel's vector exponential (internal: for tests of its accuracy), or null
 * where WebAssembly SIMD cannot run.
 */
export function shiftedExpWasm(values: Float32Array, shift: number): Float32Array | null {
  const wasm = instance();
  if (wasm === null) return null;
  const n = Math.ceil(values.length / 4) * 4;
  if (!ensureMemory(wasm.memory, 16 + 8 * n)) return null;
  const heap = new Float32Array(wasm.memory.buffer);
  heap[0] = shift;
  heap.set(values, 4);
  wasm.functions.expShifted!(16, 16 + 4 * n, 4 * n, 0);
  return heap.slice(4 + n, 4 + n + values.length);
}
