/**
 * Reading and writing ONNX models with the real ONNX protobuf schema: parse bytes into a `ModelProto`
 * (`onnx-decode.ts`), resolve external-data tensors (through a reader the runtime supplies), read tensor values,
 * and serialise back (`onnx-proto`, loaded at its first use). No file system: `@opnp/backend-onnx` reads files,
 * `@opnp/backend-onnx-web` fetches URLs.
 */
import loadOnnxProto from '#onnx-proto';
import type { onnx as OnnxNamespace } from 'onnx-proto';
import { OpnpError } from '@opnp/core/base';
import { decodeModelProto, ProtobufDecodeError } from './onnx-decode.js';

let onnxNamespace: typeof OnnxNamespace | undefined;

/**
 * The generated protobuf namespace of `onnx-proto` (`onnx.ModelProto`, `onnx.TensorProto`, ...), loaded at the
 * first property read: commands that only read models never load it.
 */
export const onnx: typeof OnnxNamespace = new Proxy({} as typeof OnnxNamespace, {
  get: (_target, key) => (onnxNamespace ??= loadOnnxProto().onnx)[key as keyof typeof OnnxNamespace],
});

/**
 * A decoded ONNX model: the message objects `onnx-proto` decodes (`parseOnnxModel` builds them without loading it;
 * int64 fields are numbers there, `Long`s from `onnx-proto`; {@link toNumber} reads either).
 */
export type ModelProto = OnnxNamespace.IModelProto;
export type GraphProto = OnnxNamespace.IGraphProto;
export type NodeProto = OnnxNamespace.INodeProto;
export type TensorProto = OnnxNamespace.ITensorProto;
export type ValueInfoProto = OnnxNamespace.IValueInfoProto;
export type AttributeProto = OnnxNamespace.IAttributeProto;

/** ONNX `TensorProto.DataLocation` codes. */
const DataLocation = { DEFAULT: 0, EXTERNAL: 1 } as const;

/** ONNX `AttributeProto.AttributeType` codes read here. */
const AttributeType = { FLOAT: 1, INT: 2 } as const;

/** ONNX `TensorProto.DataType` codes used here. */
export const DataType = { FLOAT: 1, UINT8: 2, INT8: 3, INT32: 6, INT64: 7, BOOL: 9, FLOAT16: 10, DOUBLE: 11 } as const;

/** A parsed ONNX model plus where it came from. */
export interface OnnxModel {
  /** The decoded model (external data already loaded into `rawData`). */
  readonly proto: ModelProto;
  /** Version of the default (`ai.onnx`) operator set the model imports. */
  readonly opset: number;
  /** The file it was read from, if any (used in error messages). */
  readonly file?: string;
  /**
   * The bytes `proto` was decoded from, when they hold the whole model (no tensor in external files). Sessions
   * run these bytes with outputs appended instead of an encoding of `proto`: change `proto` only in a copy.
   */
  readonly bytes?: Uint8Array;
}

/**
 * Reads the external-data file `location` (as written in the model, relative to the model's folder) of tensor
 * `tensorName`. Called once per distinct location; throws an `OpnpError` when the file cannot be read.
 */
export type ExternalDataReader = (location: string, tensorName: string) => Promise<Uint8Array>;

/** Options of {@link parseOnnxModel}. */
export interface ParseOnnxOptions {
  /** File name (or URL) for messages. */
  file?: string;
  /**
   * Reads external-data files. Without it, a model with external data is rejected with `MODEL_FORMAT`
   * (saying so and how to get a single-file model).
   */
  externalData?: ExternalDataReader;
}

/** Converts a protobuf int64 (`number` or `Long`) to a JS number. */
export function toNumber(value: number | { toNumber(): number } | null | undefined): number {
  if (value === null || value === undefined) return 0;
  return typeof value === 'number' ? value : value.toNumber();
}

/**
 * Cheap check whether bytes look like a serialised ONNX `ModelProto`: exporters write `ir_version`
 * (field 1, varint) first, so the first byte is `0x08`. Used by `canLoad`; parsing does the real check.
 */
export function looksLikeOnnx(bytes: Uint8Array): boolean {
  return bytes.length > 2 && bytes[0] === 0x08;
}

/** The `MODEL_FORMAT` error of a model problem in `file`. */
export function formatError(summary: string, file: string | undefined, details: { expected?: unknown; actual?: unknown; hint?: string; cause?: unknown; offset?: number }): OpnpError {
  return new OpnpError('MODEL_FORMAT', summary, { file, ...details });
}

/** Version of operator set `domain` (default domain `''` = `ai.onnx`) imported by the model, or 0 if none. */
export function opsetVersion(proto: ModelProto, domain = ''): number {
  for (const entry of proto.opsetImport ?? []) {
    const d = entry.domain ?? '';
    if (d === domain || (domain === '' && d === 'ai.onnx')) return toNumber(entry.version);
  }
  return 0;
}

/**
 * Decodes ONNX bytes. Checks the result is a model with a graph, and loads external-data tensors through
 * `options.externalData`.
 *
 * @throws OpnpError `MODEL_FORMAT` for bytes that are not ONNX, truncated files, or missing external data
 */
export async function parseOnnxModel(bytes: Uint8Array, options: ParseOnnxOptions = {}): Promise<OnnxModel> {
  const { file } = options;
  if (bytes.length === 0) throw formatError('The model is empty (0 bytes)', file, { expected: 'a serialised ONNX ModelProto' });
  let proto: ModelProto;
  try {
    proto = decodeModelProto(bytes) as ModelProto;
  } catch (cause) {
    if (!(cause instanceof ProtobufDecodeError)) throw cause;
    throw formatError(cause.truncated ? 'The ONNX file is truncated or corrupt' : 'The file is not an ONNX model', file, {
      expected: 'a serialised ONNX ModelProto (protobuf)',
      actual: `${bytes.length} bytes that do not decode (${cause.message})`,
      offset: cause.offset,
      hint: cause.truncated ? 'Copy or export the model again; the file ends in the middle of a record' : 'Pass a .onnx file exported by torch.onnx.export, tf2onnx or similar',
      cause,
    });
  }
  const graph = proto.graph;
  if (toNumber(proto.irVersion) <= 0 || !graph || !graph.node || graph.node.length === 0) {
    throw formatError('The file is not an ONNX model', file, {
      expected: 'a ModelProto with ir_version and a graph of nodes',
      actual: `ir_version ${toNumber(proto.irVersion)}, ${graph?.node?.length ?? 0} graph nodes`,
      hint: 'Pass a .onnx file exported by torch.onnx.export, tf2onnx or similar',
    });
  }
  const opset = opsetVersion(proto);
  if (opset <= 0) {
    throw formatError('The ONNX model imports no default (ai.onnx) operator set', file, { expected: 'an opset_import entry for domain ""', actual: proto.opsetImport?.map((o) => `${o.domain}:${toNumber(o.version)}`) ?? [] });
  }
  const external = await loadExternalData(graph, options);
  return { proto, opset, ...(file === undefined ? {} : { file }), ...(external ? {} : { bytes }) };
}

function allTensors(graph: GraphProto): TensorProto[] {
  const out: TensorProto[] = [...(graph.initializer ?? [])];
  for (const node of graph.node ?? []) {
    for (const attr of node.attribute ?? []) {
      if (attr.t) out.push(attr.t);
      if (attr.g) out.push(...allTensors(attr.g));
      for (const g of attr.graphs ?? []) out.push(...allTensors(g));
    }
  }
  return out;
}

/** A model whose external data cannot be read: the reader of {@link parseOnnxModel} without `externalData`. */
function noExternalData(file: string | undefined): ExternalDataReader {
  return (location, tensorName) => {
    throw formatError(`Tensor "${tensorName}" is stored in an external file "${location}"`, file, {
      hint: 'Pass the model with its weights inside (onnx.save(model, path, save_as_external_data=False)), or load it where its folder can be read',
    });
  };
}

/**
 * Loads tensors stored in external files (ONNX `data_location = EXTERNAL`) into `rawData`, in place. Returns
 * whether there were any.
 */
async function loadExternalData(graph: GraphProto, options: ParseOnnxOptions): Promise<boolean> {
  const read = options.externalData ?? noExternalData(options.file);
  const cache = new Map<string, Uint8Array>();
  let loaded = false;
  for (const tensor of allTensors(graph)) {
    if (tensor.dataLocation !== DataLocation.EXTERNAL) continue;
    loaded = true;
    const entries = new Map((tensor.externalData ?? []).map((e) => [e.key ?? '', e.value ?? '']));
    const location = entries.get('location');
    if (!location) {
      throw formatError(`Tensor "${tensor.name}" is marked external but has no location`, options.file, { expected: 'external_data with a "location" key' });
    }
    let data = cache.get(location);
    if (!data) {
      data = await read(location, tensor.name ?? '');
      cache.set(location, data);
    }
    const offset = Number(entries.get('offset') ?? '0');
    const length = entries.has('length') ? Number(entries.get('length')) : data.length - offset;
    if (!Number.isInteger(offset) || !Number.isInteger(length) || offset < 0 || length < 0 || offset + length > data.length) {
      throw formatError(`External data of tensor "${tensor.name}" is out of range`, options.file, {
        expected: `offset + length <= ${data.length} (size of ${location})`,
        actual: `offset ${offset}, length ${length}`,
        hint: 'The external data file is truncated or belongs to another model',
      });
    }
    tensor.rawData = data.subarray(offset, offset + length);
    tensor.externalData = [];
    tensor.dataLocation = DataLocation.DEFAULT;
  }
  return loaded;
}

/** Serialises a model to bytes (external data is inlined). */
export function serializeOnnxModel(model: OnnxModel | ModelProto): Uint8Array {
  const proto = 'proto' in model ? model.proto : model;
  return onnx.ModelProto.encode(proto).finish();
}

/** Dimensions of a tensor as numbers. */
export function tensorDims(tensor: TensorProto): number[] {
  return (tensor.dims ?? []).map((d) => toNumber(d));
}

function float16ToFloat32(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

/**
 * The values of a numeric tensor as float32 (row-major, C order), from `rawData` (little-endian) or the
 * typed fields. Supports FLOAT, DOUBLE, FLOAT16 and integer types.
 *
 * @throws OpnpError `MODEL_FORMAT` for other types, negative or non-integer dims, or when the data length
 * does not match the dims
 */
export function tensorToFloat32(tensor: TensorProto, file?: string): Float32Array {
  const dims = tensorDims(tensor);
  if (dims.some((d) => !Number.isSafeInteger(d) || d < 0)) {
    throw formatError(`Tensor "${tensor.name}" has invalid dims [${dims.join(', ')}]`, file, { expected: 'non-negative integer dimensions' });
  }
  const count = dims.reduce((a, b) => a * b, 1);
  const type = tensor.dataType ?? 0;
  const raw = tensor.rawData && tensor.rawData.length > 0 ? tensor.rawData : undefined;
  let out: Float32Array;
  if (raw) {
    const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    const size = { [DataType.FLOAT]: 4, [DataType.DOUBLE]: 8, [DataType.FLOAT16]: 2, [DataType.INT32]: 4, [DataType.INT64]: 8, [DataType.INT8]: 1, [DataType.UINT8]: 1 }[type];
    if (size === undefined) throw formatError(`Tensor "${tensor.name}" has an unsupported data type ${type}`, file, { expected: 'float32, float64, float16 or integer' });
    if (raw.byteLength !== count * size) {
      throw formatError(`Tensor "${tensor.name}" has ${raw.byteLength} bytes of data`, file, { expected: `${count * size} bytes for dims [${tensorDims(tensor).join(', ')}]`, actual: raw.byteLength });
    }
    out = new Float32Array(count);
    for (let i = 0; i < count; i++) {
      switch (type) {
        case DataType.FLOAT: out[i] = view.getFloat32(i * 4, true); break;
        case DataType.DOUBLE: out[i] = view.getFloat64(i * 8, true); break;
        case DataType.FLOAT16: out[i] = float16ToFloat32(view.getUint16(i * 2, true)); break;
        case DataType.INT32: out[i] = view.getInt32(i * 4, true); break;
        case DataType.INT64: out[i] = Number(view.getBigInt64(i * 8, true)); break;
        case DataType.INT8: out[i] = view.getInt8(i); break;
        default: out[i] = view.getUint8(i);
      }
    }
    return out;
  }
  let values: ArrayLike<number>;
  if (type === DataType.FLOAT) values = tensor.floatData ?? [];
  else if (type === DataType.DOUBLE) values = tensor.doubleData ?? [];
  else if (type === DataType.INT64) values = (tensor.int64Data ?? []).map((v) => toNumber(v));
  else if (type === DataType.FLOAT16) values = (tensor.int32Data ?? []).map((v) => float16ToFloat32(v));
  else if (type === DataType.INT32 || type === DataType.INT8 || type === DataType.UINT8) values = tensor.int32Data ?? [];
  else throw formatError(`Tensor "${tensor.name}" has an unsupported data type ${type}`, file, { expected: 'float32, float64, float16 or integer' });
  if (values.length !== count) {
    throw formatError(`Tensor "${tensor.name}" holds ${values.length} values`, file, { expected: `${count} values for dims [${tensorDims(tensor).join(', ')}]`, actual: values.length });
  }
  return Float32Array.from(values);
}

/** A float32 `TensorProto` (little-endian raw data). */
export function float32Tensor(name: string, dims: readonly number[], values: Float32Array): TensorProto {
  const raw = new Uint8Array(values.length * 4);
  const view = new DataView(raw.buffer);
  for (let i = 0; i < values.length; i++) view.setFloat32(i * 4, values[i]!, true);
  return onnx.TensorProto.create({ name, dims: [...dims], dataType: DataType.FLOAT, rawData: raw });
}

/** An int64 `TensorProto`. */
export function int64Tensor(name: string, dims: readonly number[], values: readonly number[]): TensorProto {
  const raw = new Uint8Array(values.length * 8);
  const view = new DataView(raw.buffer);
  values.forEach((v, i) => view.setBigInt64(i * 8, BigInt(v), true));
  return onnx.TensorProto.create({ name, dims: [...dims], dataType: DataType.INT64, rawData: raw });
}

/** Reads an attribute of a node as a number (int or float), or `fallback` when absent. */
export function attrNumber(node: NodeProto, name: string, fallback: number): number {
  const attr = node.attribute?.find((a) => a.name === name);
  if (!attr) return fallback;
  if (attr.type === AttributeType.FLOAT) return attr.f ?? fallback;
  if (attr.type === AttributeType.INT) return toNumber(attr.i);
  // Untyped (old exporters): prefer whichever field is set.
  if (attr.f !== undefined && attr.f !== null && attr.f !== 0) return attr.f;
  return attr.i !== undefined && attr.i !== null ? toNumber(attr.i) : fallback;
}

/** Reads an INTS attribute, or `undefined` when absent. */
export function attrInts(node: NodeProto, name: string): number[] | undefined {
  const attr = node.attribute?.find((a) => a.name === name);
  return attr ? (attr.ints ?? []).map((v) => toNumber(v)) : undefined;
}

/** The tensor type (elem type and dims, `null` for symbolic/unknown) of a value info. */
export function valueInfoShape(info: ValueInfoProto | undefined): { elemType: number; dims: (number | null)[] | undefined } {
  const tensorType = info?.type?.tensorType;
  const dims = tensorType?.shape ? (tensorType.shape.dim ?? []).map((d) => (d.dimValue !== undefined && d.dimValue !== null && toNumber(d.dimValue) > 0 ? toNumber(d.dimValue) : null)) : undefined;
  return { elemType: tensorType?.elemType ?? 0, dims };
}

/** Whether `value` is an already parsed {@link OnnxModel} (rather than bytes or a path). */
export function isOnnxModel(value: unknown): value is OnnxModel {
  return typeof value === 'object' && value !== null && !(value instanceof Uint8Array) && 'proto' in value && 'opset' in value;
}
