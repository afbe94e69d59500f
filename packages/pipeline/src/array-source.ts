/**
 * In-memory model inputs as a {@link FeatureSource}: for models and data that live in the program (a
 * classifier fitted in code, inputs decoded elsewhere) rather than in files.
 */
import { createHash } from 'node:crypto';
import { OpnpError } from '@opnp/core';
import type { FeatureBatch, FeatureBatchOptions, FeatureSource } from './feature-source.js';
import { assertFiniteBatch } from './feature-source.js';
import type { JsonValue } from './fingerprint.js';
import { checkedExtract } from './checked-extract.js';
import type { LoadedModel } from './model.js';

/** Options of {@link arrayFeatureSource}. */
export interface ArraySourceOptions {
  /** A name for messages and fingerprints (the "spec" of the set). */
  readonly name: string;
  /** Model inputs, row-major, batch dimension first: `shape[0]` samples of the model's input shape. */
  readonly inputs: { readonly data: Float32Array; readonly shape: readonly number[] };
  /** `[N]` labels (-1 = unknown); default all unknown. */
  readonly labels?: Int32Array;
  readonly model: LoadedModel;
}

/**
 * A source over in-memory inputs: batches run through the model, in index order.
 *
 * @throws OpnpError `SHAPE_MISMATCH` when data, shape and labels disagree
 */
export function arrayFeatureSource(options: ArraySourceOptions): FeatureSource {
  const { inputs, name } = options;
  const count = inputs.shape[0] ?? 0;
  const rowSize = inputs.shape.slice(1).reduce((a, b) => a * b, 1);
  if (inputs.data.length !== count * rowSize) throw new OpnpError('SHAPE_MISMATCH', `The inputs of ${name} do not have their shape`, { expected: count * rowSize, actual: inputs.data.length });
  const labels = options.labels ?? new Int32Array(count).fill(-1);
  if (labels.length !== count) throw new OpnpError('SHAPE_MISMATCH', `The labels of ${name} do not match its inputs`, { expected: count, actual: labels.length });
  let digest: string | undefined;
  return {
    spec: name,
    kind: 'model',
    count,
    preprocess: undefined,
    readLabels: async () => labels.slice(),
    identity: async (): Promise<JsonValue> => {
      digest ??= createHash('sha256').update(new Uint8Array(inputs.data.buffer, inputs.data.byteOffset, inputs.data.byteLength)).update(new Uint8Array(labels.buffer, labels.byteOffset, labels.byteLength)).digest('hex');
      return { memory: name, shape: [...inputs.shape], sha256: digest };
    },
    batches: (o) => arrayBatches(options, labels, rowSize, o),
  };
}

async function* arrayBatches(options: ArraySourceOptions, labels: Int32Array, rowSize: number, o: FeatureBatchOptions): AsyncGenerator<FeatureBatch> {
  const count = labels.length;
  const subset = o.subset ?? Uint32Array.from({ length: count }, (_, i) => i);
  const started = performance.now();
  const extract = checkedExtract(options.model);
  for (let start = 0; start < subset.length; start += o.batchSize) {
    o.signal?.throwIfAborted();
    const indices = subset.slice(start, start + o.batchSize);
    const data = new Float32Array(indices.length * rowSize);
    indices.forEach((index, r) => data.set(options.inputs.data.subarray(index * rowSize, (index + 1) * rowSize), r * rowSize));
    const inputs = { data, shape: [indices.length, ...options.inputs.shape.slice(1)] };
    const out = await extract(inputs);
    const batch = { features: out.features, logits: out.logits, labels: Int32Array.from(indices, (i) => labels[i]!), indices, inputs };
    assertFiniteBatch(options.name, batch);
    const done = start + indices.length;
    o.onProgress?.({ count: done, total: subset.length, rate: (done * 1000) / Math.max(1, performance.now() - started) });
    yield batch;
  }
}
