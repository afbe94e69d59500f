/**
 * The graph of a deployable OOD detector: the original ONNX model plus two outputs computed inside the graph from
 * the feature tensor, so it runs in plain onnxruntime (Node, Python, web) with no @opnp code.
 *
 * - `ood_score` float32 `[N]`: `T * logsumexp((W' min(h, clip) + b) / T)`, the energy of the OPNP-pruned head
 *   (optionally after ReAct clipping); higher = more in-distribution (docs/numerics.md#energy).
 * - `is_ood` bool `[N]` (only with a threshold): `ood_score < threshold`.
 *
 * The original outputs are unchanged (with `logitsOutput`, the logits tensor is added as an output when the model
 * only outputs probabilities). With `preprocessing`, the input preprocessing is recorded as JSON in the model's
 * `metadata_props` under `opnp.preprocess`. {@link describeOnnxDetector} reads these back from a detector.
 */
import { DETECTOR_OUTPUT_NAMES, DETECTOR_PREPROCESSING_KEY, decodeDetectorPreprocessing, encodeDetectorPreprocessing } from '@opnp/core/backend';
import { OpnpError, assertMatrix, type DetectorOutputs, type DetectorPreprocessing, type Matrix } from '@opnp/core/base';
import { detectHead, GraphIndex, type DetectedHead, type HeadDetectionOptions } from './head-detection.js';
import { modelInputName } from './model-graph.js';
import {
  DataType,
  float32Tensor,
  int64Tensor,
  onnx,
  serializeOnnxModel,
  valueInfoShape,
  type NodeProto,
  type OnnxModel,
  type TensorProto,
  type ValueInfoProto,
} from './onnx-model.js';

/** Options of {@link buildOnnxDetector}: the pruned head the detector scores with. */
export interface DetectorGraphOptions {
  /** The detected head (e.g. `extractor.detection`) or options to detect it. Default: automatic detection. */
  head?: DetectedHead | HeadDetectionOptions;
  /** The pruned weight `W' [C x D]` (same shape as the detected head's weight). */
  prunedWeight: Matrix;
  /** Bias `b [C]`. Default: the detected head's bias. */
  bias?: Float32Array | ArrayLike<number>;
  /** ReAct clipping threshold `c` applied to the features before the pruned head (`min(h, c)`). Default: none. */
  reactClip?: number;
  /** Energy temperature `T > 0`. Default 1. */
  temperature?: number;
  /** When given, an `is_ood` output is added: `ood_score < threshold`. */
  threshold?: number;
  /** Name of the score output. Default `'ood_score'`. */
  scoreOutput?: string;
  /** Name of the decision output. Default `'is_ood'`. */
  decisionOutput?: string;
  /**
   * Also output the logits tensor of the detected head when it is not a graph output already (a model ending in
   * Softmax outputs probabilities). Default `false`.
   */
  logitsOutput?: boolean;
  /**
   * The input preprocessing to record in `metadata_props` (key `opnp.preprocess`, JSON text; an entry of that key
   * in the source model is replaced). Default: none recorded (and a source model's entry is dropped).
   */
  preprocessing?: DetectorPreprocessing;
}

/** What {@link buildOnnxDetector} built. */
export interface OnnxDetector {
  /** The serialised detector. */
  readonly bytes: Uint8Array;
  /** Name of its (single) input. */
  readonly inputName: string;
  /** Its output names: the logits tensor, `ood_score`, `is_ood` (with a threshold), and all outputs in order. */
  readonly outputs: DetectorOutputs;
}

function isDetected(head: DetectorGraphOptions['head']): head is DetectedHead {
  return head !== undefined && 'head' in head && 'logitsTensor' in head;
}

function tensorNames(model: OnnxModel): Set<string> {
  const graph = model.proto.graph!;
  const names = new Set<string>();
  for (const t of graph.initializer ?? []) if (t.name) names.add(t.name);
  for (const v of [...(graph.input ?? []), ...(graph.output ?? []), ...(graph.valueInfo ?? [])]) if (v.name) names.add(v.name);
  for (const n of graph.node ?? []) for (const o of [...(n.output ?? []), ...(n.input ?? [])]) if (o) names.add(o);
  return names;
}

function invalid(summary: string, expected: unknown, actual: unknown): OpnpError {
  return new OpnpError('INVALID_ARGUMENT', summary, { expected, actual });
}

/** Builds the extra nodes. `axes` follows the opset: attribute before the version where it became an input. */
class GraphBuilder {
  readonly nodes: NodeProto[] = [];
  readonly initializers: TensorProto[] = [];
  private counter = 0;
  constructor(private readonly taken: Set<string>, private readonly opset: number) {}

  name(hint: string): string {
    let name: string;
    do name = `opnp_ood/${hint}_${this.counter++}`;
    while (this.taken.has(name));
    this.taken.add(name);
    return name;
  }

  constant(hint: string, tensor: (name: string) => TensorProto): string {
    const name = this.name(hint);
    this.initializers.push(tensor(name));
    return name;
  }

  op(opType: string, inputs: string[], attributes: Record<string, number | number[]> = {}, output?: string): string {
    const out = output ?? this.name(opType);
    const attribute = Object.entries(attributes).map(([name, value]) =>
      Array.isArray(value)
        ? onnx.AttributeProto.create({ name, type: onnx.AttributeProto.AttributeType.INTS, ints: value })
        : Number.isInteger(value) && name !== 'alpha' && name !== 'beta'
          ? onnx.AttributeProto.create({ name, type: onnx.AttributeProto.AttributeType.INT, i: value })
          : onnx.AttributeProto.create({ name, type: onnx.AttributeProto.AttributeType.FLOAT, f: value }),
    );
    this.nodes.push(onnx.NodeProto.create({ opType, input: inputs, output: [out], name: this.name(`${opType}_node`), attribute }));
    return out;
  }

  /** A reduction over axis 1 with keepdims=1 (axes as attribute before `inputSince`, as input from it). */
  reduce(opType: 'ReduceMax' | 'ReduceSum', input: string, inputSince: number): string {
    if (this.opset >= inputSince) {
      const axes = this.constant('axes', (n) => int64Tensor(n, [1], [1]));
      return this.op(opType, [input, axes], { keepdims: 1 });
    }
    return this.op(opType, [input], { axes: [1], keepdims: 1 });
  }
}

/** Checked options: bias, temperature and output names. */
interface CheckedExport {
  readonly bias: Float32Array;
  readonly T: number;
  readonly scoreName: string;
  readonly decisionName: string;
}

/** Validates the options against the model and its detected head. */
function checkExport(model: OnnxModel, detected: DetectedHead, options: DetectorGraphOptions): CheckedExport {
  const C = detected.head.weight.rows;
  const D = detected.head.weight.cols;
  assertMatrix(options.prunedWeight, 'prunedWeight');
  if (options.prunedWeight.rows !== C || options.prunedWeight.cols !== D) {
    throw new OpnpError('SHAPE_MISMATCH', "prunedWeight must have the detected head's shape C x D", {
      expected: `${C} x ${D}`,
      actual: `${options.prunedWeight.rows} x ${options.prunedWeight.cols}`,
    });
  }
  const bias = options.bias === undefined ? detected.head.bias : Float32Array.from(options.bias);
  if (bias.length !== C) throw new OpnpError('SHAPE_MISMATCH', 'bias length must equal the number of classes C', { expected: C, actual: bias.length });
  const T = options.temperature ?? 1;
  if (typeof T !== 'number' || !(T > 0) || !Number.isFinite(T)) throw invalid('temperature must be a finite number > 0', '> 0', T);
  if (options.reactClip !== undefined && (typeof options.reactClip !== 'number' || Number.isNaN(options.reactClip))) {
    throw invalid('reactClip must be a number (not NaN)', 'a number', options.reactClip);
  }
  if (options.threshold !== undefined && (typeof options.threshold !== 'number' || Number.isNaN(options.threshold))) {
    throw invalid('threshold must be a number (not NaN)', 'a number', options.threshold);
  }
  if (model.opset < 8) {
    throw new OpnpError('MODEL_FORMAT', 'Export needs a model with opset >= 8 (broadcasting Min/Less)', { file: model.file, expected: '>= 8', actual: model.opset });
  }
  const scoreName = options.scoreOutput ?? DETECTOR_OUTPUT_NAMES.oodScore;
  const decisionName = options.decisionOutput ?? DETECTOR_OUTPUT_NAMES.isOod;
  const taken = tensorNames(model);
  for (const name of [scoreName, ...(options.threshold !== undefined ? [decisionName] : [])]) {
    if (taken.has(name)) throw invalid(`The model already has a tensor named "${name}"`, 'an unused output name (scoreOutput / decisionOutput)', name);
  }
  if (scoreName === decisionName) throw invalid('scoreOutput and decisionOutput must differ', 'two names', scoreName);
  return { bias, T, scoreName, decisionName };
}

/** Appends `ood_score` (and `is_ood`) to `b`; returns the new outputs' value infos. */
function appendScore(b: GraphBuilder, model: OnnxModel, detected: DetectedHead, options: DetectorGraphOptions, checked: CheckedExport): ValueInfoProto[] {
  const C = detected.head.weight.rows;
  const D = detected.head.weight.cols;
  const { T, scoreName, decisionName } = checked;
  let h = detected.featureTensor;
  if (detected.featuresTransposed) h = b.op('Transpose', [h], { perm: [1, 0] });
  h = b.op('Flatten', [h], { axis: 1 });
  if (options.reactClip !== undefined) {
    const clip = b.constant('react_clip', (n) => float32Tensor(n, [], Float32Array.of(options.reactClip!)));
    h = b.op('Min', [h, clip]);
  }
  const W = b.constant('pruned_weight', (n) => float32Tensor(n, [C, D], options.prunedWeight.data));
  const bc = b.constant('bias', (n) => float32Tensor(n, [C], checked.bias));
  let z = b.op('Gemm', [h, W, bc], { alpha: 1, beta: 1, transB: 1 });
  const Tc = T === 1 ? undefined : b.constant('temperature', (n) => float32Tensor(n, [], Float32Array.of(T)));
  if (Tc) z = b.op('Div', [z, Tc]);
  // Stable logsumexp over classes: m + log(sum exp(z - m)).
  const m = b.reduce('ReduceMax', z, 18);
  const s = b.reduce('ReduceSum', b.op('Exp', [b.op('Sub', [z, m])]), 13);
  let lse = b.op('Add', [b.op('Log', [s]), m]);
  if (Tc) lse = b.op('Mul', [lse, Tc]);
  const flat = b.constant('shape', (n) => int64Tensor(n, [1], [-1]));
  b.op('Reshape', [lse, flat], {}, scoreName);
  const batchDim = valueInfoShape(model.proto.graph!.input?.find((i) => i.name === modelInputName(model))).dims?.[0];
  const dim = batchDim ? { dimValue: batchDim } : { dimParam: 'N' };
  const outputs = [onnx.ValueInfoProto.create({ name: scoreName, type: { tensorType: { elemType: DataType.FLOAT, shape: { dim: [dim] } } } })];
  if (options.threshold !== undefined) {
    const tau = b.constant('threshold', (n) => float32Tensor(n, [], Float32Array.of(options.threshold!)));
    b.op('Less', [scoreName, tau], {}, decisionName);
    outputs.push(onnx.ValueInfoProto.create({ name: decisionName, type: { tensorType: { elemType: DataType.BOOL, shape: { dim: [dim] } } } }));
  }
  return outputs;
}

/** The logits tensor as an extra output, unless the graph outputs it already. */
function logitsOutputs(model: OnnxModel, detected: DetectedHead, wanted: boolean | undefined): ValueInfoProto[] {
  const graph = model.proto.graph!;
  if (!wanted || (graph.output ?? []).some((o) => o.name === detected.logitsTensor)) return [];
  const known = (graph.valueInfo ?? []).find((v) => v.name === detected.logitsTensor);
  return [known ? onnx.ValueInfoProto.create(known) : onnx.ValueInfoProto.create({ name: detected.logitsTensor, type: { tensorType: { elemType: DataType.FLOAT } } })];
}

/**
 * Builds a new ONNX model that keeps the original outputs and adds `ood_score` (float32 `[N]`) and, given a
 * threshold, `is_ood` (bool `[N]`). Pure graph surgery: the caller checks the bytes load in its runtime.
 *
 * @returns the serialised model, its input name and its output names
 * @throws OpnpError `INVALID_ARGUMENT` / `SHAPE_MISMATCH` for bad options, `MODEL_*` for models without a usable head
 */
export function buildOnnxDetector(model: OnnxModel, options: DetectorGraphOptions): OnnxDetector {
  const detected = isDetected(options.head) ? options.head : detectHead(model, options.head ?? {});
  const checked = checkExport(model, detected, options);
  const b = new GraphBuilder(tensorNames(model), model.opset);
  const added = [...logitsOutputs(model, detected, options.logitsOutput), ...appendScore(b, model, detected, options, checked)];
  const graph = model.proto.graph!;
  const output = [...(graph.output ?? []), ...added];
  const metadataProps = [
    ...(model.proto.metadataProps ?? []).filter((entry) => entry.key !== DETECTOR_PREPROCESSING_KEY),
    ...(options.preprocessing !== undefined ? [onnx.StringStringEntryProto.create({ key: DETECTOR_PREPROCESSING_KEY, value: encodeDetectorPreprocessing(options.preprocessing) })] : []),
  ];
  const proto = onnx.ModelProto.create({
    ...model.proto,
    metadataProps,
    graph: onnx.GraphProto.create({
      ...graph,
      node: [...(graph.node ?? []), ...b.nodes],
      initializer: [...(graph.initializer ?? []), ...b.initializers],
      output,
    }),
  });
  const outputs: DetectorOutputs = {
    logits: detected.logitsTensor,
    oodScore: checked.scoreName,
    ...(options.threshold !== undefined ? { isOod: checked.decisionName } : {}),
    all: output.map((o) => o.name!),
  };
  return { bytes: serializeOnnxModel(proto), inputName: modelInputName(model) ?? '', outputs };
}

/** What {@link describeOnnxDetector} reads from an exported detector. */
export interface DetectorDescription {
  /** Output names: `oodScore` always, `isOod` with a threshold, `logits` when the classifier head is found. */
  readonly outputs: { readonly oodScore: string; readonly isOod?: string; readonly logits?: string; readonly all: readonly string[] };
  /** The `is_ood` threshold (`is_ood = ood_score < threshold`), as the float32 stored in the graph. */
  readonly threshold?: number;
  /** The input preprocessing recorded in `metadata_props` (`opnp.preprocess`), when the detector has one. */
  readonly preprocessing?: DetectorPreprocessing;
}

/** The preprocessing recorded under `opnp.preprocess` in `metadata_props`, if any. @throws OpnpError `MODEL_FORMAT` when it is invalid */
export function onnxDetectorPreprocessing(model: OnnxModel): DetectorPreprocessing | undefined {
  const entry = (model.proto.metadataProps ?? []).find((e) => e.key === DETECTOR_PREPROCESSING_KEY);
  return entry ? decodeDetectorPreprocessing(entry.value ?? '', model.file) : undefined;
}

/** The `Less(score, threshold)` node producing a graph output, with a constant threshold. */
function findDecision(index: GraphIndex, outputs: readonly string[]): { score: string; decision: string; threshold: number } | undefined {
  for (const node of index.graph.node ?? []) {
    const [score, tau] = node.input ?? [];
    const decision = node.output?.[0];
    if (node.opType !== 'Less' || !score || !decision || !outputs.includes(decision) || !outputs.includes(score)) continue;
    const constant = index.constant(tau);
    if (constant && constant.values.length === 1) return { score, decision, threshold: constant.values[0]! };
  }
  return undefined;
}

/**
 * Reads an exported detector (from {@link buildOnnxDetector}, `opnp export`): its score and decision outputs, the
 * threshold inside the graph and the recorded input preprocessing.
 *
 * @throws OpnpError `MODEL_FORMAT` when the model has no `ood_score` output (or a `Less(score, constant)` decision),
 * or its recorded preprocessing is invalid
 */
export function describeOnnxDetector(model: OnnxModel): DetectorDescription {
  const index = new GraphIndex(model.proto.graph!, model.file);
  const all = index.graphOutputs;
  const decision = findDecision(index, all);
  const oodScore = decision?.score ?? (all.includes(DETECTOR_OUTPUT_NAMES.oodScore) ? DETECTOR_OUTPUT_NAMES.oodScore : undefined);
  if (oodScore === undefined) {
    throw new OpnpError('MODEL_FORMAT', 'The model is not an OOD detector: it has no ood_score output', {
      file: model.file,
      expected: `a graph output "${DETECTOR_OUTPUT_NAMES.oodScore}" (a detector written by opnp export)`,
      actual: all,
      hint: 'Export one with `opnp export --model <classifier> ... --out detector.onnx`',
    });
  }
  let logits: string | undefined;
  try {
    const head = detectHead(model);
    logits = all.includes(head.logitsTensor) ? head.logitsTensor : undefined;
  } catch {
    logits = undefined; // a detector whose classifier outputs are not recognisable still scores
  }
  const preprocessing = onnxDetectorPreprocessing(model);
  return {
    outputs: { oodScore, ...(decision ? { isOod: decision.decision } : {}), ...(logits !== undefined ? { logits } : {}), all },
    ...(decision ? { threshold: decision.threshold } : {}),
    ...(preprocessing !== undefined ? { preprocessing } : {}),
  };
}
