/**
 * Reading a model's input and adding graph outputs: what the feature extractor needs to run a model with its
 * feature tensor as an extra output.
 */
import { OpnpError, type InputSpec } from '@opnp/core/base';
import { DataType, onnx, serializeOnnxModel, valueInfoShape, type OnnxModel, type ValueInfoProto } from './onnx-model.js';

/** The name of the single non-initializer graph input, if there is one. */
export function modelInputName(model: OnnxModel): string | undefined {
  const graph = model.proto.graph!;
  const initializers = new Set((graph.initializer ?? []).map((t) => t.name));
  return graph.input?.find((i) => !initializers.has(i.name))?.name ?? undefined;
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

/** The element type of tensor `name` as the graph records it (float32 when it does not). */
function elemTypeOf(model: OnnxModel, name: string): number {
  const graph = model.proto.graph!;
  const known = [...(graph.valueInfo ?? []), ...(graph.output ?? [])].find((v) => v.name === name);
  return valueInfoShape(known).elemType || DataType.FLOAT;
}

/** The names of `names` that are not graph outputs yet, each once. */
function missingOutputs(model: OnnxModel, names: readonly string[]): string[] {
  const existing = new Set((model.proto.graph!.output ?? []).map((o) => o.name));
  return [...new Set(names)].filter((n) => !existing.has(n));
}

/**
 * The model with `names` added as graph outputs (those that are not outputs already). The input model is
 * not modified.
 */
export function withExtraOutputs(model: OnnxModel, names: readonly string[]): OnnxModel {
  const graph = model.proto.graph!;
  const extra: ValueInfoProto[] = missingOutputs(model, names).map((name) => onnx.ValueInfoProto.create({ name, type: { tensorType: { elemType: elemTypeOf(model, name) } } }));
  const proto = onnx.ModelProto.create({ ...model.proto, graph: onnx.GraphProto.create({ ...graph, output: [...(graph.output ?? []), ...extra] }) });
  const { bytes: _original, ...rest } = model; // the bytes no longer hold this proto
  return { ...rest, proto };
}

/** Protobuf varint of a non-negative integer below 2^31. */
function varint(value: number): number[] {
  const out: number[] = [];
  for (; value >= 0x80; value >>>= 7) out.push((value & 0x7f) | 0x80);
  out.push(value);
  return out;
}

/** A length-delimited protobuf field: tag of `field`, length, `body`. */
function delimited(field: number, body: readonly number[]): number[] {
  return [...varint((field << 3) | 2), ...varint(body.length), ...body];
}

/** `ModelProto { graph { output: ValueInfoProto { name, type { tensor_type { elem_type } } } ... } }` on the wire. */
function graphOutputsMessage(outputs: readonly { name: string; elemType: number }[]): Uint8Array {
  const encoder = new TextEncoder();
  const valueInfos = outputs.flatMap(({ name, elemType }) => {
    const tensorType = [0x08, ...varint(elemType)]; // TypeProto.Tensor.elem_type = 1
    const type = delimited(1, tensorType); // TypeProto.tensor_type = 1
    return delimited(12, [...delimited(1, [...encoder.encode(name)]), ...delimited(2, type)]); // GraphProto.output = 12; ValueInfoProto.name = 1, type = 2
  });
  return Uint8Array.from(delimited(7, valueInfos)); // ModelProto.graph = 7
}

/**
 * The serialised model with `names` added as graph outputs, for `InferenceSession.create`: the model's own bytes
 * ({@link OnnxModel.bytes}) followed by a second `graph` field holding only the new outputs, which a protobuf
 * parser (onnxruntime's) merges into the first: the same model as {@link withExtraOutputs} without encoding
 * (or copying) the weights again. Models without their bytes (external data) are encoded.
 */
export function sessionBytesWithOutputs(model: OnnxModel, names: readonly string[]): Uint8Array {
  if (model.bytes === undefined) return serializeOnnxModel(withExtraOutputs(model, names));
  const missing = missingOutputs(model, names);
  if (missing.length === 0) return model.bytes;
  const tail = graphOutputsMessage(missing.map((name) => ({ name, elemType: elemTypeOf(model, name) })));
  const out = new Uint8Array(model.bytes.length + tail.length);
  out.set(model.bytes);
  out.set(tail, model.bytes.length);
  return out;
}
