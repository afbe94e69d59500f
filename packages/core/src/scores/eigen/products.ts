/**
 * The float64 matrix products of the symmetric eigensolver, and the two ways of running it.
 *
 * The solver's stages (tridiagonalize.ts, divide-and-conquer.ts, back-transform.ts) are generators that `yield`
 * each large product `op(a) * op(b)` as a {@link ProductRequest} and continue with its result. {@link runSync}
 * answers the requests in JavaScript ({@link product64}); {@link runAsync} hands them to a kernel's
 * `float64Product` accelerator (onnxruntime's multi-threaded DGEMM in `@opnp/backend-onnx`). Both run the same
 * algorithm; results differ only by the summation order inside the products.
 */
import type { GemmOptions } from '../../gemm.js';
import type { Matrix64 } from '../../kernel-accelerators.js';
import { gemm64ABt } from '../gemm64.js';
import { transposeInto } from './tiles.js';

/** One product `op(a) * op(b)` the solver needs (inputs are views that must not be modified). */
export interface ProductRequest {
  readonly a: Matrix64;
  readonly b: Matrix64;
  readonly options: Required<GemmOptions>;
}

/** A solver stage: yields product requests, receives their results, returns `T`. */
export type Computation<T> = Generator<ProductRequest, T, Matrix64>;

/** A float64 product implementation (a kernel's `float64Product`, bound). */
export type Product64 = (a: Matrix64, b: Matrix64, options: Required<GemmOptions>) => Promise<Matrix64>;

/** `op(a) * op(b)` as a request (for `yield`). */
export function request(a: Matrix64, b: Matrix64, transA = false, transB = false): ProductRequest {
  return { a, b, options: { transA, transB } };
}

/** A `rows x cols` view of `data` from `offset`. */
export function view(data: Float64Array, rows: number, cols: number, offset = 0): Matrix64 {
  return { rows, cols, data: data.subarray(offset, offset + rows * cols) };
}

function transposed(m: Matrix64): Float64Array {
  const out = new Float64Array(m.rows * m.cols);
  transposeInto(m.data, m.rows, m.cols, out);
  return out;
}

/** `op(a) * op(b)` in JavaScript (float64, register-blocked; `gemm64ABt` on transposed copies where needed). */
export function product64(a: Matrix64, b: Matrix64, { transA, transB }: Required<GemmOptions>): Matrix64 {
  const m = transA ? a.cols : a.rows;
  const k = transA ? a.rows : a.cols;
  const n = transB ? b.rows : b.cols;
  const left = transA ? transposed(a) : a.data;
  // gemm64ABt wants B as n x k; a single column (n = 1) is already that.
  const right = transB || n === 1 ? b.data : transposed(b);
  const out = new Float64Array(m * n);
  gemm64ABt(left, right, out, m, n, k);
  return { rows: m, cols: n, data: out };
}

/** Runs a computation, answering every product in JavaScript. */
export function runSync<T>(computation: Computation<T>): T {
  let step = computation.next();
  while (!step.done) step = computation.next(product64(step.value.a, step.value.b, step.value.options));
  return step.value;
}

/**
 * Products of fewer flops than this are answered in JavaScript by {@link runAsync} too: a kernel call costs tens of
 * microseconds before any arithmetic (a product of `2^18` flops takes about as long in JavaScript).
 */
export const KERNEL_MIN_FLOPS = 2 ** 18;

/** Flops of a request: `2 M N K`. */
function flops({ a, b, options }: ProductRequest): number {
  return 2 * a.rows * a.cols * (options.transB ? b.rows : b.cols);
}

/**
 * Runs a computation, answering every product of at least {@link KERNEL_MIN_FLOPS} with `product` (a kernel's
 * float64 product) and the smaller ones in JavaScript.
 */
export async function runAsync<T>(computation: Computation<T>, product: Product64): Promise<T> {
  let step = computation.next();
  while (!step.done) {
    const { a, b, options } = step.value;
    step = computation.next(flops(step.value) < KERNEL_MIN_FLOPS ? product64(a, b, options) : await product(a, b, options));
  }
  return step.value;
}
