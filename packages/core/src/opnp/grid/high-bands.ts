/**
 * The high-side weight entries of the banded grid as sparse products (docs/numerics.md#fast-grid-evaluation).
 *
 * In a banded grid, stack entry `weightLow + b` of a neuron part holds only the high-side weights with upper rank
 * `>= b`: the few most sensitive weights (on the default grid the top 2%, 1% and 0.5%). A dense GEMM against those
 * mostly-zero entries would cost as much as against full weight matrices, so they are multiplied here over their
 * nonzeros only: the weights of each class are stored by band, highest band first, and one running dot product per
 * class and row (float32 in WebAssembly, as a GEMM accumulates; float64 in the JavaScript fallback) walks the bands
 * in that order, writing its value after each band. Entry `b` is then
 * exactly the sum over bands `b .. weightHigh-1` (the suffix sums of the disjoint bands), rounded to float32 once.
 * The product runs in WebAssembly SIMD sixteen rows at a time where it can (`high-bands-wasm.ts`), in JavaScript otherwise.
 */
import { highBandProductWasm } from './high-bands-wasm.js';

/**
 * A neuron part's high-side weights `[C x J]` (`J` the part's columns), by class and then by band, highest band first:
 * the weights of class `c` in band `b` are entries `start[c * bands + (bands - 1 - b)] .. start[c * bands + bands - b]`.
 */
export interface HighBandWeights {
  readonly classes: number;
  /** Number of bands (`weightHigh`). */
  readonly bands: number;
  /** `classes * bands + 1` offsets into `column` and `weight`. */
  readonly start: Int32Array;
  /** Local column (`0 .. J-1`) of each entry. */
  readonly column: Int32Array;
  readonly weight: Float32Array;
}

/** Where {@link highBandProduct} writes: entry `b` of row `r`, class `c` goes to `out[offset + r * rowStride + b * classes + c]`. */
export interface HighBandOutput {
  readonly out: Float32Array;
  readonly offset: number;
  readonly rowStride: number;
}

/**
 * Collects {@link HighBandWeights} from `entries` (each `[class, localColumn, band, weight]` for `band < bands`),
 * which may come in any order; entries of the same class and band keep their order.
 */
export function highBandWeights(classes: number, bands: number, entries: readonly (readonly [number, number, number, number])[]): HighBandWeights {
  const slots = classes * bands;
  const slotOf = (c: number, b: number) => c * bands + (bands - 1 - b);
  const start = new Int32Array(slots + 1);
  for (const [c, , b] of entries) start[slotOf(c, b) + 1]!++;
  for (let s = 0; s < slots; s++) start[s + 1]! += start[s]!;
  const fill = start.slice(0, slots);
  const column = new Int32Array(entries.length);
  const weight = new Float32Array(entries.length);
  for (const [c, j, b, w] of entries) {
    const at = fill[slotOf(c, b)]!++;
    column[at] = j;
    weight[at] = w;
  }
  return { classes, bands, start, column, weight };
}

/**
 * The partial logits of the high-side entries for `x [R x J]` (row-major, `J` the part's columns): for every row `r`,
 * class `c` and band `b`, `sum over bands b' >= b of sum over the band's weights w at column j of w * x[r, j]`, written
 * as {@link HighBandOutput} says. Only the weights are visited (zero weights are never multiplied, so an infinite
 * feature reaches only the classes with a weight on it). Runs the WebAssembly SIMD kernel (`high-bands-wasm.ts`,
 * float32 sums as a GEMM) where it can, {@link highBandProductJs} (float64 sums) otherwise.
 */
export function highBandProduct(weights: HighBandWeights, x: Float32Array, R: number, J: number, target: HighBandOutput): void {
  if (!highBandProductWasm(weights, x, R, J, target)) highBandProductJs(weights, x, R, J, target);
}

/**
 * {@link highBandProduct} in JavaScript: float64 sums rounded to float32 once, rows four at a time so each weight is
 * loaded once for four independent sums.
 */
export function highBandProductJs(weights: HighBandWeights, x: Float32Array, R: number, J: number, target: HighBandOutput): void {
  const { classes: C, bands, start, column, weight } = weights;
  const { out, offset, rowStride } = target;
  let r = 0;
  for (; r + 4 <= R; r += 4) {
    const x0 = r * J, x1 = x0 + J, x2 = x1 + J, x3 = x2 + J;
    const o0 = offset + r * rowStride, o1 = o0 + rowStride, o2 = o1 + rowStride, o3 = o2 + rowStride;
    for (let c = 0; c < C; c++) {
      let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
      for (let k = 0, slot = c * bands; k < bands; k++, slot++) {
        for (let e = start[slot]!, end = start[slot + 1]!; e < end; e++) {
          const w = weight[e]!, j = column[e]!;
          s0 += w * x[x0 + j]!;
          s1 += w * x[x1 + j]!;
          s2 += w * x[x2 + j]!;
          s3 += w * x[x3 + j]!;
        }
        const at = (bands - 1 - k) * C + c;
        out[o0 + at] = s0;
        out[o1 + at] = s1;
        out[o2 + at] = s2;
        out[o3 + at] = s3;
      }
    }
  }
  for (; r < R; r++) highBandRow(weights, x, r * J, out, offset + r * rowStride);
}

/** One row of {@link highBandProduct}: `x[xAt ..]` into `out[outAt ..]`. */
function highBandRow(weights: HighBandWeights, x: Float32Array, xAt: number, out: Float32Array, outAt: number): void {
  const { classes: C, bands, start, column, weight } = weights;
  for (let c = 0; c < C; c++) {
    let s = 0;
    for (let k = 0, slot = c * bands; k < bands; k++, slot++) {
      for (let e = start[slot]!, end = start[slot + 1]!; e < end; e++) s += weight[e]! * x[xAt + column[e]!]!;
      out[outAt + (bands - 1 - k) * C + c] = s;
    }
  }
}
