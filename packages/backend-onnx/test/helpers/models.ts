/**
 * Test models built with the ONNX protobuf schema (no python), and brute-force references.
 */
import { onnx } from '@opnp/onnx-common';
import type { onnx as OnnxNamespace } from 'onnx-proto';

type Attr = number | number[];

export interface NodeSpec {
  op: string;
  inputs: string[];
  outputs: string[];
  name?: string;
  attrs?: Record<string, Attr>;
  /** Float attributes (alpha, beta, value_float). */
  floatAttrs?: Record<string, number>;
  /** A tensor attribute (`value` of Constant). */
  tensor?: { name: string; dims: number[]; values: ArrayLike<number> };
}

export interface ModelSpec {
  opset?: number;
  inputs: { name: string; dims: (number | string)[]; elemType?: number }[];
  outputs: { name: string; dims?: (number | string)[]; elemType?: number }[];
  initializers?: { name: string; dims: number[]; values: ArrayLike<number>; external?: { location: string; offset: number } }[];
  nodes: NodeSpec[];
}

export function tensorProto(name: string, dims: number[], values: ArrayLike<number>): OnnxNamespace.TensorProto {
  return onnx.TensorProto.create({ name, dims, dataType: 1, floatData: Array.from(values) });
}

function valueInfo(name: string, dims: (number | string)[] | undefined, elemType = 1): OnnxNamespace.ValueInfoProto {
  return onnx.ValueInfoProto.create({
    name,
    type: {
      tensorType: {
        elemType,
        ...(dims ? { shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) } } : {}),
      },
    },
  });
}

/** Builds a model proto from a compact spec. */
export function buildModelProto(spec: ModelSpec): OnnxNamespace.ModelProto {
  const nodes = spec.nodes.map((n) => {
    const attribute: OnnxNamespace.IAttributeProto[] = [];
    for (const [name, value] of Object.entries(n.attrs ?? {})) {
      attribute.push(Array.isArray(value) ? { name, type: 7, ints: value } : { name, type: 2, i: value });
    }
    for (const [name, value] of Object.entries(n.floatAttrs ?? {})) attribute.push({ name, type: 1, f: value });
    if (n.tensor) attribute.push({ name: 'value', type: 4, t: tensorProto(n.tensor.name, n.tensor.dims, n.tensor.values) });
    return onnx.NodeProto.create({ opType: n.op, input: n.inputs, output: n.outputs, name: n.name ?? '', attribute });
  });
  const initializer = (spec.initializers ?? []).map((t) => {
    if (!t.external) return tensorProto(t.name, t.dims, t.values);
    return onnx.TensorProto.create({
      name: t.name,
      dims: t.dims,
      dataType: 1,
      dataLocation: onnx.TensorProto.DataLocation.EXTERNAL,
      externalData: [
        { key: 'location', value: t.external.location },
        { key: 'offset', value: String(t.external.offset) },
        { key: 'length', value: String(t.values.length * 4) },
      ],
    });
  });
  return onnx.ModelProto.create({
    irVersion: 8,
    producerName: 'opnp-tests',
    opsetImport: [{ domain: '', version: spec.opset ?? 13 }],
    graph: {
      name: 'test',
      node: nodes,
      initializer,
      input: spec.inputs.map((i) => valueInfo(i.name, i.dims, i.elemType)),
      output: spec.outputs.map((o) => valueInfo(o.name, o.dims, o.elemType)),
    },
  });
}

export function buildModel(spec: ModelSpec): Uint8Array {
  return onnx.ModelProto.encode(buildModelProto(spec)).finish();
}

/** Deterministic pseudo-random floats in [-1, 1) (xorshift32). */
export function seeded(n: number, seed = 1): Float32Array {
  const out = new Float32Array(n);
  let s = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s ^= s << 13; s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5; s >>>= 0;
    out[i] = (s / 4294967296) * 2 - 1;
  }
  return out;
}

/** Brute-force `x [N x K] * A [K x M]` in float64 (row-major). */
export function matmul(x: ArrayLike<number>, A: ArrayLike<number>, N: number, K: number, M: number): Float64Array {
  const out = new Float64Array(N * M);
  for (let n = 0; n < N; n++) for (let m = 0; m < M; m++) {
    let s = 0;
    for (let k = 0; k < K; k++) s += x[n * K + k]! * A[k * M + m]!;
    out[n * M + m] = s;
  }
  return out;
}

/** The stable energy (docs/numerics.md#energy) `T * logsumexp(f / T)` of each row, float64. */
export function energyRows(f: ArrayLike<number>, N: number, C: number, T = 1): Float64Array {
  const out = new Float64Array(N);
  for (let n = 0; n < N; n++) {
    let max = -Infinity;
    for (let c = 0; c < C; c++) max = Math.max(max, f[n * C + c]! / T);
    let s = 0;
    for (let c = 0; c < C; c++) s += Math.exp(f[n * C + c]! / T - max);
    out[n] = T * (max + Math.log(s));
  }
  return out;
}

/** Asserts `|a - e| <= atol + rtol |e|` everywhere; the message names the first differing index. */
export function firstMismatch(actual: ArrayLike<number>, expected: ArrayLike<number>, atol: number, rtol = 0): string | undefined {
  if (actual.length !== expected.length) return `length ${actual.length} vs ${expected.length}`;
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i]!;
    const e = expected[i]!;
    if (!(Math.abs(a - e) <= atol + rtol * Math.abs(e))) return `index ${i}: ${a} vs ${e}`;
  }
  return undefined;
}
