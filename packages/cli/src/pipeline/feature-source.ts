/**
 * Where features come from: a dataset run through the model, or cached `.npy` features written by
 * `opnp extract` (`features:<features.npy>[#logits=<logits.npy>]`). Both stream `[N x D]` feature and
 * `[N x C]` logit batches in dataset order, optionally over a subset of indices.
 */
import { extname } from 'node:path';
import { OpnpError, logitsWith, type Matrix } from '@opnp/core';
import { loadIdx, loadNpy, openDataset, openNpyDataset, preprocessOptionsFor, type Dataset, type ProgressEvent, type ResizeKernel } from '@opnp/datasets';
import type { LoadedModel } from './model.js';
import { noiseDataset, parseNoiseSpec } from './noise-dataset.js';

/** One batch of features, logits and labels of the same samples. */
export interface FeatureBatch {
  /** `[n x D]` penultimate features. */
  readonly features: Matrix;
  /** `[n x C]` logits. */
  readonly logits: Matrix;
  /** `[n]` labels, -1 when unknown. */
  readonly labels: Int32Array;
  /** `[n]` dataset indices (ascending). */
  readonly indices: Uint32Array;
}

/** Options of {@link FeatureSource.batches}. */
export interface FeatureBatchOptions {
  /** Ascending dataset indices to visit (default: all). */
  readonly subset?: Uint32Array;
  readonly batchSize: number;
  readonly signal?: AbortSignal;
  readonly onProgress?: (event: ProgressEvent) => void;
}

/** A stream of features, logits and labels for one dataset argument. */
export interface FeatureSource {
  /** The argument as given. */
  readonly spec: string;
  /** `'model'`: images through the model; `'features'`: cached `.npy` features. */
  readonly kind: 'model' | 'features';
  /** Number of samples. */
  readonly count: number;
  /** Labels `[count]` (-1 = unknown). */
  readLabels(): Promise<Int32Array>;
  batches(options: FeatureBatchOptions): AsyncIterable<FeatureBatch>;
}

/** Image preprocessing choices (`--mean`, `--std`, `--resize`, `--crop`, `--resize-kernel`); unset ones follow the model input. */
export interface PreprocessFlags {
  readonly mean?: readonly number[];
  readonly std?: readonly number[];
  /** Shorter side after resizing. */
  readonly resize?: number;
  /** Centre-crop size (square). */
  readonly centerCrop?: number;
  readonly kernel?: ResizeKernel;
}

/** Options of {@link openFeatureSource}. */
export interface FeatureSourceOptions {
  /** The loaded model (its head is always needed; its extractor for image datasets). */
  readonly model: LoadedModel;
  /** Normalisation after `x / 255`, resize, crop and kernel; what is not given follows the model input. */
  readonly preprocess?: PreprocessFlags;
  /** A labels file (IDX labels or `.npy`) that overrides the dataset's own labels. */
  readonly labelsFile?: string;
}

/** Reads a labels file: IDX (raw or gzip) or a 1-D `.npy` array; values become int32. */
export async function loadLabelsFile(path: string): Promise<Int32Array> {
  if (extname(path).toLowerCase() === '.npy') {
    const array = await loadNpy(path);
    return Int32Array.from(array.data, (v) => (Number.isInteger(v) ? v : -1));
  }
  const idx = await loadIdx(path);
  return Int32Array.from(idx.data as ArrayLike<number>);
}

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

function allIndices(n: number): Uint32Array {
  return Uint32Array.from({ length: n }, (_, i) => i);
}

function checkLabelCount(labels: Int32Array, count: number, file: string): Int32Array {
  if (labels.length !== count) {
    throw new OpnpError('SHAPE_MISMATCH', 'The labels file has another number of samples than the dataset', { file, expected: count, actual: labels.length });
  }
  return labels;
}

/**
 * Opens a dataset argument as a {@link FeatureSource}: `features:` specs read cached features,
 * `noise:<count>` makes seeded noise of the model input size, anything else is a dataset spec of
 * `@opnp/datasets` run through the model.
 */
export async function openFeatureSource(spec: string, options: FeatureSourceOptions): Promise<FeatureSource> {
  const { model } = options;
  const head = model.extractor.head;
  const C = head.weight.rows;
  const D = head.weight.cols;
  const override = options.labelsFile !== undefined ? await loadLabelsFile(options.labelsFile) : undefined;

  const cached = parseFeaturesSpec(spec);
  if (cached) {
    const features = await openNpyDataset(cached.features);
    if (features.shape[0] !== 1 || features.shape[1] !== 1 || features.shape[2] !== D) {
      throw new OpnpError('SHAPE_MISMATCH', 'Cached features must be an [N, D] .npy matrix with the model head\'s D', { file: cached.features, expected: `[N, ${D}]`, actual: features.shape });
    }
    let logitsSet: Dataset | undefined;
    if (cached.logits !== undefined) {
      logitsSet = await openNpyDataset(cached.logits);
      if (logitsSet.count !== features.count || logitsSet.shape[2] !== C || logitsSet.shape[1] !== 1 || logitsSet.shape[0] !== 1) {
        throw new OpnpError('SHAPE_MISMATCH', 'Cached logits must be [N, C] with the features\' N and the head\'s C', { file: cached.logits, expected: `[${features.count}, ${C}]`, actual: [logitsSet.count, logitsSet.shape[2]] });
      }
    }
    const labels = override ? checkLabelCount(override, features.count, options.labelsFile!) : new Int32Array(features.count).fill(-1);
    return {
      spec,
      kind: 'features',
      count: features.count,
      readLabels: async () => labels.slice(),
      async *batches(o: FeatureBatchOptions) {
        const subset = o.subset ?? allIndices(features.count);
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
              if (l.done || l.value.indices.length !== n) throw new OpnpError('SHAPE_MISMATCH', 'Cached logits ended before the features', { file: cached.logits });
              f = { rows: n, cols: C, data: l.value.data };
            } else f = await logitsWith(model.kernel, head, h);
            yield { features: h, logits: f, labels: Int32Array.from(b.indices, (i) => labels[i]!), indices: b.indices };
          }
        } finally {
          await featureIt.return?.();
          await logitIt?.return?.();
        }
      },
    };
  }

  const extractor = model.extractor;
  const noise = parseNoiseSpec(spec);
  let dataset: Dataset;
  if (noise) {
    const dims = extractor.input.shape;
    let shape = noise.shape;
    if (!shape) {
      if (extractor.input.layout === 'flat' || dims.slice(1).some((d) => d === null)) {
        throw new OpnpError('INVALID_ARGUMENT', 'noise: needs shape=<C>x<H>x<W> for this model input', { actual: spec });
      }
      shape = (extractor.input.layout === 'NCHW' ? [dims[1], dims[2], dims[3]] : [dims[3], dims[1], dims[2]]) as [number, number, number];
    }
    dataset = noiseDataset({ count: noise.count, seed: noise.seed, shape });
  } else dataset = await openDataset(spec);
  const labelsOf = override
    ? async () => checkLabelCount(override, dataset.count, options.labelsFile!).slice()
    : () => dataset.readLabels();
  const preprocess = preprocessOptionsFor(extractor.input, { ...options.preprocess });
  if (extractor.input.layout === 'flat') {
    // Flat (vector) models: images are flattened in CHW order and must have the input's length.
    const want = extractor.input.shape[1];
    const have = dataset.shape[0] * dataset.shape[1] * dataset.shape[2];
    if (typeof want === 'number' && want !== have) {
      throw new OpnpError('SHAPE_MISMATCH', 'The dataset\'s images do not have the model input length', { file: dataset.source, expected: want, actual: have });
    }
  }
  return {
    spec,
    kind: 'model',
    count: dataset.count,
    readLabels: labelsOf,
    async *batches(o: FeatureBatchOptions) {
      const labels = override ? await labelsOf() : undefined;
      for await (const b of dataset.batches({
        batchSize: o.batchSize,
        preprocess,
        ...(o.subset ? { subset: o.subset } : {}),
        ...(o.signal ? { signal: o.signal } : {}),
        ...(o.onProgress ? { onProgress: o.onProgress } : {}),
      })) {
        const n = b.indices.length;
        const shape = extractor.input.layout === 'flat' ? [n, b.data.length / n] : b.shape;
        const out = await extractor.extract({ data: b.data, shape });
        yield { features: out.features, logits: out.logits, labels: labels ? Int32Array.from(b.indices, (i) => labels[i]!) : b.labels, indices: b.indices };
      }
    },
  };
}
