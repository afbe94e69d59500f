/**
 * A {@link GemmKernel} backed by onnxruntime: a one-node ONNX graph (`Gemm` with `transA`/`transB`
 * attributes) run by onnxruntime-node's multi-threaded MLAS SGEMM. Typically tens of times faster
 * than core's portable kernel, and what makes sensitivity accumulation and dense head evaluation fast.
 */
import { availableParallelism } from 'node:os';
import * as ort from 'onnxruntime-node';
import onnxProto from 'onnx-proto';
import { OpnpError, registerGemmKernel, type GemmKernel, type Matrix } from '@opnp/core';

const { onnx } = onnxProto;

/** ONNX `TensorProto.DataType.FLOAT`. */
const FLOAT = 1;
/** ONNX `TensorProto.DataType.INT64`. */
const INT64 = 7;

/** Options of {@link createOnnxGemmKernel}. */
export interface OnnxGemmKernelOptions {
  /** Threads of onnxruntime's intra-op pool. Default `os.availableParallelism()`. */
  intraOpNumThreads?: number;
}

/** A {@link GemmKernel} whose {@link GemmKernel.dispose} releases its onnxruntime sessions. */
export interface OnnxGemmKernel extends GemmKernel {
  readonly name: 'onnxruntime';
  softmaxTransposedProduct: NonNullable<GemmKernel['softmaxTransposedProduct']>;
  combinationLogSumExp: NonNullable<GemmKernel['combinationLogSumExp']>;
  dispose(): Promise<void>;
}

function floatInput(name: string, rows: string, cols: string): InstanceType<typeof onnx.ValueInfoProto> {
  return onnx.ValueInfoProto.create({
    name,
    type: {
      tensorType: {
        elemType: FLOAT,
        shape: { dim: [{ dimParam: rows }, { dimParam: cols }] },
      },
    },
  });
}

/**
 * Serialises the model `Y = op(A) * op(B)` (one ONNX `Gemm` node, opset 13, `alpha = 1`, no `C` input)
 * with symbolic 2-D float inputs.
 */
export function buildGemmModel(transA: boolean, transB: boolean): Uint8Array {
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
    name: `opnp_gemm_${transA ? 't' : 'n'}${transB ? 't' : 'n'}`,
    node: [node],
    input: [floatInput('A', 'a_rows', 'a_cols'), floatInput('B', 'b_rows', 'b_cols')],
    output: [floatInput('Y', 'm', 'n')],
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

/**
 * Serialises the combination log-sum-exp model (opset 13) for `A [P x Q]`, `G [Q x R*C]` and `S = [P, R, C]`
 * (int64): `Y = log(ReduceSum_c(exp(Reshape(A @ G, S))))`, `[P x R x 1]`. No max is subtracted: the caller
 * keeps the exponents in range, which saves two passes over the `[P x R x C]` intermediate.
 */
export function buildCombinationLogSumExpModel(): Uint8Array {
  const INT = onnx.AttributeProto.AttributeType.INT;
  const node = (opType: string, input: string[], output: string, attribute: object[] = []) =>
    onnx.NodeProto.create({ opType, name: output, input, output: [output], attribute });
  const nodes = [
    node('MatMul', ['A', 'G'], 'M'),
    node('Reshape', ['M', 'S'], 'M3'),
    node('Exp', ['M3'], 'E'),
    node('ReduceSum', ['E', 'AX'], 'SE', [{ name: 'keepdims', type: INT, i: 1 }]),
    node('Log', ['SE'], 'Y'),
  ];
  const axes = onnx.TensorProto.create({ name: 'AX', dims: [1], dataType: INT64, int64Data: [2] });
  const shape = onnx.ValueInfoProto.create({ name: 'S', type: { tensorType: { elemType: INT64, shape: { dim: [{ dimValue: 3 }] } } } });
  const graph = onnx.GraphProto.create({
    name: 'opnp_combination_logsumexp',
    node: nodes,
    initializer: [axes],
    input: [floatInput('A', 'p', 'q'), floatInput('G', 'q', 'rc'), shape],
    output: [onnx.ValueInfoProto.create({ name: 'Y', type: { tensorType: { elemType: FLOAT, shape: { dim: [{ dimParam: 'p' }, { dimParam: 'r' }, { dimValue: 1 }] } } } })],
  });
  const model = onnx.ModelProto.create({ irVersion: 7, producerName: '@opnp/backend-onnx', opsetImport: [{ domain: '', version: 13 }], graph });
  return onnx.ModelProto.encode(model).finish();
}

/**
 * Creates the `'onnxruntime'` GEMM kernel. Sessions (one per `(transA, transB)` pair) are created
 * lazily on first use, with one shared init promise per pair; inputs are passed zero-copy.
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
  const sessions = new Map<number, Promise<ort.InferenceSession>>();
  let disposed = false;

  function session(transA: boolean, transB: boolean): Promise<ort.InferenceSession> {
    return cachedSession((transA ? 2 : 0) + (transB ? 1 : 0), () => buildGemmModel(transA, transB));
  }

  /** One lazily created session per key (keys 0-3: GEMM trans pairs; 4-5: fused sensitivity; 6: combination log-sum-exp). */
  function cachedSession(key: number, build: () => Uint8Array): Promise<ort.InferenceSession> {
    let pending = sessions.get(key);
    if (pending === undefined) {
      pending = ort.InferenceSession.create(build(), {
        intraOpNumThreads: threads,
        interOpNumThreads: 1,
        executionMode: 'sequential',
        graphOptimizationLevel: 'all',
      }).catch((cause: unknown) => {
        sessions.delete(key);
        throw new OpnpError('BACKEND_FAILURE', 'onnxruntime could not create a kernel session', {
          actual: cause instanceof Error ? cause.message : String(cause),
          cause,
        });
      });
      sessions.set(key, pending);
    }
    return pending;
  }

  return {
    name: 'onnxruntime',
    async gemm(a: Matrix, b: Matrix, { transA, transB }): Promise<Matrix> {
      if (disposed) throw new OpnpError('DISPOSED', 'The onnxruntime GEMM kernel was disposed');
      const m = transA ? a.cols : a.rows;
      const k = transA ? a.rows : a.cols;
      const n = transB ? b.rows : b.cols;
      // onnxruntime rejects or mishandles empty dimensions; the product is all zeros (or empty) then.
      if (m === 0 || n === 0 || k === 0) return { rows: m, cols: n, data: new Float32Array(m * n) };
      const s = await session(transA, transB);
      const feeds = {
        A: new ort.Tensor('float32', a.data, [a.rows, a.cols]),
        B: new ort.Tensor('float32', b.data, [b.rows, b.cols]),
      };
      let results: ort.InferenceSession.OnnxValueMapType;
      try {
        results = await s.run(feeds);
      } catch (cause) {
        throw new OpnpError('BACKEND_FAILURE', 'onnxruntime failed to run the GEMM', {
          expected: `op(a) ${m} x ${k} times op(b) ${k} x ${n}`,
          actual: cause instanceof Error ? cause.message : String(cause),
          cause,
        });
      }
      const y = results.Y as ort.Tensor;
      const data = y.data as Float32Array;
      if (data.length !== m * n) {
        throw new OpnpError('BACKEND_FAILURE', 'onnxruntime returned a GEMM output of the wrong size', {
          expected: m * n,
          actual: data.length,
        });
      }
      return { rows: m, cols: n, data };
    },
    async softmaxTransposedProduct(logits: Matrix, features: Matrix, { temperature, absolute }): Promise<Matrix> {
      if (disposed) throw new OpnpError('DISPOSED', 'The onnxruntime GEMM kernel was disposed');
      const n = logits.rows;
      const c = logits.cols;
      const d = features.cols;
      if (features.rows !== n) {
        throw new OpnpError('SHAPE_MISMATCH', 'logits and features must have the same number of rows', { expected: n, actual: features.rows });
      }
      if (n === 0 || c === 0 || d === 0) return { rows: c, cols: d, data: new Float32Array(c * d) };
      const s = await cachedSession(absolute ? 4 : 5, () => buildSoftmaxProductModel(absolute));
      let results: ort.InferenceSession.OnnxValueMapType;
      try {
        results = await s.run({
          L: new ort.Tensor('float32', logits.data, [n, c]),
          H: new ort.Tensor('float32', features.data, [n, d]),
          T: new ort.Tensor('float32', Float32Array.of(temperature), [1]),
        });
      } catch (cause) {
        throw new OpnpError('BACKEND_FAILURE', 'onnxruntime failed to run the sensitivity product', {
          actual: cause instanceof Error ? cause.message : String(cause),
          cause,
        });
      }
      const data = (results.Y as ort.Tensor).data as Float32Array;
      return { rows: c, cols: d, data };
    },
    async combinationLogSumExp(parts, shape, combination): Promise<Float32Array> {
      if (disposed) throw new OpnpError('DISPOSED', 'The onnxruntime GEMM kernel was disposed');
      const { parts: q, rows: r, classes: c } = shape;
      const p = combination.rows;
      if (combination.cols !== q || parts.length !== q * r * c) {
        throw new OpnpError('SHAPE_MISMATCH', 'combinationLogSumExp: parts and combination do not fit', {
          expected: `parts ${q} x ${r} x ${c} and combination P x ${q}`,
          actual: `parts length ${parts.length}, combination ${p} x ${combination.cols}`,
        });
      }
      if (p === 0 || r === 0) return new Float32Array(p * r);
      if (q === 0 || c === 0) return new Float32Array(p * r).fill(c === 0 ? -Infinity : Math.log(c));
      const s = await cachedSession(6, buildCombinationLogSumExpModel);
      let results: ort.InferenceSession.OnnxValueMapType;
      try {
        results = await s.run({
          A: new ort.Tensor('float32', combination.data, [p, q]),
          G: new ort.Tensor('float32', parts, [q, r * c]),
          S: new ort.Tensor('int64', BigInt64Array.of(BigInt(p), BigInt(r), BigInt(c)), [3]),
        });
      } catch (cause) {
        throw new OpnpError('BACKEND_FAILURE', 'onnxruntime failed to run the combination log-sum-exp', {
          actual: cause instanceof Error ? cause.message : String(cause),
          cause,
        });
      }
      return (results.Y as ort.Tensor).data as Float32Array;
    },
    async dispose(): Promise<void> {
      if (disposed) return;
      disposed = true;
      const pending = [...sessions.values()];
      sessions.clear();
      for (const p of pending) {
        try {
          await (await p).release();
        } catch {
          // A session that failed to initialise has nothing to release.
        }
      }
    },
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
