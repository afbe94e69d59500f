/**
 * Cached features: {@link extractFeatures} writes the features `[N x D]` (and optionally logits
 * `[N x C]`, labels `[N]`, dataset indices `[N]`) of a dataset as `.npy`, for exactly the same rows in
 * every file, in dataset order. It is resumable: rows go to `<out>.partial` and the sidecar
 * `<out>.partial.json` records the run fingerprint, the rows written, where to continue and every
 * skipped sample; a rerun of the same run continues, any other run is refused (`extract-start.ts`), and
 * `<logits>.partial` names its owner (`partial-owner.ts`); `<out>.partial.lock` keeps a second copy of the same
 * extraction out while one runs (`partial-lock.ts`). When complete, the files are renamed into place and
 * the sidecar becomes `<out>.json`, which also records the hashes of the companion files' rows. With `shard`,
 * only that contiguous part of the dataset is extracted, into per-shard files (see `extract-shards.ts`), and
 * {@link mergeFeatureShards} joins the shards into the files an unsharded run writes, bit for bit.
 */
import { open, rm } from 'node:fs/promises';
import { OpnpError } from '@opnp/core/base';
import { openNpyRowWriter, parseNpyHeader, type NpyRowWriter, type PreprocessOptionNames, type PreprocessOptions } from '@opnp/datasets/node';
import { openFeatureSource, type FeatureBatch, type FeatureSource } from './feature-source.js';
import { companionHashes, featuresMetaPath, type CompanionHashes, writeFeaturesMeta, type SkippedSample } from './features-meta.js';
import { buildFeaturesMeta, describeShard, featureShard, shardOutputs, type FeatureShard } from './extract-shards.js';
import { restartHint, startOf } from './extract-start.js';
import { completeFinished, writeSideOutputs, type Range } from './extract-side-outputs.js';
import { assertExtractionTargets, extractionInputs, type ExtractOutputNames } from './extract-targets.js';
import { makeFingerprint, modelIdentity, type RunFingerprint } from './fingerprint.js';
import { labelsFileIdentity } from './labels-file.js';
import { removePartialOwner, writePartialOwner } from './partial-owner.js';
import { lockPartial } from './partial-lock.js';
import { InterruptedError, isAbort, isInterrupted } from './interrupted.js';
import { WriteBehind } from './write-behind.js';
import type { LoadedModel } from './model.js';
import { stageReporter, type ProgressListener } from './progress.js';
import type { ShardInfo } from './state-file.js';
import { optionNames, type OptionNames } from './option-names.js';

/** Output files of an extraction. */
export interface ExtractOutputs {
  /** float32 `[N, D]`. */
  readonly features: string;
  /** float32 `[N, C]`. */
  readonly logits?: string;
  /** float64 `[N]` (-1 = unknown). */
  readonly labels?: string;
  /** float64 `[N]` dataset indices of the rows (skipped samples are absent). */
  readonly indices?: string;
}

/** Options of {@link extractFeatures}. */
export interface ExtractOptions {
  readonly model: LoadedModel;
  /** A dataset spec (or `features:` / `noise:`). */
  readonly data: string;
  readonly labelsFile?: string;
  /**
   * What messages call `labelsFile` (default `labelsFile`, e.g. `--labels`): with `outputs.labels`, an image folder
   * whose class count is not the model's is refused unless a labels file is given (its labels would be shifted).
   */
  readonly labelsFileName?: string;
  readonly preprocess?: PreprocessOptions;
  /** What messages call the `preprocess` options (default `preprocess.<option>`), e.g. an application's flag names (`--mean`). */
  readonly preprocessNames?: PreprocessOptionNames;
  /** The outputs of the whole run; with `shard`, the files written are derived from them (`feats.shard-002-of-004.npy`). */
  readonly outputs: ExtractOutputs;
  /**
   * Extract only this part (1-based) of `count` contiguous, balanced parts of the dataset into per-shard
   * files; the fingerprint stays the unsharded run's, the shard is recorded apart. Merge with
   * {@link mergeFeatureShards}.
   */
  readonly shard?: ShardInfo;
  readonly batchSize: number;
  /**
   * Worker threads decoding and preprocessing image files (image folders, lists, ImageNet): `0` on the main
   * thread; default: the number of cores, at most 8 (`BatchOptions.workers` of @opnp/datasets). The features
   * are the same bit for bit whatever the count.
   */
  readonly imageWorkers?: number;
  /** Discard partial or finished outputs of another run instead of refusing. */
  readonly restart?: boolean;
  /** What messages call `restart` and the outputs (default the library's names; the CLI passes `--restart`, `--out`). */
  readonly optionNames?: OptionNames;
  /** What messages call the outputs (default their option keys, `outputs.logits`), e.g. an application's flags (`--logits-out`). */
  readonly outputNames?: ExtractOutputNames;
  readonly signal?: AbortSignal;
  readonly onProgress?: ProgressListener;
  readonly onInfo?: (message: string) => void;
  readonly onSkip?: (skip: SkippedSample) => void;
  /** Called whenever the partial output's sidecar records progress: the `.partial` files and the rows they keep. */
  readonly onCheckpoint?: (checkpoint: ExtractCheckpoint) => void;
}

/** What the last record of an extraction's progress keeps: its `.partial` row files and how many rows each holds. */
export interface ExtractCheckpoint {
  readonly files: readonly string[];
  readonly rows: number;
}

/** What {@link extractFeatures} wrote. */
export interface ExtractResult {
  /** Rows in every output. */
  readonly rows: number;
  /** Samples of the dataset. */
  readonly samples: number;
  readonly dim: number;
  readonly classes: number;
  readonly skipped: readonly SkippedSample[];
  /** Rows taken over from an interrupted run. */
  readonly resumedRows: number;
  /**
   * The features were already complete for this very run: the model did not run (labels or indices this run asks
   * for that the finished run lacked were written from the dataset; outputs it wrote that this run does not ask
   * for are kept).
   */
  readonly alreadyComplete: boolean;
  /** The files written (the per-shard files with `shard`). */
  readonly files: ExtractOutputs;
  /** With `shard`: the shard and its dataset indices `[start, end)`. */
  readonly shard?: FeatureShard;
}

/** The fingerprint of an extraction: model bytes, data files, labels file and preprocessing, and which outputs it writes. */
export async function extractionFingerprint(model: LoadedModel, source: FeatureSource, outputs: ExtractOutputs, labelsFile?: string): Promise<RunFingerprint> {
  return makeFingerprint({
    kind: 'features',
    model: model.identity ?? (await modelIdentity(model.path)),
    data: await source.identity(),
    // only when given: the fingerprints of runs without one stay those of earlier versions
    ...(labelsFile !== undefined ? { labelsFile: await labelsFileIdentity(labelsFile) } : {}),
    outputs: { logits: outputs.logits !== undefined, labels: outputs.labels !== undefined, indices: outputs.indices !== undefined },
  });
}

/**
 * Cuts `<path>.partial` back to its first `rows` rows: rows written after the sidecar last recorded its
 * progress (a crash in between) are dropped and extracted again.
 */
async function truncateToRows(path: string, rows: number, cols: number, restart: string): Promise<void> {
  const partial = `${path}.partial`;
  const handle = await open(partial, 'r+').catch(() => undefined);
  if (!handle) throw new OpnpError('STATE_MISMATCH', `${partial} is missing although its sidecar records ${rows} rows`, { file: partial, hint: restart });
  try {
    const head = new Uint8Array(4096);
    const { bytesRead } = await handle.read(head, 0, head.length, 0);
    const header = parseNpyHeader(head.subarray(0, bytesRead), partial);
    const size = header.dataOffset + rows * cols * 4;
    if ((await handle.stat()).size < size) throw new OpnpError('STATE_MISMATCH', `${partial} holds fewer rows than its sidecar records (${rows})`, { file: partial, hint: restart });
    await handle.truncate(size);
  } finally {
    await handle.close();
  }
}

/** Bytes of rows an output holds in memory before they are appended to its file (besides every commit). */
const ROW_BUFFER_BYTES = 4 << 20;

/** One matrix output: its row writer and the rows waiting to be appended to it, copied into one reused buffer. */
interface RowOutput {
  readonly writer: NpyRowWriter;
  readonly key: 'features' | 'logits';
  /** Whole rows, at most {@link ROW_BUFFER_BYTES}; allocated at the first batch. */
  staging: Float32Array | undefined;
  /** Values of `staging` waiting to be written. */
  used: number;
}

/**
 * Row writers of the matrix outputs (features, logits), appending the same rows to each. Each output copies the
 * batches' rows into one buffer of {@link ROW_BUFFER_BYTES}, reused for the whole run, and appends it in one write
 * ({@link flush}: when it is full, before every sidecar commit and at the end), so a batch costs no file writes of
 * its own, and the model's output arrays are garbage as soon as their batch is taken (held for a second until the
 * next commit, they outlived the young generation and cost the process a full collection every few dozen MB).
 * Not for concurrent use: its caller appends, flushes and finalizes one after another. Internal (exported for tests).
 *
 * @internal
 */
export class RowOutputs {
  private constructor(
    private readonly outputs: RowOutput[],
    private readonly bufferBytes: number,
  ) {}

  /** @param bufferBytes bytes each output's buffer holds at most (whole rows, at least one; tests use small ones). */
  static async open(outputs: ExtractOutputs, dims: { D: number; C: number }, resume: boolean, committed: number, bufferBytes = ROW_BUFFER_BYTES, restart = restartHint(undefined)): Promise<RowOutputs> {
    const list: RowOutput[] = [];
    try {
      for (const [key, path, cols] of [['features', outputs.features, dims.D], ['logits', outputs.logits, dims.C]] as const) {
        if (path === undefined) continue;
        if (resume) await truncateToRows(path, committed, cols, restart);
        list.push({ writer: await openNpyRowWriter(path, { cols, resume }), key, staging: undefined, used: 0 });
      }
    } catch (error) {
      for (const o of list) await o.writer.close();
      throw error;
    }
    return new RowOutputs(list, bufferBytes);
  }

  /** Takes the batch's rows (appended to the files by a later {@link flush}; a batch larger than the buffer at once). */
  async append(batch: FeatureBatch): Promise<void> {
    for (const o of this.outputs) {
      const data = (o.key === 'features' ? batch.features : batch.logits).data;
      o.staging ??= new Float32Array(Math.max(1, Math.floor(this.bufferBytes / 4 / o.writer.cols)) * o.writer.cols);
      if (o.used + data.length > o.staging.length) await RowOutputs.flushOne(o);
      if (data.length > o.staging.length) {
        await o.writer.append(data);
        continue;
      }
      o.staging.set(data, o.used);
      o.used += data.length;
    }
  }

  /** Appends the rows waiting in `o`'s buffer to its file (the write is complete before the buffer is reused). */
  private static async flushOne(o: RowOutput): Promise<void> {
    if (o.used === 0 || o.staging === undefined) return;
    const rows = o.staging.subarray(0, o.used);
    o.used = 0;
    await o.writer.append(rows);
  }

  /** Appends every row taken so far to the files. */
  async flush(): Promise<void> {
    for (const o of this.outputs) await RowOutputs.flushOne(o);
  }

  async finalize(): Promise<void> {
    await this.flush();
    for (const o of this.outputs) await o.writer.finalize();
  }

  /** Closes the files without appending the rows still in memory (they are past the last commit). */
  async close(): Promise<void> {
    for (const o of this.outputs) await o.writer.close();
  }
}

/** Progress of the rows written: what the sidecar records when it is committed. */
interface Ledger {
  rows: number;
  nextIndex: number;
  skipped: SkippedSample[];
  /** Skips reported ahead of the rows (prefetch); committed once a batch passes them. */
  pending: SkippedSample[];
}

function commitSkips(ledger: Ledger, upTo: number): void {
  if (ledger.pending.length === 0) return;
  const known = new Set(ledger.skipped.map((s) => s.index));
  const ready = ledger.pending.filter((s) => s.index < upTo && !known.has(s.index));
  ledger.skipped.push(...ready);
  ledger.skipped.sort((a, b) => a.index - b.index);
  ledger.pending = ledger.pending.filter((s) => s.index >= upTo);
}

/**
 * Extracts features (see the module comment).
 *
 * @throws OpnpError `STATE_MISMATCH` when partial or finished outputs belong to another run or shard (without `restart`)
 * @throws InterruptedError when `signal` aborts (the partial output stays resumable)
 */
export async function extractFeatures(options: ExtractOptions): Promise<ExtractResult> {
  const outputs: ExtractOutputs = options.shard ? shardOutputs(options.outputs, options.shard) : options.outputs;
  await assertExtractionTargets(outputs, extractionInputs(options.model.path, options.data, options.labelsFile, { model: 'model', data: 'data', labels: 'labelsFile' }));
  // One extraction of these outputs at a time (partial-lock.ts): a second copy is refused before it touches the partial files.
  const release = await lockPartial(outputs.features);
  try {
    return await extractLocked(options, outputs);
  } finally {
    await release();
  }
}

/** {@link extractFeatures} once it holds the lock of `outputs`. */
async function extractLocked(options: ExtractOptions, outputs: ExtractOutputs): Promise<ExtractResult> {
  const { model } = options;
  const head = model.extractor.head;
  const dims = { D: head.weight.cols, C: head.weight.rows };
  const source = await openFeatureSource(options.data, {
    model,
    ...(options.preprocess ? { preprocess: options.preprocess } : {}),
    ...(options.preprocessNames ? { preprocessNames: options.preprocessNames } : {}),
    ...(options.labelsFile !== undefined ? { labelsFile: options.labelsFile } : {}),
    ...(options.outputs.labels !== undefined ? { classCheck: { labelsOption: options.labelsFileName ?? 'labelsFile' } } : {}),
    ...(options.imageWorkers !== undefined ? { imageWorkers: options.imageWorkers } : {}),
  });
  // The fingerprint is the unsharded run's (its outputs); a shard writes its own files and records the shard apart.
  const fingerprint = await extractionFingerprint(model, source, options.outputs, options.labelsFile);
  const shard = options.shard ? featureShard(source.count, options.shard) : undefined;
  const range = { start: shard?.start ?? 0, end: shard?.end ?? source.count };
  const start = await startOf(outputs, fingerprint, shard, options.restart === true, options.optionNames, options.outputNames);
  const names = optionNames(options.optionNames);
  const base = { samples: source.count, dim: dims.D, classes: dims.C, files: outputs, ...(shard ? { shard } : {}) };
  if (start.kind === 'done') {
    const said = await completeFinished(source, { meta: start.meta, missing: start.missing, outputs, fingerprint, range, restart: names.restart }); // also without a listener
    options.onInfo?.(said);
    return { ...base, rows: start.meta.rows, skipped: start.meta.skipped, resumedRows: start.meta.rows, alreadyComplete: true };
  }
  const ledger: Ledger = start.kind === 'resume' ? { rows: start.meta.rows, nextIndex: start.meta.nextIndex, skipped: [...start.meta.skipped], pending: [] } : { rows: 0, nextIndex: range.start, skipped: [], pending: [] };
  if (start.kind === 'resume') options.onInfo?.(`resuming after ${ledger.nextIndex - range.start} of ${range.end - range.start} samples${shard ? ` of ${describeShard(shard)}` : ''} (${ledger.rows} rows written)`);
  const metaBase = { fingerprint, data: options.data, model: model.path, preprocess: source.preprocess ?? {}, dim: dims.D, classes: dims.C, samples: source.count };
  const meta = (complete: boolean, hashes?: CompanionHashes) => buildFeaturesMeta(metaBase, { rows: ledger.rows, nextIndex: ledger.nextIndex, complete, skipped: ledger.skipped, ...(hashes ? { hashes } : {}) }, outputs, shard);
  if (outputs.logits !== undefined) await writePartialOwner(outputs.logits, outputs.features);
  const rows = await RowOutputs.open(outputs, dims, start.kind === 'resume', ledger.rows, undefined, restartHint(options.optionNames));
  let committedRows = ledger.rows;
  try {
    const commit = async () => {
      await rows.flush(); // the sidecar never records rows the files do not hold
      // not flushed to disk: after a power loss an older progress record resumes as well (the rows past it are cut)
      await writeFeaturesMeta(featuresMetaPath(outputs.features, true), meta(false), { flush: false });
      committedRows = ledger.rows;
      options.onCheckpoint?.({ files: partialRowFiles(outputs), rows: committedRows });
    };
    await commit();
    await extractRows(source, rows, ledger, { ...options, outputs }, range, commit);
    await rows.finalize();
    await writeSideOutputs(source, outputs, ledger, range, restartHint(options.optionNames));
    const hashes = await companionHashes(outputs);
    await writeFeaturesMeta(featuresMetaPath(outputs.features), meta(true, hashes));
    await rm(featuresMetaPath(outputs.features, true), { force: true });
    if (outputs.logits !== undefined) await removePartialOwner(outputs.logits);
  } catch (error) {
    await rows.close();
    // a fresh run whose sidecar recorded no row leaves nothing (its empty files would only be refused as another run's)
    await afterFailure(error, outputs, committedRows, start.kind === 'fresh', options.onInfo, names.restart);
    throw error;
  } finally {
    await rows.close();
  }
  return { ...base, rows: ledger.rows, skipped: ledger.skipped, resumedRows: start.kind === 'resume' ? start.meta.rows : 0, alreadyComplete: false };
}

/**
 * After an extraction failed (the rows of the batches that went through are recorded first): a fresh run whose
 * sidecar recorded no row leaves nothing behind (its empty `.partial` files would only make the corrected command
 * refuse them as another run's); otherwise the partial output stays resumable and `onInfo` says where (an
 * interruption says so in its own message).
 */
async function afterFailure(error: unknown, outputs: ExtractOutputs, committedRows: number, fresh: boolean, onInfo: ((message: string) => void) | undefined, restart: string): Promise<void> {
  if (isInterrupted(error)) return;
  if (fresh && committedRows === 0) {
    for (const path of partialRowFiles(outputs)) await rm(path, { force: true });
    await rm(featuresMetaPath(outputs.features, true), { force: true });
    if (outputs.logits !== undefined) await removePartialOwner(outputs.logits);
    return;
  }
  onInfo?.(keptMessage(error, outputs, committedRows, restart));
}

/** The `.partial` row files of an extraction's outputs (features, and logits when written). */
function partialRowFiles(outputs: ExtractOutputs): string[] {
  return [outputs.features, outputs.logits].filter((f): f is string => f !== undefined).map((f) => `${f}.partial`);
}

/**
 * What a failed run says it keeps, and when it can be resumed: only with the inputs it started with. A repaired
 * input file is another file to the run's fingerprint, so an error naming a file says to restart after fixing it.
 */
function keptMessage(error: unknown, outputs: ExtractOutputs, rows: number, restart: string): string {
  const kept = `partial output kept in ${partialRowFiles(outputs).join(' and ')} (${rows} rows each)`;
  const file = error instanceof OpnpError ? error.file : undefined;
  if (file !== undefined) return `${kept}: the error is in ${file}; fixing it changes the run's inputs, so after fixing it rerun with ${restart} (which discards the partial output; the same command resumes it only with unchanged inputs)`;
  return `${kept}: the same command resumes it once the cause is fixed, if the model, data files, labels file and flags are unchanged; after changing any of them (a repaired input file too), ${restart} discards it`;
}

/** How often the sidecar records the rows written (and at the end, and when interrupted). */
const COMMIT_EVERY_MS = 1000;

/** Batches waiting to be written while the next ones go through the model. */
const WRITE_DEPTH = 2;

/**
 * Runs the remaining samples through the model. Each batch's rows are written behind the loop (the next batch
 * goes through the model meanwhile) and the ledger follows the rows written; the sidecar records it every
 * {@link COMMIT_EVERY_MS}, at the end and when interrupted (rows written after the last record are written
 * over on resume).
 */
async function extractRows(source: FeatureSource, rows: RowOutputs, ledger: Ledger, options: ExtractOptions, range: Range, commit: () => Promise<void>): Promise<void> {
  const remaining = Uint32Array.from({ length: range.end - ledger.nextIndex }, (_, i) => ledger.nextIndex + i);
  const total = range.end - range.start;
  const stage = stageReporter(options.onProgress, options.shard ? `extract ${options.shard.index}/${options.shard.count}` : 'extract', total, ledger.nextIndex - range.start);
  const onSkip = (skip: SkippedSample) => {
    ledger.pending.push(skip);
    options.onSkip?.(skip);
  };
  const writes = new WriteBehind(WRITE_DEPTH);
  let committed = performance.now();
  const write = async (batch: FeatureBatch) => {
    await rows.append(batch);
    ledger.rows += batch.indices.length;
    ledger.nextIndex = batch.indices[batch.indices.length - 1]! + 1;
    commitSkips(ledger, ledger.nextIndex);
    if (performance.now() - committed < COMMIT_EVERY_MS) return;
    await commit();
    committed = performance.now();
  };
  try {
    if (remaining.length > 0) {
      for await (const batch of source.batches({ subset: remaining, batchSize: options.batchSize, onProgress: stage.onProgress, onSkip, ...(options.signal ? { signal: options.signal } : {}) })) {
        await writes.add(() => write(batch));
      }
    }
    await writes.drain();
  } catch (error) {
    if (!isAbort(error, options.signal)) {
      await writes.drain().catch(() => undefined); // the files are closed next: no write may still run
      await commit().catch(() => undefined); // the rows of the batches that went through are kept for a resume
      throw error;
    }
    await writes.drain();
    await commit();
    throw new InterruptedError(`interrupted after ${ledger.nextIndex - range.start} of ${total} samples; partial output kept in ${partialRowFiles(options.outputs).join(' and ')} (${ledger.rows} rows each, recorded in ${featuresMetaPath(options.outputs.features, true)}), rerun the same command to resume`);
  }
  ledger.nextIndex = range.end;
  commitSkips(ledger, range.end);
  stage.done(total);
}
