/**
 * Finds the classifier head of an ONNX graph: the last fully connected layer `f = W h + b` that
 * produces the class logits, and the feature tensor `h` that feeds it.
 *
 * Recognised patterns (weights and bias are initializers or `Constant` node outputs, possibly behind
 * `Identity` nodes): `Gemm(h, B, C)` with any `transA`, `transB`, `alpha`, `beta`; `Add(MatMul(h, B), c)`
 * in either operand order; `MatMul(h, B)` without bias. A trailing `Softmax` or `LogSoftmax` and/or `Identity` on
 * the graph output is looked through (the model then returns probabilities or their logarithms, and the
 * (Log)Softmax input is the logits).
 */
import { OpnpError, linearHead, matrix, type LinearHead } from '@opnp/core/base';
import { attrNumber, tensorDims, tensorToFloat32, type GraphProto, type NodeProto, type OnnxModel, type TensorProto } from './onnx-model.js';

/** Options of {@link detectHead}. */
export interface HeadDetectionOptions {
  /** Name of the feature tensor (the head's input, or a tensor that reaches it through Flatten/Reshape/Squeeze/Identity). */
  featureTensor?: string;
  /** Name of the head node (Gemm, MatMul, or the Add of MatMul + bias). Unnamed nodes are `OpType#index`. */
  headNode?: string;
}

/** Which graph pattern the head was found as. */
export type HeadPattern = 'gemm' | 'matmul-add' | 'matmul';

/** The result of {@link detectHead}. */
export interface DetectedHead {
  /** Name (or `OpType#index`) of the node whose output is the logits. */
  readonly node: string;
  readonly pattern: HeadPattern;
  /** The tensor whose values, flattened to `[N, D]`, are the features `h`. */
  readonly featureTensor: string;
  /** True when the head consumes the feature tensor transposed (`Gemm` with `transA = 1`: the tensor is `[D, N]`). */
  readonly featuresTransposed: boolean;
  /** The pre-softmax logits tensor `[N, C]`. */
  readonly logitsTensor: string;
  /** The graph output the logits reach (through Softmax/Identity), if any. */
  readonly graphOutput: string | undefined;
  /** True when that graph output is `Softmax(logits)` or `LogSoftmax(logits)` (the model returns (log-)probabilities). */
  readonly outputIsProbabilities: boolean;
  /** Which of the two the graph output is, when {@link DetectedHead.outputIsProbabilities}. */
  readonly outputActivation?: ProbabilityOp;
  /** The head `W [C x D]` (one row per class; alpha/beta folded in), `b [C]`. */
  readonly head: LinearHead;
}

/** The activations after the logits that make a graph output (log-)probabilities. */
export type ProbabilityOp = 'Softmax' | 'LogSoftmax';

function isProbabilityOp(op: string | null | undefined): op is ProbabilityOp {
  return op === 'Softmax' || op === 'LogSoftmax';
}

/** Ops that keep the element order of a per-sample tensor (used to relate a named feature tensor to the head input). */
const ORDER_PRESERVING = new Set(['Flatten', 'Reshape', 'Squeeze', 'Identity']);

/** Lookup tables of a graph. */
export class GraphIndex {
  readonly producers = new Map<string, { node: NodeProto; id: string }>();
  readonly consumers = new Map<string, NodeProto[]>();
  readonly initializers = new Map<string, TensorProto>();
  readonly ids = new Map<NodeProto, string>();
  readonly graphOutputs: string[];

  constructor(readonly graph: GraphProto, readonly file?: string) {
    for (const t of graph.initializer ?? []) if (t.name) this.initializers.set(t.name, t);
    (graph.node ?? []).forEach((node, index) => {
      const id = node.name ? node.name : `${node.opType}#${index}`;
      this.ids.set(node, id);
      for (const out of node.output ?? []) if (out) this.producers.set(out, { node, id });
      for (const input of node.input ?? []) {
        if (!input) continue;
        const list = this.consumers.get(input);
        if (list) list.push(node);
        else this.consumers.set(input, [node]);
      }
    });
    this.graphOutputs = (graph.output ?? []).map((o) => o.name ?? '');
  }

  id(node: NodeProto): string {
    return this.ids.get(node) ?? node.name ?? '?';
  }

  /** Finds a node by name or `OpType#index` id. */
  findNode(name: string): NodeProto | undefined {
    for (const [node, id] of this.ids) if (id === name || node.name === name) return node;
    return undefined;
  }

  /** The constant value of a tensor (initializer, Constant node, through Identity), or undefined. */
  constant(name: string | undefined | null): { dims: number[]; values: Float32Array } | undefined {
    if (!name) return undefined;
    const init = this.initializers.get(name);
    if (init) return { dims: tensorDims(init), values: tensorToFloat32(init, this.file) };
    const producer = this.producers.get(name)?.node;
    if (!producer) return undefined;
    if (producer.opType === 'Identity') return this.constant(producer.input?.[0]);
    if (producer.opType !== 'Constant') return undefined;
    for (const attr of producer.attribute ?? []) {
      if (attr.name === 'value' && attr.t) return { dims: tensorDims(attr.t), values: tensorToFloat32(attr.t, this.file) };
      if (attr.name === 'value_float') return { dims: [], values: Float32Array.of(attr.f ?? 0) };
      if (attr.name === 'value_floats') return { dims: [attr.floats?.length ?? 0], values: Float32Array.from(attr.floats ?? []) };
    }
    return undefined;
  }
}

interface HeadMatch {
  node: NodeProto;
  pattern: HeadPattern;
  featureTensor: string;
  featuresTransposed: boolean;
  logitsTensor: string;
  head: LinearHead;
}

/** `W = scale * op(B)` as `C x D` row-major where `B` is `[D, C]` (`transposed = false`) or `[C, D]`. */
function weightFrom(values: Float32Array, dims: number[], transposedAlready: boolean, scale: number): { weight: Float32Array; C: number; D: number } {
  const [r, c] = dims as [number, number];
  if (transposedAlready) {
    const weight = scale === 1 ? Float32Array.from(values) : values.map((v) => v * scale);
    return { weight, C: r, D: c };
  }
  const weight = new Float32Array(r * c);
  for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) weight[j * r + i] = values[i * c + j]! * scale;
  return { weight, C: c, D: r };
}

/** A bias vector of length C from a constant of C or 1 entries (broadcast), or undefined if not a bias. */
function biasFrom(values: Float32Array, C: number, scale: number): Float32Array | undefined {
  if (values.length === C) return scale === 1 ? Float32Array.from(values) : values.map((v) => v * scale);
  if (values.length === 1) return new Float32Array(C).fill(values[0]! * scale);
  return undefined;
}

function isMatrixConstant(c: { dims: number[] } | undefined): c is { dims: [number, number]; values: Float32Array } {
  return c !== undefined && c.dims.length === 2 && c.dims[0]! > 0 && c.dims[1]! > 0;
}

/** Tries to read `node` as a head (Gemm, MatMul, or Add of MatMul + constant). */
function matchHead(index: GraphIndex, node: NodeProto): HeadMatch | undefined {
  const inputs = node.input ?? [];
  const output = node.output?.[0];
  if (!output) return undefined;
  if (node.opType === 'Gemm') {
    const B = index.constant(inputs[1]);
    if (!isMatrixConstant(B) || !inputs[0]) return undefined;
    const alpha = attrNumber(node, 'alpha', 1);
    const beta = attrNumber(node, 'beta', 1);
    const transA = attrNumber(node, 'transA', 0) !== 0;
    const transB = attrNumber(node, 'transB', 0) !== 0;
    const { weight, C, D } = weightFrom(B.values, B.dims, transB, alpha);
    let bias: Float32Array | undefined = new Float32Array(C);
    if (inputs[2]) {
      const c = index.constant(inputs[2]);
      bias = c ? biasFrom(c.values, C, beta) : undefined;
      if (!bias) return undefined;
    }
    return { node, pattern: 'gemm', featureTensor: inputs[0], featuresTransposed: transA, logitsTensor: output, head: linearHead(matrix(C, D, weight), bias) };
  }
  if (node.opType === 'MatMul') {
    const B = index.constant(inputs[1]);
    if (!isMatrixConstant(B) || !inputs[0] || index.constant(inputs[0])) return undefined;
    const { weight, C, D } = weightFrom(B.values, B.dims, false, 1);
    return { node, pattern: 'matmul', featureTensor: inputs[0], featuresTransposed: false, logitsTensor: output, head: linearHead(matrix(C, D, weight)) };
  }
  if (node.opType === 'Add' && inputs.length === 2) {
    for (const [mm, other] of [[inputs[0], inputs[1]], [inputs[1], inputs[0]]] as const) {
      const producer = mm ? index.producers.get(mm)?.node : undefined;
      if (!producer || producer.opType !== 'MatMul') continue;
      const inner = matchHead(index, producer);
      const c = index.constant(other);
      if (!inner || !c) continue;
      const bias = biasFrom(c.values, inner.head.weight.rows, 1);
      if (!bias) continue;
      return { ...inner, node, pattern: 'matmul-add', logitsTensor: output, head: linearHead(inner.head.weight, bias) };
    }
  }
  return undefined;
}

/** The Add that adds a constant bias to this MatMul's output, if that is its only use. */
function biasAddOf(index: GraphIndex, matmul: NodeProto): NodeProto | undefined {
  const users = index.consumers.get(matmul.output?.[0] ?? '') ?? [];
  if (users.length !== 1 || users[0]!.opType !== 'Add') return undefined;
  return matchHead(index, users[0]!)?.pattern === 'matmul-add' ? users[0] : undefined;
}

/** Follows a tensor forward through Identity / Softmax to a graph output. */
function forwardToOutput(index: GraphIndex, tensor: string): { graphOutput: string | undefined; activation: ProbabilityOp | undefined } {
  let current = tensor;
  let activation: ProbabilityOp | undefined;
  for (let guard = 0; guard < 16; guard++) {
    if (index.graphOutputs.includes(current)) return { graphOutput: current, activation };
    const users = index.consumers.get(current) ?? [];
    const next = users.find((u) => u.opType === 'Identity' || isProbabilityOp(u.opType));
    if (!next || !next.output?.[0]) break;
    if (isProbabilityOp(next.opType)) activation = next.opType;
    current = next.output[0];
  }
  return { graphOutput: undefined, activation: undefined };
}

/** Follows a graph output back through Identity / Softmax / LogSoftmax to the tensor that should be the logits. */
function backToLogits(index: GraphIndex, output: string): { tensor: string; probabilities: boolean } {
  let current = output;
  let probabilities = false;
  for (let guard = 0; guard < 16; guard++) {
    const producer = index.producers.get(current)?.node;
    if (!producer || (producer.opType !== 'Identity' && !isProbabilityOp(producer.opType)) || !producer.input?.[0]) break;
    if (isProbabilityOp(producer.opType)) probabilities = true;
    current = producer.input[0];
  }
  return { tensor: current, probabilities };
}

/** All nodes that look like a fully connected layer (for error messages). */
export function headCandidates(index: GraphIndex): string[] {
  const out: string[] = [];
  for (const node of index.graph.node ?? []) {
    if (node.opType !== 'Gemm' && node.opType !== 'MatMul') continue;
    const B = index.constant(node.input?.[1]);
    const desc = B ? `weight [${B.dims.join(', ')}]` : 'no constant weight';
    out.push(`${index.id(node)} (${node.opType}, input "${node.input?.[0] ?? ''}", ${desc}, output "${node.output?.[0] ?? ''}")`);
  }
  return out;
}

function finish(index: GraphIndex, match: HeadMatch, featureTensor?: string): DetectedHead {
  const { graphOutput, activation } = forwardToOutput(index, match.logitsTensor);
  return {
    node: index.id(match.node),
    pattern: match.pattern,
    featureTensor: featureTensor ?? match.featureTensor,
    featuresTransposed: match.featuresTransposed,
    logitsTensor: match.logitsTensor,
    graphOutput,
    outputIsProbabilities: activation !== undefined,
    ...(activation !== undefined ? { outputActivation: activation } : {}),
    head: match.head,
  };
}

/** Heads fed by `tensor` directly or through order-preserving ops. */
function headsFedBy(index: GraphIndex, tensor: string): HeadMatch[] {
  const found: HeadMatch[] = [];
  const queue = [tensor];
  const seen = new Set<string>();
  while (queue.length) {
    const t = queue.shift()!;
    if (seen.has(t)) continue;
    seen.add(t);
    for (const user of index.consumers.get(t) ?? []) {
      if (ORDER_PRESERVING.has(user.opType ?? '') && user.input?.[0] === t && user.output?.[0]) {
        queue.push(user.output[0]);
        continue;
      }
      if (user.input?.[0] !== t) continue;
      const add = user.opType === 'MatMul' ? biasAddOf(index, user) : undefined;
      const match = matchHead(index, add ?? user);
      if (match && !(match.featuresTransposed && t !== tensor)) found.push(match);
    }
  }
  return found;
}

function notFound(index: GraphIndex, summary: string, actual: unknown, hint?: string): OpnpError {
  const candidates = headCandidates(index);
  return new OpnpError('MODEL_HEAD_NOT_FOUND', summary, {
    file: index.file,
    expected: 'a graph output of class logits produced by Gemm, MatMul or Add(MatMul, bias) with constant weights',
    actual,
    hint:
      (hint ? hint + '. ' : '') +
      (candidates.length ? `Candidate nodes: ${candidates.join('; ')}. Pass headNode or featureTensor to choose one` : 'The graph has no Gemm or MatMul node with a constant weight'),
  });
}

/**
 * Detects the classifier head of a model.
 *
 * @returns the head `W [C x D]`, `b [C]`, the feature tensor (`[N, D]` after flattening) and the logits tensor
 * @throws OpnpError `MODEL_HEAD_NOT_FOUND` (the message lists candidate nodes), `MODEL_HEAD_AMBIGUOUS` when
 * several graph outputs have a head and no option picks one
 */
export function detectHead(model: OnnxModel, options: HeadDetectionOptions = {}): DetectedHead {
  const index = new GraphIndex(model.proto.graph!, model.file);
  const { featureTensor, headNode } = options;

  if (headNode !== undefined) {
    const node = index.findNode(headNode);
    if (!node) throw notFound(index, `No node named "${headNode}" in the graph`, headNode);
    const add = node.opType === 'MatMul' ? biasAddOf(index, node) : undefined;
    const match = matchHead(index, add ?? node);
    if (!match) {
      throw notFound(index, `Node "${headNode}" (${node.opType}) is not a fully connected layer with constant weights`, headNode);
    }
    if (featureTensor !== undefined && featureTensor !== match.featureTensor && !headsFedBy(index, featureTensor).some((m) => m.node === match.node)) {
      throw notFound(index, `Feature tensor "${featureTensor}" does not feed head node "${headNode}"`, featureTensor, `That node reads "${match.featureTensor}"`);
    }
    return finish(index, match, featureTensor);
  }

  if (featureTensor !== undefined) {
    if (!index.producers.has(featureTensor) && !(index.graph.input ?? []).some((i) => i.name === featureTensor)) {
      throw notFound(index, `No tensor named "${featureTensor}" in the graph`, featureTensor);
    }
    const matches = headsFedBy(index, featureTensor);
    if (matches.length === 0) throw notFound(index, `No fully connected layer reads the feature tensor "${featureTensor}"`, featureTensor);
    if (matches.length > 1) {
      throw new OpnpError('MODEL_HEAD_AMBIGUOUS', `Several fully connected layers read "${featureTensor}"`, {
        file: index.file,
        actual: matches.map((m) => index.id(m.node)),
        hint: 'Pass headNode to choose one',
      });
    }
    return finish(index, matches[0]!, featureTensor);
  }

  const found: { output: string; match: HeadMatch; probabilities: boolean }[] = [];
  const tried: string[] = [];
  for (const output of index.graphOutputs) {
    const { tensor, probabilities } = backToLogits(index, output);
    const producer = index.producers.get(tensor)?.node;
    const match = producer ? matchHead(index, producer) : undefined;
    if (match) found.push({ output, match, probabilities });
    else tried.push(`${output} <- ${producer ? `${producer.opType} ${index.id(producer)}` : 'no producer'}`);
  }
  if (found.length === 0) {
    throw notFound(index, 'Could not find the classifier head', `graph outputs: ${tried.join('; ') || 'none'}`, 'No graph output is produced by a Gemm / MatMul / Add(MatMul, bias) (optionally followed by Softmax, LogSoftmax or Identity)');
  }
  const distinct = [...new Map(found.map((f) => [f.match.node, f])).values()];
  if (distinct.length > 1) {
    throw new OpnpError('MODEL_HEAD_AMBIGUOUS', 'Several graph outputs are produced by a fully connected layer', {
      file: index.file,
      actual: distinct.map((f) => `${f.output} <- ${index.id(f.match.node)}`),
      hint: `Pass headNode (one of ${distinct.map((f) => `"${index.id(f.match.node)}"`).join(', ')}) or featureTensor`,
    });
  }
  return finish(index, distinct[0]!.match);
}
