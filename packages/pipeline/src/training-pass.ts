/**
 * The training pass: streams training features into a `SensitivityAccumulator` (never holding them
 * all), keeps the rows of a bounded "fit subset" for the methods that need training features, and
 * checkpoints the accumulator so an interrupted run resumes. A checkpoint carries the run fingerprint
 * and the shard; a run resumes only its own checkpoint and refuses any other.
 */
import { isFile } from './paths.js';
import { OpnpError, SensitivityAccumulator, type Matrix, type SensitivityOptions } from '@opnp/core';
import { subsetIndices } from '@opnp/datasets';
import { assertSameRun, indicesDigest, makeFingerprint, modelIdentity, type RunFingerprint } from './fingerprint.js';
import type { SkippedSample } from './features-meta.js';
import type { FeatureBatch, FeatureSource } from './feature-source.js';
import { InterruptedError, isAbort } from './interrupted.js';
import type { LoadedModel } from './model.js';
import { stageReporter, type ProgressListener } from './progress.js';
import { readStateFile, sidecarPath, writeStateFile, type ShardInfo } from './state-file.js';
import { optionNames, type OptionNames } from './option-names.js';
export { shardOf } from './shards.js';

/** Temperature and per-sample aggregation of the sensitivity. */
export type SensitivitySettings = Pick<SensitivityOptions, 'temperature' | 'aggregation'>;

/** Checkpointing of the sensitivity sums. */
export interface CheckpointOptions {
  /** State file (see `state-file.ts`); resumed when it exists and belongs to this run. */
  readonly path: string;
  /** Also write it every this many milliseconds (default 30 s). */
  readonly everyMs?: number;
  /** Discard an existing checkpoint instead of resuming it. */
  readonly restart?: boolean;
  /** Called after each write of the checkpoint: the training samples it covers (visited, skipped ones included) of those planned. */
  readonly onSaved?: (saved: { readonly path: string; readonly visited: number; readonly planned: number }) => void;
}

/** Options of {@link runTrainingPass}. */
export interface TrainingPassOptions {
  readonly model: LoadedModel;
  readonly source: FeatureSource;
  /** Ascending training indices to accumulate (this shard's, with `shard`). */
  readonly indices: Uint32Array;
  readonly batchSize: number;
  /** Ascending subset of `indices` whose features are kept (empty: none). */
  readonly fitIndices?: Uint32Array;
  readonly sensitivity?: SensitivitySettings;
  readonly checkpoint?: CheckpointOptions;
  /** The run the sums belong to ({@link trainingFingerprint}); needed with `checkpoint`. */
  readonly fingerprint?: RunFingerprint;
  readonly shard?: ShardInfo;
  readonly signal?: AbortSignal;
  readonly onProgress?: ProgressListener;
  /** Told when a checkpoint is resumed or reused. */
  readonly onInfo?: (message: string) => void;
  readonly onSkip?: (skip: SkippedSample) => void;
  /**
   * Sees every batch the pass accumulates (after the accumulator), e.g. to accumulate other statistics in the
   * same pass. Not combinable with `checkpoint`: the samples a resumed checkpoint covers are never visited.
   */
  readonly onBatch?: (batch: FeatureBatch) => void | Promise<void>;
  /** What messages call `restart` and the checkpoint path (default the library's names; the CLI passes `--restart`, `--checkpoint`). */
  readonly optionNames?: OptionNames;
}

/** What the training pass produced. */
export interface TrainingPassResult {
  readonly accumulator: SensitivityAccumulator;
  /** `[fitIndices.length x D]` features of the fit subset, in index order (skipped samples absent). */
  readonly fitFeatures: Matrix;
  /** `[fit rows]` labels of the fit subset (-1 = unknown). */
  readonly fitLabels: Int32Array;
  /** `[fit rows]` dataset indices of the kept rows (the fit subset minus unreadable samples). */
  readonly fitRowIndices: Uint32Array;
  /** Samples taken from a checkpoint instead of the model. */
  readonly resumed: number;
  /** Samples that could not be read in this run. */
  readonly skipped: number;
}

/** The training indices: all, or a seeded subset of `fraction`. */
export function trainingIndices(count: number, fraction: number | undefined, seed: number): Uint32Array {
  if (fraction === undefined || fraction === 1) return Uint32Array.from({ length: count }, (_, i) => i);
  return subsetIndices(count, { fraction, seed });
}

/** At most `max` of `indices` (a seeded subset, ascending), or all of them. */
export function fitSubset(indices: Uint32Array, max: number, seed: number): Uint32Array {
  if (indices.length <= max) return indices;
  const pick = subsetIndices(indices.length, { count: max, seed: seed + 1 });
  return Uint32Array.from(pick, (k) => indices[k]!);
}

/** What a training pass covers, for {@link trainingFingerprint}. */
export interface TrainingRun {
  readonly model: LoadedModel;
  readonly source: FeatureSource;
  /** All training indices of the run (before sharding), in visiting order. */
  readonly indices: Uint32Array;
  readonly fraction?: number;
  readonly seed: number;
  readonly sensitivity?: SensitivitySettings;
}

/**
 * The fingerprint of a training pass: model bytes, the training data (files, preprocessing), the subset
 * and its order, and the sensitivity options. Shards of one run share it.
 */
export async function trainingFingerprint(run: TrainingRun): Promise<RunFingerprint> {
  return makeFingerprint({
    kind: 'sensitivity',
    model: run.model.identity ?? (await modelIdentity(run.model.path)),
    train: await run.source.identity(),
    subset: { fraction: run.fraction ?? 1, seed: run.seed, count: run.indices.length, indices: indicesDigest(run.indices) },
    sensitivity: { temperature: run.sensitivity?.temperature ?? 1, aggregation: run.sensitivity?.aggregation ?? 'sum-of-abs' },
  });
}

/** How many of the ascending `indices` are `<= last` (binary search). */
function positionAfter(indices: Uint32Array, last: number): number {
  let lo = 0;
  let hi = indices.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (indices[mid]! <= last) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The accumulator to start from and how many indices it covers: fresh, or the checkpoint of this very run (refusing any other). */
async function startingAccumulator(options: TrainingPassOptions): Promise<{ accumulator: SensitivityAccumulator; visited: number }> {
  const { model, checkpoint, indices } = options;
  const fresh = new SensitivityAccumulator(model.extractor.head, { kernel: model.kernel, ...options.sensitivity });
  if (!checkpoint || checkpoint.restart === true || !(await isFile(checkpoint.path))) return { accumulator: fresh, visited: 0 };
  if (!options.fingerprint) throw new OpnpError('INVALID_ARGUMENT', 'A checkpointed training pass needs the run fingerprint');
  const { state, meta } = await readStateFile(checkpoint.path);
  // The checkpoint's restart is `checkpoint.restart` in the library's options.
  const names = optionNames({ restart: 'checkpoint.restart: true', ...options.optionNames });
  const restart = `Pass ${names.restart} to discard it and start over, or use another ${names.checkpoint} file`;
  assertSameRun(meta.fingerprint, options.fingerprint, {
    file: checkpoint.path,
    what: 'The checkpoint',
    restart: `To resume it, rerun with the inputs it was started with; to start over with these, delete ${checkpoint.path} and ${sidecarPath(checkpoint.path)}, pass ${names.restart} or use another ${names.checkpoint} file`,
  });
  const shard = (s: ShardInfo | undefined) => (s ? `${s.index}/${s.count}` : 'the whole run');
  if (shard(meta.shard) !== shard(options.shard)) {
    throw new OpnpError('STATE_MISMATCH', `The checkpoint ${checkpoint.path} covers shard ${shard(meta.shard)}, this run ${shard(options.shard)}`, { file: checkpoint.path, hint: restart });
  }
  const visited = meta.visited ?? state.count;
  if (visited > indices.length || state.count > visited) throw new OpnpError('STATE_MISMATCH', 'The checkpoint holds more samples than this run visits', { file: checkpoint.path, expected: indices.length, actual: visited, hint: restart });
  options.onInfo?.(
    visited === indices.length
      ? `the checkpoint ${checkpoint.path} is complete: reusing its ${state.count} samples (pass ${names.restart} to recompute)`
      : `resuming from ${checkpoint.path}: ${visited} of ${indices.length} training samples already visited`,
  );
  return { accumulator: SensitivityAccumulator.fromState(model.extractor.head, state, { kernel: model.kernel }), visited };
}

/** Collects the fit-subset rows of the batches it sees (in the order seen: ascending index), into one preallocated buffer. */
export class FitRows {
  private readonly wanted: Set<number>;
  private readonly data: Float32Array;
  private readonly labels: Int32Array;
  private readonly indices: Uint32Array;
  private count = 0;
  constructor(fit: Uint32Array, private readonly dim: number) {
    this.wanted = new Set(fit);
    this.data = new Float32Array(fit.length * dim);
    this.labels = new Int32Array(fit.length);
    this.indices = new Uint32Array(fit.length);
  }
  keep(batch: FeatureBatch): void {
    if (this.wanted.size === 0) return;
    const D = this.dim;
    for (let r = 0; r < batch.indices.length; r++) {
      if (!this.wanted.has(batch.indices[r]!)) continue;
      this.data.set(batch.features.data.subarray(r * D, (r + 1) * D), this.count * D);
      this.labels[this.count] = batch.labels[r]!;
      this.indices[this.count] = batch.indices[r]!;
      this.count++;
    }
  }
  /** The rows kept (copied to their size only when unreadable samples left some out). */
  result(): { fitFeatures: Matrix; fitLabels: Int32Array; fitRowIndices: Uint32Array } {
    const n = this.count;
    const whole = n === this.labels.length;
    return {
      fitFeatures: { rows: n, cols: this.dim, data: whole ? this.data : this.data.slice(0, n * this.dim) },
      fitLabels: whole ? this.labels : this.labels.slice(0, n),
      fitRowIndices: whole ? this.indices : this.indices.slice(0, n),
    };
  }
}

/**
 * Runs the training pass. With a checkpoint, an existing state of the same run is resumed (its samples
 * are skipped; fit rows among them are re-extracted in a short extra pass), the state is written every
 * `everyMs`, at the end, and when `signal` aborts (then {@link InterruptedError} is thrown).
 *
 * @throws OpnpError `STATE_MISMATCH` when the checkpoint belongs to another run or shard
 */
export async function runTrainingPass(options: TrainingPassOptions): Promise<TrainingPassResult> {
  const { source, indices, batchSize, signal, checkpoint } = options;
  if (checkpoint && options.onBatch) throw new OpnpError('INVALID_ARGUMENT', 'A training pass with onBatch cannot be checkpointed (a resumed pass would not show it the samples the checkpoint covers)');
  const { accumulator, visited: resumed } = await startingAccumulator(options);
  let visited = resumed;
  const save = async () => {
    if (!checkpoint) return;
    await writeStateFile(checkpoint.path, accumulator.toState(), {
      ...(options.fingerprint ? { fingerprint: options.fingerprint } : {}),
      ...(options.shard ? { shard: options.shard } : {}),
      planned: indices.length,
      visited,
    });
    checkpoint.onSaved?.({ path: checkpoint.path, visited, planned: indices.length });
  };
  const fit = options.fitIndices ?? new Uint32Array(0);
  const fitRows = new FitRows(fit, options.model.extractor.head.weight.cols);
  const common = { batchSize, ...(signal ? { signal } : {}), ...(options.onSkip ? { onSkip: options.onSkip } : {}) };
  // Fit rows the checkpoint already accumulated: extract them again (a bounded extra pass).
  if (resumed > 0 && fit.length > 0) {
    const before = fit.filter((i) => resumed === indices.length || i < indices[resumed]!);
    if (before.length > 0) {
      const again = stageReporter(options.onProgress, 'fit subset', before.length);
      for await (const batch of source.batches({ ...common, subset: before, onProgress: again.onProgress })) fitRows.keep(batch);
      again.done(before.length);
    }
  }
  const stage = stageReporter(options.onProgress, options.shard ? `shard ${options.shard.index}/${options.shard.count}` : 'train', indices.length, resumed);
  const everyMs = checkpoint?.everyMs ?? 30_000;
  let lastSave = performance.now();
  let skipped = 0;
  try {
    const remaining = indices.subarray(resumed);
    if (remaining.length > 0) {
      for await (const batch of source.batches({ ...common, subset: remaining, onProgress: stage.onProgress, onSkip: (s) => { skipped++; options.onSkip?.(s); } })) {
        await accumulator.add(batch.features, batch.logits);
        await options.onBatch?.(batch);
        fitRows.keep(batch);
        visited = positionAfter(indices, batch.indices[batch.indices.length - 1]!);
        if (checkpoint && performance.now() - lastSave > everyMs) {
          await save();
          lastSave = performance.now();
        }
      }
    }
  } catch (error) {
    if (!isAbort(error, signal)) throw error;
    if (checkpoint) await save();
    throw checkpoint
      ? new InterruptedError(`interrupted after ${visited} of ${indices.length} training samples; checkpoint written to ${checkpoint.path}, rerun the same command to resume`)
      : new InterruptedError(`interrupted after ${visited} of ${indices.length} training samples; nothing was saved`, { checkpointable: true });
  }
  stage.done(indices.length);
  visited = indices.length;
  await save();
  return { accumulator, ...fitRows.result(), resumed, skipped };
}
