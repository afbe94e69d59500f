/**
 * The provenance sidecar of cached features (`opnp extract`, {@link extractFeatures}): `<features.npy>.json`
 * records the run fingerprint (model bytes, dataset files, preprocessing), the shapes, the companion
 * files and every skipped sample. While an extraction runs it is `<features.npy>.partial.json` and also
 * says how far the rows got, so an interrupted run resumes exactly where it stopped.
 */
import { readFile } from 'node:fs/promises';
import { OpnpError } from '@opnp/core';
import { writeFileAtomic } from '@opnp/core/node';
import type { PreprocessOptions } from '@opnp/datasets';
import { isRunFingerprint, type RunFingerprint } from './fingerprint.js';

/** A sample that could not be read and is absent from every output. */
export interface SkippedSample {
  /** Dataset index. */
  readonly index: number;
  /** The unreadable file (or the dataset source). */
  readonly file: string;
  readonly reason: string;
}

/** Contents of a features sidecar. */
export interface FeaturesMeta {
  readonly format: 'opnp-features';
  readonly version: 1;
  readonly fingerprint: RunFingerprint;
  /** The dataset spec as given. */
  readonly data: string;
  /** Preprocessing the images went through (resolved against the model input). */
  readonly preprocess: PreprocessOptions;
  readonly dim: number;
  readonly classes: number;
  /** Samples the dataset has. */
  readonly samples: number;
  /** Rows written (samples minus skipped, when complete). */
  readonly rows: number;
  /** The next dataset index to read (equal to `samples` when complete). */
  readonly nextIndex: number;
  readonly complete: boolean;
  readonly skipped: readonly SkippedSample[];
  /** Output files of the same rows (paths as given). */
  readonly files: { readonly features: string; readonly logits?: string; readonly labels?: string; readonly indices?: string };
}

/** Sidecar path of a features file (`partial`: of its unfinished `.partial`). */
export function featuresMetaPath(features: string, partial = false): string {
  return partial ? `${features}.partial.json` : `${features}.json`;
}

/** Writes a sidecar atomically. */
export async function writeFeaturesMeta(path: string, meta: FeaturesMeta): Promise<void> {
  await writeFileAtomic(path, `${JSON.stringify(meta, null, 1)}\n`, 'the features sidecar');
}

/**
 * Reads a sidecar, or undefined when there is none.
 *
 * @throws OpnpError `DATASET_FORMAT` when the file exists but is not a features sidecar
 */
export async function readFeaturesMeta(path: string): Promise<FeaturesMeta | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    return undefined;
  }
  let meta: FeaturesMeta;
  try {
    meta = JSON.parse(text) as FeaturesMeta;
  } catch {
    throw new OpnpError('DATASET_FORMAT', 'The features sidecar is not JSON', { file: path, hint: 'Delete it and extract again' });
  }
  if ((meta as { format?: string } | null)?.format === 'opnp-features-shard') {
    throw new OpnpError('INVALID_ARGUMENT', 'This is one shard of a sharded extraction, not a whole feature set', { file: path, hint: 'Merge the shards first: opnp extract merge <shard files...> --out <features.npy>' });
  }
  if (meta?.format !== 'opnp-features' || meta.version !== 1 || !isRunFingerprint(meta.fingerprint) || !Number.isSafeInteger(meta.rows)) {
    throw new OpnpError('DATASET_FORMAT', 'Not an opnp features sidecar', { file: path, expected: 'format "opnp-features", version 1' });
  }
  return meta;
}
