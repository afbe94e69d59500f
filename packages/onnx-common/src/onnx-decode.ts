/**
 * A protobuf decoder for ONNX models: bytes to the same message objects `onnx-proto`'s `ModelProto.decode` builds
 * (field names, prototype defaults, own properties only for fields present), without loading `onnx-proto` and
 * protobufjs (about 330 kB of generated code, 30-40 ms of every command that opens a model). The schema below is
 * `onnx-proto` 8's (onnx.proto of ONNX 1.10); `onnx-proto` stays the encoder (`serializeOnnxModel`, detector export).
 *
 * Where this decoder differs from protobufjs it follows the protobuf specification, as onnxruntime's C++ parser
 * does: a message field that occurs twice is merged (protobufjs keeps the last one), a field whose wire type does
 * not match the schema is skipped as unknown, and int64 values are numbers (exact up to 2^53) instead of `Long`s.
 */

/** Value kinds of scalar fields (protobuf wire types follow from them). */
type ScalarKind = 'string' | 'bytes' | 'int32' | 'int64' | 'uint64' | 'float' | 'double';

/** One field: its property name, scalar kind or message type name, and whether it repeats. */
type FieldSpec = readonly [name: string, kind: ScalarKind | `msg:${string}`, repeated: boolean];

/** Fields of each message of onnx.proto, by field number. */
const SCHEMA: Readonly<Record<string, Readonly<Record<number, FieldSpec>>>> = {
  ModelProto: { 1: ['irVersion', 'int64', false], 8: ['opsetImport', 'msg:OperatorSetIdProto', true], 2: ['producerName', 'string', false], 3: ['producerVersion', 'string', false], 4: ['domain', 'string', false], 5: ['modelVersion', 'int64', false], 6: ['docString', 'string', false], 7: ['graph', 'msg:GraphProto', false], 14: ['metadataProps', 'msg:StringStringEntryProto', true], 20: ['trainingInfo', 'msg:TrainingInfoProto', true], 25: ['functions', 'msg:FunctionProto', true] },
  GraphProto: { 1: ['node', 'msg:NodeProto', true], 2: ['name', 'string', false], 5: ['initializer', 'msg:TensorProto', true], 15: ['sparseInitializer', 'msg:SparseTensorProto', true], 10: ['docString', 'string', false], 11: ['input', 'msg:ValueInfoProto', true], 12: ['output', 'msg:ValueInfoProto', true], 13: ['valueInfo', 'msg:ValueInfoProto', true], 14: ['quantizationAnnotation', 'msg:TensorAnnotation', true] },
  NodeProto: { 1: ['input', 'string', true], 2: ['output', 'string', true], 3: ['name', 'string', false], 4: ['opType', 'string', false], 7: ['domain', 'string', false], 5: ['attribute', 'msg:AttributeProto', true], 6: ['docString', 'string', false] },
  AttributeProto: { 1: ['name', 'string', false], 21: ['refAttrName', 'string', false], 13: ['docString', 'string', false], 20: ['type', 'int32', false], 2: ['f', 'float', false], 3: ['i', 'int64', false], 4: ['s', 'bytes', false], 5: ['t', 'msg:TensorProto', false], 6: ['g', 'msg:GraphProto', false], 22: ['sparseTensor', 'msg:SparseTensorProto', false], 14: ['tp', 'msg:TypeProto', false], 7: ['floats', 'float', true], 8: ['ints', 'int64', true], 9: ['strings', 'bytes', true], 10: ['tensors', 'msg:TensorProto', true], 11: ['graphs', 'msg:GraphProto', true], 23: ['sparseTensors', 'msg:SparseTensorProto', true], 15: ['typeProtos', 'msg:TypeProto', true] },
  ValueInfoProto: { 1: ['name', 'string', false], 2: ['type', 'msg:TypeProto', false], 3: ['docString', 'string', false] },
  TrainingInfoProto: { 1: ['initialization', 'msg:GraphProto', false], 2: ['algorithm', 'msg:GraphProto', false], 3: ['initializationBinding', 'msg:StringStringEntryProto', true], 4: ['updateBinding', 'msg:StringStringEntryProto', true] },
  StringStringEntryProto: { 1: ['key', 'string', false], 2: ['value', 'string', false] },
  TensorAnnotation: { 1: ['tensorName', 'string', false], 2: ['quantParameterTensorNames', 'msg:StringStringEntryProto', true] },
  TensorProto: { 1: ['dims', 'int64', true], 2: ['dataType', 'int32', false], 3: ['segment', 'msg:TensorProto.Segment', false], 4: ['floatData', 'float', true], 5: ['int32Data', 'int32', true], 6: ['stringData', 'bytes', true], 7: ['int64Data', 'int64', true], 8: ['name', 'string', false], 12: ['docString', 'string', false], 9: ['rawData', 'bytes', false], 13: ['externalData', 'msg:StringStringEntryProto', true], 14: ['dataLocation', 'int32', false], 10: ['doubleData', 'double', true], 11: ['uint64Data', 'uint64', true] },
  'TensorProto.Segment': { 1: ['begin', 'int64', false], 2: ['end', 'int64', false] },
  SparseTensorProto: { 1: ['values', 'msg:TensorProto', false], 2: ['indices', 'msg:TensorProto', false], 3: ['dims', 'int64', true] },
  TensorShapeProto: { 1: ['dim', 'msg:TensorShapeProto.Dimension', true] },
  'TensorShapeProto.Dimension': { 1: ['dimValue', 'int64', false], 2: ['dimParam', 'string', false], 3: ['denotation', 'string', false] },
  TypeProto: { 1: ['tensorType', 'msg:TypeProto.Tensor', false], 4: ['sequenceType', 'msg:TypeProto.Sequence', false], 5: ['mapType', 'msg:TypeProto.Map', false], 9: ['optionalType', 'msg:TypeProto.Optional', false], 8: ['sparseTensorType', 'msg:TypeProto.SparseTensor', false], 6: ['denotation', 'string', false] },
  'TypeProto.Tensor': { 1: ['elemType', 'int32', false], 2: ['shape', 'msg:TensorShapeProto', false] },
  'TypeProto.Sequence': { 1: ['elemType', 'msg:TypeProto', false] },
  'TypeProto.Map': { 1: ['keyType', 'int32', false], 2: ['valueType', 'msg:TypeProto', false] },
  'TypeProto.Optional': { 1: ['elemType', 'msg:TypeProto', false] },
  'TypeProto.SparseTensor': { 1: ['elemType', 'int32', false], 2: ['shape', 'msg:TensorShapeProto', false] },
  OperatorSetIdProto: { 1: ['domain', 'string', false], 2: ['version', 'int64', false] },
  FunctionProto: { 1: ['name', 'string', false], 4: ['input', 'string', true], 5: ['output', 'string', true], 6: ['attribute', 'string', true], 7: ['node', 'msg:NodeProto', true], 8: ['docString', 'string', false], 9: ['opsetImport', 'msg:OperatorSetIdProto', true], 10: ['domain', 'string', false] },
};

/** Wire types: varint, 64-bit, length-delimited, group start, group end, 32-bit. */
const VARINT = 0;
const FIXED64 = 1;
const DELIMITED = 2;
const GROUP_START = 3;
const GROUP_END = 4;
const FIXED32 = 5;

const WIRE_TYPE: Readonly<Record<ScalarKind, number>> = { string: DELIMITED, bytes: DELIMITED, int32: VARINT, int64: VARINT, uint64: VARINT, float: FIXED32, double: FIXED64 };

/** Bytes that are not a valid protobuf encoding of the message: where decoding stopped and why. */
export class ProtobufDecodeError extends Error {
  override readonly name = 'ProtobufDecodeError';
  constructor(
    message: string,
    /** Byte offset in the input where the problem is. */
    readonly offset: number,
    /** The input ends inside a field (a truncated file), rather than holding an invalid encoding. */
    readonly truncated: boolean,
  ) {
    super(message);
  }
}

/** Default values of absent fields, on each message type's prototype (as protobufjs has them). */
function defaultOf(kind: FieldSpec[1], repeated: boolean): unknown {
  if (repeated) return Object.freeze([]);
  if (kind.startsWith('msg:')) return null;
  if (kind === 'string') return '';
  if (kind === 'bytes') return new Uint8Array(0);
  return 0;
}

/** Not frozen: a read-only property on a prototype would make assigning the field on a message throw. */
const PROTOTYPES: ReadonlyMap<string, object> = new Map(
  Object.entries(SCHEMA).map(([type, fields]) => [type, Object.fromEntries(Object.values(fields).map(([name, kind, repeated]) => [name, defaultOf(kind, repeated)]))]),
);

const utf8 = new TextDecoder('utf-8');

/** A cursor over the input bytes. */
class Cursor {
  pos = 0;
  private readonly view: DataView;
  constructor(readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  private need(count: number, end: number): void {
    if (this.pos + count > end) throw new ProtobufDecodeError(`the input ends inside a field: ${count} more bytes needed at byte ${this.pos}, ${end - this.pos} left`, this.pos, end === this.bytes.length);
  }

  /** A varint as its low and high 32 bits (unsigned). */
  varint(end: number): [lo: number, hi: number] {
    let lo = 0;
    let hi = 0;
    for (let shift = 0; shift < 28; shift += 7) {
      this.need(1, end);
      const b = this.bytes[this.pos++]!;
      lo |= (b & 0x7f) << shift;
      if (b < 0x80) return [lo >>> 0, 0];
    }
    this.need(1, end);
    let b = this.bytes[this.pos++]!;
    lo |= (b & 0x0f) << 28;
    hi = (b & 0x7f) >> 4;
    if (b < 0x80) return [lo >>> 0, hi];
    for (let shift = 3; shift < 32; shift += 7) {
      this.need(1, end);
      b = this.bytes[this.pos++]!;
      hi |= (b & 0x7f) << shift;
      if (b < 0x80) return [lo >>> 0, hi >>> 0];
    }
    throw new ProtobufDecodeError(`a varint longer than 10 bytes at byte ${this.pos - 10}`, this.pos - 10, false);
  }

  /** A length prefix: the end of the delimited field (within `end`). */
  delimitedEnd(end: number): number {
    const start = this.pos;
    const [lo, hi] = this.varint(end);
    if (hi !== 0 || lo > end - this.pos) {
      throw new ProtobufDecodeError(`a field of ${hi === 0 ? lo : 'more than 2^32'} bytes at byte ${start} runs past the end of its message (${end - this.pos} bytes left)`, start, end === this.bytes.length);
    }
    return this.pos + lo;
  }

  scalar(kind: ScalarKind, end: number): unknown {
    switch (kind) {
      case 'string': {
        const stop = this.delimitedEnd(end);
        const text = utf8.decode(this.bytes.subarray(this.pos, stop));
        this.pos = stop;
        return text;
      }
      case 'bytes': {
        const stop = this.delimitedEnd(end);
        const data = this.bytes.subarray(this.pos, stop);
        this.pos = stop;
        return data;
      }
      case 'float':
        this.need(4, end);
        this.pos += 4;
        return this.view.getFloat32(this.pos - 4, true);
      case 'double':
        this.need(8, end);
        this.pos += 8;
        return this.view.getFloat64(this.pos - 8, true);
      default: {
        const [lo, hi] = this.varint(end);
        if (kind === 'int32') return lo | 0;
        return kind === 'uint64' ? hi * 2 ** 32 + lo : (hi | 0) * 2 ** 32 + lo;
      }
    }
  }

  /** Skips a field of wire type `wire` (groups up to their end tag). */
  skip(wire: number, fieldNumber: number, end: number): void {
    const at = this.pos;
    if (wire === VARINT) this.varint(end);
    else if (wire === FIXED64 || wire === FIXED32) {
      const size = wire === FIXED64 ? 8 : 4;
      this.need(size, end);
      this.pos += size;
    } else if (wire === DELIMITED) this.pos = this.delimitedEnd(end);
    else if (wire === GROUP_START) {
      for (;;) {
        const [tag] = this.varint(end);
        if ((tag & 7) === GROUP_END) {
          if (tag >>> 3 !== fieldNumber) throw new ProtobufDecodeError(`a group of field ${fieldNumber} ends with the end tag of field ${tag >>> 3}`, at, false);
          return;
        }
        this.skip(tag & 7, tag >>> 3, end);
      }
    } else throw new ProtobufDecodeError(`invalid wire type ${wire} at byte ${at}`, at, false);
  }
}

/** Appends the value(s) of a repeated scalar field: one value, or a packed run of them. */
function readRepeatedScalar(cursor: Cursor, kind: ScalarKind, wire: number, end: number, into: unknown[]): void {
  if (wire === DELIMITED && WIRE_TYPE[kind] !== DELIMITED) {
    const stop = cursor.delimitedEnd(end);
    while (cursor.pos < stop) into.push(cursor.scalar(kind, stop));
    return;
  }
  into.push(cursor.scalar(kind, end));
}

/** Decodes the fields in `[cursor.pos, end)` into `message` (a message of `type`), merging as protobuf does. */
function decodeInto(cursor: Cursor, type: string, message: Record<string, unknown>, end: number): void {
  const fields = SCHEMA[type]!;
  while (cursor.pos < end) {
    const tagAt = cursor.pos;
    const [tag] = cursor.varint(end);
    const number = tag >>> 3;
    const wire = tag & 7;
    if (number === 0) throw new ProtobufDecodeError(`field number 0 at byte ${tagAt}`, tagAt, false);
    const spec = fields[number];
    const kind = spec?.[1];
    const expectedWire = kind === undefined ? -1 : kind.startsWith('msg:') ? DELIMITED : WIRE_TYPE[kind as ScalarKind];
    const packable = spec?.[2] === true && wire === DELIMITED && expectedWire !== DELIMITED && expectedWire !== -1;
    if (spec === undefined || (wire !== expectedWire && !packable)) {
      cursor.skip(wire, number, end);
      continue;
    }
    const [name, , repeated] = spec;
    if (kind!.startsWith('msg:')) {
      const stop = cursor.delimitedEnd(end);
      const subType = kind!.slice(4);
      const existing = !repeated && Object.hasOwn(message, name) ? (message[name] as Record<string, unknown>) : undefined;
      const sub = existing ?? newMessage(subType);
      decodeInto(cursor, subType, sub, stop);
      cursor.pos = stop;
      if (repeated) ownArray(message, name).push(sub);
      else message[name] = sub;
    } else if (repeated) readRepeatedScalar(cursor, kind as ScalarKind, wire, end, ownArray(message, name));
    else message[name] = cursor.scalar(kind as ScalarKind, end);
  }
}

function newMessage(type: string): Record<string, unknown> {
  return Object.create(PROTOTYPES.get(type)!) as Record<string, unknown>;
}

function ownArray(message: Record<string, unknown>, name: string): unknown[] {
  if (!Object.hasOwn(message, name)) message[name] = [];
  return message[name] as unknown[];
}

/**
 * Decodes a serialised ONNX `ModelProto`. Bytes fields (`rawData`, ...) are views into `bytes`, not copies.
 *
 * @throws ProtobufDecodeError for input that is truncated (`truncated`) or not a valid protobuf encoding
 */
export function decodeModelProto(bytes: Uint8Array): Record<string, unknown> {
  const cursor = new Cursor(bytes);
  const model = newMessage('ModelProto');
  decodeInto(cursor, 'ModelProto', model, bytes.length);
  return model;
}

/** The message types of the schema (for tests). @internal */
export const ONNX_MESSAGE_TYPES: readonly string[] = Object.keys(SCHEMA);
