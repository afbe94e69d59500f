/**
 * Optional accelerator operations of a {@link GemmKernel}.
 *
 * A kernel's contract is the GEMM. Beyond it, a kernel may offer faster fused versions of a few named
 * operations that OPNP would otherwise compute in JavaScript around plain GEMMs, in the spirit of
 * onnxruntime-common's optional handler methods: each operation has a fixed name and signature
 * ({@link KernelAccelerators}), a kernel lists the ones it implements in {@link GemmKernel.accelerators}, and every
 * caller looks the operation up with {@link kernelAccelerator} and falls back to its own JavaScript path when the
 * kernel does not have it. Results must not depend on whether an accelerator is used, beyond float32 rounding;
 * `describeGemmKernelConformance` from `@opnp/core/testing` checks each present operation against a float64
 * definition.
 *
 * @example
 * ```ts
 * const kernel: GemmKernel = {
 *   name: 'my-kernel',
 *   gemm: (a, b, options) => myGemm(a, b, options),
 *   accelerators: { softmaxTransposedProduct: (logits, features, options) => myFusedProduct(logits, features, options) },
 * };
 * const product = kernelAccelerator(kernel, 'softmaxTransposedProduct'); // undefined: use the JavaScript path
 * ```
 */
import type { GemmKernel, GemmOptions } from './gemm.js';
import type { Matrix } from './matrix.js';

/** A row-major float64 matrix `rows x cols` (as {@link Matrix}, in double precision). */
export interface Matrix64 {
  readonly rows: number;
  readonly cols: number;
  readonly data: Float64Array;
}

/** Options of {@link KernelAccelerators.softmaxTransposedProduct}. */
export interface SoftmaxTransposedProductOptions {
  /** Softmax temperature `T > 0`: the probabilities are `softmax(logits / T)` per row. */
  readonly temperature: number;
  /** Multiply by `|features|` (elementwise absolute values) instead of `features`. */
  readonly absolute: boolean;
}

/**
 * Result of {@link KernelAccelerators.softmaxTransposedProduct}: the `[C x D]` float32 product, and optionally
 * whether the kernel has already verified that every entry is finite.
 */
export interface SoftmaxTransposedProduct extends Matrix {
  /**
   * `true` when the kernel has checked that every entry of `data` is finite (for example because a float32 sum of all
   * entries, computed with the product, is finite): the caller then skips its own scan of the `C x D` entries.
   * Absent or `false`: unknown, the caller checks. Never `true` for a product with a NaN or infinite entry.
   */
  readonly knownFinite?: boolean;
}

/**
 * The accelerator operations a kernel may implement, by name. Every operation is optional (a kernel declares
 * `accelerators?: Partial<KernelAccelerators>`); callers look them up with {@link kernelAccelerator}. Operations
 * are called as methods of the kernel's `accelerators` object, receive validated inputs, must not modify them,
 * and return new arrays.
 */
export interface KernelAccelerators {
  /**
   * The fused OPNP sensitivity product `softmax(logits / T)^T op(features)`: `[C x D]` for `logits [N x C]` and
   * `features [N x D]`, `op` the elementwise `|.|` when `absolute`, in float32 (all zeros when `N = 0`). Used by
   * `SensitivityAccumulator`, which adds the result into its float64 sums; without it the accumulator computes the
   * softmax in JavaScript and multiplies with `gemm`. A NaN or `+Infinity` in either input must make the result
   * non-finite (the accumulator checks only the product, unless the kernel vouches for it with
   * {@link SoftmaxTransposedProduct.knownFinite}, and then scans the inputs to name the row).
   */
  softmaxTransposedProduct(logits: Matrix, features: Matrix, options: SoftmaxTransposedProductOptions): Promise<SoftmaxTransposedProduct>;
  /**
   * The scoring step of the OPNP grid search on banded energy grids ({@link BandedGridShape} and {@link BandedGridParts} define the inputs
   * and the result). Returns, for every row and every `(a, b, an, bn)` level combination, the log-sum-exp over
   * classes of that grid point's logits, split into a float32 `logSum` and per-row group `shifts` so the caller can
   * add them in float64. Kernels compute it in float32 and need not be exact when the shifted sum is tiny: the
   * caller re-scores exactly every row with a non-finite `logSum` or one below {@link BANDED_GRID_MIN_LOG_SUM}.
   * Without it, `gridScores` computes the same quantity in JavaScript (float64).
   */
  bandedGridLogSumExp(parts: BandedGridParts, shape: BandedGridShape, bias: Float32Array): Promise<BandedGridLogSumExp>;
  /**
   * The float64 matrix product `op(a) * op(b)` (`[M x N]`, shapes as {@link GemmKernel.gemm}), every product and sum
   * in double precision. Used by the symmetric eigensolver (`symmetricEigenAsync`: tridiagonalization, divide and
   * conquer, back-transformation), where it does nearly all the work; without it the solver multiplies in
   * JavaScript. Inputs may be views into larger buffers; empty dimensions give an empty (or all-zero) result.
   */
  float64Product(a: Matrix64, b: Matrix64, options: Required<GemmOptions>): Promise<Matrix64>;
}

/** Name of an accelerator operation: `'softmaxTransposedProduct' | 'bandedGridLogSumExp' | 'float64Product'`. */
export type KernelAcceleratorName = keyof KernelAccelerators;

/** The names of all accelerator operations, in a stable order (for conformance suites and diagnostics). */
export const KERNEL_ACCELERATOR_NAMES: readonly KernelAcceleratorName[] = Object.freeze(['softmaxTransposedProduct', 'bandedGridLogSumExp', 'float64Product'] as const);

/**
 * The kernel's implementation of the accelerator operation `name`, bound to its `accelerators` object, or
 * `undefined` when the kernel does not offer it (the caller then uses its JavaScript path).
 */
export function kernelAccelerator<K extends KernelAcceleratorName>(kernel: GemmKernel, name: K): KernelAccelerators[K] | undefined {
  const accelerators = kernel.accelerators;
  const operation = accelerators?.[name];
  if (typeof operation !== 'function') return undefined;
  return operation.bind(accelerators) as KernelAccelerators[K];
}

/**
 * Sizes of the inputs of {@link KernelAccelerators.bandedGridLogSumExp}: the OPNP grid search's partial logits
 * ({@link BandedGridParts} holds them).
 *
 * There are `neuronLow + neuronHigh` neuron parts. Part `k` holds the partial logits of one neuron band: per row,
 * `weightLow` low-side class vectors `lo(P_k, a)` (`a < weightLow`, in `parts.low[k]`) and `weightHigh` high-side
 * ones `hi(P_k, b)` (`b < weightHigh`, in `parts.high[k]`), partial logits over nested weight bands; `hi(P_k, weightHigh) = 0`.
 * With `L_i = sum_{k=i}^{neuronLow-1} P_k` (`i < neuronLow`), `U_i = sum_{k=i}^{neuronHigh-1} P_{neuronLow + k}`
 * (`i < neuronHigh`; `U_neuronHigh = 0`), summed entry by entry, the logits of level combination `(a, b, an, bn)` are
 * `bias + lo(L_an, a) + hi(L_an, b) + lo(U_bn, a) + hi(U_bn, b)`,
 * for `a < weightLow`, `b <= weightHigh`, `an < neuronLow`, `bn <= neuronHigh`.
 */
export interface BandedGridShape {
  readonly rows: number;
  readonly classes: number;
  /** Low-side weight levels (`>= 1`). */
  readonly weightLow: number;
  /** High-side weight levels besides "prune none" (`>= 0`). */
  readonly weightHigh: number;
  /** Low-side neuron parts (`>= 1`). */
  readonly neuronLow: number;
  /** High-side neuron parts (`>= 0`). */
  readonly neuronHigh: number;
}

/**
 * The partial logits of {@link KernelAccelerators.bandedGridLogSumExp} (see {@link BandedGridShape}), low-side and
 * high-side weight entries in separate arrays, so the grid search passes each band's GEMM output in one piece instead
 * of interleaving it row by row with the sparse products of the high-side entries.
 */
export interface BandedGridParts {
  /** `neuronLow + neuronHigh` arrays `[rows x weightLow x classes]` (row-major): `lo(P_k, a)` of row `r` at `low[k][(r * weightLow + a) * classes]`. */
  readonly low: readonly Float32Array[];
  /** `neuronLow + neuronHigh` arrays `[rows x weightHigh x classes]` (empty when `weightHigh = 0`): `hi(P_k, b)` of row `r` at `high[k][(r * weightHigh + b) * classes]`. */
  readonly high: readonly Float32Array[];
}

/** Result of {@link KernelAccelerators.bandedGridLogSumExp}. */
export interface BandedGridLogSumExp {
  /**
   * `[rows x weightLow x (weightHigh + 1) x (neuronHigh + 1) x neuronLow]`: `log sum_c exp(logits_c - shift)`
   * of each level combination (see {@link BandedGridShape}).
   */
  readonly logSum: Float32Array;
  /**
   * `[rows x 4]`: the row's shifts of the four groups of terms (`lo(L)` + bias, `lo(U)`, `hi(L)`, `hi(U)`). The shift of a
   * combination is the first, plus the second if `bn < neuronHigh`, the third if `b < weightHigh`, the fourth if both.
   */
  readonly shifts: Float32Array;
}

/**
 * Smallest `logSum` the OPNP grid search takes from {@link KernelAccelerators.bandedGridLogSumExp}. A kernel that
 * keeps every factor of a term at most 1 (each group shifted by its maximum) loses at most `classes * exp(-87)`
 * to float32 underflow, which is negligible against a sum of at least `exp(-20)`.
 */
export const BANDED_GRID_MIN_LOG_SUM = -20;
