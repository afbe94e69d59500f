/**
 * Sharded extraction: `extractFeatures({ ..., shard: { index: 2, count: 4 } })` extracts the second of
 * four contiguous parts of the dataset ({@link shardOf} over all indices) into files named after the
 * outputs (`feats.npy` -> `feats.shard-002-of-004.npy`, the same for logits, labels and indices; the
 * shard's indices are always written). A shard's sidecar has the format `opnp-features-shard`: it records
 * the fingerprint of the unsharded run and, apart from it, the shard and its range of dataset indices.
 * Being another format, a shard file is refused where one whole feature set is expected; a `features:`
 * spec naming the unsharded file reads all its shards instead while that file is absent
 * ({@link shardSiblings}), and {@link mergeFeatureShards} joins them into it.
 */
import { readdir } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { OpnpError } from '@opnp/core/base';
import { isFile } from './paths.js';
import type { ExtractOutputs } from './extract.js';
import { readSidecar, type CompanionHashes, type FeaturesMeta, type SkippedSample } from './features-meta.js';
import type { ShardInfo } from './state-file.js';
import { shardOf } from './shards.js';

/** A shard and the dataset indices `[start, end)` it covers. */
export interface FeatureShard extends ShardInfo {
  readonly start: number;
  readonly end: number;
}

/** The sidecar of one shard's outputs: a features sidecar of format `opnp-features-shard` plus the shard. */
export type FeatureShardMeta = Omit<FeaturesMeta, 'format'> & { readonly format: 'opnp-features-shard'; readonly shard: FeatureShard };

/** A features sidecar of either kind (whole run or shard). */
export type AnyFeaturesMeta = FeaturesMeta | FeatureShardMeta;

const SHARD_TAG = /\.shard-(\d+)-of-(\d+)(?=\.npy$|$)/;

/** `feats.npy` -> `feats.shard-002-of-004.npy` (at least three digits; a name without `.npy` gets the tag appended). */
export function shardFileName(path: string, shard: ShardInfo): string {
  const width = Math.max(3, String(shard.count).length);
  const tag = `.shard-${String(shard.index).padStart(width, '0')}-of-${String(shard.count).padStart(width, '0')}`;
  return path.endsWith('.npy') ? `${path.slice(0, -4)}${tag}.npy` : `${path}${tag}`;
}

/** The name without its shard tag (`feats.shard-002-of-004.npy` -> `feats.npy`), or undefined when it has none. */
export function unshardedFileName(path: string): string | undefined {
  const name = basename(path);
  if (!SHARD_TAG.test(name)) return undefined;
  return `${path.slice(0, path.length - name.length)}${name.replace(SHARD_TAG, '')}`;
}

/**
 * The files a shard writes for the outputs of the unsharded run: each output with the shard tag, and the
 * indices always (`<features>.shard-002-of-004.indices.npy` when the run writes none).
 */
export function shardOutputs(outputs: ExtractOutputs, shard: ShardInfo): ExtractOutputs & { readonly indices: string } {
  const features = shardFileName(outputs.features, shard);
  const indices = outputs.indices !== undefined ? shardFileName(outputs.indices, shard) : `${features.endsWith('.npy') ? features.slice(0, -4) : features}.indices.npy`;
  return {
    features,
    ...(outputs.logits !== undefined ? { logits: shardFileName(outputs.logits, shard) } : {}),
    ...(outputs.labels !== undefined ? { labels: shardFileName(outputs.labels, shard) } : {}),
    indices,
  };
}

/** The dataset indices `[start, end)` of a shard of `samples` (contiguous, balanced: {@link shardOf} over all indices). */
export function featureShard(samples: number, shard: ShardInfo): FeatureShard {
  if (!Number.isSafeInteger(shard.index) || !Number.isSafeInteger(shard.count) || shard.count < 1 || shard.index < 1 || shard.index > shard.count) {
    throw new OpnpError('INVALID_ARGUMENT', `Shard ${shard.index}/${shard.count} does not exist`, { expected: '1 <= index <= count' });
  }
  const all = Uint32Array.from({ length: samples }, (_, i) => i);
  const part = shardOf(all, shard.index, shard.count);
  const start = part.length > 0 ? part[0]! : Math.floor(((shard.index - 1) * samples) / shard.count);
  return { index: shard.index, count: shard.count, start, end: start + part.length };
}

/** The output files in canonical order (features, logits, labels, indices), as a sidecar records them. */
export function filesRecord(outputs: ExtractOutputs): FeaturesMeta['files'] {
  return {
    features: outputs.features,
    ...(outputs.logits !== undefined ? { logits: outputs.logits } : {}),
    ...(outputs.labels !== undefined ? { labels: outputs.labels } : {}),
    ...(outputs.indices !== undefined ? { indices: outputs.indices } : {}),
  };
}

/** What a features sidecar says besides its progress. */
export type MetaBase = Pick<FeaturesMeta, 'fingerprint' | 'data' | 'model' | 'preprocess' | 'dim' | 'classes' | 'samples'>;

/** A sidecar in the field order every writer uses (so a merged sidecar is byte for byte an unsharded run's). */
export function buildFeaturesMeta(base: MetaBase, progress: { rows: number; nextIndex: number; complete: boolean; skipped: readonly SkippedSample[]; hashes?: CompanionHashes }, outputs: ExtractOutputs, shard?: FeatureShard): AnyFeaturesMeta {
  const body = {
    version: 1 as const,
    fingerprint: base.fingerprint,
    data: base.data,
    ...(base.model !== undefined ? { model: base.model } : {}),
    preprocess: base.preprocess,
    dim: base.dim,
    classes: base.classes,
    samples: base.samples,
    rows: progress.rows,
    nextIndex: progress.nextIndex,
    complete: progress.complete,
    skipped: progress.skipped,
    files: filesRecord(outputs),
    ...(progress.hashes !== undefined ? { hashes: progress.hashes } : {}),
  };
  return shard ? { format: 'opnp-features-shard', ...body, shard } : { format: 'opnp-features', ...body };
}

/**
 * Reads a sidecar of either kind, or undefined when there is none.
 *
 * @throws OpnpError `DATASET_FORMAT` when the file exists but is no features sidecar
 */
export async function readAnyFeaturesMeta(path: string): Promise<AnyFeaturesMeta | undefined> {
  const meta = (await readSidecar(path, ['opnp-features', 'opnp-features-shard'])) as AnyFeaturesMeta | undefined;
  if (meta?.format === 'opnp-features-shard' && !isShard(meta.shard)) throw new OpnpError('DATASET_FORMAT', 'The features shard sidecar has no valid shard record', { file: path });
  return meta;
}

function isShard(value: unknown): value is FeatureShard {
  const s = value as FeatureShard | null;
  return s !== null && typeof s === 'object' && [s.index, s.count, s.start, s.end].every((v) => Number.isSafeInteger(v));
}

/** `2/4` or "the whole dataset". */
export function describeShard(shard: ShardInfo | undefined): string {
  return shard ? `shard ${shard.index}/${shard.count}` : 'the whole dataset';
}

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * The names of the shard files of `path` in its folder (`feats.shard-001-of-004.npy` for `feats.npy`), followed by
 * `suffix` (e.g. `.partial`); groups 1 and 2 are the shard's index and count.
 */
export function shardNamePattern(path: string, suffix = ''): RegExp {
  const name = basename(path);
  const stem = name.endsWith('.npy') ? name.slice(0, -4) : name;
  return new RegExp(`^${escapeRegExp(stem)}\\.shard-(\\d+)-of-(\\d+)${name.endsWith('.npy') ? '\\.npy' : ''}${escapeRegExp(suffix)}$`);
}

/**
 * The shard files that stand for `path` while it is absent: `feats.npy` -> `feats.shard-001-of-004.npy` ...
 * `feats.shard-004-of-004.npy` when files of that name and one shard count lie next to it (every one of the
 * count's names, present or not, so that a missing shard is named by whoever reads them). Undefined when
 * `path` exists or no shard of it does.
 *
 * @throws OpnpError `STATE_MISMATCH` when shards of several counts lie there (the leftovers of another run)
 */
export async function shardSiblings(path: string): Promise<string[] | undefined> {
  if (await isFile(path)) return undefined;
  const pattern = shardNamePattern(path);
  const entries = await readdir(dirname(path)).catch(() => [] as string[]);
  const counts = [...new Set(entries.flatMap((e) => { const m = pattern.exec(e); return m ? [Number(m[2])] : []; }))].sort((a, b) => a - b);
  if (counts.length === 0) return undefined;
  if (counts.length > 1) {
    throw new OpnpError('STATE_MISMATCH', `${path} is absent and sets of ${counts.join(' and ')} shards of it lie next to it: they cannot all belong to one run`, { file: path, hint: 'Delete the shards of the other run (or merge the ones you mean into this file)' });
  }
  const count = counts[0]!;
  return Array.from({ length: count }, (_, i) => shardFileName(path, { index: i + 1, count }));
}
