/**
 * An IDX array already in memory (from {@link fromIdx}) as a {@link Dataset}: the same batches, preprocessing
 * and subsets as a file opened with `openIdx`, without file access (browser-safe).
 */
import type { Dataset } from '../types.js';
import { createDataset, type RawSample } from '../dataset.js';
import { argumentError } from '../errors.js';
import { idxImageLayout, type IdxArray } from './idx.js';

/** Options of {@link idxDataset}. */
export interface IdxDatasetOptions {
  /** Labels `[N]`, e.g. `idxLabels(fromIdx(labelBytes))`. Default: unlabelled (-1). */
  labels?: Int32Array;
  /** Where the bytes came from (a URL, a file name), reported as {@link Dataset.source}. Default `'<memory>'`. */
  source?: string;
}

/**
 * A {@link Dataset} over an in-memory IDX images array: `[N, H, W]` (stored shape `[1, H, W]`),
 * `[N, H, W, C]` (`[C, H, W]`) or `[N, D]` (`[1, 1, D]`); 8-bit unsigned images are scaled by `1/255` by
 * default. Samples are views of `images.data` (nothing is copied until a batch is written).
 *
 * @example
 * ```ts
 * const bytes = async (url: string) => new Uint8Array(await (await fetch(url)).arrayBuffer());
 * const images = fromIdx(await bytes('t10k-images-idx3-ubyte.gz'));
 * const labels = idxLabels(fromIdx(await bytes('t10k-labels-idx1-ubyte.gz')));
 * for await (const batch of idxDataset(images, { labels }).batches({ batchSize: 100 })) {
 *   // batch.data: Float32Array [100, 1, 28, 28] in [0, 1]; batch.labels: Int32Array [100]
 * }
 * ```
 * @throws OpnpError `'DATASET_FORMAT'` for dims that are not an images array, `'INVALID_ARGUMENT'` when the
 * data length or the label count disagrees with the dims.
 */
export function idxDataset(images: IdxArray, options: IdxDatasetOptions = {}): Dataset {
  const source = options.source ?? '<memory>';
  const { count, shape, layout } = idxImageLayout(images.dims, source);
  const values = shape[0] * shape[1] * shape[2];
  if (images.data.length !== count * values) {
    throw argumentError('IDX data length disagrees with its dims', { file: source, expected: `${count * values} values for dims [${images.dims.join(', ')}]`, actual: images.data.length });
  }
  const labels = options.labels;
  if (labels !== undefined && labels.length !== count) throw argumentError('Label and image counts disagree', { file: source, expected: `${count} labels`, actual: labels.length });
  let classes = 0;
  if (labels) for (const v of labels) classes = Math.max(classes, v + 1);
  async function* read(indices: Uint32Array, signal?: AbortSignal): AsyncGenerator<RawSample> {
    for (const index of indices) {
      signal?.throwIfAborted();
      const data = images.data.subarray(index * values, (index + 1) * values);
      yield { index, label: labels ? labels[index]! : -1, pixels: { data, channels: shape[0], height: shape[1], width: shape[2], layout } };
    }
  }
  return createDataset({ format: 'idx', source, count, shape, eightBit: images.dtype === 'uint8', ...(labels ? { labels, classes } : {}), read });
}
