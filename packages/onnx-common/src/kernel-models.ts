/**
 * The ONNX graphs of the onnxruntime GEMM kernel (`gemm-kernel.ts`): one `Gemm` node (float or double), the fused sensitivity product
 * and the banded grid scoring step of core's `KernelAccelerators`, each serialised for `InferenceSession.create`.
 */
import type { BandedGridShape } from '@opnp/core/base';
import { onnx } from './onnx-model.js';

/** ONNX `TensorProto.DataType.FLOAT`. */
const FLOAT = 1;
/** ONNX `TensorProto.DataType.INT64`. */
const INT64 = 7;
/** ONNX `TensorProto.DataType.DOUBLE`. */
const DOUBLE = 11;

/** The producer name written into the kernel's models. */
const PRODUCER = '@opnp/onnx-common';

function floatInput(name: string, rows: string, cols: string, elemType = FLOAT): InstanceType<typeof onnx.ValueInfoProto> {
  return onnx.ValueInfoProto.create({
    name,
    type: {
      tensorType: {
        elemType,
        shape: { dim: [{ dimParam: rows }, { dimParam: cols }] },
      },
    },
  });
}

/**
 * Serialises the model `Y = op(A) * op(B)` (one ONNX `Gemm` node, opset 13, `alpha = 1`, no `C` input)
 * with symbolic 2-D float inputs (double with `float64`, for the `float64Product` accelerator).
 */
export function buildGemmModel(transA: boolean, transB: boolean, float64 = false): Uint8Array {
  const elemType = float64 ? DOUBLE : FLOAT;
  const INT = onnx.AttributeProto.AttributeType.INT;
  const node = onnx.NodeProto.create({
    opType: 'Gemm',
    name: 'gemm',
    input: ['A', 'B'],
    output: ['Y'],
    attribute: [
      { name: 'transA', type: INT, i: transA ? 1 : 0 },
      { name: 'transB', type: INT, i: transB ? 1 : 0 },
    ],
  });
  const graph = onnx.GraphProto.create({
    name: `opnp_gemm${float64 ? '64' : ''}_${transA ? 't' : 'n'}${transB ? 't' : 'n'}`,
    node: [node],
    input: [floatInput('A', 'a_rows', 'a_cols', elemType), floatInput('B', 'b_rows', 'b_cols', elemType)],
    output: [floatInput('Y', 'm', 'n', elemType)],
  });
  const model = onnx.ModelProto.create({
    irVersion: 7,
    producerName: PRODUCER,
    opsetImport: [{ domain: '', version: 13 }],
    graph,
  });
  return onnx.ModelProto.encode(model).finish();
}

/**
 * Serialises the fused sensitivity model `Y = softmax(L / T)^T op(H)` (opset 13: `Div`, `Softmax` over
 * the class axis, optional `Abs`, `Gemm` with `transA = 1`); `T` is a `[1]` float input. A second output `S` is the
 * float32 sum of every entry of `Y` (`ReduceSum`, a scalar): when it is finite, so is every entry.
 */
export function buildSoftmaxProductModel(absolute: boolean): Uint8Array {
  const INT = onnx.AttributeProto.AttributeType.INT;
  const nodes = [
    onnx.NodeProto.create({ opType: 'Div', name: 'scale', input: ['L', 'T'], output: ['LT'] }),
    onnx.NodeProto.create({ opType: 'Softmax', name: 'softmax', input: ['LT'], output: ['P'], attribute: [{ name: 'axis', type: INT, i: 1 }] }),
  ];
  if (absolute) nodes.push(onnx.NodeProto.create({ opType: 'Abs', name: 'abs', input: ['H'], output: ['HA'] }));
  nodes.push(
    onnx.NodeProto.create({
      opType: 'Gemm',
      name: 'gemm',
      input: ['P', absolute ? 'HA' : 'H'],
      output: ['Y'],
      attribute: [{ name: 'transA', type: INT, i: 1 }],
    }),
  );
  nodes.push(onnx.NodeProto.create({ opType: 'ReduceSum', name: 'sum', input: ['Y'], output: ['S'], attribute: [{ name: 'keepdims', type: INT, i: 0 }] }));
  const scalar = onnx.ValueInfoProto.create({ name: 'T', type: { tensorType: { elemType: FLOAT, shape: { dim: [{ dimValue: 1 }] } } } });
  const total = onnx.ValueInfoProto.create({ name: 'S', type: { tensorType: { elemType: FLOAT, shape: { dim: [] } } } });
  const graph = onnx.GraphProto.create({
    name: `opnp_sensitivity_${absolute ? 'abs' : 'signed'}`,
    node: nodes,
    input: [floatInput('L', 'n', 'c'), floatInput('H', 'n', 'd'), scalar],
    output: [floatInput('Y', 'c', 'd'), total],
  });
  const model = onnx.ModelProto.create({ irVersion: 7, producerName: PRODUCER, opsetImport: [{ domain: '', version: 13 }], graph });
  return onnx.ModelProto.encode(model).finish();
}

/** The structure of a banded grid scoring model (everything but the number of rows). */
export type BandedGridStructure = Omit<BandedGridShape, 'rows'>;

/**
 * Serialises the banded grid scoring model (opset 13) for one {@link BandedGridStructure}. Inputs: `P0..P{m-1}`
 * (`[R x S*C]`, the parts with each row's `BandedGridParts` low entries followed by its high ones) and `bias [S*C]` (the bias on each low weight entry, zeros on the high ones); outputs `Y [R x combinations]` (`logSum`) and `shifts [R x 4]`, as
 * the `bandedGridLogSumExp` accelerator (`KernelAccelerators`) specifies. The four groups of partial logits (low / high weights on low /
 * high neurons) are each shifted by their row maximum and exponentiated once per `(level, level, class)`; a point's
 * sum over classes is then `sum_c Y[a,b,bn,c] Xt[a,b,c,an]` with `Xt` = the product of the two groups that depend on
 * `an` and `Y` = the product of the two that depend on `bn`: one batched MatMul, so the exponentials cost
 * `S * (neuronLow + neuronHigh)` per class instead of one per grid point.
 */
export function buildBandedGridModel(structure: BandedGridStructure): Uint8Array {
  const { classes: C, weightLow: wL, weightHigh: wH, neuronLow: nL, neuronHigh: nH } = structure;
  const S = wL + wH;
  const INT = onnx.AttributeProto.AttributeType.INT;
  const INTS = onnx.AttributeProto.AttributeType.INTS;
  const TENSOR = onnx.AttributeProto.AttributeType.TENSOR;
  const nodes: InstanceType<typeof onnx.NodeProto>[] = [];
  const initializer: InstanceType<typeof onnx.TensorProto>[] = [];
  let counter = 0;
  const op = (opType: string, input: string[], attribute: object[] = []): string => {
    const output = `${opType.toLowerCase()}_${counter++}`;
    nodes.push(onnx.NodeProto.create({ opType, name: output, input, output: [output], attribute }));
    return output;
  };
  const int64 = (values: number[]): string => {
    const name = `const_${counter++}`;
    initializer.push(onnx.TensorProto.create({ name, dims: [values.length], dataType: INT64, int64Data: values }));
    return name;
  };
  const slice = (x: string, start: number, end: number, axis: number) => op('Slice', [x, int64([start]), int64([end]), int64([axis])]);
  const unsqueeze = (x: string, axis: number) => op('Unsqueeze', [x, int64([axis])]);
  const concat = (xs: string[], axis: number) => (xs.length === 1 ? xs[0]! : op('Concat', xs, [{ name: 'axis', type: INT, i: axis }]));
  const rowsOf = slice(op('Shape', ['P0']), 0, 1, 0);
  /** A `[R, ...dims]` tensor filled with `value`. */
  const filled = (dims: number[], value: number) =>
    op('ConstantOfShape', [op('Concat', [rowsOf, int64(dims)], [{ name: 'axis', type: INT, i: 0 }])], [
      { name: 'value', type: TENSOR, t: onnx.TensorProto.create({ dims: [1], dataType: FLOAT, floatData: [value] }) },
    ]);
  const ones = (dims: number[]) => filled(dims, 1);
  /** Shifts a group by its row maximum and exponentiates it; returns `[exp, shift [R x 1]]`. */
  const shiftedExp = (group: string, axes: number[]): [string, string] => {
    const max = op('ReduceMax', [group], [{ name: 'axes', type: INTS, ints: axes }, { name: 'keepdims', type: INT, i: 1 }]);
    return [op('Exp', [op('Sub', [group, max])]), op('Reshape', [max, int64([-1, 1])])];
  };

  // Cumulative parts: L[i] = sum_{k >= i} P_k (low side), U[i] = sum_{k >= i} P_{nL + k} (high side), each [R, S, C].
  const part = Array.from({ length: nL + nH }, (_, k) => op('Reshape', [`P${k}`, int64([-1, S, C])]));
  const L: string[] = new Array<string>(nL);
  // The bias joins the low weight entries of the last low part (`bias` is fed tiled as [S*C], zeros on the high entries).
  for (let i = nL - 1; i >= 0; i--) L[i] = op('Add', [part[i]!, i === nL - 1 ? op('Reshape', ['bias', int64([S, C])]) : L[i + 1]!]);
  const U: string[] = new Array<string>(nH);
  for (let i = nH - 1; i >= 0; i--) U[i] = i === nH - 1 ? part[nL + i]! : op('Add', [part[nL + i]!, U[i + 1]!]);
  const split = (x: string, axis: number): [string, string] => {
    const lo = slice(x, 0, wL, axis);
    return [lo, wH > 0 ? slice(x, wL, S, axis) : lo];
  };

  // Xt [R, wL, wH+1, C, nL] = exp(lo(L) + bias) * exp(hi(L)) (padded with ones at b = wH), classes before an.
  const lStack = op('Transpose', [op('Reshape', [concat(L, 1), int64([-1, nL, S, C])])], [{ name: 'perm', type: INTS, ints: [0, 2, 3, 1] }]);
  const [lLo, lHi] = split(lStack, 1);
  const [ell, sLL] = shiftedExp(lLo, [1, 2, 3]);
  let Xt = unsqueeze(ell, 2);
  let sHL: string | undefined;
  if (wH > 0) {
    const [ehl, s] = shiftedExp(lHi, [1, 2, 3]);
    sHL = s;
    Xt = op('Mul', [Xt, unsqueeze(concat([ehl, ones([1, C, nL])], 1), 1)]);
  }
  // Y [R, wL, wH+1, nH+1, C] = exp(lo(U)) * exp(hi(U)), padded with ones at bn = nH (and b = wH); Z = Y Xt.
  let sLH: string | undefined;
  let sHH: string | undefined;
  let Z: string;
  if (nH > 0) {
    const uStack = concat(U.map((x) => unsqueeze(x, 2)), 2);
    const [uLo, uHi] = split(uStack, 1);
    const [elh, s1] = shiftedExp(uLo, [1, 2, 3]);
    sLH = s1;
    let Y = unsqueeze(concat([elh, ones([wL, 1, C])], 2), 2);
    if (wH > 0) {
      const [ehh, s2] = shiftedExp(uHi, [1, 2, 3]);
      sHH = s2;
      Y = op('Mul', [Y, unsqueeze(concat([concat([ehh, ones([wH, 1, C])], 2), ones([1, nH + 1, C])], 1), 1)]);
    }
    Z = op('MatMul', [Y, Xt]);
  } else {
    Z = op('ReduceSum', [Xt, int64([3])], [{ name: 'keepdims', type: INT, i: 1 }]);
  }
  const combinations = wL * (wH + 1) * nL * (nH + 1);
  nodes.push(onnx.NodeProto.create({ opType: 'Reshape', name: 'Y', input: [op('Log', [Z]), int64([-1, combinations])], output: ['Y'] }));
  const absent = () => filled([1], 0); // the shift of an absent group (never applied)
  nodes.push(onnx.NodeProto.create({ opType: 'Concat', name: 'shifts', input: [sLL, sLH ?? absent(), sHL ?? absent(), sHH ?? absent()], output: ['shifts'], attribute: [{ name: 'axis', type: INT, i: 1 }] }));

  const tensor = (name: string, dims: (number | string)[]) =>
    onnx.ValueInfoProto.create({ name, type: { tensorType: { elemType: FLOAT, shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) } } } });
  const graph = onnx.GraphProto.create({
    name: 'opnp_banded_grid',
    node: nodes,
    initializer,
    input: [...part.map((_, k) => tensor(`P${k}`, ['r', S * C])), tensor('bias', [S * C])],
    output: [tensor('Y', ['r', combinations]), tensor('shifts', ['r', 4])],
  });
  const model = onnx.ModelProto.create({ irVersion: 7, producerName: PRODUCER, opsetImport: [{ domain: '', version: 13 }], graph });
  return onnx.ModelProto.encode(model).finish();
}

