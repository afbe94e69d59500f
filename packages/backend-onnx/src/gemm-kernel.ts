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

/** Options of {@link createOnnxGemmKernel}. */
export interface OnnxGemmKernelOptions {
  /** Threads of onnxruntime's intra-op pool. Default `os.availableParallelism()`. */
  intraOpNumThreads?: number;
}

/** A {@link GemmKernel} whose {@link GemmKernel.dispose} releases its onnxruntime sessions. */
export interface OnnxGemmKernel extends GemmKernel {
  readonly name: 'onnxruntime';
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
    const key = (transA ? 2 : 0) + (transB ? 1 : 0);
    let pending = sessions.get(key);
    if (pending === undefined) {
      pending = ort.InferenceSession.create(buildGemmModel(transA, transB), {
        intraOpNumThreads: threads,
        interOpNumThreads: 1,
        executionMode: 'sequential',
        graphOptimizationLevel: 'all',
      }).catch((cause: unknown) => {
        sessions.delete(key);
        throw new OpnpError('BACKEND_FAILURE', 'onnxruntime could not create the GEMM session', {
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
