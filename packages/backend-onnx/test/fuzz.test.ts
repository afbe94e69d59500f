/**
 * Fuzzing the ONNX parser (`parseOnnxModel`, `tensorToFloat32`, `detectHead`) with truncation at every byte
 * of a small valid model, tensors whose dims lie (larger than the data, negative, overflowing), external-data
 * entries that point outside the file, and seeded random corruption. Every case must end in a typed
 * OpnpError (MODEL_FORMAT, MODEL_HEAD_NOT_FOUND, MODEL_HEAD_AMBIGUOUS) or a correct result: a head that is
 * found has exactly the original weights. ONNX has no compression, so there is no decompression bomb to try;
 * memory is bounded by checking the heap (with a wide margin), never wall time.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isOpnpError, mulberry32 } from '@opnp/core';
import { detectHead, float32Tensor, onnx, parseOnnxModel, serializeOnnxModel, tensorToFloat32 } from '../src/index.js';
import type { DetectedHead } from '../src/index.js';
import { buildModelProto, seeded } from './helpers/models.js';

const D = 4;
const C = 3;
const W = seeded(C * D, 7);
const B = seeded(C, 8);
const ALLOWED = new Set(['MODEL_FORMAT', 'MODEL_HEAD_NOT_FOUND', 'MODEL_HEAD_AMBIGUOUS']);

/** A Gemm classifier `x [N, 4] -> logits [N, 3]` with raw-data float32 weights. */
function modelProto() {
  const proto = buildModelProto({ inputs: [{ name: 'x', dims: ['N', D] }], outputs: [{ name: 'logits', dims: ['N', C] }], nodes: [{ op: 'Gemm', inputs: ['x', 'W', 'b'], outputs: ['logits'], attrs: { transB: 1 } }] });
  proto.graph!.initializer = [float32Tensor('W', [C, D], W), float32Tensor('b', [C], B)];
  return proto;
}
const GOOD = serializeOnnxModel(modelProto());

/** Parses and detects the head; returns the head, or undefined after a typed error. Anything else fails the test. */
async function outcome(bytes: Uint8Array, label: string, baseDir?: string): Promise<DetectedHead | undefined> {
  try {
    const model = await parseOnnxModel(bytes, baseDir === undefined ? { file: label } : { file: label, baseDir });
    return detectHead(model);
  } catch (error) {
    if (isOpnpError(error) && ALLOWED.has(error.code)) return undefined;
    throw new Error(`${label}: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`);
  }
}

/** A found head must be the original one, value for value. */
function expectOriginalHead(head: DetectedHead | undefined, label: string): void {
  if (!head) return;
  expect(Array.from(head.head.weight.data), label).toEqual(Array.from(W));
  expect(Array.from(head.head.bias), label).toEqual(Array.from(B));
}

/** Heap plus array buffers in use: bounded with a wide margin (no wall time). */
function memory(): number {
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

describe('ONNX parser fuzz', () => {
  const dir = mkdtempSync(join(tmpdir(), 'opnp-onnx-fuzz-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('the valid model parses to the original head', async () => {
    expectOriginalHead(await outcome(GOOD, 'good'), 'good');
    expect(await outcome(GOOD, 'good')).toBeDefined();
  });

  it('truncation at every byte ends in a typed error or the original head', async () => {
    const before = memory();
    for (let n = 0; n < GOOD.length; n++) expectOriginalHead(await outcome(GOOD.subarray(0, n), `cut at ${n}`), `cut at ${n}`);
    expect(memory() - before).toBeLessThan(256 << 20);
  });

  it('tensor dims that lie (larger than the data, negative, overflowing) are MODEL_FORMAT', async () => {
    // int64 extremes as protobufjs Long-like values
    const max64 = { low: -1, high: 0x7fffffff, unsigned: false } as unknown as number;
    const min64 = { low: 0, high: -0x80000000, unsigned: false } as unknown as number;
    const lies: number[][] = [[C, 1_000_000], [-C, -D], [-1, -12], [C * D, -1, -1], [2 ** 31, 2 ** 31], [max64, 1], [min64, min64], [0, D], [D, C]];
    for (const dims of lies) {
      const proto = modelProto();
      proto.graph!.initializer![0]!.dims = dims;
      const label = `W dims #${lies.indexOf(dims)}`;
      const tensor = onnx.TensorProto.decode(onnx.TensorProto.encode(proto.graph!.initializer![0]!).finish());
      let values: Float32Array | undefined;
      try {
        values = tensorToFloat32(tensor, label);
      } catch (error) {
        if (!isOpnpError(error) || error.code !== 'MODEL_FORMAT') throw error;
      }
      // only dims whose product is the data length and that are all non-negative describe these bytes
      const decoded = (tensor.dims ?? []).map((d) => (typeof d === 'number' ? d : d.toNumber()));
      const valid = decoded.every((d) => d >= 0) && decoded.reduce((a, d) => a * d, 1) === C * D;
      expect(values !== undefined, label).toBe(valid);
      const head = await outcome(serializeOnnxModel(proto), label);
      if (head) expect(decoded, label).toEqual([C, D]);
    }
  });

  it('external data outside the file or the model folder is MODEL_FORMAT', async () => {
    writeFileSync(join(dir, 'w.bin'), Buffer.from(W.buffer));
    const entries = [
      { location: 'w.bin', offset: '0', length: '48' },
      { location: 'w.bin', offset: '8', length: '48' },
      { location: 'w.bin', offset: '-4', length: '48' },
      { location: 'w.bin', offset: '0', length: '1e20' },
      { location: 'w.bin', offset: 'NaN', length: '48' },
      { location: '../w.bin', offset: '0', length: '48' },
      { location: '/etc/passwd', offset: '0', length: '48' },
      { location: 'missing.bin', offset: '0', length: '48' },
    ];
    for (const entry of entries) {
      const proto = modelProto();
      const w = proto.graph!.initializer![0]!;
      w.rawData = new Uint8Array(0);
      w.dataLocation = onnx.TensorProto.DataLocation.EXTERNAL;
      w.externalData = Object.entries(entry).map(([key, value]) => ({ key, value }));
      const head = await outcome(serializeOnnxModel(proto), JSON.stringify(entry), dir);
      expectOriginalHead(head, JSON.stringify(entry));
      expect(head !== undefined, JSON.stringify(entry)).toBe(entry.offset === '0' && entry.length === '48' && entry.location === 'w.bin');
    }
  });

  it('seeded random corruption ends in a typed error or the original head', async () => {
    const random = mulberry32(42);
    const before = memory();
    for (let i = 0; i < 1500; i++) {
      const bytes = GOOD.slice();
      const flips = 1 + Math.floor(random() * 3);
      for (let f = 0; f < flips; f++) bytes[Math.floor(random() * bytes.length)] = Math.floor(random() * 256);
      const head = await outcome(bytes, `mutation #${i}`);
      // a flipped byte inside W's or b's raw data changes the values: that is a correct parse of other bytes
      if (head) expect(head.head.weight.data.length, `mutation #${i}`).toBe(C * D);
    }
    expect(memory() - before).toBeLessThan(256 << 20);
  });
});
