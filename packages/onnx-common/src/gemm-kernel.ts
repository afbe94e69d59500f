/**
 * A {@link GemmKernel} on onnxruntime: one-node ONNX `Gemm` graphs (with `transA`/`transB` attributes) run by
 * onnxruntime's SGEMM (MLAS multi-threaded in onnxruntime-node, SIMD wasm in onnxruntime-web). Its
 * `accelerators` implement every optional operation of {@link KernelAccelerators} as ONNX graphs: the fused
 * sensitivity product, the banded grid scoring step and the float64 product (onnxruntime's double `Gemm`, for the
 * eigensolver). Generic over the runtime ({@link OrtRuntime}).
 */
import {
  OpnpError,
  type BandedGridLogSumExp,
  type BandedGridParts,
  type BandedGridShape,
  type GemmKernel,
  type GemmOptions,
  type KernelAccelerators,
  type Matrix,
  type Matrix64,
  type SoftmaxTransposedProduct,
  type SoftmaxTransposedProductOptions,
} from '@opnp/core/base';
import { bandedGridLogSumExpWasm } from '@opnp/core/backend';
import { buildBandedGridModel, buildGemmModel, buildSoftmaxProductModel } from './kernel-models.js';
import { messageOf, runSession, type OrtRuntime, type OrtSession, type OrtSessionOptions, type OrtTensor } from './runtime.js';

/** A `bandedGridLogSumExp` implementation that may be unable to run (null). */
type BandedScorer = NonNullable<OrtGemmKernelOptions<string>['bandedScorer']>;

/** Options of {@link createOrtGemmKernel}. */
export interface OrtGemmKernelOptions<Name extends string> {
  /** The kernel's registry name (`'onnxruntime'`, `'onnxruntime-web'`). */
  name: Name;
  /** Options of every kernel session (threads, execution providers). */
  sessionOptions: OrtSessionOptions;
  /**
   * The `bandedGridLogSumExp` implementation tried first (null where it cannot run), e.g. `@opnp/core/node`'s
   * `offloadedBandedGridLogSumExp`, which scores on a worker thread while onnxruntime-node's products hold the main
   * one. Default: core's WebAssembly SIMD implementation on the calling thread. Either way the banded grid scoring
   * model on onnxruntime is the fallback.
   */
  bandedScorer?: (parts: BandedGridParts, shape: BandedGridShape, bias: Float32Array) => Promise<BandedGridLogSumExp | null> | BandedGridLogSumExp | null;
}

/**
 * A {@link GemmKernel} with every accelerator operation of {@link KernelAccelerators}, whose
 * {@link GemmKernel.dispose} releases its onnxruntime sessions.
 */
export interface OrtGemmKernel<Name extends string = string> extends GemmKernel {
  readonly name: Name;
  readonly accelerators: Readonly<KernelAccelerators>;
  dispose(): Promise<void>;
}

/**
 * Elements of the largest intermediate (`X` or `Y`) of one banded grid run: 4 MB keeps the chain of elementwise
 * ops and the final MatMul in cache.
 */
const BANDED_GRID_ELEMENTS = 1 << 20;

/** The kernel's onnxruntime sessions: one lazily created session per model, released together by `dispose`. */
class KernelSessions {
  private readonly sessions = new Map<string, Promise<OrtSession>>();
  private disposed = false;

  constructor(readonly ort: OrtRuntime, private readonly options: OrtSessionOptions) {}

  /** Throws `DISPOSED` once {@link KernelSessions.dispose} was called. */
  assertUsable(): void {
    if (this.disposed) throw new OpnpError('DISPOSED', 'The onnxruntime GEMM kernel was disposed');
  }

  /** One lazily created session per model (GEMM trans pair, fused sensitivity variant, banded grid structure). */
  get(key: string, build: () => Uint8Array): Promise<OrtSession> {
    let pending = this.sessions.get(key);
    if (pending === undefined) {
      pending = this.ort.InferenceSession.create(build(), this.options).catch((cause: unknown) => {
        this.sessions.delete(key);
        throw new OpnpError('BACKEND_FAILURE', 'onnxruntime could not create a kernel session', { actual: messageOf(cause), cause });
      });
      this.sessions.set(key, pending);
    }
    return pending;
  }

  /** Releases every session; later calls fail with `DISPOSED`. Disposing twice is fine. */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    const pending = [...this.sessions.values()];
    this.sessions.clear();
    for (const p of pending) {
      try {
        await (await p).release();
      } catch {
        // A session that failed to initialise has nothing to release.
      }
    }
  }
}

/** Runs a kernel session, wrapping onnxruntime's errors as `BACKEND_FAILURE` (`what` names the operation). */
function run(session: OrtSession, feeds: Record<string, OrtTensor>, what: string, expected?: string) {
  return runSession(session, feeds, what, expected === undefined ? {} : { expected });
}

/** A float32 tensor of `data` with `dims` on the kernel's runtime. */
function tensor(sessions: KernelSessions, data: Float32Array, dims: readonly number[]): OrtTensor {
  return new sessions.ort.Tensor('float32', data, [...dims]);
}

/** `op(a) * op(b)` on onnxruntime's `Gemm`, in float32 ({@link GemmKernel.gemm}) or float64 (the `float64Product` accelerator). */
async function onnxProduct<M extends Matrix | Matrix64>(sessions: KernelSessions, a: M, b: M, { transA, transB }: Required<GemmOptions>): Promise<M> {
  sessions.assertUsable();
  const float64 = a.data instanceof Float64Array;
  const m = transA ? a.cols : a.rows;
  const k = transA ? a.rows : a.cols;
  const n = transB ? b.rows : b.cols;
  const zeros = () => ({ rows: m, cols: n, data: float64 ? new Float64Array(m * n) : new Float32Array(m * n) }) as M;
  // onnxruntime rejects or mishandles empty dimensions; the product is all zeros (or empty) then.
  if (m === 0 || n === 0 || k === 0) return zeros();
  const ops = `${transA ? 't' : 'n'}${transB ? 't' : 'n'}`;
  const s = await sessions.get(`gemm${float64 ? '64' : ''}:${ops}`, () => buildGemmModel(transA, transB, float64));
  const type = float64 ? 'float64' : 'float32';
  const feeds = {
    A: new sessions.ort.Tensor(type, a.data, [a.rows, a.cols]),
    B: new sessions.ort.Tensor(type, b.data, [b.rows, b.cols]),
  };
  const what = float64 ? 'float64 product' : 'GEMM';
  const results = await run(s, feeds, what, `op(a) ${m} x ${k} times op(b) ${k} x ${n}`);
  const data = (results.Y as OrtTensor).data as M['data'];
  if (data.length !== m * n) {
    throw new OpnpError('BACKEND_FAILURE', `onnxruntime returned a ${what} output of the wrong size`, {
      expected: m * n,
      actual: data.length,
    });
  }
  return { rows: m, cols: n, data } as M;
}

/**
 * The `softmaxTransposedProduct` accelerator on the fused sensitivity model; `knownFinite` comes from the model's
 * float32 sum of all entries (finite only if every entry is).
 */
async function onnxSoftmaxTransposedProduct(
  sessions: KernelSessions,
  logits: Matrix,
  features: Matrix,
  { temperature, absolute }: SoftmaxTransposedProductOptions,
): Promise<SoftmaxTransposedProduct> {
  sessions.assertUsable();
  const n = logits.rows;
  const c = logits.cols;
  const d = features.cols;
  if (features.rows !== n) {
    throw new OpnpError('SHAPE_MISMATCH', 'logits and features must have the same number of rows', { expected: n, actual: features.rows });
  }
  if (n === 0 || c === 0 || d === 0) return { rows: c, cols: d, data: new Float32Array(c * d) };
  const s = await sessions.get(`sensitivity:${absolute}`, () => buildSoftmaxProductModel(absolute));
  const results = await run(
    s,
    {
      L: tensor(sessions, logits.data, [n, c]),
      H: tensor(sessions, features.data, [n, d]),
      T: tensor(sessions, Float32Array.of(temperature), [1]),
    },
    'sensitivity product',
  );
  const data = (results.Y as OrtTensor).data as Float32Array;
  const total = ((results.S as OrtTensor).data as Float32Array)[0]!;
  return { rows: c, cols: d, data, knownFinite: Number.isFinite(total) };
}

/** Throws `SHAPE_MISMATCH` unless `parts`, `shape` and `bias` fit {@link BandedGridShape} and {@link BandedGridParts}. */
function assertBandedInputs(parts: BandedGridParts, shape: BandedGridShape, bias: Float32Array): void {
  const { rows: R, classes: C, weightLow: wL, weightHigh: wH, neuronLow: nL, neuronHigh: nH } = shape;
  const sizes = [R, C, wL, wH, nL, nH];
  const fits = (arrays: readonly Float32Array[], entries: number) => arrays.length === nL + nH && arrays.every((p) => p.length === R * entries * C);
  if (!sizes.every((v) => Number.isInteger(v) && v >= 0) || wL < 1 || nL < 1 || C < 1 || !fits(parts.low, wL) || !fits(parts.high, wH) || bias.length !== C) {
    const lengths = (arrays: readonly Float32Array[]) => [...new Set(arrays.map((p) => p.length))].join(', ');
    throw new OpnpError('SHAPE_MISMATCH', 'bandedGridLogSumExp: parts, shape and bias do not fit', {
      expected: `${nL} + ${nH} low parts of ${R} x ${wL} x ${C} floats, as many high parts of ${R} x ${wH} x ${C}, and a bias of ${C} (weightLow, neuronLow, classes >= 1)`,
      actual: `${parts.low.length} low parts of lengths ${lengths(parts.low)}, ${parts.high.length} high parts of lengths ${lengths(parts.high)}, bias ${bias.length}`,
    });
  }
}

/**
 * The `bandedGridLogSumExp` accelerator: `scorer` (by default core's WebAssembly SIMD implementation,
 * `bandedGridLogSumExpWasm`, about half the CPU time of the graph below on ImageNet's 1000 classes), or, where it cannot
 * run, the banded grid scoring model on onnxruntime.
 */
async function bandedGridLogSumExp(sessions: KernelSessions, scorer: BandedScorer, parts: BandedGridParts, shape: BandedGridShape, bias: Float32Array): Promise<BandedGridLogSumExp> {
  sessions.assertUsable();
  assertBandedInputs(parts, shape, bias);
  return (await scorer(parts, shape, bias)) ?? onnxBandedGridLogSumExp(sessions, parts, shape, bias);
}

/** Rows `r0 .. r0 + rows` of part `k` as the model's input `P{k}` `[rows x S*C]`: each row's low entries, then its high ones. */
function stackedRows(parts: BandedGridParts, k: number, shape: BandedGridShape, r0: number, rows: number): Float32Array {
  const { classes: C, weightLow: wL, weightHigh: wH } = shape;
  const S = wL + wH;
  const low = parts.low[k]!, high = parts.high[k]!;
  const out = new Float32Array(rows * S * C);
  for (let r = 0; r < rows; r++) {
    out.set(low.subarray((r0 + r) * wL * C, (r0 + r + 1) * wL * C), r * S * C);
    out.set(high.subarray((r0 + r) * wH * C, (r0 + r + 1) * wH * C), (r * S + wL) * C);
  }
  return out;
}

/** The `bandedGridLogSumExp` accelerator on the banded grid scoring model, in chunks of rows. */
async function onnxBandedGridLogSumExp(sessions: KernelSessions, parts: BandedGridParts, shape: BandedGridShape, bias: Float32Array): Promise<BandedGridLogSumExp> {
  const { rows: R, classes: C, weightLow: wL, weightHigh: wH, neuronLow: nL, neuronHigh: nH } = shape;
  const S = wL + wH;
  const combinations = wL * (wH + 1) * nL * (nH + 1);
  const logSum = new Float32Array(R * combinations);
  const shifts = new Float32Array(R * 4);
  if (R === 0) return { logSum, shifts };
  const s = await sessions.get(`banded:${C}:${wL}:${wH}:${nL}:${nH}`, () => buildBandedGridModel(shape));
  const perRow = Math.max(wL * (wH + 1) * nL, wL * (wH + 1) * (nH + 1)) * C;
  const chunk = Math.max(1, Math.floor(BANDED_GRID_ELEMENTS / perRow));
  const tiledBias = new Float32Array(S * C);
  for (let a = 0; a < wL; a++) tiledBias.set(bias, a * C);
  const biasTensor = tensor(sessions, tiledBias, [S * C]);
  for (let r0 = 0; r0 < R; r0 += chunk) {
    const rows = Math.min(chunk, R - r0);
    const feeds: Record<string, OrtTensor> = { bias: biasTensor };
    for (let k = 0; k < nL + nH; k++) feeds[`P${k}`] = tensor(sessions, stackedRows(parts, k, shape, r0, rows), [rows, S * C]);
    const results = await run(s, feeds, 'banded grid scoring');
    logSum.set((results.Y as OrtTensor).data as Float32Array, r0 * combinations);
    shifts.set((results.shifts as OrtTensor).data as Float32Array, r0 * 4);
  }
  return { logSum, shifts };
}

/**
 * Creates a GEMM kernel on `ort` with both accelerator operations (`softmaxTransposedProduct`,
 * `bandedGridLogSumExp`). Sessions (one per `(transA, transB)` pair, fused sensitivity variant and banded grid
 * structure) are created lazily on first use with `options.sessionOptions`, with one shared init promise each;
 * inputs are passed zero-copy where the runtime allows.
 *
 * @example
 * ```ts
 * import * as ort from 'onnxruntime-web';
 * const kernel = createOrtGemmKernel(ort, { name: 'onnxruntime-web', sessionOptions: { executionProviders: ['wasm'] } });
 * const acc = new SensitivityAccumulator(head, { kernel });
 * // ...
 * await kernel.dispose();
 * ```
 */
export function createOrtGemmKernel<Name extends string>(ort: OrtRuntime, options: OrtGemmKernelOptions<Name>): OrtGemmKernel<Name> {
  const sessions = new KernelSessions(ort, options.sessionOptions);
  const scorer = options.bandedScorer ?? bandedGridLogSumExpWasm;
  return {
    name: options.name,
    gemm: (a, b, gemmOptions) => onnxProduct(sessions, a, b, gemmOptions),
    accelerators: Object.freeze({
      softmaxTransposedProduct: (logits: Matrix, features: Matrix, productOptions: SoftmaxTransposedProductOptions) =>
        onnxSoftmaxTransposedProduct(sessions, logits, features, productOptions),
      bandedGridLogSumExp: (parts: BandedGridParts, shape: BandedGridShape, bias: Float32Array) => bandedGridLogSumExp(sessions, scorer, parts, shape, bias),
      float64Product: (a: Matrix64, b: Matrix64, productOptions: Required<GemmOptions>) => onnxProduct(sessions, a, b, productOptions),
    }),
    dispose: () => sessions.dispose(),
  };
}
