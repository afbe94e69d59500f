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
}

/**
 * Computes `{ format, count, shape, classes, labels }`. The histogram comes from {@link Dataset.readLabels},
 * which reads label bytes only where the format allows (IDX, SVHN, image folders and lists: no pixels;
 * CIFAR: one pass over the label bytes).
 */
export async function datasetInfo(dataset: Dataset): Promise<DatasetInfo> {
  const labels = await dataset.readLabels();
  const counts = new Map<number, number>();
  for (const label of labels) counts.set(label, (counts.get(label) ?? 0) + 1);
  const histogram: Record<string, number> = {};
  for (const label of [...counts.keys()].sort((a, b) => a - b)) histogram[String(label)] = counts.get(label)!;
  return { format: dataset.format, count: dataset.count, shape: dataset.shape, classes: dataset.classes ?? 0, labels: histogram };
}
