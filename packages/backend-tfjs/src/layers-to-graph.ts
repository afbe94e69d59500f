/**
 * Translation of the common Keras layers of a LayersModel into GraphDef nodes (inference semantics), so an
 * exported detector can be a single graph model. Supported: InputLayer, Conv2D (channels-last), Dense,
 * MaxPooling2D, AveragePooling2D, GlobalAveragePooling2D, Flatten, Reshape, Activation, ReLU (no max value),
 * BatchNormalization (last axis, folded into Mul + Add), Add, and the inference no-ops (Dropout & co.).
 */
import type { Tensor } from '@tensorflow/tfjs-core';
import type { LayersModel, SymbolicTensor } from '@tensorflow/tfjs-layers';
import { OpnpError } from '@opnp/core';
import { attr, type GraphDefBuilder } from './graph-def.js';

const ACTIVATIONS: Record<string, string | null> = {
  linear: null,
  relu: 'Relu',
  relu6: 'Relu6',
  sigmoid: 'Sigmoid',
  tanh: 'Tanh',
  softmax: 'Softmax',
  elu: 'Elu',
  selu: 'Selu',
  softplus: 'Softplus',
};
const NO_OPS = new Set(['Dropout', 'SpatialDropout1D', 'SpatialDropout2D', 'GaussianNoise', 'GaussianDropout', 'AlphaDropout']);

interface LayerLike {
  name: string;
  getClassName(): string;
  getConfig(): Record<string, unknown>;
  getWeights(): Tensor[];
  inboundNodes: { inputTensors: SymbolicTensor[]; outputTensors: SymbolicTensor[] }[];
}

function pair(v: unknown, fallback: number): [number, number] {
  if (Array.isArray(v)) return [Number(v[0]), Number(v[1] ?? v[0])];
  if (typeof v === 'number') return [v, v];
  return [fallback, fallback];
}

function unsupported(layer: LayerLike, why: string): never {
  throw new OpnpError('MODEL_FORMAT', `Cannot export layer "${layer.name}" (${layer.getClassName()}): ${why}`, {
    hint: 'Convert the model to a graph model (tensorflowjs_converter --output_format=tfjs_graph_model) and export from that',
  });
}

function constant(b: GraphDefBuilder, prefix: string, t: Tensor): string {
  return b.constant(prefix, Float32Array.from(t.dataSync() as Float32Array), t.shape);
}

function activation(b: GraphDefBuilder, layer: LayerLike, x: string): string {
  const a = layer.getConfig().activation;
  const name = typeof a === 'string' ? a : 'linear';
  if (!(name in ACTIVATIONS)) unsupported(layer, `activation "${name}"`);
  const op = ACTIVATIONS[name];
  return op ? b.op(op, [x], {}, b.name(`${layer.name}/${op}`)) : x;
}

function translate(b: GraphDefBuilder, layer: LayerLike, inputs: string[], outputShape: readonly (number | null)[]): string {
  const cls = layer.getClassName();
  const cfg = layer.getConfig();
  const x = inputs[0]!;
  const n = (suffix: string): string => b.name(`${layer.name}/${suffix}`);
  if (NO_OPS.has(cls)) return x;
  switch (cls) {
    case 'Conv2D': {
      if (cfg.dataFormat !== undefined && cfg.dataFormat !== 'channelsLast') unsupported(layer, 'only channelsLast');
      const [kernel, bias] = layer.getWeights();
      const [sh, sw] = pair(cfg.strides, 1);
      const [dh, dw] = pair(cfg.dilationRate, 1);
      let y = b.op('Conv2D', [x, constant(b, `${layer.name}/kernel`, kernel!)], {
        strides: attr.ints([1, sh, sw, 1]),
        padding: attr.string(String(cfg.padding ?? 'valid').toUpperCase()),
        data_format: attr.string('NHWC'),
        dilations: attr.ints([1, dh, dw, 1]),
      }, n('Conv2D'));
      if (bias) y = b.op('BiasAdd', [y, constant(b, `${layer.name}/bias`, bias)], { data_format: attr.string('NHWC') }, n('BiasAdd'));
      return activation(b, layer, y);
    }
    case 'Dense': {
      const [kernel, bias] = layer.getWeights();
      let y = b.op('MatMul', [x, constant(b, `${layer.name}/kernel`, kernel!)], { transpose_a: attr.bool(false), transpose_b: attr.bool(false) }, n('MatMul'));
      if (bias) y = b.op('BiasAdd', [y, constant(b, `${layer.name}/bias`, bias)], { data_format: attr.string('NHWC') }, n('BiasAdd'));
      return activation(b, layer, y);
    }
    case 'MaxPooling2D':
    case 'AveragePooling2D': {
      const [ph, pw] = pair(cfg.poolSize, 2);
      const [sh, sw] = cfg.strides == null ? [ph, pw] : pair(cfg.strides, ph);
      const op = cls === 'MaxPooling2D' ? 'MaxPool' : 'AvgPool';
      return b.op(op, [x], {
        ksize: attr.ints([1, ph, pw, 1]),
        strides: attr.ints([1, sh, sw, 1]),
        padding: attr.string(String(cfg.padding ?? 'valid').toUpperCase()),
        data_format: attr.string('NHWC'),
      }, n(op));
    }
    case 'GlobalAveragePooling2D':
      return b.op('Mean', [x, b.constant(`${layer.name}/axes`, Int32Array.of(1, 2), [2])], { keep_dims: attr.bool(false), Tidx: attr.type('DT_INT32') }, n('Mean'));
    case 'Flatten':
    case 'Reshape': {
      const dims = outputShape.slice(1).map((d) => d ?? -1);
      return b.op('Reshape', [x, b.constant(`${layer.name}/shape`, Int32Array.from([-1, ...dims]), [dims.length + 1])], { Tshape: attr.type('DT_INT32') }, n('Reshape'));
    }
    case 'Activation':
      return activation(b, layer, x);
    case 'ReLU':
      if (cfg.maxValue != null) unsupported(layer, 'maxValue');
      return b.op('Relu', [x], {}, n('Relu'));
    case 'BatchNormalization': {
      const axis = cfg.axis;
      if (axis !== -1 && axis !== outputShape.length - 1) unsupported(layer, 'only the last axis');
      const ws = layer.getWeights();
      const center = cfg.center !== false;
      const scaleOn = cfg.scale !== false;
      let k = 0;
      const gamma = scaleOn ? (ws[k++]!.dataSync() as Float32Array) : undefined;
      const beta = center ? (ws[k++]!.dataSync() as Float32Array) : undefined;
      const mean = ws[k++]!.dataSync() as Float32Array;
      const variance = ws[k++]!.dataSync() as Float32Array;
      const eps = Number(cfg.epsilon ?? 1e-3);
      const C = mean.length;
      const mul = new Float32Array(C);
      const add = new Float32Array(C);
      for (let c = 0; c < C; c++) {
        mul[c] = (gamma ? gamma[c]! : 1) / Math.sqrt(variance[c]! + eps);
        add[c] = (beta ? beta[c]! : 0) - mean[c]! * mul[c]!;
      }
      const y = b.op('Mul', [x, b.constant(`${layer.name}/scale`, mul, [C])], {}, n('Mul'));
      return b.op('AddV2', [y, b.constant(`${layer.name}/offset`, add, [C])], {}, n('AddV2'));
    }
    case 'Add': {
      let y = x;
      for (const other of inputs.slice(1)) y = b.op('AddV2', [y, other], {}, n('AddV2'));
      return y;
    }
    default:
      return unsupported(layer, 'no translation for this layer type');
  }
}

/**
 * Adds the part of a LayersModel from its input up to the symbolic tensor `target` to `builder`.
 *
 * @returns the input placeholder name and shape, and the graph reference of `target`
 * @throws OpnpError `MODEL_FORMAT` for a layer that cannot be translated
 */
export function layersToGraph(
  model: LayersModel,
  target: SymbolicTensor,
  builder: GraphDefBuilder,
): { input: { name: string; shape: (number | null)[] }; output: string } {
  if (model.inputs.length !== 1) throw new OpnpError('MODEL_FORMAT', 'Export needs a model with one input', { actual: model.inputs.length });
  const input = model.inputs[0]!;
  const shape = input.shape.map((d) => d ?? null);
  const placeholder = builder.placeholder(input.name.replace(/[^A-Za-z0-9_./-]/g, '_'), shape);
  const refs = new Map<number, string>([[input.id, placeholder]]);
  for (const layer of model.layers as unknown as LayerLike[]) {
    if (refs.has(target.id)) break;
    if (layer.getClassName() === 'InputLayer') continue;
    if (layer.inboundNodes.length !== 1) unsupported(layer, 'a layer used more than once');
    const node = layer.inboundNodes[0]!;
    const inputs = node.inputTensors.map((t) => refs.get(t.id));
    if (inputs.some((r) => r === undefined)) continue; // not on the path from the input (e.g. a second branch)
    const out = node.outputTensors[0]!;
    refs.set(out.id, translate(builder, layer, inputs as string[], out.shape));
  }
  const output = refs.get(target.id);
  if (output === undefined) throw new OpnpError('MODEL_FORMAT', 'Could not trace the feature tensor back to the model input', { actual: target.name });
  return { input: { name: placeholder, shape }, output };
}
