/**
 * Dataset summaries for `opnp data info`.
 */
import type { Dataset, DatasetFormat } from './types.js';

/** JSON summary of a dataset. */
export interface DatasetInfo {
  readonly format: DatasetFormat;
  readonly count: number;
  /** `[C, H, W]` of the stored images. */
  readonly shape: readonly [number, number, number];
  /** Number of classes (0 when unlabelled). */
  readonly classes: number;
  /** Histogram: label (as a string, `"-1"` for unlabelled / OOD) -> number of samples. */
  readonly labels: Record<string, number>;
  /**
   * What was checked beyond the header, in words (from {@link Dataset.verify}); empty when the format has
   * nothing more to check or verification was skipped.
   */
  readonly verified: readonly string[];
}

/** Options of {@link datasetInfo}. */
export interface DatasetInfoOptions {
  /**
   * Check the stored data against the header with {@link Dataset.verify} (default true): e.g. stream a `.gz`
   * IDX file and count its bytes, so a truncated or lying file fails instead of reporting the header's count.
   */
  verify?: boolean;
}

/**
 * Computes `{ format, count, shape, classes, labels, verified }`. The histogram comes from
 * {@link Dataset.readLabels}, which reads label bytes only where the format allows (IDX, SVHN, image folders
 * and lists: no pixels; CIFAR: one pass over the label bytes). With `verify` (default), the data length is
 * checked first by streaming (nothing is kept).
 *
 * @throws OpnpError `'DATASET_FORMAT'` naming the file, the expected and the actual byte count when the
 * data is truncated or longer than announced.
 */
export async function datasetInfo(dataset: Dataset, options: DatasetInfoOptions = {}): Promise<DatasetInfo> {
  const verified = options.verify !== false && dataset.verify ? await dataset.verify() : [];
  const labels = await dataset.readLabels();
  const counts = new Map<number, number>();
  for (const label of labels) counts.set(label, (counts.get(label) ?? 0) + 1);
  const histogram: Record<string, number> = {};
  for (const label of [...counts.keys()].sort((a, b) => a - b)) histogram[String(label)] = counts.get(label)!;
  return { format: dataset.format, count: dataset.count, shape: dataset.shape, classes: dataset.classes ?? 0, labels: histogram, verified };
}
