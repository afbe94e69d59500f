#!/usr/bin/env node
/**
 * The "my own onnxruntime script" baseline of extract-overhead.ts, run as a process of its own with plain `node`
 * (no tsx, no @opnp package): what a user comparing `opnp extract` with a hand-written loop would measure.
 *
 *   node bench/bare-extract.mjs <model.onnx> <images-idx-ubyte> <logits.npy> --mean 0.1307 --std 0.3081 [--batch-size 256] [--threads 2]
 *
 * It imports onnxruntime-node, creates one session with opnp's session options (intra-op threads, graph
 * optimisation 'all', sequential execution, cpu, no spinning), reads the raw IDX file (`[N, H, W]` or HWC
 * `[N, H, W, C]`), normalises each batch to NCHW float32 with opnp's expression (`v * (1/255/std[c]) +
 * (-mean[c]/std[c])` in float64), runs `session.run` on it and keeps the logits (the model's only output) in one
 * `[N x C]` float32 matrix, written at the end as a `.npy` file. Start-up, module and model loading are all in
 * the process, as they are in `opnp extract`.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import * as ort from 'onnxruntime-node';

const [model, data, out] = process.argv.slice(2);
const flag = (name, fallback) => {
  const at = process.argv.indexOf(name);
  return at < 0 ? fallback : process.argv[at + 1];
};
if (!model || !data || !out || flag('--mean') === undefined || flag('--std') === undefined) {
  console.error('usage: node bench/bare-extract.mjs <model.onnx> <images-idx-ubyte> <logits.npy> --mean m[,m,m] --std s[,s,s] [--batch-size 256] [--threads 2]');
  process.exit(2);
}
const mean = flag('--mean').split(',').map(Number);
const std = flag('--std').split(',').map(Number);
const batchSize = Number(flag('--batch-size', '256'));
const threads = Number(flag('--threads', String(availableParallelism())));

const session = await ort.InferenceSession.create(model, {
  intraOpNumThreads: threads,
  interOpNumThreads: availableParallelism(),
  graphOptimizationLevel: 'all',
  executionMode: 'sequential',
  executionProviders: ['cpu'],
  extra: { session: { intra_op: { allow_spinning: '0' } } },
});

const bytes = readFileSync(data);
const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
const rank = bytes[3];
const dims = Array.from({ length: rank }, (_, i) => view.getUint32(4 + 4 * i));
const [count, H, W, C = 1] = dims;
const header = 4 + 4 * rank;
const size = C * H * W;

/** Batch `[start, start + rows)` as NCHW float32. */
function batchAt(start, rows) {
  const batch = new Float32Array(rows * size);
  for (let c = 0; c < C; c++) {
    const a = 1 / 255 / std[c];
    const b = -mean[c] / std[c];
    for (let n = 0; n < rows; n++) {
      const src = header + (start + n) * size;
      const dst = (n * C + c) * H * W;
      for (let i = 0; i < H * W; i++) batch[dst + i] = bytes[src + i * C + c] * a + b;
    }
  }
  return batch;
}

const inputName = session.inputNames[0];
const outputName = session.outputNames[0];
let logits;
let classes = 0;
for (let start = 0; start < count; start += batchSize) {
  const rows = Math.min(batchSize, count - start);
  const result = await session.run({ [inputName]: new ort.Tensor('float32', batchAt(start, rows), [rows, C, H, W]) });
  const batchLogits = result[outputName].data;
  classes = batchLogits.length / rows;
  logits ??= new Float32Array(count * classes);
  logits.set(batchLogits, start * classes);
}
await session.release();

/** A version 1.0 `.npy` header for float32 `[count, classes]`, padded so the data starts at a multiple of 64. */
function npyHeader(shape) {
  const dict = `{'descr': '<f4', 'fortran_order': False, 'shape': (${shape.join(', ')}), }`;
  const unpadded = 10 + dict.length + 1;
  const text = `${dict}${' '.repeat((64 - (unpadded % 64)) % 64)}\n`;
  const head = Buffer.alloc(10);
  head.write('\x93NUMPY', 0, 'latin1');
  head[6] = 1;
  head[7] = 0;
  head.writeUInt16LE(text.length, 8);
  return Buffer.concat([head, Buffer.from(text, 'latin1')]);
}
writeFileSync(out, Buffer.concat([npyHeader([count, classes]), Buffer.from(logits.buffer, logits.byteOffset, logits.byteLength)]));
