/**
 * The matrix-product kernel interface of `@opnp/core` and its portable implementation.
 *
 * Everything heavy in OPNP (sensitivity accumulation `P^T |H|`, dense head evaluation `H W^T`, the grid
 * search's partial logits) is one row-major float32 GEMM. Core ships a portable kernel; a faster one
 * (onnxruntime's MatMul via `@opnp/backend-onnx`, a WASM SIMD kernel, ...) may be registered with
 * {@link registerGemmKernel} and picked with {@link resolveGemmKernel}.
 */
import { OpnpError } from './errors.js';
import { assertMatrix, type Matrix } from './matrix.js';
import { createRegistry } from './registry.js';

/** Options of {@link GemmKernel.gemm}. */
export interface GemmOptions {
  /** Use `a^T` instead of `a` (then `a` is `K x M`). Default false. */
  transA?: boolean;
  /** Use `b^T` instead of `b` (then `b` is `N x K`). Default false. */
  transB?: boolean;
}

/**
 * A row-major float32 matrix-product kernel: `out [M x N] = op(a) [M x K] * op(b) [K x N]`.
 * Kernels accumulate each dot product in at least float32; callers that sum many products accumulate
 * the results in float64 themselves.
 */
export interface GemmKernel {
  /** Name shown in benchmarks and logs, e.g. `'portable-js'`, `'onnxruntime'`. */
  readonly name: string;
  /** Computes `op(a) * op(b)` into a new matrix. Shapes are validated by {@link gemm}, not by kernels. */
  gemm(a: Matrix, b: Matrix, options: Required<GemmOptions>): Promise<Matrix>;
  /** Releases native resources, if any. */
  dispose?(): Promise<void>;
}

/** A kernel that can also compute synchronously (the portable kernel does). */
export interface SyncGemmKernel extends GemmKernel {
  gemmSync(a: Matrix, b: Matrix, options: Required<GemmOptions>): Matrix;
}

/** The `(M, K, N)` dimensions of `op(a) * op(b)`, validated. */
export function gemmShape(a: Matrix, b: Matrix, options: GemmOptions = {}): { m: number; k: number; n: number } {
  assertMatrix(a, 'gemm: a');
  assertMatrix(b, 'gemm: b');
  const m = options.transA ? a.cols : a.rows;
  const k = options.transA ? a.rows : a.cols;
  const kb = options.transB ? b.cols : b.rows;
  const n = options.transB ? b.rows : b.cols;
  if (k !== kb) {
    throw new OpnpError('SHAPE_MISMATCH', 'gemm: inner dimensions of op(a) and op(b) differ', {
      expected: `op(a) ${m} x ${k} times op(b) ${k} x ${n}`,
      actual: `op(a) ${m} x ${k} times op(b) ${kb} x ${n}`,
    });
  }
  return { m, k, n };
}

function normalize(options: GemmOptions | undefined): Required<GemmOptions> {
  return { transA: options?.transA ?? false, transB: options?.transB ?? false };
}

/** Validated GEMM through any kernel: `op(a) * op(b)`. */
export async function gemm(kernel: GemmKernel, a: Matrix, b: Matrix, options?: GemmOptions): Promise<Matrix> {
  gemmShape(a, b, options);
  return kernel.gemm(a, b, normalize(options));
}

/** Validated synchronous GEMM through the portable kernel (or another sync kernel). */
export function gemmSync(a: Matrix, b: Matrix, options?: GemmOptions, kernel: SyncGemmKernel = portableGemmKernel): Matrix {
  gemmShape(a, b, options);
  return kernel.gemmSync(a, b, normalize(options));
}

// ---------------------------------------------------------------------------------------------
// Portable kernel

/** Packs `op(x)` (`rows x cols` after the op) into a new row-major array. */
function materialize(x: Matrix, trans: boolean): Float32Array {
  if (!trans) return x.data;
  const out = new Float32Array(x.data.length);
  const { rows, cols, data } = x;
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) out[j * rows + i] = data[i * cols + j]!;
  return out;
}

/**
 * `out[M x N] = A[M x K] * B^T` where `bt` holds `B^T` as `N x K` row-major: both operands are read
 * along contiguous rows, blocked over 4 rows of `A` and 4 rows of `bt` for register reuse.
 */
function gemmABt(A: Float32Array, bt: Float32Array, out: Float32Array, M: number, N: number, K: number): void {
  const KB = 256;
  for (let k0 = 0; k0 < K; k0 += KB) {
    const k1 = Math.min(K, k0 + KB);
    let i = 0;
    for (; i + 4 <= M; i += 4) {
      const a0 = i * K, a1 = a0 + K, a2 = a1 + K, a3 = a2 + K;
      let j = 0;
      for (; j + 4 <= N; j += 4) {
        const b0 = j * K, b1 = b0 + K, b2 = b1 + K, b3 = b2 + K;
        let s00 = 0, s01 = 0, s02 = 0, s03 = 0, s10 = 0, s11 = 0, s12 = 0, s13 = 0;
        let s20 = 0, s21 = 0, s22 = 0, s23 = 0, s30 = 0, s31 = 0, s32 = 0, s33 = 0;
        for (let k = k0; k < k1; k++) {
          const x0 = A[a0 + k]!, x1 = A[a1 + k]!, x2 = A[a2 + k]!, x3 = A[a3 + k]!;
          const y0 = bt[b0 + k]!, y1 = bt[b1 + k]!, y2 = bt[b2 + k]!, y3 = bt[b3 + k]!;
          s00 += x0 * y0; s01 += x0 * y1; s02 += x0 * y2; s03 += x0 * y3;
          s10 += x1 * y0; s11 += x1 * y1; s12 += x1 * y2; s13 += x1 * y3;
          s20 += x2 * y0; s21 += x2 * y1; s22 += x2 * y2; s23 += x2 * y3;
          s30 += x3 * y0; s31 += x3 * y1; s32 += x3 * y2; s33 += x3 * y3;
        }
        const o0 = i * N + j, o1 = o0 + N, o2 = o1 + N, o3 = o2 + N;
        out[o0] = out[o0]! + s00; out[o0 + 1] = out[o0 + 1]! + s01; out[o0 + 2] = out[o0 + 2]! + s02; out[o0 + 3] = out[o0 + 3]! + s03;
        out[o1] = out[o1]! + s10; out[o1 + 1] = out[o1 + 1]! + s11; out[o1 + 2] = out[o1 + 2]! + s12; out[o1 + 3] = out[o1 + 3]! + s13;
        out[o2] = out[o2]! + s20; out[o2 + 1] = out[o2 + 1]! + s21; out[o2 + 2] = out[o2 + 2]! + s22; out[o2 + 3] = out[o2 + 3]! + s23;
        out[o3] = out[o3]! + s30; out[o3 + 1] = out[o3 + 1]! + s31; out[o3 + 2] = out[o3 + 2]! + s32; out[o3 + 3] = out[o3 + 3]! + s33;
      }
      for (; j < N; j++) {
        const b0 = j * K;
        let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        for (let k = k0; k < k1; k++) {
          const y = bt[b0 + k]!;
          s0 += A[a0 + k]! * y; s1 += A[a1 + k]! * y; s2 += A[a2 + k]! * y; s3 += A[a3 + k]! * y;
        }
        out[i * N + j] = out[i * N + j]! + s0;
        out[(i + 1) * N + j] = out[(i + 1) * N + j]! + s1;
        out[(i + 2) * N + j] = out[(i + 2) * N + j]! + s2;
        out[(i + 3) * N + j] = out[(i + 3) * N + j]! + s3;
      }
    }
    for (; i < M; i++) {
      const a0 = i * K;
      for (let j = 0; j < N; j++) {
        const b0 = j * K;
        let s = 0;
        for (let k = k0; k < k1; k++) s += A[a0 + k]! * bt[b0 + k]!;
        out[i * N + j] = out[i * N + j]! + s;
      }
    }
  }
}

/**
 * The portable pure-JavaScript kernel (single-threaded, register-blocked; a few GFLOP/s). Runs anywhere.
 */
export const portableGemmKernel: SyncGemmKernel = {
  name: 'portable-js',
  gemmSync(a, b, options) {
    const { m, k, n } = gemmShape(a, b, options);
    const A = materialize(a, options.transA);
    // gemmABt wants B^T (N x K) row-major: that is b itself when transB, else the transpose of b.
    const bt = options.transB ? b.data : materialize(b, true);
    const out = new Float32Array(m * n);
    gemmABt(A, bt, out, m, n, k);
    return { rows: m, cols: n, data: out };
  },
  async gemm(a, b, options) {
    return this.gemmSync(a, b, options);
  },
};

// ---------------------------------------------------------------------------------------------
// Registry

const kernels = createRegistry<GemmKernel>('gemm kernel');
kernels.register('portable-js', () => portableGemmKernel, -100);

/**
 * Registers a GEMM kernel under `name`. `factory` runs lazily, once, on first resolution; higher
 * `priority` wins in {@link resolveGemmKernel}. Registering the same factory again is a no-op.
 */
export function registerGemmKernel(name: string, factory: () => GemmKernel | Promise<GemmKernel>, priority = 0): void {
  kernels.register(name, factory, priority);
}

/**
 * Resolves a kernel by name, or the highest-priority kernel whose factory succeeds when `name` is
 * omitted (falls back to the portable kernel).
 */
export function resolveGemmKernel(name?: string): Promise<GemmKernel> {
  return kernels.resolve(name);
}

/** Names of the registered kernels, highest priority first. */
export function listGemmKernels(): string[] {
  return kernels.names();
}
