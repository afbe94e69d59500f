/**
 * The provenance sidecar of cached features (`opnp extract`, {@link extractFeatures}): `<features.npy>.json`
 * records the run fingerprint (model bytes, dataset files, preprocessing), the shapes, the companion
 * files and every skipped sample. While an extraction runs it is `<features.npy>.partial.json` and also
 * says how far the rows got, so an interrupted run resumes exactly where it stopped. A complete sidecar also
 * records the model path and the SHA-256 of the rows of the logits, labels and indices files (`hashes`), so that a
 * companion file overwritten by another extraction is recognised (see `cached-checks.ts`).
 */
import { readFile } from 'node:fs/promises';
import { OpnpError } from '@opnp/core/base';
import { writeFileAtomic } from '@opnp/core/node';
import type { PreprocessOptions } from '@opnp/datasets';
import { hashNpyRows, isRunFingerprint, type RunFingerprint } from './fingerprint.js';

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
  /** The model file as given (its bytes are `fingerprint.fields.model`); absent in sidecars of earlier versions. */
  readonly model?: string;
  /**
   * When complete: SHA-256 of the rows (the `.npy` data without its header, see `hashNpyRows`) of each companion
   * output, so that a logits or labels file overwritten by another extraction is recognised as not this one's.
   * Absent in sidecars of earlier versions.
   */
  readonly hashes?: CompanionHashes;
}

/** SHA-256 of the rows of the companion outputs an extraction wrote (see {@link FeaturesMeta.hashes}). */
export interface CompanionHashes {
  readonly logits?: string;
  readonly labels?: string;
  readonly indices?: string;
}

/** The {@link CompanionHashes} of the companion `.npy` files written (the SHA-256 of each file's rows). */
export async function companionHashes(files: { readonly logits?: string; readonly labels?: string; readonly indices?: string }): Promise<CompanionHashes> {
  const hashes: { logits?: string; labels?: string; indices?: string } = {};
  for (const key of ['logits', 'labels', 'indices'] as const) {
    const path = files[key];
    if (path !== undefined) hashes[key] = await hashNpyRows([path]);
  }
  return hashes;
}

/** Sidecar path of a features file (`partial`: of its unfinished `.partial`). */
export function featuresMetaPath(features: string, partial = false): string {
  return partial ? `${features}.partial.json` : `${features}.json`;
}

/**
 * Writes a sidecar (of a whole extraction or of a shard) atomically; `flush: false` for the progress sidecar of a
 * `.partial` output, rewritten every second (see `writeFileAtomic`: the extraction does not wait for the disk).
 */
export async function writeFeaturesMeta(path: string, meta: { readonly format: string }, options: { readonly flush?: boolean } = {}): Promise<void> {
  await writeFileAtomic(path, `${JSON.stringify(meta, null, 1)}\n`, 'the features sidecar', options);
}

/** A parsed sidecar of one of the given formats (fields checked as far as the formats share them). */
export type ParsedSidecar = Omit<FeaturesMeta, 'format'> & { readonly format: string };

/** The first bytes of every `.npy` file. */
const NPY_MAGIC = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]);

/**
 * Reads a features sidecar whose `format` is one of `formats`, or undefined when there is none.
 *
 * @throws OpnpError `DATASET_FORMAT` when the file exists but is not such a sidecar
 */
export async function readSidecar(path: string, formats: readonly string[]): Promise<ParsedSidecar | undefined> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch {
    return undefined;
  }
  if (bytes.subarray(0, NPY_MAGIC.length).equals(NPY_MAGIC)) {
    throw new OpnpError('INVALID_ARGUMENT', `${path} is a .npy array, not the JSON sidecar that describes it`, { file: path, hint: `Pass the sidecar, ${path}.json` });
  }
  let meta: ParsedSidecar;
  try {
    meta = JSON.parse(bytes.toString('utf8')) as ParsedSidecar;
  } catch {
    throw new OpnpError('DATASET_FORMAT', 'The features sidecar is not JSON', { file: path, hint: 'Delete it and extract again' });
  }
  if (!formats.includes(meta?.format) || meta.version !== 1 || !isRunFingerprint(meta.fingerprint) || !Number.isSafeInteger(meta.rows)) {
    throw new OpnpError('DATASET_FORMAT', 'Not an opnp features sidecar', { file: path, expected: `format ${formats.map((f) => `"${f}"`).join(' or ')}, version 1` });
  }
  return meta;
}

/**
 * Reads the sidecar of a whole extraction, or undefined when there is none.
 *
 * @throws OpnpError `DATASET_FORMAT` when the file exists but is not a features sidecar, `INVALID_ARGUMENT` for a shard's
 */
export async function readFeaturesMeta(path: string): Promise<FeaturesMeta | undefined> {
  const meta = await readSidecar(path, ['opnp-features', 'opnp-features-shard']);
  if (meta?.format === 'opnp-features-shard') {
    throw new OpnpError('INVALID_ARGUMENT', 'This is one shard of a sharded extraction, not a whole feature set', { file: path, hint: 'Name the unsharded file (without .shard-i-of-n): while it is absent, all its shards are read; or merge them first with opnp extract merge <shard files...> --out <features.npy>' });
  }
  return meta as FeaturesMeta | undefined;
}
