/**
 * The TensorFlow.js {@link FeatureExtractor}: one forward pass returns the feature tensor and the logits
 * (a sub-model over the head's input and output for a LayersModel; the two intermediate nodes of a
 * `GraphModel.execute` for a graph model). Every tensor is created inside `tf.tidy` or disposed explicitly.
 */
import * as tf from '@tensorflow/tfjs-core';
import { model as functionalModel, type LayersModel, type SymbolicTensor } from '@tensorflow/tfjs-layers';
import { AUTO_HEAD_CHECK_ROWS, assertBatchMatchesInput, compareHead, extractInFixedBatches, SerialQueue, type HeadCheck, type HeadCheckTolerance } from '@opnp/core/backend';
import {
  OpnpError,
  type DetectorExportOptions,
  type DetectorExportResult,
  type ExtractResult,
  type FeatureExtractor,
  type InputBatch,
  type InputLayout,
  type InputSpec,
  type LinearHead,
  type LoadOptions,
  type Matrix,
  type RuntimeInfo,
} from '@opnp/core';
import { exportDetectorOf } from './export-detector.js';
import { tfjsInputGradient } from './input-gradient.js';
import { detectGraphHead, detectLayersHead, type TfjsHead } from './head-detection.js';
import { loadTfjsModelWith, type LoadedTfjsModel, type TfjsModelSource } from './model.js';
import { urlModelIO, type TfjsModelIO } from './model-io.js';
import { initTfjsBackend, type TfjsBackendInfo, type TfjsBackendName } from './runtime.js';

/** Options of {@link loadTfjsFeatureExtractor}. */
export interface TfjsLoadOptions extends LoadOptions {
  /**
   * Force a TensorFlow.js backend (`'node'`, `'wasm'`, `'cpu'`); default: the first of the generic
   * `executionProviders` that starts (these names), else the best available (see `initTfjsBackend`). The generic
   * `threads` option is not supported (TensorFlow.js sets its own threads) and is reported through `onWarning`.
   */
  backend?: TfjsBackendName;
  /** Folder (or URL prefix) of the wasm binaries; default: TensorFlow.js's own lookup (see `initTfjsBackend`). */
  wasmPath?: string;
  /** Largest batch one `extract` call accepts. Default: unlimited (a static batch dimension is run in chunks). */
  maxBatchSize?: number;
  /** Layout of a rank-4 input. Default: `'NHWC'` (the TensorFlow.js convention) unless the shape is clearly `N x C x H x W` (dim 1 <= 4 < dim 3). */
  inputLayout?: InputLayout;
  /** Tolerance of the head check on the first extraction: `max|W h + b - f| <= atol + rtol * max|f|`. Defaults `1e-4`, `1e-3`. */
  headCheckTolerance?: HeadCheckTolerance;
}

/** Result of comparing `W h + b` with the model's own logits. */
export type TfjsHeadCheck = HeadCheck;

/** Reads the single model input as an {@link InputSpec}. */
function inputSpecOf(loaded: LoadedTfjsModel, layout?: InputLayout): InputSpec {
  const inputs = loaded.model.inputs as { name: string; shape?: readonly (number | null)[] | number[] }[];
  if (inputs.length !== 1) {
    throw new OpnpError('MODEL_FORMAT', 'The model must have exactly one input', { file: loaded.file, expected: 1, actual: inputs.map((i) => i.name) });
  }
  const info = inputs[0]!;
  if (!info.shape || info.shape.length === 0) {
    throw new OpnpError('MODEL_FORMAT', `Model input "${info.name}" has no shape`, { file: loaded.file, expected: 'a shape with a batch dimension' });
  }
  const shape = Array.from(info.shape, (d) => (d === null || d === undefined || d < 0 ? null : d));
  let inferred: InputLayout = 'flat';
  if (shape.length === 4) inferred = shape[1] !== null && shape[1]! <= 4 && shape[3] !== null && shape[3]! > 4 ? 'NCHW' : 'NHWC';
  const name = loaded.kind === 'graph-model' ? info.name.replace(/:0$/, '') : info.name;
  return { name, shape, layout: layout ?? inferred };
}

/**
 * A {@link FeatureExtractor} over a TensorFlow.js LayersModel or GraphModel. Create it with
 * {@link loadTfjsFeatureExtractor}.
 */
export class TfjsFeatureExtractor implements FeatureExtractor {
  readonly specificationVersion = 'v1' as const;
  readonly backend = 'tfjs';
  readonly head: LinearHead;
  readonly input: InputSpec;
  readonly maxBatchSize: number | undefined;
  /** The TensorFlow.js backend the model runs on. */
  readonly tfBackend: TfjsBackendInfo;
  /** The backend as an execution provider (`['wasm']`, `['node']`, `['cpu']`); threads for wasm and cpu (1). */
  readonly runtime: RuntimeInfo;
  /** What head detection found. */
  readonly detection: TfjsHead;
  /** The loaded model (kept for export). */
  readonly loaded: LoadedTfjsModel;
  /** How `exportDetector` writes its `outputPath`: URLs, or files for an extractor of `@opnp/backend-tfjs/node`. @internal */
  readonly modelIO: TfjsModelIO;
  private disposed = false;
  private readonly queue = new SerialQueue();
  private check: TfjsHeadCheck | undefined;
  private readonly options: TfjsLoadOptions;
  private readonly runBatch: number | undefined;
  /** LayersModel: outputs [features, logits] (linear head) or [features] (softmax head). */
  private readonly subModel: LayersModel | undefined;
  /** Softmax-activated Dense head: kernel [D, C] and bias [C] to compute the logits from the features. */
  private readonly headTensors: { kernel: tf.Tensor2D; bias: tf.Tensor1D } | undefined;

  /** @internal use {@link loadTfjsFeatureExtractor} */
  constructor(loaded: LoadedTfjsModel, detection: TfjsHead, input: InputSpec, tfBackend: TfjsBackendInfo, options: TfjsLoadOptions, modelIO: TfjsModelIO = urlModelIO) {
    this.loaded = loaded;
    this.modelIO = modelIO;
    this.detection = detection;
    this.head = detection.head;
    this.input = input;
    this.tfBackend = tfBackend;
    this.runtime = runtimeOf(tfBackend);
    this.options = options;
    this.maxBatchSize = options.maxBatchSize;
    this.runBatch = input.shape[0] ?? undefined;
    if (loaded.kind === 'layers-model' && detection.kind === 'layers-model') {
      const dense = loaded.model.getLayer(detection.layer);
      const features = dense.input as SymbolicTensor;
      const outputs = detection.activation === 'linear' ? [features, dense.output as SymbolicTensor] : [features];
      this.subModel = functionalModel({ inputs: loaded.model.inputs, outputs, name: `${loaded.model.name}_opnp_features` });
    }
    const needsHead = detection.kind === 'layers-model' && detection.activation === 'softmax';
    if (needsHead) {
      const { weight, bias } = detection.head;
      const kernel = tf.tidy(() => tf.transpose(tf.tensor2d(weight.data, [weight.rows, weight.cols])) as tf.Tensor2D);
      this.headTensors = { kernel, bias: tf.tensor1d(bias) };
    }
  }

  /** The head check of the first non-empty extraction; `undefined` before it. */
  get headCheck(): TfjsHeadCheck | undefined {
    return this.check;
  }

  private assertAlive(): void {
    if (this.disposed) throw new OpnpError('DISPOSED', 'This TensorFlow.js feature extractor has been disposed', { hint: 'Load the model again' });
  }

  /**
   * The forward pass on an input tensor `x [N, ...input shape]`: `[features [N, D], logits [N, C]]` (pre-softmax).
   * Differentiable (used by ODIN for input gradients). Tensors are not tidied here: call it inside `tf.tidy`.
   */
  forward(x: tf.Tensor): [tf.Tensor2D, tf.Tensor2D] {
    this.assertAlive();
    const { loaded, detection } = this;
    if (loaded.kind === 'layers-model') {
      const out = this.subModel!.apply(x, { training: false }) as tf.Tensor | tf.Tensor[];
      const outs = Array.isArray(out) ? out : [out];
      const h = outs[0] as tf.Tensor2D;
      if (this.headTensors) return [h, tf.add(tf.matMul(h, this.headTensors.kernel), this.headTensors.bias) as tf.Tensor2D];
      return [h, outs[1] as tf.Tensor2D];
    }
    if (detection.kind !== 'graph-model') throw new Error('unreachable');
    const input = this.input.name;
    if (inputNameOf(detection.featureTensor) === input) {
      const f = loaded.model.execute({ [input]: x }, detection.logitsNode) as tf.Tensor;
      return [tf.reshape(x, [x.shape[0]!, -1]) as tf.Tensor2D, f as tf.Tensor2D];
    }
    const [h, f] = loaded.model.execute({ [input]: x }, [detection.featureTensor, detection.logitsNode]) as tf.Tensor[];
    return [h as tf.Tensor2D, f as tf.Tensor2D];
  }

  /**
   * Runs the model on `batch` (`[N, ...input shape]`, in {@link input}'s layout) and returns `features [N x D]`
   * and `logits [N x C]` in input order, from one forward pass. The first call also runs the head check.
   *
   * @throws OpnpError `SHAPE_MISMATCH` for a batch that does not fit, `DISPOSED` after dispose, `BACKEND_FAILURE`
   */
  async extract(batch: InputBatch): Promise<ExtractResult> {
    this.assertAlive();
    assertBatchMatchesInput(batch, this.input, this.maxBatchSize);
    const n = batch.shape[0]!;
    const result = await this.queue.run(() => this.runAll(batch));
    if (this.check === undefined && n > 0) this.recordCheck(result, AUTO_HEAD_CHECK_ROWS);
    return result;
  }

  /**
   * Writes a deployable TensorFlow.js graph-model detector (`model.json` + `weights.bin`) into the folder
   * `options.outputPath` (or at that `model.json` path), each file atomically (extractors of
   * `@opnp/backend-tfjs/node`; in the browser-safe entry `outputPath` is a tf.io URL such as
   * `indexeddb://detector`): outputs `logits`, `ood_score` and, with a threshold, `is_ood`. Runs once before
   * anything is written.
   *
   * @throws OpnpError `SHAPE_MISMATCH` / `INVALID_ARGUMENT` for bad options, `MODEL_FORMAT` for a layer that cannot
   * be translated, `IO_ERROR` when writing fails, `DISPOSED` after dispose
   */
  async exportDetector(options: DetectorExportOptions): Promise<DetectorExportResult> {
    this.assertAlive();
    return this.queue.run(() => {
      this.assertAlive();
      return exportDetectorOf(this, options);
    });
  }

  /**
   * The exact gradient with respect to the input of `sum_n sum_c outputWeights[n, c] * logits[n, c]` (`tf.grad`
   * through {@link forward}), in the layout of `batch.data` (docs/numerics.md#odin).
   *
   * @throws OpnpError `SHAPE_MISMATCH` for a batch or weights that do not fit, `BACKEND_FAILURE` for an op without
   * a gradient, `DISPOSED` after dispose
   */
  async inputGradient(batch: InputBatch, outputWeights: Matrix): Promise<Float32Array> {
    this.assertAlive();
    assertBatchMatchesInput(batch, this.input, this.maxBatchSize);
    return this.queue.run(() => tfjsInputGradient((x) => this.forward(x)[1], batch, outputWeights));
  }

  /** Releases the model's tensors. Idempotent; later `extract` calls reject with `DISPOSED`. */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    await this.queue.idle();
    this.headTensors?.kernel.dispose();
    this.headTensors?.bias.dispose();
    this.loaded.model.dispose();
  }

  private recordCheck(result: ExtractResult, maxRows = Infinity): void {
    this.check = compareHead(this.head, result, this.options.headCheckTolerance, maxRows);
    if (!this.check.withinTolerance) {
      this.options.onWarning?.(
        `Head check: W h + b differs from the model's logits by up to ${this.check.maxAbsDiff.toExponential(3)}; the detected head or feature tensor may be wrong (pass featureTensor / headNode).`,
      );
    }
  }

  private runAll(batch: InputBatch): Promise<ExtractResult> {
    this.assertAlive();
    const shape = { fixedBatch: this.runBatch, classes: this.head.weight.rows, dim: this.head.weight.cols };
    return extractInFixedBatches(batch, shape, (data, dims) => this.runOnce(data, dims, dims[0]!));
  }

  private async runOnce(data: Float32Array, shape: readonly number[], n: number): Promise<ExtractResult> {
    const C = this.head.weight.rows;
    const D = this.head.weight.cols;
    let outputs: [tf.Tensor2D, tf.Tensor2D];
    try {
      // tf.tensor copies `data`, so the caller's batch is never modified.
      outputs = tf.tidy(() => this.forward(tf.tensor(data, [...shape], 'float32')));
    } catch (cause) {
      if (cause instanceof OpnpError) throw cause;
      throw new OpnpError('BACKEND_FAILURE', `TensorFlow.js failed to run the model: ${cause instanceof Error ? cause.message : String(cause)}`, {
        file: this.loaded.file,
        actual: `input [${shape.join(', ')}]`,
        cause,
      });
    }
    const [h, f] = outputs;
    try {
      if (h.size !== n * D || f.size !== n * C) {
        throw new OpnpError('SHAPE_MISMATCH', 'The feature or logits tensor does not match the detected head', {
          file: this.loaded.file,
          expected: `features ${n} x ${D}, logits ${n} x ${C}`,
          actual: `features [${h.shape.join(', ')}], logits [${f.shape.join(', ')}]`,
          hint: 'Pass featureTensor / headNode to pick the right tensors',
        });
      }
      const [hd, fd] = await Promise.all([h.data<'float32'>(), f.data<'float32'>()]);
      const features: Matrix = { rows: n, cols: D, data: new Float32Array(hd) };
      return { features, logits: { rows: n, cols: C, data: new Float32Array(fd) } };
    } finally {
      h.dispose();
      f.dispose();
    }
  }
}

/** The runtime of a TensorFlow.js backend: wasm runs one thread unless its threaded build is in use; cpu runs one. */
function runtimeOf(info: TfjsBackendInfo): RuntimeInfo {
  if (info.name === 'node') return { executionProviders: ['node'] };
  if (info.name === 'wasm' && info.threads) return { executionProviders: ['wasm'] };
  return { executionProviders: [info.name], threads: 1 };
}

/**
 * Starts the TensorFlow.js backend of a load: `backend` when given, else the first of `executionProviders` that
 * starts, else the best available.
 */
async function startBackend(options: TfjsLoadOptions): Promise<TfjsBackendInfo> {
  const wanted = options.backend !== undefined ? [options.backend] : (options.executionProviders ?? []);
  if (wanted.length <= 1) return initTfjsBackend({ prefer: wanted[0] as TfjsBackendName | undefined, wasmPath: options.wasmPath });
  const reasons: string[] = [];
  for (const name of wanted) {
    try {
      return await initTfjsBackend({ prefer: name as TfjsBackendName, wasmPath: options.wasmPath });
    } catch (cause) {
      if (cause instanceof OpnpError && cause.code === 'INVALID_ARGUMENT') throw cause;
      reasons.push(`${name}: ${cause instanceof Error ? cause.message : String(cause)}`);
    }
  }
  throw new OpnpError('BACKEND_UNAVAILABLE', 'None of the requested TensorFlow.js backends could start', { expected: wanted.join(', '), actual: reasons });
}

function inputNameOf(ref: string): string {
  return ref.replace(/:0$/, '');
}

/**
 * Loads a TensorFlow.js classifier (LayersModel or GraphModel) as a {@link FeatureExtractor}: initialises the
 * backend (see `initTfjsBackend`), loads the model, detects the head.
 *
 * @param source a `model.json` URL (`https://...`, relative to the page, `indexeddb://...`), a `tf.io.IOHandler`, or
 * `ModelArtifacts`; `@opnp/backend-tfjs/node` has the same function for `model.json` paths
 * @throws OpnpError `IO_ERROR`, `MODEL_FORMAT`, `MODEL_HEAD_NOT_FOUND`, `MODEL_HEAD_AMBIGUOUS`, `BACKEND_UNAVAILABLE`
 *
 * @example
 * ```ts
 * const extractor = await loadTfjsFeatureExtractor('models/mnist/model.json', { backend: 'wasm' }); // fetched
 * const { features, logits } = await extractor.extract({ data, shape: [32, 28, 28, 1] }); // NHWC
 * console.log(extractor.tfBackend); // { name: 'wasm', simd: true, threads: false, ... }
 * ```
 */
export function loadTfjsFeatureExtractor(source: TfjsModelSource, options: TfjsLoadOptions = {}): Promise<TfjsFeatureExtractor> {
  return loadTfjsFeatureExtractorWith(source, options, urlModelIO);
}

/** {@link loadTfjsFeatureExtractor} with a given reader and writer of string sources and targets (the Node entry passes the file system's). */
export async function loadTfjsFeatureExtractorWith(source: TfjsModelSource, options: TfjsLoadOptions, modelIO: TfjsModelIO): Promise<TfjsFeatureExtractor> {
  if (options.maxBatchSize !== undefined && (!Number.isInteger(options.maxBatchSize) || options.maxBatchSize < 1)) {
    throw new OpnpError('INVALID_ARGUMENT', 'maxBatchSize must be a positive integer', { actual: options.maxBatchSize });
  }
  if (options.threads !== undefined) {
    options.onWarning?.(`The tfjs backend cannot set the number of threads (threads: ${options.threads} ignored); TensorFlow.js chooses its own.`);
  }
  const tfBackend = await startBackend(options);
  const loaded = await loadTfjsModelWith(source, modelIO);
  try {
    const headOptions = { featureTensor: options.featureTensor, headNode: options.headNode };
    const detection = loaded.kind === 'layers-model' ? detectLayersHead(loaded.model, headOptions) : detectGraphHead(loaded.model, loaded.graph, headOptions);
    const input = inputSpecOf(loaded, options.inputLayout);
    if (detection.outputIsProbabilities) {
      options.onWarning?.(
        detection.kind === 'layers-model'
          ? `The model returns probabilities (softmax after Dense layer "${detection.layer}"); using the Dense pre-activation as the logits.`
          : `The model returns (log-)probabilities: graph output "${detection.graphOutput}" is a Softmax or LogSoftmax of "${detection.logitsNode}"; using its input as the logits.`,
      );
    }
    return new TfjsFeatureExtractor(loaded, detection, input, tfBackend, options, modelIO);
  } catch (error) {
    loaded.model.dispose();
    throw error;
  }
}
