/**
 * Export of a deployable OOD detector: the original ONNX model plus two outputs computed inside the
 * graph from the feature tensor, so it runs in plain onnxruntime (Node, Python, web) with no @opnp code.
 *
 * - `ood_score` float32 `[N]`: `T * logsumexp((W' min(h, clip) + b) / T)`, the energy of the OPNP-pruned head
 *   (optionally after ReAct clipping); higher = more in-distribution.
 * - `is_ood` bool `[N]` (only with a threshold): `ood_score < threshold`.
 *
 * The original outputs are unchanged.
 */
import { writeFileAtomic } from '@opnp/core/node';
import { OpnpError, assertMatrix, type Matrix, type ModelSource } from '@opnp/core';
import { detectHead, type DetectedHead, type HeadDetectionOptions } from './head-detection.js';
import {
  DataType,
  float32Tensor,
  int64Tensor,
  loadOnnxModel,
  onnx,
  serializeOnnxModel,
  valueInfoShape,
  type NodeProto,
  type OnnxModel,
  type TensorProto,
} from './onnx-model.js';
import { createSession } from './session-options.js';

/** Options of {@link exportOodDetector}. */
export interface ExportOodDetectorOptions {
  /** The original model: a path, bytes, or a parsed model (e.g. `extractor.model`). */
  model: ModelSource | OnnxModel;
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
  /** Where to write the model (atomically: temp file + rename; nothing is written on failure). */
  outputPath?: string;
  /** Name of the score output. Default `'ood_score'`. */
  scoreOutput?: string;
  /** Name of the decision output. Default `'is_ood'`. */
  decisionOutput?: string;
}

function isDetected(head: ExportOodDetectorOptions['head']): head is DetectedHead {
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

/**
 * Writes a new ONNX model that keeps the original outputs and adds `ood_score` (float32 `[N]`) and, given a
 * threshold, `is_ood` (bool `[N]`). The model is checked by loading it in onnxruntime before anything is written.
 *
 * @returns the serialised model
 * @throws OpnpError `INVALID_ARGUMENT` / `SHAPE_MISMATCH` for bad options, `MODEL_*` for models without a
 * usable head, `IO_ERROR` when writing fails (no file is left behind)
 *
 * @example
 * ```ts
 * const pruned = pruneHead(extractor.head, masks);
 * await exportOodDetector({ model: extractor.model, head: extractor.detection, prunedWeight: pruned.weight,
 *   reactClip: c, threshold: tau, outputPath: 'detector.onnx' });
 * ```
 */
export async function exportOodDetector(options: ExportOodDetectorOptions): Promise<Uint8Array> {
  const model = await loadOnnxModel(options.model);
  const detected = isDetected(options.head) ? options.head : detectHead(model, options.head ?? {});
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
  const scoreName = options.scoreOutput ?? 'ood_score';
  const decisionName = options.decisionOutput ?? 'is_ood';
  const taken = tensorNames(model);
  for (const name of [scoreName, ...(options.threshold !== undefined ? [decisionName] : [])]) {
    if (taken.has(name)) throw invalid(`The model already has a tensor named "${name}"`, 'an unused output name (scoreOutput / decisionOutput)', name);
  }
  if (scoreName === decisionName) throw invalid('scoreOutput and decisionOutput must differ', 'two names', scoreName);

  const b = new GraphBuilder(taken, model.opset);
  let h = detected.featureTensor;
  if (detected.featuresTransposed) h = b.op('Transpose', [h], { perm: [1, 0] });
  h = b.op('Flatten', [h], { axis: 1 });
  if (options.reactClip !== undefined) {
    const clip = b.constant('react_clip', (n) => float32Tensor(n, [], Float32Array.of(options.reactClip!)));
    h = b.op('Min', [h, clip]);
  }
  const W = b.constant('pruned_weight', (n) => float32Tensor(n, [C, D], options.prunedWeight.data));
  const bc = b.constant('bias', (n) => float32Tensor(n, [C], bias));
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

  const graph = model.proto.graph!;
  const proto = onnx.ModelProto.create({
    ...model.proto,
    graph: onnx.GraphProto.create({
      ...graph,
      node: [...(graph.node ?? []), ...b.nodes],
      initializer: [...(graph.initializer ?? []), ...b.initializers],
      output: [...(graph.output ?? []), ...outputs],
    }),
  });
  const bytes = serializeOnnxModel(proto);

  // Check the result loads and runs in plain onnxruntime before writing anything.
  const session = await createSession(bytes, { intraOpNumThreads: 1, interOpNumThreads: 1, graphOptimizationLevel: 'basic' }, options.outputPath);
  await session.release();

  if (options.outputPath !== undefined) await writeFileAtomic(options.outputPath, bytes, 'the exported model');
  return bytes;
}

function modelInputName(model: OnnxModel): string | undefined {
  const graph = model.proto.graph!;
  const initializers = new Set((graph.initializer ?? []).map((t) => t.name));
  return graph.input?.find((i) => !initializers.has(i.name))?.name ?? undefined;
}

