/**
 * The ONNX {@link FeatureExtractor} on any onnxruntime ({@link OrtRuntime}): one session over the model with the
 * feature tensor (and, for Softmax-terminated models, the logits) added as extra graph outputs, so one `run`
 * returns features and logits together. `@opnp/backend-onnx` (onnxruntime-node) and `@opnp/backend-onnx-web`
 * (onnxruntime-web) extend it with their loading and session options.
 */
import { AUTO_HEAD_CHECK_ROWS, assertBatchMatchesInput, compareHead, extractInFixedBatches, SerialQueue, type HeadCheck, type HeadCheckTolerance } from '@opnp/core/backend';
import {
  OpnpError,
  type ExtractResult,
  type FeatureExtractor,
  type InputBatch,
  type InputSpec,
  type LinearHead,
  type LoadOptions,
  type Matrix,
  type RuntimeInfo,
} from '@opnp/core/base';
import { detectHead, type DetectedHead } from './head-detection.js';
import { modelInputSpec, sessionBytesWithOutputs } from './model-graph.js';
import type { OnnxModel } from './onnx-model.js';
import { runSession, type OrtRuntime, type OrtSession } from './runtime.js';

/** Options every ONNX extractor understands (the runtime-specific loaders add their session options). */
export interface OrtExtractorOptions extends LoadOptions {
  /** Largest batch one `extract` call accepts. Default: unlimited (a model with a static batch dimension is run in chunks of that size). */
  maxBatchSize?: number;
  /** Tolerance of the head check (see {@link OrtFeatureExtractor.headCheck}). */
  headCheckTolerance?: HeadCheckTolerance;
}

/** A parsed model ready for a session: its input, its detected head, and the bytes with the extra outputs. */
export interface PreparedOnnxModel {
  readonly model: OnnxModel;
  readonly input: InputSpec;
  readonly detection: DetectedHead;
  /** The serialised model with the feature and logits tensors as graph outputs (what the session runs). */
  readonly sessionBytes: Uint8Array;
}

/** What an {@link OrtFeatureExtractor} runs on. */
export interface OrtExtractorRuntime {
  /** The backend name the extractor reports (`'onnx'`, `'onnx-web'`). */
  readonly backend: string;
  /** The onnxruntime package that created `session`. */
  readonly ort: OrtRuntime;
  readonly session: OrtSession;
  /** The execution providers (and threads) of `session`. */
  readonly info: RuntimeInfo;
}

/**
 * Checks the options, reads the model input, detects the head and adds the feature and logits tensors as
 * outputs. Warns (through `onWarning`) when the model returns probabilities.
 *
 * @throws OpnpError `INVALID_ARGUMENT` (maxBatchSize), `MODEL_FORMAT`, `MODEL_HEAD_NOT_FOUND`, `MODEL_HEAD_AMBIGUOUS`
 */
export function prepareOnnxModel(model: OnnxModel, options: OrtExtractorOptions = {}): PreparedOnnxModel {
  if (options.maxBatchSize !== undefined && (!Number.isInteger(options.maxBatchSize) || options.maxBatchSize < 1)) {
    throw new OpnpError('INVALID_ARGUMENT', 'maxBatchSize must be a positive integer', { actual: options.maxBatchSize });
  }
  const input = modelInputSpec(model);
  const detection = detectHead(model, { featureTensor: options.featureTensor, headNode: options.headNode });
  if (detection.outputIsProbabilities) {
    options.onWarning?.(
      `The model returns ${detection.outputActivation === 'LogSoftmax' ? 'log-probabilities' : 'probabilities'}: graph output "${detection.graphOutput}" is ${detection.outputActivation ?? 'Softmax'} of "${detection.logitsTensor}". ` +
        `Using the ${detection.outputActivation ?? 'Softmax'} input as the logits.`,
    );
  }
  const fetches = [detection.featureTensor, detection.logitsTensor].filter((n) => n !== input.name);
  return { model, input, detection, sessionBytes: sessionBytesWithOutputs(model, fetches) };
}

function transposeInto(src: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(src.length);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) out[j * rows + i] = src[i * cols + j]!;
  return out;
}

/** A {@link FeatureExtractor} over an ONNX model on any onnxruntime; the backends create it. */
export class OrtFeatureExtractor implements FeatureExtractor {
  readonly specificationVersion = 'v1' as const;
  readonly backend: string;
  readonly head: LinearHead;
  readonly input: InputSpec;
  readonly maxBatchSize: number | undefined;
  /** What head detection found (node, feature and logits tensors, whether the model returns probabilities). */
  readonly detection: DetectedHead;
  /** The parsed original model (what detector export starts from). */
  readonly model: OnnxModel;
  /** The execution providers (and intra-op threads) of the session. */
  readonly runtime: RuntimeInfo;
  private session: OrtSession | undefined;
  private readonly ort: OrtRuntime;
  private readonly queue = new SerialQueue();
  private check: HeadCheck | undefined;
  private readonly options: OrtExtractorOptions;
  /** Samples per `session.run`: the static batch dimension, if the model has one. */
  private readonly runBatch: number | undefined;

  /** @internal use the backend's loader (`loadOnnxFeatureExtractor`, `loadOnnxWebFeatureExtractor`) */
  constructor(prepared: PreparedOnnxModel, runtime: OrtExtractorRuntime, options: OrtExtractorOptions) {
    this.model = prepared.model;
    this.detection = prepared.detection;
    this.head = prepared.detection.head;
    this.input = prepared.input;
    this.backend = runtime.backend;
    this.runtime = runtime.info;
    this.session = runtime.session;
    this.ort = runtime.ort;
    this.options = options;
    this.runBatch = prepared.input.shape[0] ?? undefined;
    this.maxBatchSize = options.maxBatchSize;
  }

  /** The head check of the first extraction (or of {@link verifyHead}); `undefined` before any. */
  get headCheck(): HeadCheck | undefined {
    return this.check;
  }

  /** Throws `DISPOSED` once {@link dispose} was called. */
  protected assertAlive(): OrtSession {
    if (!this.session) throw new OpnpError('DISPOSED', 'This ONNX feature extractor has been disposed', { hint: 'Load the model again' });
    return this.session;
  }

  /**
   * Runs the model on `batch` (`[N, ...input shape]`) and returns `features [N x D]` and `logits [N x C]`
   * (the model's pre-softmax logits) in input order. The first call also runs the head check.
   *
   * @throws OpnpError `SHAPE_MISMATCH` for a batch that does not fit the model input, `DISPOSED` after dispose
   */
  async extract(batch: InputBatch): Promise<ExtractResult> {
    this.assertAlive();
    assertBatchMatchesInput(batch, this.input, this.maxBatchSize);
    const n = batch.shape[0]!;
    const result = await this.queue.run(() => this.runAll(batch));
    if (this.check === undefined && n > 0) this.recordCheck(compareHead(this.head, result, this.options.headCheckTolerance, AUTO_HEAD_CHECK_ROWS));
    return result;
  }

  /**
   * Checks that `W h + b` reproduces the model's logits on `batch` (default: 4 seeded random inputs when the
   * input shape is static) and stores the result in {@link headCheck}.
   */
  async verifyHead(batch?: InputBatch): Promise<HeadCheck> {
    this.assertAlive();
    const sample = batch ?? this.randomBatch(4);
    assertBatchMatchesInput(sample, this.input);
    const result = await this.queue.run(() => this.runAll(sample));
    const check = compareHead(this.head, result, this.options.headCheckTolerance);
    this.recordCheck(check);
    return check;
  }

  /** Releases the onnxruntime session. Idempotent; later calls to `extract` reject with `DISPOSED`. */
  async dispose(): Promise<void> {
    const session = this.session;
    if (!session) return;
    this.session = undefined;
    await this.queue.idle();
    await session.release();
  }

  private recordCheck(check: HeadCheck): void {
    this.check = check;
    if (!check.withinTolerance) {
      this.options.onWarning?.(
        `Head check: W h + b differs from the model's logits by up to ${check.maxAbsDiff.toExponential(3)} ` +
          `(${(check.maxRelDiff * 100).toPrecision(3)}% of the logit scale) for head node "${this.detection.node}". ` +
          'The detected head or feature tensor may be wrong; pass featureTensor / headNode.',
      );
    }
  }

  private randomBatch(n: number): InputBatch {
    const dims = this.input.shape.slice(1);
    if (dims.some((d) => d === null)) {
      throw new OpnpError('INVALID_ARGUMENT', 'verifyHead needs a batch for a model with dynamic input dimensions', { actual: this.input.shape });
    }
    const shape = [this.runBatch ?? n, ...(dims as number[])];
    const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
    let s = 0x9e3779b9;
    for (let i = 0; i < data.length; i++) {
      s = (s ^ (s << 13)) >>> 0; s = (s ^ (s >>> 17)) >>> 0; s = (s ^ (s << 5)) >>> 0;
      data[i] = (s / 0xffffffff) * 2 - 1;
    }
    return { data, shape };
  }

  private runAll(batch: InputBatch): Promise<ExtractResult> {
    const shape = { fixedBatch: this.runBatch, classes: this.head.weight.rows, dim: this.head.weight.cols };
    return extractInFixedBatches(batch, shape, (data, dims) => this.runOnce(data, dims, dims[0]!));
  }

  private async runOnce(data: Float32Array, shape: readonly number[], n: number): Promise<ExtractResult> {
    const session = this.assertAlive();
    const { featureTensor, logitsTensor, featuresTransposed } = this.detection;
    const C = this.head.weight.rows;
    const D = this.head.weight.cols;
    const fetches = featureTensor === this.input.name ? [logitsTensor] : [featureTensor, logitsTensor];
    const feeds = { [this.input.name]: new this.ort.Tensor('float32', data, [...shape]) };
    const outputs = await runSession(session, feeds, 'model', { file: this.model.file, actual: `input [${shape.join(', ')}]` }, fetches);
    const f = featureTensor === this.input.name ? { data, dims: shape } : outputs[featureTensor]!;
    const l = outputs[logitsTensor]!;
    let fdata = f.data as Float32Array;
    const ldata = l.data as Float32Array;
    if (fdata.length !== n * D || ldata.length !== n * C) {
      throw new OpnpError('SHAPE_MISMATCH', 'The feature or logits tensor does not match the detected head', {
        file: this.model.file,
        expected: `features ${n} x ${D} ("${featureTensor}"), logits ${n} x ${C} ("${logitsTensor}")`,
        actual: `features [${f.dims.join(', ')}], logits [${l.dims.join(', ')}]`,
        hint: 'Pass featureTensor / headNode to pick the right tensors',
      });
    }
    if (featuresTransposed) fdata = transposeInto(fdata, D, n);
    const features: Matrix = { rows: n, cols: D, data: fdata };
    return { features, logits: { rows: n, cols: C, data: ldata } };
  }
}
