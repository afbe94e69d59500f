/**
 * The ONNX {@link FeatureExtractor}: one onnxruntime session over the model with the feature tensor
 * (and, for Softmax-terminated models, the logits) added as extra graph outputs, so one `run` returns
 * features and logits together.
 */
import type * as ort from 'onnxruntime-node';
import { Tensor } from 'onnxruntime-node';
import { assertBatchMatchesInput, compareHead, extractInFixedBatches, SerialQueue, type HeadCheck, type HeadCheckTolerance } from '@opnp/core/backend';
import {
  OpnpError,
  type DetectorExportOptions,
  type DetectorExportResult,
  type ExtractResult,
  type FeatureExtractor,
  type InputBatch,
  type InputSpec,
  type LinearHead,
  type LoadOptions,
  type Matrix,
  type ModelSource,
  type RuntimeInfo,
} from '@opnp/core';
import { exportDetectorOf } from './export-detector.js';
import { detectHead, type DetectedHead } from './head-detection.js';
import { DataType, loadOnnxModel, onnx, serializeOnnxModel, valueInfoShape, type OnnxModel, type ValueInfoProto } from './onnx-model.js';
import { createSession, sessionOptionsOf, sessionRuntimeInfo, type OnnxSessionOptions } from './session-options.js';

/** Options of {@link loadOnnxFeatureExtractor}. */
export interface OnnxLoadOptions extends LoadOptions {
  /**
   * onnxruntime session options (threads, optimisation level, execution providers). Its `executionProviders` and
   * `intraOpNumThreads` take precedence over the generic `executionProviders` and `threads`.
   */
  session?: OnnxSessionOptions;
  /** Largest batch one `extract` call accepts. Default: unlimited (a model with a static batch dimension is run in chunks of that size). */
  maxBatchSize?: number;
  /** Tolerance of the head check (see {@link OnnxFeatureExtractor.headCheck}). */
  headCheckTolerance?: HeadCheckTolerance;
}

/** Reads the single (non-initializer) graph input of a model as an {@link InputSpec}. */
export function modelInputSpec(model: OnnxModel): InputSpec {
  const graph = model.proto.graph!;
  const initializers = new Set((graph.initializer ?? []).map((t) => t.name));
  const inputs = (graph.input ?? []).filter((i) => !initializers.has(i.name));
  if (inputs.length !== 1) {
    throw new OpnpError('MODEL_FORMAT', 'The model must have exactly one input', {
      file: model.file,
      expected: '1 graph input (an image or a feature vector batch)',
      actual: inputs.map((i) => i.name),
    });
  }
  const info = inputs[0]!;
  const { elemType, dims } = valueInfoShape(info);
  if (elemType !== DataType.FLOAT) {
    throw new OpnpError('MODEL_FORMAT', `Model input "${info.name}" is not float32`, { file: model.file, expected: 'elem_type FLOAT (1)', actual: elemType });
  }
  if (!dims || dims.length === 0) {
    throw new OpnpError('MODEL_FORMAT', `Model input "${info.name}" has no shape`, { file: model.file, expected: 'a tensor shape with a batch dimension' });
  }
  let layout: InputSpec['layout'] = 'flat';
  if (dims.length === 4) layout = dims[3] !== null && dims[3]! <= 4 && !(dims[1] !== null && dims[1]! <= 4) ? 'NHWC' : 'NCHW';
  return { name: info.name!, shape: dims, layout };
}

function outputInfo(model: OnnxModel, name: string): ValueInfoProto {
  const graph = model.proto.graph!;
  const known = [...(graph.valueInfo ?? []), ...(graph.output ?? [])].find((v) => v.name === name);
  const elemType = valueInfoShape(known).elemType || DataType.FLOAT;
  return onnx.ValueInfoProto.create({ name, type: { tensorType: { elemType } } });
}

/**
 * The model with `names` added as graph outputs (those that are not outputs already). The input model is
 * not modified.
 */
export function withExtraOutputs(model: OnnxModel, names: readonly string[]): OnnxModel {
  const graph = model.proto.graph!;
  const existing = new Set((graph.output ?? []).map((o) => o.name));
  const extra = [...new Set(names)].filter((n) => !existing.has(n)).map((n) => outputInfo(model, n));
  const proto = onnx.ModelProto.create({ ...model.proto, graph: onnx.GraphProto.create({ ...graph, output: [...(graph.output ?? []), ...extra] }) });
  return { ...model, proto };
}

function transposeInto(src: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(src.length);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) out[j * rows + i] = src[i * cols + j]!;
  return out;
}

/** A {@link FeatureExtractor} over an ONNX model, running on onnxruntime-node. Create it with {@link loadOnnxFeatureExtractor}. */
export class OnnxFeatureExtractor implements FeatureExtractor {
  readonly specificationVersion = 'v1' as const;
  readonly backend = 'onnx';
  readonly head: LinearHead;
  readonly input: InputSpec;
  readonly maxBatchSize: number | undefined;
  /** What head detection found (node, feature and logits tensors, whether the model returns probabilities). */
  readonly detection: DetectedHead;
  /** The parsed original model (used by {@link exportOodDetector}). */
  readonly model: OnnxModel;
  /** The execution providers and intra-op threads of the session. */
  readonly runtime: RuntimeInfo;
  private session: ort.InferenceSession | undefined;
  private readonly queue = new SerialQueue();
  private check: HeadCheck | undefined;
  private readonly options: OnnxLoadOptions;
  /** Samples per `session.run`: the static batch dimension, if the model has one. */
  private readonly runBatch: number | undefined;

  /** @internal use {@link loadOnnxFeatureExtractor} */
  constructor(model: OnnxModel, detection: DetectedHead, input: InputSpec, session: ort.InferenceSession, options: OnnxLoadOptions, runtime: RuntimeInfo) {
    this.model = model;
    this.runtime = runtime;
    this.detection = detection;
    this.head = detection.head;
    this.input = input;
    this.session = session;
    this.options = options;
    this.runBatch = input.shape[0] ?? undefined;
    this.maxBatchSize = options.maxBatchSize;
  }

  /** The head check of the first extraction (or of {@link verifyHead}); `undefined` before any. */
  get headCheck(): HeadCheck | undefined {
    return this.check;
  }

  private assertAlive(): ort.InferenceSession {
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
    if (this.check === undefined && n > 0) this.recordCheck(compareHead(this.head, result, this.options.headCheckTolerance));
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

  /**
   * Writes a deployable ONNX detector to `options.outputPath` (a `.onnx` file, atomically): the model with its
   * outputs, its logits tensor (added as an output when the model ends in Softmax), `ood_score` and, with a
   * threshold, `is_ood`. The detector's input is the model's. Loaded in onnxruntime before it is written.
   *
   * @throws OpnpError `SHAPE_MISMATCH` / `INVALID_ARGUMENT` for bad options, `IO_ERROR` when writing fails,
   * `DISPOSED` after dispose
   */
  async exportDetector(options: DetectorExportOptions): Promise<DetectorExportResult> {
    this.assertAlive();
    return exportDetectorOf(this, options);
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
    let outputs: ort.InferenceSession.ReturnType;
    try {
      outputs = await session.run({ [this.input.name]: new Tensor('float32', data, shape) }, fetches);
    } catch (cause) {
      throw new OpnpError('BACKEND_FAILURE', `onnxruntime failed to run the model: ${cause instanceof Error ? cause.message : String(cause)}`, {
        file: this.model.file,
        actual: `input [${shape.join(', ')}]`,
        cause,
      });
    }
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

/**
 * Loads an ONNX classifier as a {@link FeatureExtractor}: parses it, detects the head (see `detectHead`),
 * and opens one onnxruntime session with the feature tensor added as an output.
 *
 * @param source a `.onnx` path (external data next to it is loaded) or the model bytes
 * @throws OpnpError `MODEL_FORMAT`, `MODEL_HEAD_NOT_FOUND`, `MODEL_HEAD_AMBIGUOUS`, `BACKEND_UNAVAILABLE`
 *
 * @example
 * ```ts
 * const extractor = await loadOnnxFeatureExtractor('resnet50.onnx');
 * const { features, logits } = await extractor.extract({ data, shape: [32, 3, 224, 224] });
 * ```
 */
export async function loadOnnxFeatureExtractor(source: ModelSource | OnnxModel, options: OnnxLoadOptions = {}): Promise<OnnxFeatureExtractor> {
  if (options.maxBatchSize !== undefined && (!Number.isInteger(options.maxBatchSize) || options.maxBatchSize < 1)) {
    throw new OpnpError('INVALID_ARGUMENT', 'maxBatchSize must be a positive integer', { actual: options.maxBatchSize });
  }
  const model = await loadOnnxModel(source);
  const input = modelInputSpec(model);
  const detection = detectHead(model, { featureTensor: options.featureTensor, headNode: options.headNode });
  if (detection.outputIsProbabilities) {
    options.onWarning?.(
      `The model returns probabilities: graph output "${detection.graphOutput}" is Softmax of "${detection.logitsTensor}". ` +
        'Using the Softmax input as the logits.',
    );
  }
  const fetches = [detection.featureTensor, detection.logitsTensor].filter((n) => n !== input.name);
  const bytes = serializeOnnxModel(withExtraOutputs(model, fetches));
  const sessionOptions = sessionOptionsOf(options);
  const runtime = sessionRuntimeInfo(sessionOptions);
  const session = await createSession(bytes, sessionOptions, model.file);
  return new OnnxFeatureExtractor(model, detection, input, session, options, runtime);
}
