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
import type { KernelAccelerators } from './kernel-accelerators.js';

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
 *
 * A kernel is its GEMM. Faster fused versions of a few OPNP operations are optional extras, listed by name in
 * {@link GemmKernel.accelerators} (see {@link KernelAccelerators}); callers look them up with
 * `kernelAccelerator` and fall back to JavaScript around `gemm` when a kernel lacks one.
 * `describeGemmKernelConformance` from `@opnp/core/testing` checks a kernel against this contract.
 */
export interface GemmKernel {
  /** Name shown in benchmarks and logs, e.g. `'portable-js'`, `'onnxruntime'`. */
  readonly name: string;
  /**
   * Computes `op(a) * op(b)` into a new matrix, without modifying the inputs (whose `data` may be views into larger
   * buffers). Shapes are validated by {@link gemm}, not by kernels; empty dimensions give an empty (or, for `K = 0`,
   * all-zero) result, and NaN and infinities propagate as IEEE arithmetic does.
   */
  gemm(a: Matrix, b: Matrix, options: Required<GemmOptions>): Promise<Matrix>;
  /**
   * The accelerator operations this kernel implements (any subset of {@link KernelAccelerators}, by name); absent
   * or empty for a plain GEMM kernel. Read them through `kernelAccelerator`.
   */
  readonly accelerators?: Partial<KernelAccelerators>;
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

// Blocking parameters (GotoBLAS-style): a KC x NC block of op(b) is packed into NR-wide column panels,
// an MC x KC block of op(a) into MR-tall row panels, and an MR x NR register tile of float64 locals
// accumulates one KC-long slice of every dot product.
const MR = 4;
const NR = 4;
const KC = 256;
const MC = 128;
const NC = 4096;

/**
 * Packs the `mc x kc` block of `op(a)` starting at `(i0, k0)` into MR-tall panels:
 * `ap[p * kc * MR + k * MR + r] = op(a)[i0 + p * MR + r, k0 + k]`, zero-padded past `mc`.
 * `op(a)[i, k] = a[i * rs + k * cs]`.
 */
function packA(a: Float32Array, rs: number, cs: number, i0: number, mc: number, k0: number, kc: number, ap: Float32Array): void {
  let o = 0;
  for (let i = 0; i < mc; i += MR) {
    const rows = Math.min(MR, mc - i);
    const base = (i0 + i) * rs + k0 * cs;
    if (rows === MR) {
      const r1 = base + rs, r2 = r1 + rs, r3 = r2 + rs;
      for (let k = 0, kk = 0; k < kc; k++, kk += cs) {
        ap[o] = a[base + kk]!;
        ap[o + 1] = a[r1 + kk]!;
        ap[o + 2] = a[r2 + kk]!;
        ap[o + 3] = a[r3 + kk]!;
        o += MR;
      }
    } else {
      for (let k = 0; k < kc; k++) {
        for (let r = 0; r < MR; r++) ap[o++] = r < rows ? a[base + r * rs + k * cs]! : 0;
      }
    }
  }
}

/**
 * Packs the `kc x nc` block of `op(b)` starting at `(k0, j0)` into NR-wide panels:
 * `bp[p * kc * NR + k * NR + c] = op(b)[k0 + k, j0 + p * NR + c]`, zero-padded past `nc`.
 * `op(b)[k, j] = b[k * rs + j * cs]`.
 */
function packB(b: Float32Array, rs: number, cs: number, k0: number, kc: number, j0: number, nc: number, bp: Float32Array): void {
  let o = 0;
  for (let j = 0; j < nc; j += NR) {
    const cols = Math.min(NR, nc - j);
    const base = k0 * rs + (j0 + j) * cs;
    if (cols === NR) {
      const c1 = cs, c2 = 2 * cs, c3 = 3 * cs;
      for (let k = 0, kk = base; k < kc; k++, kk += rs) {
        bp[o] = b[kk]!;
        bp[o + 1] = b[kk + c1]!;
        bp[o + 2] = b[kk + c2]!;
        bp[o + 3] = b[kk + c3]!;
        o += NR;
      }
    } else {
      for (let k = 0; k < kc; k++) {
        for (let c = 0; c < NR; c++) bp[o++] = c < cols ? b[base + k * rs + c * cs]! : 0;
      }
    }
  }
}

/**
 * The 4 x 4 micro-kernel: `out[tile] += ap_panel * bp_panel` over `kc`, with float64 accumulators.
 * Writes only the top-left `mr x nr` corner of the tile (edge tiles of the output).
 */
function microKernel(
  kc: number,
  ap: Float32Array,
  ao: number,
  bp: Float32Array,
  bo: number,
  out: Float32Array,
  oo: number,
  ldo: number,
  mr: number,
  nr: number,
  tile: Float64Array,
): void {
  let s00 = 0, s01 = 0, s02 = 0, s03 = 0, s10 = 0, s11 = 0, s12 = 0, s13 = 0;
  let s20 = 0, s21 = 0, s22 = 0, s23 = 0, s30 = 0, s31 = 0, s32 = 0, s33 = 0;
  const end = ao + kc * MR;
  while (ao < end) {
    const a0 = ap[ao]!, a1 = ap[ao + 1]!, a2 = ap[ao + 2]!, a3 = ap[ao + 3]!;
    let y = bp[bo]!;
    s00 += a0 * y; s10 += a1 * y; s20 += a2 * y; s30 += a3 * y;
    y = bp[bo + 1]!;
    s01 += a0 * y; s11 += a1 * y; s21 += a2 * y; s31 += a3 * y;
    y = bp[bo + 2]!;
    s02 += a0 * y; s12 += a1 * y; s22 += a2 * y; s32 += a3 * y;
    y = bp[bo + 3]!;
    s03 += a0 * y; s13 += a1 * y; s23 += a2 * y; s33 += a3 * y;
    ao += MR;
    bo += NR;
  }
  if (mr === MR && nr === NR) {
    let o = oo;
    out[o] = out[o]! + s00; out[o + 1] = out[o + 1]! + s01; out[o + 2] = out[o + 2]! + s02; out[o + 3] = out[o + 3]! + s03;
    o += ldo;
    out[o] = out[o]! + s10; out[o + 1] = out[o + 1]! + s11; out[o + 2] = out[o + 2]! + s12; out[o + 3] = out[o + 3]! + s13;
    o += ldo;
    out[o] = out[o]! + s20; out[o + 1] = out[o + 1]! + s21; out[o + 2] = out[o + 2]! + s22; out[o + 3] = out[o + 3]! + s23;
    o += ldo;
    out[o] = out[o]! + s30; out[o + 1] = out[o + 1]! + s31; out[o + 2] = out[o + 2]! + s32; out[o + 3] = out[o + 3]! + s33;
    return;
  }
  tile[0] = s00; tile[1] = s01; tile[2] = s02; tile[3] = s03;
  tile[4] = s10; tile[5] = s11; tile[6] = s12; tile[7] = s13;
  tile[8] = s20; tile[9] = s21; tile[10] = s22; tile[11] = s23;
  tile[12] = s30; tile[13] = s31; tile[14] = s32; tile[15] = s33;
  for (let r = 0; r < mr; r++) {
    const o = oo + r * ldo;
    for (let c = 0; c < nr; c++) out[o + c] = out[o + c]! + tile[r * NR + c]!;
  }
}

/**
 * `out [m x n] += op(a) [m x k] * op(b) [k x n]` where `op(a)[i, l] = a[i * ars + l * acs]` and
 * `op(b)[l, j] = b[l * brs + j * bcs]` (so transposes cost nothing extra: packing reads either layout).
 * No validation, no allocation beyond the packing buffers.
 */
function gemmPacked(
  a: Float32Array, ars: number, acs: number,
  b: Float32Array, brs: number, bcs: number,
  out: Float32Array, m: number, n: number, k: number,
): void {
  if (m === 0 || n === 0 || k === 0) return;
  const kcMax = Math.min(KC, k);
  const mcMax = Math.min(MC, Math.ceil(m / MR) * MR);
  const ncMax = Math.min(NC, Math.ceil(n / NR) * NR);
  const ap = new Float32Array(mcMax * kcMax);
  const bp = new Float32Array(ncMax * kcMax);
  const tile = new Float64Array(MR * NR);
  for (let j0 = 0; j0 < n; j0 += NC) {
    const nc = Math.min(NC, n - j0);
    for (let k0 = 0; k0 < k; k0 += KC) {
      const kc = Math.min(KC, k - k0);
      packB(b, brs, bcs, k0, kc, j0, nc, bp);
      for (let i0 = 0; i0 < m; i0 += MC) {
        const mc = Math.min(MC, m - i0);
        packA(a, ars, acs, i0, mc, k0, kc, ap);
        for (let j = 0; j < nc; j += NR) {
          const nr = Math.min(NR, nc - j);
          const bo = (j / NR) * kc * NR;
          for (let i = 0; i < mc; i += MR) {
            const mr = Math.min(MR, mc - i);
            microKernel(kc, ap, (i / MR) * kc * MR, bp, bo, out, (i0 + i) * n + j0 + j, n, mr, nr, tile);
          }
        }
      }
    }
  }
}

/**
 * The portable pure-JavaScript kernel: single-threaded, cache-blocked with packed panels and a 4 x 4
 * register tile accumulated in float64 over slices of 256 products (then added into the float32
 * output). Runs anywhere; a few GFLOP/s. All four `transA`/`transB` combinations cost the same.
 */
export const portableGemmKernel: SyncGemmKernel = {
  name: 'portable-js',
  gemmSync(a, b, options) {
    const { m, k, n } = gemmShape(a, b, options);
    const out = new Float32Array(m * n);
    // op(a)[i, l]: a[i, l] (row stride a.cols) or a[l, i] (column stride a.cols); likewise op(b).
    const [ars, acs] = options.transA ? [1, a.cols] : [a.cols, 1];
    const [brs, bcs] = options.transB ? [1, b.cols] : [b.cols, 1];
    gemmPacked(a.data, ars, acs, b.data, brs, bcs, out, m, n, k);
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
