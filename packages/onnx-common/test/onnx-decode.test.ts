/**
 * The protobuf decoder of ONNX models against the reference, onnx-proto's generated (protobufjs) decoder, on every
 * model file of the repository and on hand-made encodings of the cases real models rarely hold: negative and
 * large int64, packed and unpacked repeated fields, unknown fields of every wire type, repeated message fields
 * (merged, as the protobuf specification and onnxruntime's parser do), truncated and invalid input.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { settledCode } from '@opnp/core/testing';
import { buildModel, seeded } from '../../backend-onnx/test/helpers/models.js';
import { decodeModelProto, ProtobufDecodeError } from '../src/onnx-decode.js';
import { onnx, parseOnnxModel, sessionBytesWithOutputs, withExtraOutputs } from '../src/index.js';

const PACKAGES = fileURLToPath(new URL('../../', import.meta.url));

/** Every .onnx file under packages/ (test fixtures, the demo's model, benchmark models), outside node_modules. */
function modelFiles(dir = PACKAGES): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    if (entry.name === 'node_modules' || entry.name === 'dist' || entry.name.startsWith('.')) return [];
    const path = join(dir, entry.name);
    return entry.isDirectory() ? modelFiles(path) : entry.name.endsWith('.onnx') ? [path] : [];
  });
}

/**
 * A message as plain data: own fields only (protobufjs also makes every repeated field an own empty array),
 * int64 `Long`s as numbers, bytes as base64 strings, NaN and -0 as strings (so that equality sees them).
 */
function plain(value: unknown): unknown {
  if (value === null || value === undefined) return value;
  if (typeof value === 'number') return Number.isNaN(value) ? 'NaN' : Object.is(value, -0) ? '-0' : value;
  if (typeof value !== 'object') return value;
  if (value instanceof Uint8Array) return `bytes:${Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64')}`;
  if (Array.isArray(value)) return value.map(plain);
  if ('toNumber' in value && typeof (value as { toNumber: unknown }).toNumber === 'function' && 'low' in value) return (value as { toNumber(): number }).toNumber();
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value)) {
    const field = (value as Record<string, unknown>)[key];
    if (Array.isArray(field) && field.length === 0) continue;
    out[key] = plain(field);
  }
  return out;
}

const reference = (bytes: Uint8Array) => plain(onnx.ModelProto.decode(bytes));
const decoded = (bytes: Uint8Array) => plain(decodeModelProto(bytes));

/** Protobuf encoding helpers for hand-made inputs. */
const wire = {
  varint(value: bigint): number[] {
    let v = BigInt.asUintN(64, value);
    const out: number[] = [];
    do {
      const low = Number(v & 0x7fn);
      v >>= 7n;
      out.push(v > 0n ? low | 0x80 : low);
    } while (v > 0n);
    return out;
  },
  tag: (field: number, type: number) => wire.varint(BigInt((field << 3) | type)),
  delimited: (field: number, body: readonly number[]) => [...wire.tag(field, 2), ...wire.varint(BigInt(body.length)), ...body],
  string: (field: number, text: string) => wire.delimited(field, [...new TextEncoder().encode(text)]),
  int: (field: number, value: bigint) => [...wire.tag(field, 0), ...wire.varint(value)],
  fixed32: (field: number, value: number) => [...wire.tag(field, 5), ...new Uint8Array(new Float32Array([value]).buffer)],
  fixed64: (field: number, value: number) => [...wire.tag(field, 1), ...new Uint8Array(new Float64Array([value]).buffer)],
};

/** ModelProto { ir_version 8, opset_import { version 13 }, graph { <graph fields> } }. */
function modelWithGraph(graphFields: readonly number[], extra: readonly number[] = []): Uint8Array {
  return Uint8Array.from([...wire.int(1, 8n), ...wire.delimited(8, wire.int(2, 13n)), ...wire.delimited(7, graphFields), ...extra]);
}

describe('decodeModelProto against onnx-proto', () => {
  const files = modelFiles();

  it('finds the repository models', () => {
    expect(files.length).toBeGreaterThanOrEqual(5);
  });

  it.each(files.map((f) => [f.slice(PACKAGES.length), f]))('decodes %s as onnx-proto does', (_name, file) => {
    const bytes = new Uint8Array(readFileSync(file));
    expect(decoded(bytes)).toEqual(reference(bytes));
  });

  it('decodes built models with external data, attributes of every kind and metadata as onnx-proto does', () => {
    const model = buildModel({
      inputs: [{ name: 'x', dims: ['N', 3, 4, 4] }],
      outputs: [{ name: 'y' }],
      initializers: [{ name: 'W', dims: [2, 3], values: seeded(6, 3), external: { location: 'w.bin', offset: 16 } }],
      nodes: [{ op: 'Flatten', inputs: ['x'], outputs: ['h'], attrs: { axis: -1, perm: [0, -2, 1 << 30], alpha: 0.25 } }],
    });
    expect(decoded(model)).toEqual(reference(model));
  });

  it('reads absent fields as onnx-proto does: its default values', () => {
    const bytes = modelWithGraph(wire.delimited(1, [...wire.string(4, 'Relu')]));
    const ours = decodeModelProto(bytes) as { graph: { node: Record<string, unknown>[]; name: unknown; initializer: unknown[] }; docString: unknown; trainingInfo: unknown[] };
    const theirs = onnx.ModelProto.decode(bytes);
    const node = ours.graph.node[0]!;
    for (const field of ['name', 'domain', 'docString', 'opType'] as const) expect(node[field]).toBe(theirs.graph!.node![0]![field]);
    expect(node.input).toEqual([]);
    expect(ours.graph.name).toBe('');
    expect(ours.docString).toBe('');
    expect(ours.trainingInfo).toEqual([]);
    expect(ours.graph.initializer).toEqual([]);
    expect(Object.keys(node)).toEqual(['opType']); // only the fields present are own properties (what encoders write)
  });
});

describe('decodeModelProto on hand-made encodings', () => {
  it('int64 and int32 values: negative, beyond 32 bits, at 2^53', () => {
    const attribute = [...wire.string(1, 'k'), ...wire.int(3, -1n), ...wire.int(8, -5n), ...wire.int(8, 2n ** 40n + 3n), ...wire.int(8, 2n ** 53n), ...wire.int(8, -(2n ** 31n))];
    const tensor = [...wire.int(1, 7n), ...wire.int(2, 1n), ...wire.int(5, -7n), ...wire.int(11, 2n ** 50n + 1n), ...wire.int(7, -(2n ** 45n))];
    const bytes = modelWithGraph([...wire.delimited(1, [...wire.string(4, 'Op'), ...wire.delimited(5, attribute)]), ...wire.delimited(5, tensor)]);
    const model = decodeModelProto(bytes) as { graph: { node: { attribute: { i: number; ints: number[] }[] }[]; initializer: Record<string, number[]>[] } };
    const attr = model.graph.node[0]!.attribute[0]!;
    expect(attr.i).toBe(-1);
    expect(attr.ints).toEqual([-5, 2 ** 40 + 3, 2 ** 53, -(2 ** 31)]);
    expect(model.graph.initializer[0]!.int32Data).toEqual([-7]);
    expect(model.graph.initializer[0]!.uint64Data).toEqual([2 ** 50 + 1]);
    expect(model.graph.initializer[0]!.int64Data).toEqual([-(2 ** 45)]);
    expect(decoded(bytes)).toEqual(reference(bytes));
  });

  it('repeated scalars packed and unpacked, floats and doubles with NaN, infinities and -0', () => {
    const packedDims = wire.delimited(1, [...wire.varint(2n), ...wire.varint(300n), ...wire.varint(-1n)]);
    const packedFloats = wire.delimited(4, [...new Uint8Array(new Float32Array([1.5, NaN, -Infinity, -0]).buffer)]);
    const tensor = [...packedDims, ...wire.int(1, 9n), ...packedFloats, ...wire.fixed32(4, 3.25), ...wire.fixed64(10, Infinity), ...wire.delimited(10, [...new Uint8Array(new Float64Array([-0, 1e-300]).buffer)])];
    const bytes = modelWithGraph(wire.delimited(5, tensor));
    const t = (decodeModelProto(bytes) as { graph: { initializer: { dims: number[]; floatData: number[]; doubleData: number[] }[] } }).graph.initializer[0]!;
    expect(t.dims).toEqual([2, 300, -1, 9]);
    expect(t.floatData).toEqual([1.5, NaN, -Infinity, -0, 3.25]);
    expect(Object.is(t.floatData[3], -0)).toBe(true);
    expect(t.doubleData).toEqual([Infinity, -0, 1e-300]);
    expect(decoded(bytes)).toEqual(reference(bytes));
  });

  it('strings in UTF-8 and bytes as views of the input', () => {
    const bytes = modelWithGraph([...wire.string(2, 'graph é→😀'), ...wire.delimited(5, [...wire.string(8, 'w'), ...wire.delimited(9, [1, 2, 3, 255])])]);
    const model = decodeModelProto(bytes) as { graph: { name: string; initializer: { rawData: Uint8Array }[] } };
    expect(model.graph.name).toBe('graph é→😀');
    const raw = model.graph.initializer[0]!.rawData;
    expect([...raw]).toEqual([1, 2, 3, 255]);
    expect(raw.buffer).toBe(bytes.buffer);
    expect(decoded(bytes)).toEqual(reference(bytes));
  });

  it('skips unknown fields of every wire type, and known fields of another wire type', () => {
    const group = [...wire.tag(50, 3), ...wire.int(1, 5n), ...wire.string(2, 'inside'), ...wire.tag(50, 4)];
    const unknown = [...wire.int(99, 12345n), ...wire.fixed32(98, 1), ...wire.fixed64(97, 2), ...wire.string(96, 'x'), ...group];
    const wrongType = [...wire.fixed32(2, 7)]; // GraphProto.name is a string
    const plainBytes = modelWithGraph(wire.string(2, 'g'));
    const bytes = modelWithGraph([...unknown, ...wire.string(2, 'g'), ...wrongType], unknown);
    expect(decoded(bytes)).toEqual(decoded(plainBytes));
    expect((decodeModelProto(bytes) as { graph: { name: string } }).graph.name).toBe('g');
  });

  it('merges a message field that occurs twice (the protobuf rule): outputs appended to the graph', () => {
    const first = modelWithGraph([...wire.string(2, 'g'), ...wire.delimited(12, wire.string(1, 'logits'))]);
    const second = wire.delimited(7, wire.delimited(12, wire.string(1, 'features')));
    const model = decodeModelProto(Uint8Array.from([...first, ...second])) as { graph: { name: string; output: { name: string }[] } };
    expect(model.graph.name).toBe('g');
    expect(model.graph.output.map((o) => o.name)).toEqual(['logits', 'features']);
  });

  it('a scalar field that occurs twice keeps the last value', () => {
    const bytes = Uint8Array.from([...modelWithGraph(wire.string(2, 'a')), ...wire.int(1, 9n), ...wire.string(2, 'p1'), ...wire.string(2, 'p2')]);
    const model = decodeModelProto(bytes) as { irVersion: number; producerName: string };
    expect(model.irVersion).toBe(9);
    expect(model.producerName).toBe('p2');
  });
});

describe('decodeModelProto on bad input', () => {
  const model = new Uint8Array(readFileSync(modelFiles().find((f) => f.endsWith('mnist-cnn.onnx'))!));

  it('every truncation of a model either decodes (cut between fields) or reports a truncated input at an offset inside it', () => {
    const step = Math.max(1, Math.floor(model.length / 997));
    for (let length = 0; length < model.length; length += step) {
      try {
        decodeModelProto(model.subarray(0, length));
      } catch (error) {
        expect(error, `length ${length}`).toBeInstanceOf(ProtobufDecodeError);
        expect((error as ProtobufDecodeError).truncated, `length ${length}`).toBe(true);
        expect((error as ProtobufDecodeError).offset).toBeGreaterThanOrEqual(0);
        expect((error as ProtobufDecodeError).offset).toBeLessThanOrEqual(length);
      }
    }
  });

  it.each([
    ['field number 0', [0x00, 0x01]],
    ['wire type 6', [...wire.tag(3, 6)]],
    ['wire type 7', [...wire.tag(3, 7)]],
    ['a group closed by another field', [...wire.tag(40, 3), ...wire.tag(41, 4)]],
    ['a varint of 11 bytes', [...wire.tag(1, 0), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]],
  ])('%s is invalid, not truncated', (_name, bytes) => {
    const run = () => decodeModelProto(Uint8Array.from(bytes));
    expect(run).toThrow(ProtobufDecodeError);
    try {
      run();
    } catch (error) {
      expect((error as ProtobufDecodeError).truncated).toBe(false);
    }
  });

  it('a length prefix past the end of its enclosing message is an error, not a read of the next field', () => {
    const inner = [...wire.tag(2, 2), 50, 0x61]; // GraphProto.name claims 50 bytes; the graph holds 3
    const bytes = Uint8Array.from([...wire.delimited(7, inner), ...new Array(60).fill(0x08)]);
    expect(() => decodeModelProto(bytes)).toThrow(/runs past the end of its message/);
  });

  it('parseOnnxModel reports a truncated file with its offset, and a non-protobuf file as not ONNX', async () => {
    const cut = model.subarray(0, Math.floor(model.length / 2));
    const truncated = (await parseOnnxModel(cut, { file: 'm.onnx' }).then(() => undefined, (e: unknown) => e)) as { code: string; message: string; details?: { offset?: number } } | undefined;
    expect(truncated).toMatchObject({ code: 'MODEL_FORMAT' });
    expect(truncated!.message).toMatch(/truncated or corrupt/);
    expect(truncated!.message).toMatch(/byte \d+/);
    expect(await settledCode(parseOnnxModel(Uint8Array.from([0x08, 0x07, 0x0f, 0xff]), { file: 'x.onnx' }))).toBe('MODEL_FORMAT');
  });
});

describe('sessionBytesWithOutputs', () => {
  const D = 4;
  const C = 3;
  const classifier = buildModel({
    inputs: [{ name: 'x', dims: ['N', D] }],
    outputs: [{ name: 'logits' }],
    initializers: [{ name: 'W', dims: [C, D], values: seeded(C * D, 1) }, { name: 'b', dims: [C], values: seeded(C, 2) }],
    nodes: [{ op: 'Relu', inputs: ['x'], outputs: ['h'] }, { op: 'Gemm', inputs: ['h', 'W', 'b'], outputs: ['logits'], attrs: { transB: 1 } }],
  });

  it('is the model bytes with a graph field of the new outputs appended: the same model as withExtraOutputs', async () => {
    const model = await parseOnnxModel(classifier);
    expect(model.bytes).toBe(classifier);
    const bytes = sessionBytesWithOutputs(model, ['h', 'logits', 'h']);
    expect([...bytes.subarray(0, classifier.length)]).toEqual([...classifier]);
    expect(decoded(bytes)).toEqual(plain(withExtraOutputs(model, ['h']).proto));
    expect(sessionBytesWithOutputs(model, ['logits'])).toBe(classifier); // nothing to add
  });

  it('encodes the model when its bytes are not at hand (external data), and withExtraOutputs drops the stale bytes', async () => {
    const model = await parseOnnxModel(classifier);
    const extended = withExtraOutputs(model, ['h']);
    expect(extended.bytes).toBeUndefined();
    const { bytes: _bytes, ...withoutBytes } = model;
    const encoded = sessionBytesWithOutputs(withoutBytes, ['h']);
    expect(decoded(encoded)).toEqual(plain(extended.proto));
  });
});
