/**
 * The common dataset contract: every loader returns a {@link Dataset} that streams preprocessed
 * {@link DatasetBatch}es in a deterministic order.
 */
import type { PreprocessOptionNames, PreprocessOptions } from './preprocess.js';
import type { SubsetOptions } from './subset.js';

/** Names of the supported formats (also the spec-string prefixes of `openDataset`, `@opnp/datasets/node`). */
export type DatasetFormat = 'idx' | 'cifar10' | 'cifar100' | 'svhn' | 'folder' | 'imagenet' | 'imglist' | 'npy';

/**
 * One batch of preprocessed samples.
 *
 * `data` is `N x C x H x W` (layout `'NCHW'`, the default) or `N x H x W x C` (`'NHWC'`), row-major, float32,
 * already scaled and normalised; `shape` is the full shape, batch dimension first. `labels [N]` (-1 when
 * unknown / OOD) and `indices [N]` (dataset indices, ascending) describe the same rows. A batch can hold
 * fewer rows than `batchSize` at the end, or when unreadable images were skipped.
 */
export interface DatasetBatch {
  readonly data: Float32Array;
  readonly shape: readonly number[];
  readonly labels: Int32Array;
  readonly indices: Uint32Array;
}

/** Progress of a pass over a dataset, reported after every batch. */
export interface ProgressEvent {
  /** Samples delivered so far (skipped images not included). */
  readonly count: number;
  /** Samples this pass will visit (after subsetting). */
  readonly total: number;
  /** Samples per second since the pass started. */
  readonly rate: number;
  /** Milliseconds since the pass started. */
  readonly elapsedMs: number;
  /** Unreadable images skipped so far (image folders and lists only). */
  readonly skipped: number;
}

/** A sample left out of a pass (image folders, lists, ImageNet): an image that is missing or cannot be decoded. */
export interface SkipEvent {
  /** Dataset index of the sample (the index it would have had in `DatasetBatch.indices`). */
  readonly index: number;
  /** The image file. */
  readonly file: string;
  /** Why it was skipped (the decoder's or file system's message). */
  readonly reason: string;
}

/** Options of {@link Dataset.batches}. */
export interface BatchOptions {
  /** Samples per batch (default 64). */
  batchSize?: number;
  /** How to turn stored pixels into model input (default: `x / 255`, stored size and channels, NCHW). */
  preprocess?: PreprocessOptions;
  /** What messages call the `preprocess` options (default `preprocess.<option>`), e.g. an application's flag names. */
  preprocessNames?: PreprocessOptionNames;
  /** Visit a seeded subset only (a fraction or a count), or explicit ascending indices. */
  subset?: SubsetOptions | Uint32Array;
  /** Batches decoded ahead of the consumer (default 2; 0 decodes on demand). */
  prefetch?: number;
  /**
   * Worker threads that decode, resize and normalise image files (image folders, lists, ImageNet; Node only):
   * 0 does it on this thread (sharp decodes on libuv's threads, the Pillow resize runs here). Default: the
   * number of cores (`os.availableParallelism()`), at most 8. The batches are the same bit for bit, in the same
   * order, with the same skips and errors, whatever the count. Other formats and the browser entry ignore it.
   */
  workers?: number;
  /** Called after every batch. */
  onProgress?: (event: ProgressEvent) => void;
  /** Called for recoverable problems (a skipped unreadable image), as a message. */
  onWarning?: (message: string) => void;
  /**
   * Called once per skipped sample (missing or undecodable image, without `strict`), in index order, just
   * before the batch it was left out of is delivered (also when every sample of that batch was skipped).
   */
  onSkip?: (skip: SkipEvent) => void;
  /** Aborts the pass: the iterator rejects with the signal's reason. */
  signal?: AbortSignal;
}

/**
 * A dataset on disk (or in memory) whose samples are read on demand.
 *
 * `shape` is `[C, H, W]` of the *stored* images before preprocessing (for image folders, whose images differ
 * in size, `H` and `W` are those of the first image and `sizesVary` is true).
 */
export interface Dataset {
  readonly format: DatasetFormat;
  /** Where it was read from (a path, or `'<memory>'`). */
  readonly source: string;
  /** Number of samples. */
  readonly count: number;
  /** `[C, H, W]` of the stored images. */
  readonly shape: readonly [number, number, number];
  /** True when stored images differ in size (image folders): preprocessing should resize. */
  readonly sizesVary: boolean;
  /** Number of classes, when the dataset is labelled. */
  readonly classes?: number;
  /** Labels `[count]` when known without reading pixels at open time (-1 = unknown / OOD). */
  readonly labels?: Int32Array;
  /** Class names in label order (folder names, WordNet ids), when known. */
  readonly classNames?: readonly string[];
  /** Labels `[count]`, reading only label bytes where the format allows (-1 = unknown / OOD). */
  readLabels(): Promise<Int32Array>;
  /** Streams preprocessed batches in ascending index order. */
  batches(options?: BatchOptions): AsyncIterable<DatasetBatch>;
  /**
   * Checks the stored data beyond the header without keeping it (e.g. streams a `.gz` and counts its bytes);
   * resolves to what was checked, in words. Absent when the format has nothing to check beyond `open`.
   *
   * @throws OpnpError `'DATASET_FORMAT'` naming the file, the expected and the actual byte count.
   */
  verify?(): Promise<readonly string[]>;
}
