/**
 * Sensitivity state files (checkpoints and shards): the `C x D` float64 sums of a
 * `SensitivityAccumulator` as `<file>` (`.npy`, float64, shape `[C, D]`) plus a JSON sidecar
 * `<file>.json`:
 *
 * ```json
 * { "format": "opnp-sensitivity-state", "version": 1, "classes": 10, "dim": 128, "count": 6000,
 *   "temperature": 1, "aggregation": "sum-of-abs", "sha256": "<hash of the .npy bytes>",
 *   "fingerprint": { "digest": "...", "fields": { "model": ..., "data": ..., ... } },
 *   "shard": { "index": 1, "count": 4 }, "planned": 6000 }
 * ```
 *
 * Both files are written atomically (temporary file + rename), the sidecar first. The sidecar's `sha256`
 * ties it to the `.npy` it describes, and `previous` describes the `.npy` it replaces: a process killed
 * between the two renames leaves the previous sums with a sidecar that still describes them, so a
 * checkpoint is always resumable. Any other mismatch is a torn or foreign pair and is refused.
 */
import { createHash } from 'node:crypto';
import { readFile, rm } from 'node:fs/promises';
import { OpnpError } from '@opnp/core/base';
import type { SensitivityAggregation, SensitivityState } from '@opnp/core';
import { writeFileAtomic } from '@opnp/core/node';
import { encodeNpy, readNpy } from '@opnp/datasets';
import { isRunFingerprint, type RunFingerprint } from './fingerprint.js';

/** Which of `count` shards (1-based `index`) a state covers; absent for a whole run. */
export interface ShardInfo {
  readonly index: number;
  readonly count: number;
}

/** The sidecar of a state file. */
export interface StateMeta {
  readonly format: 'opnp-sensitivity-state';
  readonly version: 1;
  readonly classes: number;
  readonly dim: number;
  readonly count: number;
  readonly temperature: number;
  readonly aggregation: SensitivityAggregation;
  readonly sha256: string;
  /** The run the sums belong to (model, data, preprocessing, subset, options); the shard is recorded apart. */
  readonly fingerprint?: RunFingerprint;
  /** The shard this state covers (`opnp sensitivity --shard`); absent for a whole run. */
  readonly shard?: ShardInfo;
  /** Shards a merged state adds up (`opnp sensitivity merge`), when it is not all of them. */
  readonly shards?: { readonly merged: readonly number[]; readonly count: number };
  /** Samples the run that wrote it meant to visit (`visited < planned` means unfinished). */
  readonly planned?: number;
  /** Samples visited so far: `count` plus the unreadable ones that were skipped. */
  readonly visited?: number;
  /** The `.npy` this sidecar's write replaced (see the module comment). */
  readonly previous?: { readonly sha256: string; readonly count: number; readonly visited?: number };
}

/** Path of the JSON sidecar of a state file. */
export function sidecarPath(path: string): string {
  return `${path}.json`;
}


/** What a state file records besides the sums (see {@link StateMeta}). */
export type StateProvenance = Pick<StateMeta, 'fingerprint' | 'shard' | 'shards' | 'planned' | 'visited'>;

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/** What the `.npy` now on disk at `path` holds, per its sidecar (undefined when there is no readable pair). */
async function onDisk(path: string): Promise<StateMeta['previous']> {
  try {
    const hash = sha256(await readFile(path));
    const meta = JSON.parse(await readFile(sidecarPath(path), 'utf8')) as StateMeta;
    if (hash === meta.sha256) return { sha256: hash, count: meta.count, ...(meta.visited !== undefined ? { visited: meta.visited } : {}) };
    if (hash === meta.previous?.sha256) return meta.previous;
  } catch {
    // No earlier state.
  }
  return undefined;
}

/** Writes a sensitivity state (sums + sidecar), crash-safe (see the module comment). */
export async function writeStateFile(path: string, state: SensitivityState, extra: StateProvenance = {}): Promise<void> {
  const bytes = encodeNpy({ dtype: 'float64', shape: [state.classes, state.dim], data: state.sum });
  const previous = await onDisk(path);
  const meta: StateMeta = {
    format: 'opnp-sensitivity-state',
    version: 1,
    classes: state.classes,
    dim: state.dim,
    count: state.count,
    temperature: state.temperature,
    aggregation: state.aggregation,
    sha256: sha256(bytes),
    ...extra,
    ...(previous ? { previous } : {}),
  };
  await writeFileAtomic(sidecarPath(path), `${JSON.stringify(meta, null, 2)}\n`, 'the sensitivity state sidecar');
  await writeFileAtomic(path, bytes, 'the sensitivity state');
}

/** Removes a state file and its sidecar (those present), e.g. a checkpoint whose run wrote its finished state. */
export async function removeStateFile(path: string): Promise<void> {
  await rm(sidecarPath(path), { force: true });
  await rm(path, { force: true });
}

/** The sidecar describing `bytes`: itself, or its `previous` entry after a write cut between the renames. */
function metaOf(meta: StateMeta, bytes: Uint8Array, path: string): StateMeta {
  const hash = sha256(bytes);
  if (hash === meta.sha256) return meta;
  const { previous } = meta;
  if (previous && hash === previous.sha256) {
    const { previous: _dropped, visited: _visited, ...rest } = meta;
    return { ...rest, sha256: previous.sha256, count: previous.count, ...(previous.visited !== undefined ? { visited: previous.visited } : {}) };
  }
  throw new OpnpError('DATASET_FORMAT', 'The sensitivity state and its sidecar do not belong together (torn or mixed files)', { file: path, hint: 'Delete both files and rerun' });
}

/**
 * Reads a state file and its sidecar.
 *
 * @throws OpnpError `IO_ERROR` (missing files), `DATASET_FORMAT` (not a state file, torn pair, bad shape).
 */
export async function readStateFile(path: string): Promise<{ state: SensitivityState; meta: StateMeta }> {
  let bytes: Buffer;
  let text: string;
  try {
    bytes = await readFile(path);
    text = await readFile(sidecarPath(path), 'utf8');
  } catch (error) {
    const missing = (error as { path?: string }).path ?? path;
    throw new OpnpError('IO_ERROR', `Cannot read sensitivity state ${missing}`, { file: path, hint: 'A state is a .npy of sums plus its .json sidecar, written by opnp sensitivity --state-out / --checkpoint' });
  }
  let meta: StateMeta;
  try {
    meta = JSON.parse(text) as StateMeta;
  } catch {
    throw new OpnpError('DATASET_FORMAT', 'The sensitivity state sidecar is not JSON', { file: sidecarPath(path) });
  }
  if (meta.format !== 'opnp-sensitivity-state' || meta.version !== 1) {
    throw new OpnpError('DATASET_FORMAT', 'Not an opnp sensitivity state sidecar', { file: sidecarPath(path), expected: 'format "opnp-sensitivity-state", version 1' });
  }
  meta = metaOf(meta, bytes, path);
  if (meta.fingerprint !== undefined && !isRunFingerprint(meta.fingerprint)) {
    throw new OpnpError('DATASET_FORMAT', 'The sensitivity state sidecar has a malformed run fingerprint', { file: sidecarPath(path), hint: 'It was written by another version of opnp; rerun to recreate it' });
  }
  const array = readNpy(bytes, { file: path });
  if (array.dtype !== 'float64' || array.shape.length !== 2 || array.shape[0] !== meta.classes || array.shape[1] !== meta.dim) {
    throw new OpnpError('DATASET_FORMAT', 'The sensitivity state has another shape than its sidecar says', { file: path, expected: `float64 [${meta.classes}, ${meta.dim}]`, actual: `${array.dtype} [${array.shape.join(', ')}]` });
  }
  const state: SensitivityState = {
    classes: meta.classes,
    dim: meta.dim,
    count: meta.count,
    temperature: meta.temperature,
    aggregation: meta.aggregation,
    sum: array.data as Float64Array,
  };
  return { state, meta };
}
