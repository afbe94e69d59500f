/**
 * A {@link GemmKernel} backed by onnxruntime: a one-node ONNX graph (`Gemm` with `transA`/`transB`
 * attributes) run by onnxruntime-node's multi-threaded MLAS SGEMM. Typically tens of times faster
 * than core's portable kernel, and what makes sensitivity accumulation and dense head evaluation fast.
 * Its `accelerators` implement every optional operation of {@link KernelAccelerators} as ONNX graphs: the fused
 * sensitivity product, the banded grid scoring step and the float64 product (MLAS DGEMM, for the eigensolver).
 */
import { availableParallelism } from 'node:os';
import * as ort from 'onnxruntime-node';
import onnxProto from 'onnx-proto';
import {
  OpnpError,
  registerGemmKernel,
  type BandedGridLogSumExp,
  type BandedGridShape,
  type GemmKernel,
  type GemmOptions,
  type KernelAccelerators,
  type Matrix,
  type Matrix64,
  type SoftmaxTransposedProductOptions,
} from '@opnp/core';

const { onnx } = onnxProto;

/** ONNX `TensorProto.DataType.FLOAT`. */
const FLOAT = 1;
/** ONNX `TensorProto.DataType.INT64`. */
const INT64 = 7;
/** ONNX `TensorProto.DataType.DOUBLE`. */
const DOUBLE = 11;

/** Options of {@link createOnnxGemmKernel}. */
export interface OnnxGemmKernelOptions {
  /** Threads of onnxruntime's intra-op pool. Default `os.availableParallelism()`. */
  intraOpNumThreads?: number;
}

/**
 * A {@link GemmKernel} with every accelerator operation of {@link KernelAccelerators}, whose
 * {@link GemmKernel.dispose} releases its onnxruntime sessions.
 */
export interface OnnxGemmKernel extends GemmKernel {
  readonly name: 'onnxruntime';
  readonly accelerators: Readonly<KernelAccelerators>;
  dispose(): Promise<void>;
}

function floatInput(name: string, rows: string, cols: string, elemType = FLOAT): InstanceType<typeof onnx.ValueInfoProto> {
  return onnx.ValueInfoProto.create({
    name,
    type: {
      tensorType: {
        elemType,
        shape: { dim: [{ dimParam: rows }, { dimParam: cols }] },
      },
    },
  });
}

/**
 * Serialises the model `Y = op(A) * op(B)` (one ONNX `Gemm` node, opset 13, `alpha = 1`, no `C` input)
 * with symbolic 2-D float inputs (double with `float64`, for the `float64Product` accelerator).
 */
export function buildGemmModel(transA: boolean, transB: boolean, float64 = false): Uint8Array {
  const elemType = float64 ? DOUBLE : FLOAT;
  const INT = onnx.AttributeProto.AttributeType.INT;
  const node = onnx.NodeProto.create({
    opType: 'Gemm',
    name: 'gemm',
    input: ['A', 'B'],
    output: ['Y'],
    attribute: [
      { name: 'transA', type: INT, i: transA ? 1 : 0 },
      { name: 'transB', type: INT, i: transB ? 1 : 0 },
    ],
  });
  const graph = onnx.GraphProto.create({
    name: `opnp_gemm${float64 ? '64' : ''}_${transA ? 't' : 'n'}${transB ? 't' : 'n'}`,
    node: [node],
    input: [floatInput('A', 'a_rows', 'a_cols', elemType), floatInput('B', 'b_rows', 'b_cols', elemType)],
    output: [floatInput('Y', 'm', 'n', elemType)],
  });
  const model = onnx.ModelProto.create({
    irVersion: 7,
    producerName: '@opnp/backend-onnx',
    opsetImport: [{ domain: '', version: 13 }],
    graph,
  });
  return onnx.ModelProto.encode(model).finish();
}

/**
 * Serialises the fused sensitivity model `Y = softmax(L / T)^T op(H)` (opset 13: `Div`, `Softmax` over
 * the class axis, optional `Abs`, `Gemm` with `transA = 1`); `T` is a `[1]` float input.
 */
export function buildSoftmaxProductModel(absolute: boolean): Uint8Array {
  const INT = onnx.AttributeProto.AttributeType.INT;
  const nodes = [
    onnx.NodeProto.create({ opType: 'Div', name: 'scale', input: ['L', 'T'], output: ['LT'] }),
    onnx.NodeProto.create({ opType: 'Softmax', name: 'softmax', input: ['LT'], output: ['P'], attribute: [{ name: 'axis', type: INT, i: 1 }] }),
  ];
  if (absolute) nodes.push(onnx.NodeProto.create({ opType: 'Abs', name: 'abs', input: ['H'], output: ['HA'] }));
  nodes.push(
    onnx.NodeProto.create({
      opType: 'Gemm',
      name: 'gemm',
      input: ['P', absolute ? 'HA' : 'H'],
      output: ['Y'],
      attribute: [{ name: 'transA', type: INT, i: 1 }],
    }),
  );
  const scalar = onnx.ValueInfoProto.create({ name: 'T', type: { tensorType: { elemType: FLOAT, shape: { dim: [{ dimValue: 1 }] } } } });
  const graph = onnx.GraphProto.create({
    name: `opnp_sensitivity_${absolute ? 'abs' : 'signed'}`,
    node: nodes,
    input: [floatInput('L', 'n', 'c'), floatInput('H', 'n', 'd'), scalar],
    output: [floatInput('Y', 'c', 'd')],
  });
  const model = onnx.ModelProto.create({ irVersion: 7, producerName: '@opnp/backend-onnx', opsetImport: [{ domain: '', version: 13 }], graph });
  return onnx.ModelProto.encode(model).finish();
}

/** The structure of a banded grid scoring model (everything but the number of rows). */
type BandedGridStructure = Omit<BandedGridShape, 'rows'>;

/**
 * Serialises the banded grid scoring model (opset 13) for one {@link BandedGridStructure}. Inputs: `P0..P{m-1}`
 * (`[R x S*C]`, the parts) and `bias [S*C]` (the bias on each low weight entry, zeros on the high ones); outputs `Y [R x combinations]` (`logSum`) and `shifts [R x 4]`, as
 * the `bandedGridLogSumExp` accelerator (`KernelAccelerators`) specifies. The four groups of partial logits (low / high weights on low /
 * high neurons) are each shifted by their row maximum and exponentiated once per `(level, level, class)`; a point's
 * sum over classes is then `sum_c Y[a,b,bn,c] Xt[a,b,c,an]` with `Xt` = the product of the two groups that depend on
 * `an` and `Y` = the product of the two that depend on `bn`: one batched MatMul, so the exponentials cost
 * `S * (neuronLow + neuronHigh)` per class instead of one per grid point.
 */
export function buildBandedGridModel(structure: BandedGridStructure): Uint8Array {
  const { classes: C, weightLow: wL, weightHigh: wH, neuronLow: nL, neuronHigh: nH } = structure;
  const S = wL + wH;
  const INT = onnx.AttributeProto.AttributeType.INT;
  const INTS = onnx.AttributeProto.AttributeType.INTS;
  const TENSOR = onnx.AttributeProto.AttributeType.TENSOR;
  const nodes: InstanceType<typeof onnx.NodeProto>[] = [];
  const initializer: InstanceType<typeof onnx.TensorProto>[] = [];
  let counter = 0;
  const op = (opType: string, input: string[], attribute: object[] = []): string => {
    const output = `${opType.toLowerCase()}_${counter++}`;
    nodes.push(onnx.NodeProto.create({ opType, name: output, input, output: [output], attribute }));
    return output;
  };
  const int64 = (values: number[]): string => {
    const name = `const_${counter++}`;
    initializer.push(onnx.TensorProto.create({ name, dims: [values.length], dataType: INT64, int64Data: values }));
    return name;
  };
  const slice = (x: string, start: number, end: number, axis: number) => op('Slice', [x, int64([start]), int64([end]), int64([axis])]);
  const unsqueeze = (x: string, axis: number) => op('Unsqueeze', [x, int64([axis])]);
  const concat = (xs: string[], axis: number) => (xs.length === 1 ? xs[0]! : op('Concat', xs, [{ name: 'axis', type: INT, i: axis }]));
  const rowsOf = slice(op('Shape', ['P0']), 0, 1, 0);
  /** A `[R, ...dims]` tensor filled with `value`. */
  const filled = (dims: number[], value: number) =>
    op('ConstantOfShape', [op('Concat', [rowsOf, int64(dims)], [{ name: 'axis', type: INT, i: 0 }])], [
      { name: 'value', type: TENSOR, t: onnx.TensorProto.create({ dims: [1], dataType: FLOAT, floatData: [value] }) },
    ]);
  const ones = (dims: number[]) => filled(dims, 1);
  /** Shifts a group by its row maximum and exponentiates it; returns `[exp, shift [R x 1]]`. */
  const shiftedExp = (group: string, axes: number[]): [string, string] => {
    const max = op('ReduceMax', [group], [{ name: 'axes', type: INTS, ints: axes }, { name: 'keepdims', type: INT, i: 1 }]);
    return [op('Exp', [op('Sub', [group, max])]), op('Reshape', [max, int64([-1, 1])])];
  };

  // Cumulative parts: L[i] = sum_{k >= i} P_k (low side), U[i] = sum_{k >= i} P_{nL + k} (high side), each [R, S, C].
  const part = Array.from({ length: nL + nH }, (_, k) => op('Reshape', [`P${k}`, int64([-1, S, C])]));
  const L: string[] = new Array<string>(nL);
  // The bias joins the low weight entries of the last low part (`bias` is fed tiled as [S*C], zeros on the high entries).
  for (let i = nL - 1; i >= 0; i--) L[i] = op('Add', [part[i]!, i === nL - 1 ? op('Reshape', ['bias', int64([S, C])]) : L[i + 1]!]);
  const U: string[] = new Array<string>(nH);
  for (let i = nH - 1; i >= 0; i--) U[i] = i === nH - 1 ? part[nL + i]! : op('Add', [part[nL + i]!, U[i + 1]!]);
  const split = (x: string, axis: number): [string, string] => {
    const lo = slice(x, 0, wL, axis);
    return [lo, wH > 0 ? slice(x, wL, S, axis) : lo];
  };

  // Xt [R, wL, wH+1, C, nL] = exp(lo(L) + bias) * exp(hi(L)) (padded with ones at b = wH), classes before an.
  const lStack = op('Transpose', [op('Reshape', [concat(L, 1), int64([-1, nL, S, C])])], [{ name: 'perm', type: INTS, ints: [0, 2, 3, 1] }]);
  const [lLo, lHi] = split(lStack, 1);
  const [ell, sLL] = shiftedExp(lLo, [1, 2, 3]);
  let Xt = unsqueeze(ell, 2);
  let sHL: string | undefined;
  if (wH > 0) {
    const [ehl, s] = shiftedExp(lHi, [1, 2, 3]);
    sHL = s;
    Xt = op('Mul', [Xt, unsqueeze(concat([ehl, ones([1, C, nL])], 1), 1)]);
  }
  // Y [R, wL, wH+1, nH+1, C] = exp(lo(U)) * exp(hi(U)), padded with ones at bn = nH (and b = wH); Z = Y Xt.
  let sLH: string | undefined;
  let sHH: string | undefined;
  let Z: string;
  if (nH > 0) {
    const uStack = concat(U.map((x) => unsqueeze(x, 2)), 2);
    const [uLo, uHi] = split(uStack, 1);
    const [elh, s1] = shiftedExp(uLo, [1, 2, 3]);
    sLH = s1;
    let Y = unsqueeze(concat([elh, ones([wL, 1, C])], 2), 2);
    if (wH > 0) {
      const [ehh, s2] = shiftedExp(uHi, [1, 2, 3]);
      sHH = s2;
      Y = op('Mul', [Y, unsqueeze(concat([concat([ehh, ones([wH, 1, C])], 2), ones([1, nH + 1, C])], 1), 1)]);
    }
    Z = op('MatMul', [Y, Xt]);
  } else {
    Z = op('ReduceSum', [Xt, int64([3])], [{ name: 'keepdims', type: INT, i: 1 }]);
  }
  const combinations = wL * (wH + 1) * nL * (nH + 1);
  nodes.push(onnx.NodeProto.create({ opType: 'Reshape', name: 'Y', input: [op('Log', [Z]), int64([-1, combinations])], output: ['Y'] }));
  const absent = () => filled([1], 0); // the shift of an absent group (never applied)
  nodes.push(onnx.NodeProto.create({ opType: 'Concat', name: 'shifts', input: [sLL, sLH ?? absent(), sHL ?? absent(), sHH ?? absent()], output: ['shifts'], attribute: [{ name: 'axis', type: INT, i: 1 }] }));

  const tensor = (name: string, dims: (number | string)[]) =>
    onnx.ValueInfoProto.create({ name, type: { tensorType: { elemType: FLOAT, shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) } } } });
  const graph = onnx.GraphProto.create({
    name: 'opnp_banded_grid',
    node: nodes,
    initializer,
    input: [...part.map((_, k) => tensor(`P${k}`, ['r', S * C])), tensor('bias', [S * C])],
    output: [tensor('Y', ['r', combinations]), tensor('shifts', ['r', 4])],
  });
  const model = onnx.ModelProto.create({ irVersion: 7, producerName: '@opnp/backend-onnx', opsetImport: [{ domain: '', version: 13 }], graph });
  return onnx.ModelProto.encode(model).finish();
}

/**
 * Elements of the largest intermediate (`X` or `Y`) of one banded grid run: 4 MB keeps the chain of elementwise
 * ops and the final MatMul in cache.
 */
const BANDED_GRID_ELEMENTS = 1 << 20;

/** The kernel's onnxruntime sessions: one lazily created session per model, released together by `dispose`. */
class KernelSessions {
  private readonly sessions = new Map<string, Promise<ort.InferenceSession>>();
  private disposed = false;

  constructor(private readonly threads: number) {}

  /** Throws `DISPOSED` once {@link KernelSessions.dispose} was called. */
  assertUsable(): void {
    if (this.disposed) throw new OpnpError('DISPOSED', 'The onnxruntime GEMM kernel was disposed');
  }

  /** One lazily created session per model (GEMM trans pair, fused sensitivity variant, banded grid structure). */
  get(key: string, build: () => Uint8Array): Promise<ort.InferenceSession> {
    let pending = this.sessions.get(key);
    if (pending === undefined) {
      pending = ort.InferenceSession.create(build(), {
        intraOpNumThreads: this.threads,
        interOpNumThreads: 1,
        executionMode: 'sequential',
        graphOptimizationLevel: 'all',
        // The kernel's sessions run one after another (GEMMs, then scoring); a finished session's pool spinning
        // while waiting for more work takes the cores from the next one.
        extra: { session: { intra_op: { allow_spinning: '0' } } },
      }).catch((cause: unknown) => {
        this.sessions.delete(key);
        throw new OpnpError('BACKEND_FAILURE', 'onnxruntime could not create a kernel session', {
          actual: cause instanceof Error ? cause.message : String(cause),
          cause,
        });
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

/** Runs `session` on `feeds`, wrapping onnxruntime's errors as `BACKEND_FAILURE` (`what` names the operation). */
async function run(session: ort.InferenceSession, feeds: Record<string, ort.Tensor>, what: string, expected?: string): Promise<ort.InferenceSession.OnnxValueMapType> {
  try {
    return await session.run(feeds);
  } catch (cause) {
    throw new OpnpError('BACKEND_FAILURE', `onnxruntime failed to run the ${what}`, {
      ...(expected === undefined ? {} : { expected }),
      actual: cause instanceof Error ? cause.message : String(cause),
      cause,
    });
  }
}

/** {@link GemmKernel.gemm} on onnxruntime's `Gemm`. */
async function onnxGemm(sessions: KernelSessions, a: Matrix, b: Matrix, { transA, transB }: Required<GemmOptions>): Promise<Matrix> {
  sessions.assertUsable();
  const m = transA ? a.cols : a.rows;
  const k = transA ? a.rows : a.cols;
  const n = transB ? b.rows : b.cols;
  // onnxruntime rejects or mishandles empty dimensions; the product is all zeros (or empty) then.
  if (m === 0 || n === 0 || k === 0) return { rows: m, cols: n, data: new Float32Array(m * n) };
  const s = await sessions.get(`gemm:${transA ? 't' : 'n'}${transB ? 't' : 'n'}`, () => buildGemmModel(transA, transB));
  const feeds = {
    A: new ort.Tensor('float32', a.data, [a.rows, a.cols]),
    B: new ort.Tensor('float32', b.data, [b.rows, b.cols]),
  };
  const results = await run(s, feeds, 'GEMM', `op(a) ${m} x ${k} times op(b) ${k} x ${n}`);
  const data = (results.Y as ort.Tensor).data as Float32Array;
  if (data.length !== m * n) {
    throw new OpnpError('BACKEND_FAILURE', 'onnxruntime returned a GEMM output of the wrong size', {
      expected: m * n,
      actual: data.length,
    });
  }
  return { rows: m, cols: n, data };
}

/** The `float64Product` accelerator: onnxruntime's `Gemm` in double precision (MLAS DGEMM). */
async function onnxFloat64Product(sessions: KernelSessions, a: Matrix64, b: Matrix64, { transA, transB }: Required<GemmOptions>): Promise<Matrix64> {
  sessions.assertUsable();
  const m = transA ? a.cols : a.rows;
  const k = transA ? a.rows : a.cols;
  const n = transB ? b.rows : b.cols;
  if (m === 0 || n === 0 || k === 0) return { rows: m, cols: n, data: new Float64Array(m * n) };
  const s = await sessions.get(`gemm64:${transA ? 't' : 'n'}${transB ? 't' : 'n'}`, () => buildGemmModel(transA, transB, true));
  const feeds = {
    A: new ort.Tensor('float64', a.data, [a.rows, a.cols]),
    B: new ort.Tensor('float64', b.data, [b.rows, b.cols]),
  };
  const results = await run(s, feeds, 'float64 product', `op(a) ${m} x ${k} times op(b) ${k} x ${n}`);
  const data = (results.Y as ort.Tensor).data as Float64Array;
  if (data.length !== m * n) {
    throw new OpnpError('BACKEND_FAILURE', 'onnxruntime returned a float64 product of the wrong size', { expected: m * n, actual: data.length });
  }
  return { rows: m, cols: n, data };
}

/** The `softmaxTransposedProduct` accelerator on the fused sensitivity model. */
async function onnxSoftmaxTransposedProduct(
  sessions: KernelSessions,
  logits: Matrix,
  features: Matrix,
  { temperature, absolute }: SoftmaxTransposedProductOptions,
): Promise<Matrix> {
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
      L: new ort.Tensor('float32', logits.data, [n, c]),
      H: new ort.Tensor('float32', features.data, [n, d]),
      T: new ort.Tensor('float32', Float32Array.of(temperature), [1]),
    },
    'sensitivity product',
  );
  const data = (results.Y as ort.Tensor).data as Float32Array;
  return { rows: c, cols: d, data };
}

/** Throws `SHAPE_MISMATCH` unless `parts`, `shape` and `bias` fit {@link BandedGridShape}. */
function assertBandedInputs(parts: readonly Float32Array[], shape: BandedGridShape, bias: Float32Array): void {
  const { rows: R, classes: C, weightLow: wL, weightHigh: wH, neuronLow: nL, neuronHigh: nH } = shape;
  const S = wL + wH;
  const sizes = [R, C, wL, wH, nL, nH];
  if (!sizes.every((v) => Number.isInteger(v) && v >= 0) || wL < 1 || nL < 1 || C < 1 || parts.length !== nL + nH || parts.some((p) => p.length !== R * S * C) || bias.length !== C) {
    throw new OpnpError('SHAPE_MISMATCH', 'bandedGridLogSumExp: parts, shape and bias do not fit', {
      expected: `${nL} + ${nH} parts of ${R} x ${S} x ${C} floats and a bias of ${C} (weightLow, neuronLow, classes >= 1)`,
      actual: `${parts.length} parts of lengths ${[...new Set(parts.map((p) => p.length))].join(', ')}, bias ${bias.length}`,
    });
  }
}

/** The `bandedGridLogSumExp` accelerator on the banded grid scoring model, in chunks of rows. */
async function onnxBandedGridLogSumExp(sessions: KernelSessions, parts: readonly Float32Array[], shape: BandedGridShape, bias: Float32Array): Promise<BandedGridLogSumExp> {
  sessions.assertUsable();
  assertBandedInputs(parts, shape, bias);
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
  const biasTensor = new ort.Tensor('float32', tiledBias, [S * C]);
  for (let r0 = 0; r0 < R; r0 += chunk) {
    const rows = Math.min(chunk, R - r0);
    const feeds: Record<string, ort.Tensor> = { bias: biasTensor };
    parts.forEach((p, k) => (feeds[`P${k}`] = new ort.Tensor('float32', p.subarray(r0 * S * C, (r0 + rows) * S * C), [rows, S * C])));
    const results = await run(s, feeds, 'banded grid scoring');
    logSum.set((results.Y as ort.Tensor).data as Float32Array, r0 * combinations);
    shifts.set((results.shifts as ort.Tensor).data as Float32Array, r0 * 4);
  }
  return { logSum, shifts };
}

/**
 * Creates the `'onnxruntime'` GEMM kernel, with every accelerator operation (`softmaxTransposedProduct`,
 * `bandedGridLogSumExp`, `float64Product`). Sessions (one per `(transA, transB)` pair, fused sensitivity variant and banded grid
 * structure) are created lazily on first use, with one shared init promise each; inputs are passed zero-copy.
 *
 * @example
 * ```ts
 * const kernel = createOnnxGemmKernel();
 * const acc = new SensitivityAccumulator(head, { kernel });
 * // ...
 * await kernel.dispose();
 * ```
 */
export function createOnnxGemmKernel(options: OnnxGemmKernelOptions = {}): OnnxGemmKernel {
  const threads = options.intraOpNumThreads ?? availableParallelism();
  if (!Number.isInteger(threads) || threads < 1) {
    throw new OpnpError('INVALID_ARGUMENT', 'intraOpNumThreads must be a positive integer', { actual: threads });
  }
  const sessions = new KernelSessions(threads);
  return {
    name: 'onnxruntime',
    gemm: (a, b, gemmOptions) => onnxGemm(sessions, a, b, gemmOptions),
    accelerators: Object.freeze({
      softmaxTransposedProduct: (logits: Matrix, features: Matrix, productOptions: SoftmaxTransposedProductOptions) =>
        onnxSoftmaxTransposedProduct(sessions, logits, features, productOptions),
      bandedGridLogSumExp: (parts: readonly Float32Array[], shape: BandedGridShape, bias: Float32Array) => onnxBandedGridLogSumExp(sessions, parts, shape, bias),
      float64Product: (a: Matrix64, b: Matrix64, productOptions: Required<GemmOptions>) => onnxFloat64Product(sessions, a, b, productOptions),
    }),
    dispose: () => sessions.dispose(),
  };
}

let registeredFactory: (() => GemmKernel) | undefined;

/**
 * Registers the `'onnxruntime'` kernel in core's GEMM kernel registry (lazily created on first
 * resolution). Calling it again is a no-op (only raises the priority).
 */
export function registerOnnxGemmKernel(priority = 10): void {
  registeredFactory ??= () => createOnnxGemmKernel();
  registerGemmKernel('onnxruntime', registeredFactory, priority);
}
