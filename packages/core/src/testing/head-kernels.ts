/**
 * Test kernels and the float32 rounding bound of head products, for checking that a score depends on the GEMM kernel
 * only through the float32 rounding of its logits (docs/numerics.md#score-composition), and that a method computes
 * its products with the kernel it was given.
 *
 * @example
 * ```ts
 * import { counting, headLogitBound, roundedFloat64GemmKernel } from '@opnp/core/testing';
 * const run = counting(roundedFloat64GemmKernel);
 * const a = await composeScoreAsync(h, { head }, { kernel: run.kernel });
 * const b = composeScore(h, { head }); // the portable kernel
 * const bound = headLogitBound(h, head, 1 + portableRoundings(head.weight.cols)); // per logit
 * ```
 */
import type { GemmKernel, GemmOptions } from '../gemm.js';
import type { LinearHead } from '../head.js';
import type { Matrix } from '../matrix.js';
import { refGemm } from './reference.js';

/** Unit roundoff of float32 (`2^-24`). */
export const FLOAT32_UNIT_ROUNDOFF = 2 ** -24;

/**
 * A GEMM kernel computing every dot product exactly in float64 (in index order) and rounding it once to float32: a
 * kernel other than the portable one (whose float64 slices of 256 products are added into the float32 output), slow
 * and simple. Its results differ from the portable kernel's only by float32 rounding.
 */
export const roundedFloat64GemmKernel: GemmKernel = {
  name: 'rounded-float64-reference',
  async gemm(a: Matrix, b: Matrix, options: Required<GemmOptions>): Promise<Matrix> {
    const rows = options.transA ? a.cols : a.rows;
    const cols = options.transB ? b.rows : b.cols;
    return { rows, cols, data: Float32Array.from(refGemm(a, b, options.transA, options.transB)) };
  },
};

/** One call of a {@link counting} kernel: the shapes `op(a)` is `m x k`, `op(b)` is `k x n`, and the operands. */
export interface GemmCall {
  readonly m: number;
  readonly k: number;
  readonly n: number;
  /** The `a` operand as passed (a head product passes the (transformed) features `N x D`). */
  readonly a: Matrix;
  /** The `b` operand as passed (a head product passes the head's weight `C x D` with `transB`). */
  readonly b: Matrix;
  readonly transB: boolean;
}

/** `inner` with every `gemm` call recorded in `calls`. */
export function counting(inner: GemmKernel): { kernel: GemmKernel; calls: GemmCall[] } {
  const calls: GemmCall[] = [];
  const kernel: GemmKernel = {
    name: `counting(${inner.name})`,
    gemm(a, b, options) {
      const [m, k] = options.transA ? [a.cols, a.rows] : [a.rows, a.cols];
      calls.push({ m, k, n: options.transB ? b.rows : b.cols, a, b, transB: options.transB });
      return inner.gemm(a, b, options);
    },
  };
  return { kernel, calls };
}

/**
 * The float32 roundings the portable kernel makes along one dot product of length `D`: one per slice of 256
 * products (each float64 slice sum is added into the float32 output).
 */
export function portableRoundings(D: number): number {
  return Math.max(1, Math.ceil(D / 256));
}

/**
 * Bound on the difference between the logits `features W^T + b` of two kernels, per logit (`N x C`, float64):
 * `(roundings + 2) * u * (sum_k |h_k w_ck| + |b_c|)` plus `2^-40` of the same sum for float64 sums, where `roundings`
 * is the number of float32 roundings the two kernels make together along one dot product (1 for
 * {@link roundedFloat64GemmKernel}, {@link portableRoundings} for the portable kernel, `D` for a kernel accumulating
 * in float32) and the 2 are the float32 additions of the bias. Each rounding moves a partial sum bounded by
 * `sum_k |h_k w_ck| (+ |b_c|)` by at most `u` of it.
 */
export function headLogitBound(features: Matrix, head: LinearHead, roundings: number): Float64Array {
  const { rows: N, cols: D, data: h } = features;
  const { rows: C, data: w } = head.weight;
  const out = new Float64Array(N * C);
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      let s = Math.abs(head.bias[c]!);
      for (let k = 0; k < D; k++) s += Math.abs(h[n * D + k]! * w[c * D + k]!);
      out[n * C + c] = ((roundings + 2) * FLOAT32_UNIT_ROUNDOFF + 2 ** -40) * s;
    }
  }
  return out;
}

/** The largest entry of each row of a bound `N x C` from {@link headLogitBound}. */
export function rowMaxima(bound: Float64Array, C: number): Float64Array {
  const N = C === 0 ? 0 : bound.length / C;
  const out = new Float64Array(N);
  for (let n = 0; n < N; n++) {
    let m = 0;
    for (let c = 0; c < C; c++) m = Math.max(m, bound[n * C + c]!);
    out[n] = m;
  }
  return out;
}
