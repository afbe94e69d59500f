/**
 * Where features come from: a dataset run through the model, or cached `.npy` features written by
 * `opnp extract` / {@link extractFeatures} (`features:<features.npy>[#logits=<logits.npy>]`). Both stream
 * `[n x D]` feature and `[n x C]` logit batches in dataset order, optionally over a subset of indices.
 * Every batch is checked for NaN and infinities (naming the set and the sample), and every skipped
 * unreadable image is reported.
 */
import { OpnpError, type InputBatch, type Matrix } from '@opnp/core/base';
import type { PreprocessOptionNames, PreprocessOptions } from '@opnp/datasets';
import type { SkippedSample } from './features-meta.js';
import type { LoadedModel } from './model.js';
import { openCachedFeatures, parseFeaturesSpec } from './cached-features.js';
import { datasetFilesIdentity, type JsonValue } from './fingerprint.js';
import type { InputFile } from './paths.js';
import { parseDatasetSpec } from '@opnp/datasets';
import { openModelSource } from './model-source.js';

/** One batch of features, logits and labels of the same samples. */
export interface FeatureBatch {
  /** `[n x D]` penultimate features. */
  readonly features: Matrix;
  /** `[n x C]` logits. */
  readonly logits: Matrix;
  /** `[n]` labels, -1 when unknown. */
  readonly labels: Int32Array;
  /** `[n]` dataset indices (ascending); skipped samples are absent. */
  readonly indices: Uint32Array;
  /** The model inputs the batch was computed from (sources run through the model; absent for cached features). */
  readonly inputs?: InputBatch;
}

/** Options of {@link FeatureSource.batches}. */
export interface FeatureBatchOptions {
  /** Ascending dataset indices to visit (default: all). */
  readonly subset?: Uint32Array;
  readonly batchSize: number;
  readonly signal?: AbortSignal;
  readonly onProgress?: (event: { count: number; total: number; rate: number }) => void;
  /** Called for every sample that could not be read (it is absent from the batches). */
  readonly onSkip?: (skip: SkippedSample) => void;
}

/** A stream of features, logits and labels for one dataset argument. */
export interface FeatureSource {
  /** The argument as given. */
  readonly spec: string;
  /** `'model'`: images through the model; `'features'`: cached `.npy` features. */
  readonly kind: 'model' | 'features';
  /** Number of samples. */
  readonly count: number;
  /**
   * The preprocessing the features come from: the resolved options for `'model'` sources, the recorded
   * ones for cached features with a sidecar, undefined for cached features without one.
   */
  readonly preprocess: PreprocessOptions | undefined;
  /** Labels `[count]` (-1 = unknown). */
  readLabels(): Promise<Int32Array>;
  /** What the features are computed from, for run fingerprints (file hashes, preprocessing). */
  identity(): Promise<JsonValue>;
  batches(options: FeatureBatchOptions): AsyncIterable<FeatureBatch>;
}


/** Options of {@link openFeatureSource}. */
export interface FeatureSourceOptions {
  /** The loaded model (its head is always needed; its extractor for image datasets). */
  readonly model: LoadedModel;
  /** Normalisation after `x / 255`, resize, crop and kernel; what is not given follows the model input. */
  readonly preprocess?: PreprocessOptions;
  /** What messages call the `preprocess` options (default `preprocess.<option>`), e.g. an application's flag names (`--mean`). */
  readonly preprocessNames?: PreprocessOptionNames;
  /**
   * How messages name the argument the set came from, e.g. an application's flag and value (`--test features:f.npy`);
   * default the spec.
   */
  readonly argument?: string;
  /** A labels file (IDX labels or `.npy`) that overrides the dataset's own labels. */
  readonly labelsFile?: string;
  /**
   * Set when the set's labels are used (ID accuracy, class-conditional fits): an image folder (or ImageNet
   * folder) whose class count is not the model's is refused, since its labels are positions in the sorted folder
   * names ({@link assertFolderClasses}). `labelsOption` is what the message calls the way to pass a labels file
   * instead (e.g. `--test-labels`). Not checked when `labelsFile` is given.
   */
  readonly classCheck?: { readonly labelsOption: string };
  /**
   * Worker threads decoding and preprocessing image files (image folders, lists, ImageNet): `0` on the main
   * thread; default: the number of cores, at most 8 (`BatchOptions.workers` of @opnp/datasets). The features
   * are the same bit for bit whatever the count.
   */
  readonly imageWorkers?: number;
}

/**
 * Opens a dataset argument as a {@link FeatureSource}: `features:` specs read cached features,
 * `noise:<count>` makes seeded noise of the model input size, anything else is a dataset spec of
 * `@opnp/datasets` run through the model.
 *
 * @throws OpnpError for a missing or malformed dataset, shapes that do not fit the model, bad labels files
 */
export async function openFeatureSource(spec: string, options: FeatureSourceOptions): Promise<FeatureSource> {
  const cached = parseFeaturesSpec(spec);
  if (cached) return openCachedFeatures(spec, cached, options);
  return openModelSource(spec, options);
}

/**
 * Starts hashing the files of dataset spec `spec` for its run fingerprint in the background (large files on a worker
 * thread; the hashes are memoised), so that a fingerprint computed later, once the model has loaded, does not wait for
 * them. Errors are left to that later computation. Cached features (`features:`) and `noise:` are not hashed here.
 *
 * @example
 * ```ts
 * warmDatasetIdentity('idx:train-images-idx3-ubyte'); // hashed while the model loads
 * const model = await loadModel('model.onnx');
 * await extractFeatures({ model, data: 'idx:train-images-idx3-ubyte', outputs: { features: 'f.npy' }, batchSize: 256 });
 * ```
 */
export function warmDatasetIdentity(spec: string): void {
  if (parseFeaturesSpec(spec) !== undefined || spec.startsWith('noise:')) return;
  datasetFilesIdentity(spec, { background: true }).catch(() => undefined); // a process that stops before its fingerprint does not wait
}

/**
 * The files a dataset argument reads (`what` names them after `flag`), for {@link assertOutputTargets}: a dataset
 * file or folder and its labels file, or cached features and logits; none for `noise:` or a spec that does not parse
 * (opening it reports that).
 */
export function datasetInputFiles(spec: string, flag: string): InputFile[] {
  const cached = (() => {
    try {
      return parseFeaturesSpec(spec);
    } catch {
      return undefined;
    }
  })();
  if (cached) return [{ path: cached.features, what: `the features of ${flag}` }, ...(cached.logits !== undefined ? [{ path: cached.logits, what: `the logits of ${flag}` }] : [])];
  if (spec.startsWith('features:') || spec.startsWith('noise:')) return [];
  try {
    const parsed = parseDatasetSpec(spec);
    const labels = typeof parsed.options.labels === 'string' ? [{ path: parsed.options.labels, what: `the labels of ${flag}` }] : [];
    return [{ path: parsed.path, what: `the dataset (${flag})` }, ...labels];
  } catch {
    return [];
  }
}

/**
 * Throws `NON_FINITE` naming the set and the sample when a batch's features or logits hold NaN or
 * an infinity (they would poison every score and metric downstream).
 */
export function assertFiniteBatch(spec: string, batch: FeatureBatch): void {
  for (const [what, m] of [['features', batch.features], ['logits', batch.logits]] as const) {
    const i = firstNonFinite(m.data);
    if (i < 0) continue;
    const row = Math.floor(i / m.cols);
    const index = batch.indices[row]!;
    throw new OpnpError('NON_FINITE', `The model's ${what} of sample #${index} of ${spec} are not finite (column ${i - row * m.cols} is ${m.data[i]})`, {
      offset: index,
      hint: 'Check the image and the preprocessing for this model (a broken image, a wrong mean or std, a NaN in the input)',
    });
  }
}

/** Position of the first NaN or infinity of `data`, or -1. */
function firstNonFinite(data: Float32Array): number {
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!;
    if (v - v !== 0) return i;
  }
  return -1;
}
