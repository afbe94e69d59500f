/**
 * The training pass: streams training features into a `SensitivityAccumulator` (never holding them
 * all), keeps the rows of a bounded "fit subset" for the methods that need training features (ReAct's
 * percentile, DICE's mean, Mahalanobis, KNN), and checkpoints the accumulator so an interrupted run resumes.
 */
import { createHash } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { OpnpError, SensitivityAccumulator, type Matrix, type SensitivityOptions } from '@opnp/core';
import { subsetIndices } from '@opnp/datasets';
import { InterruptedError } from '../errors.js';
import type { Progress } from '../progress.js';
import type { FeatureSource } from './feature-source.js';
import type { LoadedModel } from './model.js';
import { readStateFile, writeStateFile } from './state-file.js';

/** Checkpointing of the sensitivity sums. */
export interface CheckpointOptions {
  /** State file (see `state-file.ts`); resumed when it exists and its fingerprint matches. */
  readonly path: string;
  /** Also write it every this many milliseconds (default 30 s). */
  readonly everyMs?: number;
}

/** Options of {@link runTrainingPass}. */
export interface TrainingPassOptions {
  readonly model: LoadedModel;
  readonly source: FeatureSource;
  /** Ascending training indices to accumulate. */
  readonly indices: Uint32Array;
  readonly batchSize: number;
  /** Ascending subset of `indices` whose features are kept (empty: none). */
  readonly fitIndices?: Uint32Array;
  readonly sensitivity?: Pick<SensitivityOptions, 'temperature' | 'aggregation'>;
  readonly checkpoint?: CheckpointOptions;
  readonly signal?: AbortSignal;
  readonly progress?: Progress;
  /** Told when a checkpoint is resumed. */
  readonly onInfo?: (message: string) => void;
}

/** What the training pass produced. */
export interface TrainingPassResult {
  readonly accumulator: SensitivityAccumulator;
  /** `[fitIndices.length x D]` features of the fit subset, in index order. */
  readonly fitFeatures: Matrix;
  /** `[fitIndices.length]` labels of the fit subset (-1 = unknown). */
  readonly fitLabels: Int32Array;
  /** Samples skipped because a checkpoint already held them. */
  readonly resumed: number;
}

/** The training indices: all, or a seeded subset of `fraction`. */
export function trainingIndices(count: number, fraction: number | undefined, seed: number): Uint32Array {
  if (fraction === undefined || fraction === 1) return Uint32Array.from({ length: count }, (_, i) => i);
  return subsetIndices(count, { fraction, seed });
}

/** Part `index` (1-based) of `count` contiguous shards of `indices`. */
export function shardOf(indices: Uint32Array, index: number, count: number): Uint32Array {
  const n = indices.length;
  return indices.subarray(Math.floor(((index - 1) * n) / count), Math.floor((index * n) / count));
}

/** At most `max` of `indices` (a seeded subset, ascending), or all of them. */
export function fitSubset(indices: Uint32Array, max: number, seed: number): Uint32Array {
  if (indices.length <= max) return indices;
  const pick = subsetIndices(indices.length, { count: max, seed: seed + 1 });
  return Uint32Array.from(pick, (k) => indices[k]!);
}

/** Identifies a training pass (model file, data spec, indices, temperature, aggregation) for checkpoints. */
export async function passFingerprint(model: LoadedModel, spec: string, indices: Uint32Array, options: TrainingPassOptions['sensitivity'] = {}): Promise<string> {
  const info = await stat(model.path);
  const hash = createHash('sha256');
  hash.update(JSON.stringify({ model: resolve(model.path), modelBytes: info.size, spec, n: indices.length, temperature: options.temperature ?? 1, aggregation: options.aggregation ?? 'sum-of-abs' }));
  hash.update(new Uint8Array(indices.buffer, indices.byteOffset, indices.byteLength));
  return hash.digest('hex');
}

function isAbort(error: unknown, signal: AbortSignal | undefined): boolean {
  return signal?.aborted === true || (error instanceof Error && error.name === 'AbortError');
}

/**
 * Runs the training pass. With a checkpoint, an existing state with the same fingerprint is resumed
 * (its samples are skipped; fit rows among them are re-extracted in a short extra pass), the state is
 * written every `everyMs`, at the end, and when `signal` aborts (then {@link InterruptedError} is thrown).
 */
export async function runTrainingPass(options: TrainingPassOptions): Promise<TrainingPassResult> {
  const { model, source, indices, batchSize, signal, progress } = options;
  const head = model.extractor.head;
  const D = head.weight.cols;
  const sensitivityOptions = { kernel: model.kernel, ...options.sensitivity };
  const checkpoint = options.checkpoint;
  const fingerprint = checkpoint ? await passFingerprint(model, source.spec, indices, options.sensitivity) : undefined;

  let accumulator = new SensitivityAccumulator(head, sensitivityOptions);
  if (checkpoint && (await stat(checkpoint.path).then((s) => s.isFile(), () => false))) {
    const { state, meta } = await readStateFile(checkpoint.path);
    if (meta.fingerprint !== fingerprint) {
      throw new OpnpError('INVALID_ARGUMENT', 'The checkpoint belongs to another run (model, data, subset or options differ)', {
        file: checkpoint.path,
        hint: 'Use another --checkpoint path, or delete this one (and its .json) to start over',
      });
    }
    if (state.count > indices.length) throw new OpnpError('DATASET_FORMAT', 'The checkpoint holds more samples than this run visits', { file: checkpoint.path, expected: indices.length, actual: state.count });
    accumulator = SensitivityAccumulator.fromState(head, state, { kernel: model.kernel });
    options.onInfo?.(`resuming from ${checkpoint.path}: ${state.count} of ${indices.length} training samples already accumulated`);
  }
  const resumed = accumulator.count;
  const save = async () => {
    if (checkpoint) await writeStateFile(checkpoint.path, accumulator.toState(), { fingerprint: fingerprint!, planned: indices.length });
  };

  const fit = options.fitIndices ?? new Uint32Array(0);
  const fitSet = new Set(fit);
  const fitRows: Float32Array[] = [];
  const fitLabels: number[] = [];
  const keepFitRows = (batch: { features: Matrix; labels: Int32Array; indices: Uint32Array }) => {
    if (fitSet.size === 0) return;
    for (let r = 0; r < batch.indices.length; r++) {
      if (!fitSet.has(batch.indices[r]!)) continue;
      fitRows.push(batch.features.data.slice(r * D, (r + 1) * D));
      fitLabels.push(batch.labels[r]!);
    }
  };

  // Fit rows the checkpoint already accumulated: extract them again (a bounded extra pass).
  if (resumed > 0 && fit.length > 0) {
    const before = fit.filter((i) => i < indices[resumed]! || resumed === indices.length);
    if (before.length > 0) for await (const batch of source.batches({ subset: before, batchSize, ...(signal ? { signal } : {}) })) keepFitRows(batch);
  }

  const remaining = indices.subarray(resumed);
  const everyMs = checkpoint?.everyMs ?? 30_000;
  let lastSave = performance.now();
  let done = resumed;
  try {
    if (remaining.length > 0) {
      for await (const batch of source.batches({
        subset: remaining,
        batchSize,
        ...(signal ? { signal } : {}),
        ...(progress ? { onProgress: (e) => progress.update({ ...e, count: resumed + e.count, total: indices.length }) } : {}),
      })) {
        await accumulator.add(batch.features, batch.logits);
        keepFitRows(batch);
        done += batch.indices.length;
        if (checkpoint && performance.now() - lastSave > everyMs) {
          await save();
          lastSave = performance.now();
        }
      }
    }
  } catch (error) {
    progress?.done();
    if (isAbort(error, signal)) {
      await save();
      throw new InterruptedError(
        checkpoint
          ? `interrupted after ${done} of ${indices.length} training samples; checkpoint written to ${checkpoint.path}, rerun the same command to resume`
          : `interrupted after ${done} of ${indices.length} training samples (pass --checkpoint <file> to make runs resumable)`,
      );
    }
    throw error;
  }
  progress?.done();
  await save();
  const data = new Float32Array(fitRows.length * D);
  fitRows.forEach((row, i) => data.set(row, i * D));
  return { accumulator, fitFeatures: { rows: fitRows.length, cols: D, data }, fitLabels: Int32Array.from(fitLabels), resumed };
}
