/**
 * Cached features as a {@link FeatureSource}: `features:<features.npy>[#logits=<logits.npy>]`. Without
 * cached logits they are computed from the head. The sidecar written by {@link extractFeatures}
 * (`<features.npy>.json`) supplies the preprocessing and the run fingerprint when present.
 */
import { open as openFile } from 'node:fs/promises';
import { OpnpError, logitsWith, type Matrix } from '@opnp/core';
import { openNpyDataset, parseNpyHeader, type Dataset } from '@opnp/datasets/node';
import type { FeatureBatch, FeatureBatchOptions, FeatureSource, FeatureSourceOptions } from './feature-source.js';
import { assertFiniteBatch } from './feature-source.js';
import { featuresMetaPath, readFeaturesMeta, type FeaturesMeta } from './features-meta.js';
import { hashFile, type JsonValue } from './fingerprint.js';
import { checkLabelCount, loadLabelsFile } from './labels-file.js';

/** Parses `features:<features.npy>[#logits=<logits.npy>]`; undefined for other specs. */
export function parseFeaturesSpec(spec: string): { features: string; logits?: string } | undefined {
  if (!spec.startsWith('features:')) return undefined;
  let rest = spec.slice('features:'.length);
  let logits: string | undefined;
  const hash = rest.lastIndexOf('#');
  if (hash >= 0) {
    const option = rest.slice(hash + 1);
    rest = rest.slice(0, hash);
    if (!option.startsWith('logits=') || option.length === 'logits='.length) {
      throw new OpnpError('INVALID_ARGUMENT', `Unknown features option "${option}"`, { expected: 'logits=<logits.npy>', actual: spec });
    }
    logits = option.slice('logits='.length);
  }
  if (rest === '') throw new OpnpError('INVALID_ARGUMENT', 'The features spec has no path', { actual: spec });
  return logits === undefined ? { features: rest } : { features: rest, logits };
}

/** The shape stored in a `.npy` header, as the file says it (for messages). */
async function npyShape(path: string, what: string): Promise<readonly number[]> {
  let handle;
  try {
    handle = await openFile(path, 'r');
  } catch {
    throw new OpnpError('IO_ERROR', `${what} file not found: ${path}`, { file: path, hint: 'Write it with opnp extract, or fix the path' });
  }
  try {
    const head = new Uint8Array(4096);
    const { bytesRead } = await handle.read(head, 0, head.length, 0);
    return parseNpyHeader(head.subarray(0, bytesRead), path).shape;
  } finally {
    await handle.close();
  }
}

async function openMatrixFile(path: string, what: string, cols: number, colsName: string, rows?: number): Promise<Dataset> {
  const shape = await npyShape(path, what);
  if (shape.length !== 2 || shape[1] !== cols || (rows !== undefined && shape[0] !== rows)) {
    throw new OpnpError('SHAPE_MISMATCH', `${what} must be an [N, ${colsName}] .npy matrix matching the model head`, { file: path, expected: `[${rows ?? 'N'}, ${cols}]`, actual: shape });
  }
  return openNpyDataset(path);
}

async function checkedMeta(path: string, rows: number): Promise<FeaturesMeta | undefined> {
  const meta = await readFeaturesMeta(featuresMetaPath(path));
  if (meta && (!meta.complete || meta.rows !== rows)) {
    throw new OpnpError('STATE_MISMATCH', `The features sidecar does not describe ${path}: it records ${meta.rows} rows${meta.complete ? '' : ' of an unfinished run'}, the file has ${rows}`, {
      file: featuresMetaPath(path),
      hint: 'Extract the features again (opnp extract --restart)',
    });
  }
  return meta;
}

/** Opens cached features (see the module comment). */
export async function openCachedFeatures(spec: string, cached: { features: string; logits?: string }, options: FeatureSourceOptions): Promise<FeatureSource> {
  const { model } = options;
  const head = model.extractor.head;
  const features = await openMatrixFile(cached.features, 'Cached features', head.weight.cols, 'D');
  const logitsSet = cached.logits === undefined ? undefined : await openMatrixFile(cached.logits, 'Cached logits', head.weight.rows, 'C', features.count);
  const meta = await checkedMeta(cached.features, features.count);
  const override = options.labelsFile !== undefined ? checkLabelCount(await loadLabelsFile(options.labelsFile), features.count, options.labelsFile) : undefined;
  const labels = override ?? new Int32Array(features.count).fill(-1);
  return {
    spec,
    kind: 'features',
    count: features.count,
    preprocess: meta?.preprocess,
    readLabels: async () => labels.slice(),
    identity: async (): Promise<JsonValue> => ({
      features: await hashFile(cached.features),
      logits: cached.logits === undefined ? null : await hashFile(cached.logits),
      extraction: meta ? meta.fingerprint.digest : null,
    }),
    batches: (o) => cachedBatches(spec, features, logitsSet, labels, options, o),
  };
}

async function* cachedBatches(spec: string, features: Dataset, logitsSet: Dataset | undefined, labels: Int32Array, source: FeatureSourceOptions, o: FeatureBatchOptions): AsyncGenerator<FeatureBatch> {
  const { head } = source.model.extractor;
  const D = head.weight.cols;
  const C = head.weight.rows;
  const subset = o.subset ?? Uint32Array.from({ length: features.count }, (_, i) => i);
  const common = { batchSize: o.batchSize, subset, prefetch: 1, ...(o.signal ? { signal: o.signal } : {}) };
  const featureIt = features.batches({ ...common, ...(o.onProgress ? { onProgress: o.onProgress } : {}) })[Symbol.asyncIterator]();
  const logitIt = logitsSet?.batches(common)[Symbol.asyncIterator]();
  try {
    while (true) {
      const next = await featureIt.next();
      if (next.done) return;
      const b = next.value;
      const n = b.indices.length;
      const h: Matrix = { rows: n, cols: D, data: b.data };
      let f: Matrix;
      if (logitIt) {
        const l = await logitIt.next();
        if (l.done || l.value.indices.length !== n) throw new OpnpError('SHAPE_MISMATCH', 'Cached logits ended before the features', { file: logitsSet!.source });
        f = { rows: n, cols: C, data: l.value.data };
      } else f = await logitsWith(source.model.kernel, head, h);
      const batch = { features: h, logits: f, labels: Int32Array.from(b.indices, (i) => labels[i]!), indices: b.indices };
      assertFiniteBatch(spec, batch);
      yield batch;
    }
  } finally {
    await featureIt.return?.();
    await logitIt?.return?.();
  }
}
