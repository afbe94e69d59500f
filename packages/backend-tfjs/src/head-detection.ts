/**
 * Finding the classifier head `f = W h + b` of a TensorFlow.js model.
 *
 * - LayersModel: the last `Dense` layer before the output, looking through a trailing `Softmax` layer,
 *   `Activation('softmax' | 'linear')` or `Dropout`; a `Dense` with `activation: 'softmax'` is accepted (its
 *   pre-activation is the logits).
 * - GraphModel: the `MatMul` + `BiasAdd` / `Add` / `AddV2` (either operand order), a `_FusedMatMul` with
 *   `fused_ops` `[]` or `['BiasAdd']`, or a bare `MatMul`, that produces the output, looking through a
 *   trailing `Softmax` / `LogSoftmax` / `Identity`. Weights must be constants (`Const`, possibly behind `Identity`).
 *
 * `head.weight` is always `C x D` (one row per class).
 */
import type { Tensor } from '@tensorflow/tfjs-core';
import type { GraphModel } from '@tensorflow/tfjs-converter';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { OpnpError, type LinearHead } from '@opnp/core';
import { boolAttr, dataInputs, inputNodeName, stringListAttr, type GraphDefJson, type GraphNode } from './graph-def.js';

/** Options of head detection (see `LoadOptions`). */
export interface TfjsHeadOptions {
  /** LayersModel: name of the layer whose output is the feature vector. GraphModel: the feature tensor (`node` or `node:k`). */
  featureTensor?: string;
  /** LayersModel: name of the `Dense` head layer. GraphModel: name of the `MatMul` / `_FusedMatMul` / `BiasAdd` / `Add` head node. */
  headNode?: string;
}

/** The head of a LayersModel. */
export interface LayersHead {
  readonly kind: 'layers-model';
  /** Name of the `Dense` head layer. */
  readonly layer: string;
  /** Name of the layer whose output is the feature vector (the head's input). */
  readonly featureLayer: string;
  readonly head: LinearHead;
  /** The head layer's activation: `'linear'` or `'softmax'` (then the logits are computed from the features). */
  readonly activation: 'linear' | 'softmax';
  /** Whether the model's output is a softmax of the logits. */
  readonly outputIsProbabilities: boolean;
}

/** How a GraphModel head is built. */
export type GraphHeadPattern = 'MatMul+BiasAdd' | 'MatMul+Add' | '_FusedMatMul' | 'MatMul';

/** The head of a GraphModel. */
export interface GraphHead {
  readonly kind: 'graph-model';
  /** The node whose output is the logits. */
  readonly logitsNode: string;
  /** The `MatMul` / `_FusedMatMul` node. */
  readonly matMulNode: string;
  readonly pattern: GraphHeadPattern;
  /** The feature tensor reference (`node` or `node:k`): the MatMul's first input. */
  readonly featureTensor: string;
  /** The graph output the head feeds (through Softmax / Identity), if any. */
  readonly graphOutput: string | undefined;
  readonly outputIsProbabilities: boolean;
  readonly head: LinearHead;
}

/** A detected head of either model kind. */
export type TfjsHead = LayersHead | GraphHead;

function transposeToCxD(kernel: Float32Array, D: number, C: number): Float32Array {
  const w = new Float32Array(C * D);
  for (let j = 0; j < D; j++) for (let c = 0; c < C; c++) w[c * D + j] = kernel[j * C + c]!;
  return w;
}

// ---------------------------------------------------------------------------------------------- layers

interface LayerLike {
  name: string;
  getClassName(): string;
  getConfig(): Record<string, unknown>;
  inboundNodes: { inboundLayers: LayerLike[] }[];
  getWeights(): Tensor[];
}

function inboundLayer(layer: LayerLike): LayerLike | undefined {
  const nodes = layer.inboundNodes;
  if (nodes.length !== 1 || nodes[0]!.inboundLayers.length !== 1) return undefined;
  return nodes[0]!.inboundLayers[0];
}

function layerActivation(layer: LayerLike): string {
  const a = layer.getConfig().activation;
  return typeof a === 'string' ? a : 'linear';
}

function isSeeThrough(layer: LayerLike): { probabilities: boolean } | undefined {
  const cls = layer.getClassName();
  if (cls === 'Softmax') return { probabilities: true };
  if (cls === 'Dropout' || cls === 'SpatialDropout1D' || cls === 'GaussianNoise' || cls === 'GaussianDropout') return { probabilities: false };
  if (cls === 'Activation') {
    const a = layerActivation(layer);
    if (a === 'softmax') return { probabilities: true };
    if (a === 'linear') return { probabilities: false };
  }
  return undefined;
}

function layersCandidates(model: LayersModel): string[] {
  return (model.layers as unknown as LayerLike[]).filter((l) => l.getClassName() === 'Dense').map((l) => `${l.name} (Dense, activation ${layerActivation(l)})`);
}

function layersHeadOf(model: LayersModel, dense: LayerLike, outputIsProbabilities: boolean): LayersHead {
  const candidates = layersCandidates(model);
  const activation = layerActivation(dense);
  if (activation !== 'linear' && activation !== 'softmax') {
    throw new OpnpError('MODEL_HEAD_NOT_FOUND', `Dense layer "${dense.name}" has activation "${activation}", so its output is not class logits`, {
      expected: 'a Dense head with activation linear or softmax',
      actual: candidates,
      hint: 'Pass headNode with the name of the Dense classifier layer',
    });
  }
  const input = inboundLayer(dense);
  const inputShape = (dense as unknown as { inputSpec?: unknown; batchInputShape?: unknown; input: { shape: (number | null)[] } }).input?.shape;
  if (!input || !inputShape) {
    throw new OpnpError('MODEL_HEAD_NOT_FOUND', `Dense layer "${dense.name}" is used more than once or has several inputs`, { actual: candidates, hint: 'Pass headNode' });
  }
  if (inputShape.length !== 2) {
    throw new OpnpError('MODEL_HEAD_NOT_FOUND', `Dense layer "${dense.name}" is applied to a rank-${inputShape.length} tensor, not to a feature vector`, {
      expected: 'input [N, D]',
      actual: `[${inputShape.map((d) => d ?? 'N').join(', ')}]`,
      hint: 'Pass headNode with the name of the Dense classifier layer',
    });
  }
  const [kernel, bias] = dense.getWeights();
  const [D, C] = kernel!.shape as [number, number];
  const weight = { rows: C, cols: D, data: transposeToCxD(kernel!.dataSync() as Float32Array, D, C) };
  const b = bias ? Float32Array.from(bias.dataSync() as Float32Array) : new Float32Array(C);
  return {
    kind: 'layers-model',
    layer: dense.name,
    featureLayer: input.name,
    head: { weight, bias: b },
    activation: activation as 'linear' | 'softmax',
    outputIsProbabilities: outputIsProbabilities || activation === 'softmax',
  };
}

/**
 * Finds the classifier head of a LayersModel.
 *
 * @throws OpnpError `MODEL_HEAD_NOT_FOUND` / `MODEL_HEAD_AMBIGUOUS`, listing the Dense layers
 */
export function detectLayersHead(model: LayersModel, options: TfjsHeadOptions = {}): LayersHead {
  const layers = model.layers as unknown as LayerLike[];
  const byName = new Map(layers.map((l) => [l.name, l]));
  const candidates = layersCandidates(model);
  if (options.headNode !== undefined) {
    const layer = byName.get(options.headNode);
    if (!layer || layer.getClassName() !== 'Dense') {
      throw new OpnpError('MODEL_HEAD_NOT_FOUND', `headNode "${options.headNode}" is not a Dense layer of the model`, { expected: candidates, actual: layer ? layer.getClassName() : 'no such layer' });
    }
    const head = layersHeadOf(model, layer, false);
    if (options.featureTensor !== undefined && options.featureTensor !== head.featureLayer) {
      throw new OpnpError('MODEL_HEAD_NOT_FOUND', `featureTensor "${options.featureTensor}" is not the input of head layer "${layer.name}"`, { expected: head.featureLayer, actual: options.featureTensor });
    }
    return head;
  }
  if (options.featureTensor !== undefined) {
    if (!byName.has(options.featureTensor)) {
      throw new OpnpError('MODEL_HEAD_NOT_FOUND', `featureTensor "${options.featureTensor}" is not a layer of the model`, { expected: layers.map((l) => l.name) });
    }
    const consumers = layers.filter((l) => l.getClassName() === 'Dense' && inboundLayer(l)?.name === options.featureTensor);
    if (consumers.length !== 1) {
      throw new OpnpError(consumers.length ? 'MODEL_HEAD_AMBIGUOUS' : 'MODEL_HEAD_NOT_FOUND', `Layer "${options.featureTensor}" feeds ${consumers.length} Dense layers`, {
        expected: 'exactly one Dense layer reading the features',
        actual: consumers.map((l) => l.name),
        hint: 'Pass headNode',
      });
    }
    return layersHeadOf(model, consumers[0]!, false);
  }
  const outputs = model.outputs.map((o) => o.sourceLayer as unknown as LayerLike);
  if (outputs.length !== 1) {
    throw new OpnpError('MODEL_HEAD_AMBIGUOUS', `The model has ${outputs.length} outputs`, {
      expected: 'one output (class logits or probabilities)',
      actual: candidates,
      hint: 'Pass headNode with the name of the Dense classifier layer',
    });
  }
  let layer: LayerLike | undefined = outputs[0];
  let probabilities = false;
  for (let step = 0; layer && step < 8; step++) {
    const through = isSeeThrough(layer);
    if (!through) break;
    probabilities = probabilities || through.probabilities;
    layer = inboundLayer(layer);
  }
  if (!layer || layer.getClassName() !== 'Dense') {
    throw new OpnpError('MODEL_HEAD_NOT_FOUND', 'The model output is not produced by a Dense layer (optionally followed by softmax)', {
      expected: 'Dense -> [Softmax | Activation] -> output',
      actual: layer ? `${layer.name} (${layer.getClassName()}); Dense layers: ${candidates.join('; ') || 'none'}` : 'a layer with several inputs',
      hint: 'Pass headNode (a Dense layer name) and/or featureTensor (the name of the layer producing the features)',
    });
  }
  return layersHeadOf(model, layer, probabilities);
}

// ----------------------------------------------------------------------------------------------- graph

class GraphIndex {
  readonly nodes = new Map<string, GraphNode>();
  readonly consumers = new Map<string, GraphNode[]>();
  constructor(graph: GraphDefJson, readonly model: GraphModel) {
    for (const n of graph.node) this.nodes.set(n.name, n);
    for (const n of graph.node) {
      for (const ref of dataInputs(n)) {
        const src = inputNodeName(ref);
        const list = this.consumers.get(src) ?? [];
        list.push(n);
        this.consumers.set(src, list);
      }
    }
  }

  producer(ref: string | undefined): GraphNode | undefined {
    return ref === undefined ? undefined : this.nodes.get(inputNodeName(ref));
  }

  /** Values of a constant (a `Const`, possibly behind `Identity`), or undefined. */
  constant(ref: string | undefined): { data: Float32Array; shape: number[] } | undefined {
    let node = this.producer(ref);
    for (let i = 0; node && node.op === 'Identity' && i < 4; i++) node = this.producer(dataInputs(node)[0]);
    if (!node || node.op !== 'Const') return undefined;
    const tensor = (this.model.weights as Record<string, Tensor[] | undefined>)[node.name]?.[0];
    if (!tensor || tensor.dtype !== 'float32') return undefined;
    return { data: tensor.dataSync() as Float32Array, shape: tensor.shape.slice() };
  }

  outputs(): string[] {
    const names = this.model.outputs.map((o) => inputNodeName(o.name));
    return names.filter((n) => this.nodes.has(n));
  }
}

type Match = Omit<GraphHead, 'kind' | 'graphOutput' | 'outputIsProbabilities'>;

function isMatMul(node: GraphNode | undefined): node is GraphNode {
  return node !== undefined && (node.op === 'MatMul' || node.op === '_FusedMatMul');
}

function headFromMatMul(g: GraphIndex, mm: GraphNode, biasRef: string | undefined, pattern: GraphHeadPattern, logitsNode: string): Match | string {
  if (boolAttr(mm, 'transpose_a')) return `${mm.name}: transpose_a is set`;
  const [a, bRef] = dataInputs(mm);
  const w = g.constant(bRef);
  if (!a || !w || w.shape.length !== 2) return `${mm.name}: the weight is not a constant matrix`;
  const transB = boolAttr(mm, 'transpose_b');
  const [C, D] = transB ? [w.shape[0]!, w.shape[1]!] : [w.shape[1]!, w.shape[0]!];
  const weight = { rows: C, cols: D, data: transB ? Float32Array.from(w.data) : transposeToCxD(w.data, D, C) };
  let bias = new Float32Array(C);
  if (biasRef !== undefined) {
    const b = g.constant(biasRef);
    if (!b || b.data.length !== C || (b.shape.length !== 1 && !(b.shape.length === 2 && b.shape[0] === 1))) return `${logitsNode}: the bias is not a constant vector of length ${C}`;
    bias = Float32Array.from(b.data);
  }
  return { logitsNode, matMulNode: mm.name, pattern, featureTensor: a, head: { weight, bias } };
}

/** Tries to read a head whose logits are the output of `node`. Returns the match or why it is not one. */
function matchAt(g: GraphIndex, node: GraphNode): Match | string {
  if (node.op === '_FusedMatMul') {
    const ops = stringListAttr(node, 'fused_ops');
    if (ops.length === 0) return headFromMatMul(g, node, undefined, '_FusedMatMul', node.name);
    if (ops.length === 1 && ops[0] === 'BiasAdd') return headFromMatMul(g, node, dataInputs(node)[2], '_FusedMatMul', node.name);
    return `${node.name}: _FusedMatMul with fused_ops [${ops.join(', ')}] (an activation after the matmul: not logits)`;
  }
  if (node.op === 'MatMul') return headFromMatMul(g, node, undefined, 'MatMul', node.name);
  if (node.op === 'BiasAdd' || node.op === 'Add' || node.op === 'AddV2') {
    const [x, y] = dataInputs(node);
    const orders: [string | undefined, string | undefined][] = node.op === 'BiasAdd' ? [[x, y]] : [[x, y], [y, x]];
    for (const [mmRef, biasRef] of orders) {
      const mm = g.producer(mmRef);
      if (mm?.op === 'MatMul' && g.constant(biasRef)) return headFromMatMul(g, mm, biasRef, node.op === 'BiasAdd' ? 'MatMul+BiasAdd' : 'MatMul+Add', node.name);
    }
    return `${node.name}: ${node.op} is not MatMul plus a constant bias`;
  }
  return `${node.name}: ${node.op} is not a MatMul / BiasAdd / Add / _FusedMatMul`;
}

function graphCandidates(g: GraphIndex): string[] {
  return [...g.nodes.values()].filter((n) => isMatMul(n) && g.constant(dataInputs(n)[1])).map((n) => `${n.name} (${n.op}, input ${dataInputs(n)[0]})`);
}

const SEE_THROUGH = new Set(['Identity', 'Softmax', 'LogSoftmax', 'Snapshot', 'StopGradient']);

/** Ops after the logits that make a graph output (log-)probabilities. */
const PROBABILITY_OPS = new Set(['Softmax', 'LogSoftmax']);

/** Walks from a graph output back through Softmax / LogSoftmax / Identity. */
function walkBack(g: GraphIndex, output: string): { node: GraphNode | undefined; probabilities: boolean } {
  let node = g.nodes.get(output);
  let probabilities = false;
  for (let i = 0; node && SEE_THROUGH.has(node.op) && i < 8; i++) {
    if (PROBABILITY_OPS.has(node.op)) probabilities = true;
    node = g.producer(dataInputs(node)[0]);
  }
  return { node, probabilities };
}

/** Where a logits node ends up: the graph output reached through Softmax / Identity (if any). */
function forward(g: GraphIndex, logitsNode: string): { graphOutput: string | undefined; probabilities: boolean } {
  const outputs = new Set(g.outputs());
  let name = logitsNode;
  let probabilities = false;
  for (let i = 0; i < 8; i++) {
    if (outputs.has(name)) return { graphOutput: name, probabilities };
    const next = (g.consumers.get(name) ?? []).filter((n) => SEE_THROUGH.has(n.op));
    if (next.length !== 1) break;
    if (PROBABILITY_OPS.has(next[0]!.op)) probabilities = true;
    name = next[0]!.name;
  }
  return { graphOutput: undefined, probabilities: false };
}

/** The MatMul node extended by its bias consumer (BiasAdd / Add with a constant), for a user-named MatMul. */
function extendToBias(g: GraphIndex, mm: GraphNode): GraphNode {
  if (mm.op !== 'MatMul') return mm;
  const users = g.consumers.get(mm.name) ?? [];
  if (users.length === 1) {
    const u = users[0]!;
    if ((u.op === 'BiasAdd' || u.op === 'Add' || u.op === 'AddV2') && typeof matchAt(g, u) !== 'string') return u;
  }
  return mm;
}

function finish(g: GraphIndex, match: Match): GraphHead {
  const { graphOutput, probabilities } = forward(g, match.logitsNode);
  return { kind: 'graph-model', ...match, graphOutput, outputIsProbabilities: probabilities };
}

/**
 * Finds the classifier head of a GraphModel from its GraphDef.
 *
 * @throws OpnpError `MODEL_HEAD_NOT_FOUND` / `MODEL_HEAD_AMBIGUOUS`, listing the candidate MatMul nodes
 */
export function detectGraphHead(model: GraphModel, graph: GraphDefJson, options: TfjsHeadOptions = {}): GraphHead {
  const g = new GraphIndex(graph, model);
  const candidates = graphCandidates(g);
  const fail = (summary: string, actual: unknown): never => {
    throw new OpnpError('MODEL_HEAD_NOT_FOUND', summary, {
      expected: 'MatMul + BiasAdd/Add, or _FusedMatMul [BiasAdd], with constant weights, producing the logits',
      actual,
      hint: `Pass headNode (one of: ${candidates.join('; ') || 'no MatMul with constant weights'}) or featureTensor`,
    });
  };
  if (options.headNode !== undefined) {
    const node = g.nodes.get(options.headNode);
    if (!node) return fail(`headNode "${options.headNode}" is not a node of the graph`, candidates);
    const m = matchAt(g, extendToBias(g, node));
    if (typeof m === 'string') return fail(`headNode "${options.headNode}" is not a linear head`, m);
    if (options.featureTensor !== undefined && inputNodeName(options.featureTensor) !== inputNodeName(m.featureTensor)) {
      return fail(`featureTensor "${options.featureTensor}" is not the input of head node "${m.matMulNode}"`, m.featureTensor);
    }
    return finish(g, m);
  }
  if (options.featureTensor !== undefined) {
    const feature = options.featureTensor;
    const users = [...g.nodes.values()].filter((n) => isMatMul(n) && (dataInputs(n)[0] === feature || inputNodeName(dataInputs(n)[0] ?? '') === feature));
    const matches = users.map((mm) => matchAt(g, extendToBias(g, mm))).filter((m): m is Match => typeof m !== 'string');
    if (matches.length === 1) return finish(g, matches[0]!);
    if (matches.length > 1) {
      throw new OpnpError('MODEL_HEAD_AMBIGUOUS', `featureTensor "${feature}" feeds ${matches.length} linear layers`, { actual: matches.map((m) => m.logitsNode), hint: 'Pass headNode' });
    }
    return fail(`No linear head reads featureTensor "${feature}"`, candidates);
  }
  const outputs = g.outputs();
  const found: Match[] = [];
  const reasons: string[] = [];
  for (const out of outputs) {
    const { node } = walkBack(g, out);
    const m = node ? matchAt(g, node) : `${out}: no producer`;
    if (typeof m === 'string') reasons.push(m);
    else found.push(m);
  }
  if (found.length === 1) return finish(g, found[0]!);
  if (found.length > 1) {
    throw new OpnpError('MODEL_HEAD_AMBIGUOUS', `${found.length} graph outputs are produced by linear layers`, {
      actual: found.map((m) => `${m.logitsNode} (${m.pattern})`),
      hint: 'Pass headNode with one of these nodes',
    });
  }
  return fail('No graph output is produced by a linear layer (optionally followed by Softmax)', reasons);
}
