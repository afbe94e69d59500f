/**
 * The sensitivity of a model over a training set as a job of its own (`opnp sensitivity`): the whole
 * set or one shard of it, resumable, with the run fingerprint recorded in every state it writes; and
 * {@link mergeStates}, which adds shard states of one run and refuses anything else.
 */
import { OpnpError, SensitivityAccumulator, type SensitivityState } from '@opnp/core';
import type { PreprocessOptionNames, PreprocessOptions } from '@opnp/datasets';
import { openFeatureSource } from './feature-source.js';
import type { SkippedSample } from './features-meta.js';
import { shardSiblings } from './extract-shards.js';
import { isFile } from './paths.js';
import type { RunFingerprint } from './fingerprint.js';
import { checkShardSet } from './shard-set.js';
import type { LoadedModel } from './model.js';
import type { ProgressListener } from './progress.js';
import { readStateFile, type ShardInfo, type StateMeta, type StateProvenance } from './state-file.js';
import { runTrainingPass, shardOf, trainingFingerprint, trainingIndices, type CheckpointOptions, type SensitivitySettings } from './training-pass.js';
import { optionNames, type OptionNames } from './option-names.js';

/** Options of {@link runSensitivity}. */
export interface SensitivityRunOptions {
  readonly model: LoadedModel;
  readonly train: string;
  readonly trainLabels?: string;
  readonly preprocess?: PreprocessOptions;
  /** What messages call the `preprocess` options (default `preprocess.<option>`), e.g. an application's flag names (`--mean`). */
  readonly preprocessNames?: PreprocessOptionNames;
  readonly trainFraction?: number;
  readonly seed?: number;
  /** Only this part of the training indices (1-based). */
  readonly shard?: ShardInfo;
  readonly sensitivity?: SensitivitySettings;
  readonly checkpoint?: CheckpointOptions;
  /** What messages call `restart` and the checkpoint path (default the library's names; the CLI passes `--restart`, `--checkpoint`). */
  readonly optionNames?: OptionNames;
  readonly batchSize: number;
  /**
   * Worker threads decoding and preprocessing image files (image folders, lists, ImageNet): `0` on the main
   * thread; default: the number of cores, at most 8 (`BatchOptions.workers` of @opnp/datasets). The features
   * are the same bit for bit whatever the count.
   */
  readonly imageWorkers?: number;
  readonly signal?: AbortSignal;
  readonly onProgress?: ProgressListener;
  readonly onInfo?: (message: string) => void;
  readonly onSkip?: (skip: SkippedSample) => void;
}

/** What {@link runSensitivity} computed. */
export interface SensitivityRun {
  readonly accumulator: SensitivityAccumulator;
  readonly fingerprint: RunFingerprint;
  /** Provenance to store with the state ({@link writeStateFile}). */
  readonly provenance: StateProvenance;
  /** Training samples of the whole run, and of this shard. */
  readonly total: number;
  readonly visited: number;
  readonly skipped: number;
}

/**
 * Accumulates the sensitivity over the training set or one shard of it.
 *
 * @throws OpnpError `STATE_MISMATCH` for a checkpoint of another run or shard
 * @throws InterruptedError when `signal` aborts
 */
export async function runSensitivity(options: SensitivityRunOptions): Promise<SensitivityRun> {
  const { model } = options;
  const source = await openFeatureSource(options.train, {
    model,
    argument: `${optionNames(options.optionNames).train} ${options.train}`,
    ...(options.preprocess ? { preprocess: options.preprocess } : {}),
    ...(options.preprocessNames ? { preprocessNames: options.preprocessNames } : {}),
    ...(options.trainLabels !== undefined ? { labelsFile: options.trainLabels } : {}),
    ...(options.imageWorkers !== undefined ? { imageWorkers: options.imageWorkers } : {}),
  });
  const seed = options.seed ?? 0;
  const all = trainingIndices(source.count, options.trainFraction, seed);
  const fingerprint = await trainingFingerprint({ model, source, indices: all, ...(options.trainFraction !== undefined ? { fraction: options.trainFraction } : {}), seed, ...(options.sensitivity ? { sensitivity: options.sensitivity } : {}) });
  const indices = options.shard ? shardOf(all, options.shard.index, options.shard.count) : all;
  const pass = await runTrainingPass({
    model,
    source,
    indices,
    batchSize: options.batchSize,
    fingerprint,
    ...(options.sensitivity ? { sensitivity: options.sensitivity } : {}),
    ...(options.shard ? { shard: options.shard } : {}),
    ...(options.checkpoint ? { checkpoint: options.checkpoint } : {}),
    ...(options.optionNames ? { optionNames: options.optionNames } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    ...(options.onInfo ? { onInfo: options.onInfo } : {}),
    ...(options.onSkip ? { onSkip: options.onSkip } : {}),
  });
  const provenance: StateProvenance = { fingerprint, ...(options.shard ? { shard: options.shard } : {}), planned: indices.length, visited: indices.length };
  return { accumulator: pass.accumulator, fingerprint, provenance, total: all.length, visited: indices.length, skipped: pass.skipped };
}

/** Options of {@link mergeStates}. */
export interface MergeOptions {
  /** Merge even when some shards are missing (the result records which ones it adds up). */
  readonly allowPartial?: boolean;
}

/** The merged sums and what they cover. */
export interface MergedStates {
  readonly state: SensitivityState;
  readonly provenance: StateProvenance;
  /** Shard indices merged (ascending); empty when the states were whole runs. */
  readonly shards: readonly number[];
  /** Shards of the run. */
  readonly shardCount: number;
}

function describeShard(meta: StateMeta): string {
  return meta.shard ? `shard ${meta.shard.index}/${meta.shard.count}` : 'a whole run';
}

/** Checks that the states are complete shards of one run, each once; returns the shards merged and the shard count. */
function checkShardStates(paths: readonly string[], metas: readonly StateMeta[], options: MergeOptions): { shards: number[]; count: number } {
  const first = metas[0]!;
  if (!first.fingerprint) throw new OpnpError('STATE_MISMATCH', `${paths[0]} has no run fingerprint, so the states cannot be shown to belong to one run`, { file: paths[0], hint: 'Write the states with opnp sensitivity --state-out' });
  const entries = metas.map((meta, k) => {
    const path = paths[k]!;
    if (!meta.fingerprint) throw new OpnpError('STATE_MISMATCH', `${path} has no run fingerprint, so it cannot be shown to belong to the run of ${paths[0]}`, { file: path, hint: 'Write the states with opnp sensitivity --state-out' });
    if (meta.fingerprint.digest === first.fingerprint!.digest && !meta.shard) throw new OpnpError('STATE_MISMATCH', `${path} is ${describeShard(meta)}, not a shard: there is nothing to merge it with`, { file: path, hint: 'Merge the states written with --shard i/n' });
    if (meta.planned !== undefined && (meta.visited ?? meta.count) < meta.planned) throw new OpnpError('STATE_MISMATCH', `${path} is unfinished (${meta.visited ?? meta.count} of ${meta.planned} samples)`, { file: path, hint: 'Rerun that shard to finish it' });
    return { path, fingerprint: meta.fingerprint, shard: meta.shard ?? { index: 1, count: 1 } };
  });
  const ordered = checkShardSet(entries, { missingHint: 'Pass every shard state, or --allow-partial to merge what is there', ...(options.allowPartial !== undefined ? { allowPartial: options.allowPartial } : {}) });
  return { shards: ordered.map((e) => e.shard.index), count: first.shard?.count ?? 1 };
}

/**
 * Adds shard states of one run (see the module comment).
 *
 * @throws OpnpError `STATE_MISMATCH` for states of different runs, duplicate or missing shards, unfinished states
 */
export async function mergeStates(paths: readonly string[], options: MergeOptions = {}): Promise<MergedStates> {
  if (paths.length === 0) throw new OpnpError('INVALID_ARGUMENT', 'No states to merge');
  const read = [];
  for (const path of paths) read.push(await readStateFile(path));
  const { shards, count } = checkShardStates(paths, read.map((r) => r.meta), options);
  const { classes: C, dim: D } = read[0]!.state;
  const head = { weight: { rows: C, cols: D, data: new Float32Array(C * D) }, bias: new Float32Array(C) };
  const merged = SensitivityAccumulator.fromState(head, read[0]!.state);
  for (const [k, { state }] of read.entries()) {
    if (k === 0) continue;
    try {
      merged.merge(state);
    } catch (error) {
      if (error instanceof OpnpError) throw new OpnpError(error.code, `${paths[k]}: ${error.message}`, { file: paths[k] });
      throw error;
    }
  }
  const complete = shards.length === count;
  const provenance: StateProvenance = { fingerprint: read[0]!.meta.fingerprint!, ...(complete ? {} : { shards: { merged: shards, count } }) };
  return { state: merged.toState(), provenance, shards, shardCount: count };
}

/** A saved state as {@link readSavedState} returns it. */
export interface SavedState {
  readonly state: SensitivityState;
  readonly meta: StateProvenance;
  /** Shard states merged in memory (absent when `path` itself was read). */
  readonly shardFiles?: readonly string[];
}

/** Refuses a set of shard states with shards missing, naming them (instead of failing to read the first missing one). */
async function assertShardStatesPresent(path: string, shardFiles: readonly string[]): Promise<void> {
  const missing: number[] = [];
  for (const [i, file] of shardFiles.entries()) if (!(await isFile(file))) missing.push(i + 1);
  if (missing.length === 0) return;
  const which = missing.length === 1 ? `shard ${missing[0]} of ${shardFiles.length} is` : `shards ${missing.join(', ')} of ${shardFiles.length} are`;
  throw new OpnpError('STATE_MISMATCH', `${path} is absent and is read from its shard states, but ${which} missing (${missing.map((k) => shardFiles[k - 1]).join(', ')})`, {
    file: shardFiles[missing[0]! - 1]!,
    hint: 'Run the missing shards (the same run with their shard index), or pass a merged state',
  });
}

/**
 * Reads a saved sensitivity state; while `path` is absent and the states of its shards lie next to it
 * (`state.shard-001-of-004.npy` ..., as `opnp sensitivity --shard i/n --state-out state.npy` writes them),
 * merges those in memory with the checks of {@link mergeStates} (every finished shard of one run, once).
 *
 * @throws OpnpError `IO_ERROR`, `DATASET_FORMAT` (see {@link readStateFile}), `STATE_MISMATCH` (see {@link mergeStates}; shards missing)
 */
export async function readSavedState(path: string): Promise<SavedState> {
  const shardFiles = await shardSiblings(path);
  if (!shardFiles) return readStateFile(path);
  await assertShardStatesPresent(path, shardFiles);
  const merged = await mergeStates(shardFiles);
  return { state: merged.state, meta: merged.provenance, shardFiles };
}
