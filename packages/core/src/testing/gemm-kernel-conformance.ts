/**
 * The conformance suite every {@link GemmKernel} runs against itself: the GEMM on every `transA` / `transB`
 * combination and on empty, `1 x N`, `N x 1` and `K = 1` shapes, NaN and infinity propagation, views, concurrent
 * calls, and, for each accelerator operation the kernel has ({@link KernelAccelerators}), its result against a
 * brute-force float64 definition (including ties, logits of +-1000 and empty inputs). Accelerator tests of a kernel
 * without that operation are reported as skipped.
 *
 * Error bounds follow float32 arithmetic: an entry of a GEMM may differ from the exact product by
 * `2 u (K + 2) sum_l |a_il b_lj|` with `u` the unit roundoff (`2^-24`, see
 * {@link GemmKernelConformanceOptions.unitRoundoff}); the accelerator bounds are built the same way.
 *
 * This module imports `vitest`, so it is exported from `@opnp/core/testing`, never from the main entry.
 *
 * @example
 * ```ts
 * import { describeGemmKernelConformance } from '@opnp/core/testing';
 * describeGemmKernelConformance('onnxruntime', () => createOnnxGemmKernel({ intraOpNumThreads: 2 }));
 * ```
 */
import { afterAll, beforeAll, describe, expect, it, type TestContext } from 'vitest';
import type { GemmKernel } from '../gemm.js';
import { kernelAccelerator, type KernelAcceleratorName, type KernelAccelerators } from '../kernel-accelerators.js';
import type { Matrix } from '../matrix.js';
import { mulberry32 } from '../random.js';
import { describeAcceleratorConformance } from './accelerator-conformance.js';
import { randomMatrix, refGemm } from './reference.js';

/** Names of the GEMM tests (for {@link GemmKernelConformanceOptions.skip}); accelerator tests go by operation name. */
export type GemmKernelConformanceTestName = 'gemm-shapes' | 'gemm-empty' | 'gemm-non-finite' | 'gemm-views' | 'gemm-concurrent' | KernelAcceleratorName;

/** Options of {@link describeGemmKernelConformance}. */
export interface GemmKernelConformanceOptions {
  /**
   * Dispose the kernel (its `dispose`, if any) after the suite. Default true: the kernel the factory returns belongs
   * to the suite. Pass false for a shared kernel that other tests still use.
   */
  dispose?: boolean;
  /** Unit roundoff of the kernel's arithmetic, which scales every error bound. Default `2^-24` (float32). */
  unitRoundoff?: number;
  /** Skip the whole suite (no `tests`) or the named tests, with the reason shown in the test name. */
  skip?: { reason: string; tests?: readonly GemmKernelConformanceTestName[] };
}

/** What the test groups share: the registrar, the kernel (created in `beforeAll`) and the unit roundoff. */
export interface KernelSuite {
  readonly test: (id: GemmKernelConformanceTestName, title: string, fn: (context: TestContext) => Promise<void>) => void;
  readonly kernel: () => GemmKernel;
  readonly u: number;
  /** The kernel's accelerator `name`, or a skip of the running test when the kernel does not have it. */
  readonly accelerator: <K extends KernelAcceleratorName>(name: K, context: TestContext) => KernelAccelerators[K];
}

/**
 * Registers the kernel conformance tests under `describe('GemmKernel conformance: <name>')`. `create` is called once
 * (in `beforeAll`); the kernel is disposed after the tests unless `options.dispose` is false.
 */
export function describeGemmKernelConformance(name: string, create: () => GemmKernel | Promise<GemmKernel>, options: GemmKernelConformanceOptions = {}): void {
  const skip = options.skip;
  const skipped = (id: GemmKernelConformanceTestName): boolean => skip !== undefined && (skip.tests === undefined || skip.tests.includes(id));
  describe(`GemmKernel conformance: ${name}`, () => {
    let kernel: GemmKernel | undefined;
    beforeAll(async () => {
      if (skip !== undefined && skip.tests === undefined) return;
      kernel = await create();
    });
    afterAll(async () => {
      if (kernel && options.dispose !== false) await kernel.dispose?.();
    });
    const suite: KernelSuite = {
      test: (id, title, fn) => (skipped(id) ? it.skip(`${title} (skipped: ${skip!.reason})`, () => {}) : it(title, fn)),
      kernel: () => {
        if (!kernel) throw new Error('The kernel was not created');
        return kernel;
      },
      u: options.unitRoundoff ?? 2 ** -24,
      accelerator: (operation, context) => {
        const found = kernelAccelerator(suite.kernel(), operation);
        if (!found) context.skip(`the kernel has no ${operation} accelerator`);
        return found!;
      },
    };
    describeGemm(suite);
    describeAcceleratorConformance(suite);
  });
}

/**
 * Asserts `out = op(a) op(b)` within float32 error bounds (NaN / infinities where the exact product has them), and
 * that the inputs were not modified.
 */
function expectProduct(out: Matrix, a: Matrix, b: Matrix, transA: boolean, transB: boolean, u: number, what: string): void {
  const m = transA ? a.cols : a.rows;
  const k = transA ? a.rows : a.cols;
  const n = transB ? b.rows : b.cols;
  expect(`${out.rows} x ${out.cols}`, `${what}: shape`).toBe(`${m} x ${n}`);
  expect(out.data.length, `${what}: data length`).toBe(m * n);
  const exact = refGemm(a, b, transA, transB);
  const absA = { ...a, data: a.data.map(Math.abs) };
  const absB = { ...b, data: b.data.map(Math.abs) };
  const magnitude = refGemm(absA, absB, transA, transB);
  for (let i = 0; i < exact.length; i++) {
    const want = exact[i]!;
    const got = out.data[i]!;
    const bound = 2 * u * (k + 2) * magnitude[i]! + 1e-37;
    const ok = Number.isFinite(want) ? Math.abs(got - want) <= bound : Number.isNaN(want) ? Number.isNaN(got) : got === want;
    if (!ok) expect.fail(`${what}: entry (${Math.floor(i / n)}, ${i % n}): got ${got}, expected ${want} (bound ${bound})`);
  }
}

/** `op(a)` of shape `[m x k]` (stored transposed when `trans`), values from `random`. */
function operand(rows: number, cols: number, trans: boolean, random: () => number, f?: (u: number) => number): Matrix {
  return trans ? randomMatrix(cols, rows, random, f) : randomMatrix(rows, cols, random, f);
}

const TRANS_PAIRS = [[false, false], [false, true], [true, false], [true, true]] as const;

/** Shapes `(M, K, N)`: scalars, single rows / columns, `K = 1`, odd sizes and ones that cross blocking edges. */
const GEMM_SHAPES: readonly (readonly [number, number, number])[] = [[1, 1, 1], [1, 17, 9], [9, 17, 1], [7, 1, 5], [7, 13, 5], [33, 70, 65], [130, 257, 9]];

function describeGemm({ test, kernel, u }: KernelSuite): void {
  test('gemm-shapes', 'gemm: matches the float64 product for every transA / transB and 1 x N, N x 1, K = 1 and odd shapes', async () => {
    const random = mulberry32(11);
    for (const [transA, transB] of TRANS_PAIRS) {
      for (const [m, k, n] of GEMM_SHAPES) {
        const a = operand(m, k, transA, random);
        const b = operand(k, n, transB, random);
        const [aCopy, bCopy] = [a.data.slice(), b.data.slice()];
        const out = await kernel().gemm(a, b, { transA, transB });
        expectProduct(out, a, b, transA, transB, u, `gemm ${m}x${k}x${n} transA=${transA} transB=${transB}`);
        expect(Array.from(a.data), 'a unmodified').toEqual(Array.from(aCopy));
        expect(Array.from(b.data), 'b unmodified').toEqual(Array.from(bCopy));
      }
    }
  });

  test('gemm-empty', 'gemm: empty outer dimensions give empty results, K = 0 gives zeros', async () => {
    for (const [transA, transB] of TRANS_PAIRS) {
      for (const [m, k, n] of [[0, 3, 4], [3, 0, 4], [3, 4, 0], [0, 0, 0], [1, 0, 1]] as const) {
        const a: Matrix = transA ? { rows: k, cols: m, data: new Float32Array(k * m).fill(1) } : { rows: m, cols: k, data: new Float32Array(m * k).fill(1) };
        const b: Matrix = transB ? { rows: n, cols: k, data: new Float32Array(n * k).fill(1) } : { rows: k, cols: n, data: new Float32Array(k * n).fill(1) };
        const out = await kernel().gemm(a, b, { transA, transB });
        expect([out.rows, out.cols], `${m}x${k}x${n} transA=${transA} transB=${transB}`).toEqual([m, n]);
        expect(Array.from(out.data)).toEqual(new Array<number>(m * n).fill(0));
      }
    }
  });

  test('gemm-non-finite', 'gemm: NaN and infinities propagate to the rows and columns they touch, and only there', async () => {
    const random = mulberry32(12);
    const [m, k, n] = [6, 9, 5];
    const positive = (x: number): number => 0.5 + x;
    for (const [transA, transB] of TRANS_PAIRS) {
      const a = operand(m, k, transA, random, positive);
      const b = operand(k, n, transB, random, positive);
      const at = (x: Matrix, trans: boolean, i: number, j: number): number => (trans ? j * x.cols + i : i * x.cols + j);
      a.data[at(a, transA, 1, 4)] = NaN; // row 1 of the product: NaN
      a.data[at(a, transA, 3, 0)] = Infinity; // row 3: +Infinity (b is positive)
      b.data[at(b, transB, 7, 2)] = -Infinity; // column 2: -Infinity, NaN where it meets row 3
      const out = await kernel().gemm(a, b, { transA, transB });
      expectProduct(out, a, b, transA, transB, u, `non-finite transA=${transA} transB=${transB}`);
    }
  });

  test('gemm-views', 'gemm: reads subarray views with a non-zero byte offset', async () => {
    const random = mulberry32(13);
    const big = randomMatrix(10, 6, random);
    const view: Matrix = { rows: 5, cols: 6, data: big.data.subarray(3 * 6, 8 * 6) };
    const b = randomMatrix(6, 4, random);
    const bView: Matrix = { rows: 4, cols: 6, data: randomMatrix(7, 6, random).data.subarray(2 * 6, 6 * 6) };
    expectProduct(await kernel().gemm(view, b, { transA: false, transB: false }), view, b, false, false, u, 'view a');
    expectProduct(await kernel().gemm(view, bView, { transA: false, transB: true }), view, bView, false, true, u, 'view a, view b^T');
  });

  test('gemm-concurrent', 'gemm: concurrent calls give the same results', async () => {
    const random = mulberry32(14);
    const a = randomMatrix(20, 30, random);
    const b = randomMatrix(30, 10, random);
    const results = await Promise.all(Array.from({ length: 6 }, () => kernel().gemm(a, b, { transA: false, transB: false })));
    for (const r of results) expect(Array.from(r.data)).toEqual(Array.from(results[0]!.data));
    expectProduct(results[0]!, a, b, false, false, u, 'concurrent');
  });
}
