/**
 * Reading a model's input and adding graph outputs: what the feature extractor needs to run a model with its
 * feature tensor as an extra output.
 */
import { OpnpError, type InputSpec } from '@opnp/core/base';
import { DataType, onnx, valueInfoShape, type OnnxModel, type ValueInfoProto } from './onnx-model.js';

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
