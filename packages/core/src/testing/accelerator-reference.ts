/**
 * Brute-force float64 definitions of the kernel accelerator operations (`KernelAccelerators`), written from their
 * contracts independently of core's implementations, for `describeGemmKernelConformance` and backend tests.
 */
import type { BandedGridParts, BandedGridShape } from '../kernel-accelerators.js';
import type { Matrix } from '../matrix.js';

/** `softmax(logits / T)^T op(features)` (`[C x D]`, row-major) in float64, with `sum_n p_nc |h_nj|` as a scale. */
export interface SoftmaxProductReference {
  readonly value: Float64Array;
  /** `sum_n p_nc |h_nj|`: the magnitude the float32 rounding error of each entry scales with. */
  readonly magnitude: Float64Array;
}

/** The probabilities `softmax(f / T)` of one row of logits, in float64 (max-shifted). */
function softmaxRow(logits: ArrayLike<number>, T: number): number[] {
  const f = Array.from(logits, (v) => v / T);
  const m = Math.max(...f);
  const e = f.map((v) => Math.exp(v - m));
  const z = e.reduce((s, v) => s + v, 0);
  return e.map((v) => v / z);
}

/** The `softmaxTransposedProduct` accelerator from its definition: `sum_n softmax(L_n / T)_c op(H_nj)`. */
export function refSoftmaxTransposedProduct(logits: Matrix, features: Matrix, temperature: number, absolute: boolean): SoftmaxProductReference {
  const C = logits.cols, D = features.cols;
  const value = new Float64Array(C * D);
  const magnitude = new Float64Array(C * D);
  for (let n = 0; n < logits.rows; n++) {
    const p = C > 0 ? softmaxRow(logits.data.subarray(n * C, (n + 1) * C), temperature) : [];
    for (let c = 0; c < C; c++) {
      for (let j = 0; j < D; j++) {
        const h = features.data[n * D + j]!;
        value[c * D + j] = value[c * D + j]! + p[c]! * (absolute ? Math.abs(h) : h);
        magnitude[c * D + j] = magnitude[c * D + j]! + p[c]! * Math.abs(h);
      }
    }
  }
  return { value, magnitude };
}

/** Log-sum-exp of each level combination in `BandedGridLogSumExp.logSum` order, with the magnitude of its logits. */
export interface BandedGridReference {
  /** `[rows x combinations]`: `log sum_c exp(logits_c)` (shifts included), float64. */
  readonly value: Float64Array;
  /** `[rows x combinations]`: `max_c sum |terms|` of each combination's logits (what float32 rounding scales with). */
  readonly magnitude: Float64Array;
}

/**
 * {@link BandedGridParts} from parts stacked per row, `[rows x (weightLow + weightHigh) x classes]` each (the low
 * entries, then the high ones): for tests that draw one array per neuron part.
 */
export function splitBandedParts(stacked: readonly Float32Array[], shape: BandedGridShape): BandedGridParts {
  const { rows: R, classes: C, weightLow: wL, weightHigh: wH } = shape;
  const S = wL + wH;
  const pick = (part: Float32Array, from: number, count: number): Float32Array => {
    const out = new Float32Array(R * count * C);
    for (let r = 0; r < R; r++) out.set(part.subarray((r * S + from) * C, (r * S + from + count) * C), r * count * C);
    return out;
  };
  return { low: stacked.map((p) => pick(p, 0, wL)), high: stacked.map((p) => pick(p, wL, wH)) };
}

/** The logits of combination `(a, b, an, bn)` of row `r` and their magnitudes, straight from `BandedGridShape`. */
function comboLogits(parts: BandedGridParts, shape: BandedGridShape, bias: Float32Array, r: number, levels: readonly [number, number, number, number]): [number[], number] {
  const { classes: C, weightLow: wL, weightHigh: wH, neuronLow: nL, neuronHigh: nH } = shape;
  const [a, b, an, bn] = levels;
  const f: number[] = [];
  let magnitude = 0;
  for (let c = 0; c < C; c++) {
    let v = bias[c]!;
    let size = Math.abs(v);
    const add = (k: number): void => {
      const lo = parts.low[k]![(r * wL + a) * C + c]!;
      const hi = b < wH ? parts.high[k]![(r * wH + b) * C + c]! : 0;
      v += lo + hi;
      size += Math.abs(lo) + Math.abs(hi);
    };
    for (let k = an; k < nL; k++) add(k);
    for (let k = bn; k < nH; k++) add(nL + k);
    f.push(v);
    magnitude = Math.max(magnitude, size);
  }
  return [f, magnitude];
}

/** The `bandedGridLogSumExp` accelerator from `BandedGridShape`'s definition, unshifted, in float64. */
export function refBandedGridLogSumExp(parts: BandedGridParts, shape: BandedGridShape, bias: Float32Array): BandedGridReference {
  const { rows: R, weightLow: wL, weightHigh: wH, neuronLow: nL, neuronHigh: nH } = shape;
  const combos = wL * (wH + 1) * (nH + 1) * nL;
  const value = new Float64Array(R * combos);
  const magnitude = new Float64Array(R * combos);
  for (let r = 0; r < R; r++) {
    let g = 0;
    for (let a = 0; a < wL; a++) for (let b = 0; b <= wH; b++) for (let bn = 0; bn <= nH; bn++) for (let an = 0; an < nL; an++) {
      const [f, size] = comboLogits(parts, shape, bias, r, [a, b, an, bn]);
      const m = Math.max(...f);
      value[r * combos + g] = m + Math.log(f.reduce((s, v) => s + Math.exp(v - m), 0));
      magnitude[r * combos + g++] = size;
    }
  }
  return { value, magnitude };
}

/** The total shift of combination `(b, bn)` of a row: `shifts[0]`, plus `[1]` if `bn < neuronHigh`, `[2]` if `b < weightHigh`, `[3]` if both. */
export function bandedShift(shifts: ArrayLike<number>, b: number, bn: number, shape: BandedGridShape): number {
  const high = b < shape.weightHigh, highNeuron = bn < shape.neuronHigh;
  return shifts[0]! + (highNeuron ? shifts[1]! : 0) + (high ? shifts[2]! : 0) + (high && highNeuron ? shifts[3]! : 0);
}
