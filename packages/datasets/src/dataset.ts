/**
 * The generic dataset engine: turns a format's sample reader into a {@link Dataset} whose `batches()`
 * preprocesses, batches and prefetches in a deterministic order. Pure JavaScript: image files and sharp's
 * resize kernels come in through {@link DatasetParts.loadSample} (the Node loaders pass sharp's).
 */
import type { BatchOptions, Dataset, DatasetBatch, DatasetFormat, ProgressEvent, SkipEvent } from './types.js';
import type { PixelImage, PreprocessPlan } from './preprocess.js';
import { resolvePreprocess, writeSample } from './preprocess.js';
import { resizePixels } from './resize.js';
import { writeRecordChunk } from './record-block.js';
import { resolveIndices } from './subset.js';
import { argumentError, formatError } from './errors.js';
import { isOpnpError } from '@opnp/core/base';
import type { OpnpError } from '@opnp/core/base';

/** One stored sample: decoded pixels (array formats) or an image file to decode. */
export type RawSample =
  | { readonly index: number; readonly label: number; readonly pixels: PixelImage }
  | { readonly index: number; readonly label: number; readonly file: string };

/**
 * Yields the samples of ascending `indices`, in that order: one at a time, or several at once (an array: the
 * samples of one read), which saves the pass a step per sample.
 */
export type SampleReader = (indices: Uint32Array, signal?: AbortSignal) => AsyncIterable<RawSample | readonly RawSample[]>;

/** Turns a stored sample into pixels of the size `plan` resizes to (at once for pixels in memory, later for files). */
export type SampleLoader = (sample: RawSample, plan: PreprocessPlan) => PixelImage | Promise<PixelImage>;

/** What loading one sample of a chunk gave: the size of its image before the crop, or its error. */
export type SampleOutcome = { readonly ok: true; readonly height: number; readonly width: number } | { readonly ok: false; readonly error: unknown };

/**
 * A chunk of samples loaded and written: one outcome per sample, in chunk order, and `data`, the samples that
 * loaded and fit the batch written in that order as {@link writeSample} writes them (`[rows x C*H*W]`).
 */
export interface PreparedChunk {
  readonly outcomes: readonly SampleOutcome[];
  readonly data: Float32Array;
}

/**
 * Prepares whole chunks elsewhere (Node's image workers) with {@link prepareChunk}: the batch is then assembled
 * from the outcomes exactly as for a chunk prepared on this thread.
 */
export interface ChunkPreparer {
  /** Chunks prepared at once (the pass keeps at least this many batches in flight). */
  readonly size: number;
  prepare(chunk: readonly RawSample[], plan: PreprocessPlan): Promise<PreparedChunk>;
}

/** What a format provides to {@link createDataset}. */
export interface DatasetParts {
  readonly format: DatasetFormat;
  readonly source: string;
  readonly count: number;
  readonly shape: readonly [number, number, number];
  readonly sizesVary?: boolean;
  /** Stored values are 8-bit unsigned (default scale 1/255). */
  readonly eightBit: boolean;
  readonly classes?: number;
  readonly labels?: Int32Array;
  readonly classNames?: readonly string[];
  /** Reads labels only (defaults to `labels`, or all -1). */
  readonly readLabels?: () => Promise<Int32Array>;
  /** Images that may fail to decode are skipped with a warning unless `strict`. */
  readonly strict?: boolean;
  readonly read: SampleReader;
  /** Default {@link loadPixelSample}: decoded pixels, Pillow's resize kernels. */
  readonly loadSample?: SampleLoader;
  /**
   * Where a pass prepares its chunks instead of this thread (Node's image workers), or undefined for this
   * thread. Called once per pass with its options (`workers`).
   */
  readonly preparer?: (options: BatchOptions) => ChunkPreparer | undefined;
  /** See {@link Dataset.verify}. */
  readonly verify?: () => Promise<readonly string[]>;
}

interface Assembled {
  readonly batch: DatasetBatch;
  /** Samples left out of this batch, ascending. */
  readonly skips: readonly SkipEvent[];
}

/** Missing or undecodable image files are skipped (unless strict); every other error ends the pass. */
function skippable(sample: RawSample, error: unknown): error is OpnpError {
  return 'file' in sample && isOpnpError(error) && (error.code === 'DATASET_FORMAT' || error.code === 'DATASET_NOT_FOUND');
}

/** The reason of a skip: the error's message without the `(file: ...)` part (the skip names the file). */
function skipReason(error: OpnpError): string {
  const at = error.file === undefined ? -1 : error.message.indexOf(` (file: ${error.file}`);
  return at > 0 ? error.message.slice(0, at) : error.message;
}

function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new Error('Aborted');
}

/** The sample loader that runs everywhere: decoded pixels, resized with Pillow's kernels. */
export function loadPixelSample(sample: RawSample, plan: PreprocessPlan): PixelImage {
  if ('file' in sample) throw argumentError('Image files are decoded in Node only', { file: sample.file, hint: 'Open image datasets with @opnp/datasets/node' });
  return resizePixels(sample.pixels, plan);
}

/** An image fits the batch when a crop makes it the batch's size, or it already is. */
function fitsBatch(plan: PreprocessPlan, image: { readonly height: number; readonly width: number }): boolean {
  return plan.crop !== undefined || (image.height === plan.height && image.width === plan.width);
}

/** The outcome of `load()`: at once when it returns (or throws) at once, else when its promise settles. */
function settle(load: () => PixelImage | Promise<PixelImage>): PromiseSettledResult<PixelImage> | Promise<PromiseSettledResult<PixelImage>> {
  try {
    const result = load();
    if (!(result instanceof Promise)) return { status: 'fulfilled', value: result };
    return result.then(
      (value) => ({ status: 'fulfilled', value }),
      (reason: unknown) => ({ status: 'rejected', reason }),
    );
  } catch (reason) {
    return { status: 'rejected', reason };
  }
}

/**
 * Loads every sample of `chunk` at once and writes each image into the batch as soon as it loads (while its pixels
 * are still in cache), in its own row; the rows of samples that failed or do not fit are then removed, so the
 * batch holds the samples that loaded and fit, in chunk order: the per-chunk work of a pass, on this thread or in
 * an image worker.
 */
export async function prepareChunk(chunk: readonly RawSample[], plan: PreprocessPlan, load: SampleLoader): Promise<PreparedChunk> {
  const sampleSize = plan.channels * plan.height * plan.width;
  const rows = new Float32Array(chunk.length * sampleSize);
  // plain 8-bit records load as they are stored (every loader returns pixels needing no resize unchanged)
  if (writeRecordChunk(chunk, plan, rows)) {
    const loaded: SampleOutcome = { ok: true, height: plan.height, width: plan.width };
    return { outcomes: new Array<SampleOutcome>(chunk.length).fill(loaded), data: rows };
  }
  const write = (image: PixelImage, row: number): PixelImage => {
    if (fitsBatch(plan, image)) writeSample(plan, image, rows, row);
    return image;
  };
  const started = chunk.map((s, row) =>
    settle(() => {
      const image = load(s, plan);
      return image instanceof Promise ? image.then((loaded) => write(loaded, row)) : write(image, row);
    }),
  );
  // pixels in memory load at once: no promise per sample unless one is pending (image files)
  const loaded = started.some((r) => r instanceof Promise) ? await Promise.all(started) : (started as PromiseSettledResult<PixelImage>[]);
  const outcomes: SampleOutcome[] = loaded.map((r) => (r.status === 'fulfilled' ? { ok: true, height: r.value.height, width: r.value.width } : { ok: false, error: r.reason as unknown }));
  const kept = loaded.flatMap((r, row) => (r.status === 'fulfilled' && fitsBatch(plan, r.value) ? [row] : []));
  if (kept.length === chunk.length) return { outcomes, data: rows };
  const data = new Float32Array(kept.length * sampleSize);
  for (const [n, row] of kept.entries()) data.set(rows.subarray(row * sampleSize, (row + 1) * sampleSize), n * sampleSize);
  return { outcomes, data };
}

/**
 * The batch of a prepared chunk: the first sample that failed with an error that is not skipped (or any, when
 * strict) ends the pass, the others are skipped; then the first image that does not fit the batch ends it.
 */
function batchOf(chunk: readonly RawSample[], prepared: PreparedChunk, plan: PreprocessPlan, parts: DatasetParts): Assembled {
  const good: RawSample[] = [];
  const skips: SkipEvent[] = [];
  let misfit: { sample: RawSample; height: number; width: number } | undefined;
  for (let k = 0; k < chunk.length; k++) {
    const sample = chunk[k]!;
    const outcome = prepared.outcomes[k]!;
    if (outcome.ok) {
      good.push(sample);
      if (!misfit && !fitsBatch(plan, outcome)) misfit = { sample, height: outcome.height, width: outcome.width };
      continue;
    }
    const error = outcome.error;
    if (parts.strict || !skippable(sample, error) || !('file' in sample)) throw error;
    skips.push({ index: sample.index, file: sample.file, reason: skipReason(error) });
  }
  const { channels: C, height: H, width: W } = plan;
  if (misfit) {
    const { sample, height, width } = misfit;
    throw formatError('An image has a different size than the batch', {
      file: 'file' in sample ? sample.file : parts.source,
      offset: sample.index,
      expected: [H, W],
      actual: [height, width],
      hint: 'Set preprocess.centerCrop (or resize: [height, width]) so every image ends up the same size',
    });
  }
  const labels = new Int32Array(good.length);
  const indices = new Uint32Array(good.length);
  for (let n = 0; n < good.length; n++) {
    labels[n] = good[n]!.label;
    indices[n] = good[n]!.index;
  }
  const shape = plan.layout === 'NCHW' ? [good.length, C, H, W] : [good.length, H, W, C];
  return { batch: { data: prepared.data, shape, labels, indices }, skips };
}

async function assemble(chunk: readonly RawSample[], plan: PreprocessPlan, parts: DatasetParts, preparer: ChunkPreparer | undefined): Promise<Assembled> {
  const prepared = preparer ? await preparer.prepare(chunk, plan) : await prepareChunk(chunk, plan, parts.loadSample ?? loadPixelSample);
  return batchOf(chunk, prepared, plan, parts);
}

/** A batch being assembled (boxed: an async generator would await a bare promise before yielding it). */
interface Pending {
  readonly assembled: Promise<Assembled>;
}

/** Chunks the reader's samples into batches and starts assembling each one as soon as it is read. */
async function* assembling(parts: DatasetParts, indices: Uint32Array, batchSize: number, plan: PreprocessPlan, options: BatchOptions, preparer: ChunkPreparer | undefined): AsyncGenerator<Pending> {
  let chunk: RawSample[] = [];
  for await (const read of parts.read(indices, options.signal)) {
    for (const sample of Array.isArray(read) ? (read as readonly RawSample[]) : [read as RawSample]) {
      chunk.push(sample);
      if (chunk.length === batchSize) {
        yield { assembled: assemble(chunk, plan, parts, preparer) };
        chunk = [];
      }
    }
  }
  if (chunk.length > 0) yield { assembled: assemble(chunk, plan, parts, preparer) };
}

/**
 * Runs `source` ahead of the consumer by at most `capacity` batches (a bounded queue): reading and decoding
 * of the next batches overlap with the consumer's work, in order.
 */
async function* prefetched(source: AsyncGenerator<Pending>, capacity: number, signal: AbortSignal | undefined): AsyncGenerator<Assembled> {
  const queue: Promise<Assembled>[] = [];
  let finished = false;
  let stopped = false;
  let failure: { error: unknown } | undefined;
  let wakeConsumer: (() => void) | undefined;
  let wakeProducer: (() => void) | undefined;
  const notifyConsumer = () => {
    wakeConsumer?.();
    wakeConsumer = undefined;
  };
  const notifyProducer = () => {
    wakeProducer?.();
    wakeProducer = undefined;
  };
  const onAbort = () => {
    notifyConsumer();
    notifyProducer();
  };
  signal?.addEventListener('abort', onAbort);
  const pump = (async () => {
    try {
      for await (const { assembled } of source) {
        assembled.catch(() => undefined); // handled by the consumer when it reaches this batch
        queue.push(assembled);
        notifyConsumer();
        while (queue.length >= capacity && !stopped && !signal?.aborted) await new Promise<void>((r) => (wakeProducer = r));
        if (stopped || signal?.aborted) break;
      }
    } catch (error) {
      failure = { error };
    } finally {
      finished = true;
      notifyConsumer();
    }
  })();
  try {
    while (true) {
      if (signal?.aborted) throw abortReason(signal);
      if (queue.length === 0) {
        if (finished) {
          if (failure) throw failure.error;
          return;
        }
        await new Promise<void>((r) => (wakeConsumer = r));
        continue;
      }
      const next = queue.shift()!;
      notifyProducer();
      yield await next;
    }
  } finally {
    stopped = true;
    notifyProducer();
    signal?.removeEventListener('abort', onAbort);
    await pump;
  }
}

/** Builds a {@link Dataset} from a format's parts. */
export function createDataset(parts: DatasetParts): Dataset {
  const readLabels = parts.readLabels ?? (async () => (parts.labels ? parts.labels.slice() : new Int32Array(parts.count).fill(-1)));
  async function* batches(options: BatchOptions = {}): AsyncGenerator<DatasetBatch> {
    const batchSize = options.batchSize ?? 64;
    if (!Number.isInteger(batchSize) || batchSize <= 0) throw argumentError('batchSize must be a positive integer', { actual: batchSize });
    const prefetch = options.prefetch ?? 2;
    if (!Number.isInteger(prefetch) || prefetch < 0) throw argumentError('prefetch must be a non-negative integer', { actual: prefetch });
    if (options.workers !== undefined && !(Number.isInteger(options.workers) && options.workers >= 0)) throw argumentError('workers must be a non-negative integer', { actual: options.workers });
    const plan = resolvePreprocess(options.preprocess, parts.shape, parts.sizesVary ?? false, parts.eightBit, options.preprocessNames);
    const indices = resolveIndices(parts.count, options.subset);
    const total = indices.length;
    const start = performance.now();
    let count = 0;
    let skipped = 0;
    const preparer = parts.preparer?.(options);
    const source = assembling(parts, indices, batchSize, plan, options, preparer);
    // every image worker gets a batch: at least one batch in flight per worker
    for await (const assembled of prefetched(source, Math.max(1, prefetch, preparer?.size ?? 0), options.signal)) {
      count += assembled.batch.indices.length;
      skipped += assembled.skips.length;
      for (const skip of assembled.skips) {
        options.onWarning?.(`Skipped unreadable image #${skip.index} (${skip.file}): ${skip.reason}`);
        options.onSkip?.(skip);
      }
      if (options.onProgress) {
        const elapsedMs = performance.now() - start;
        const event: ProgressEvent = { count, total, skipped, elapsedMs, rate: elapsedMs > 0 ? (count * 1000) / elapsedMs : 0 };
        options.onProgress(event);
      }
      if (assembled.batch.indices.length > 0) yield assembled.batch;
    }
  }
  const dataset: Dataset = {
    format: parts.format,
    source: parts.source,
    count: parts.count,
    shape: parts.shape,
    sizesVary: parts.sizesVary ?? false,
    readLabels,
    batches,
    ...(parts.verify ? { verify: parts.verify } : {}),
  };
  const extra: { classes?: number; labels?: Int32Array; classNames?: readonly string[] } = {};
  if (parts.classes !== undefined) extra.classes = parts.classes;
  if (parts.labels !== undefined) extra.labels = parts.labels;
  if (parts.classNames !== undefined) extra.classNames = parts.classNames;
  return Object.freeze({ ...dataset, ...extra });
}

/**
 * A view of `dataset` restricted to ascending `indices` (e.g. one side of {@link splitIndices}). The view's
 * samples are numbered `0..indices.length-1`; its batches report view indices, `sourceIndices` maps back.
 */
export function selectSamples(dataset: Dataset, indices: Uint32Array): Dataset & { readonly sourceIndices: Uint32Array } {
  const parentIndices = resolveIndices(dataset.count, indices);
  const n = parentIndices.length;
  const pick = (all: Int32Array) => {
    const out = new Int32Array(n);
    for (let i = 0; i < n; i++) out[i] = all[parentIndices[i]!]!;
    return out;
  };
  const viewPosition = (parentIndex: number): number => {
    let lo = 0;
    let hi = n - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const v = parentIndices[mid]!;
      if (v === parentIndex) return mid;
      if (v < parentIndex) lo = mid + 1;
      else hi = mid - 1;
    }
    return -1;
  };
  async function* batches(options: BatchOptions = {}): AsyncGenerator<DatasetBatch> {
    const local = resolveIndices(n, options.subset);
    const composed = new Uint32Array(local.length);
    for (let i = 0; i < local.length; i++) composed[i] = parentIndices[local[i]!]!;
    const onSkip = options.onSkip;
    const mappedSkip = onSkip ? { onSkip: (skip: SkipEvent) => onSkip({ ...skip, index: viewPosition(skip.index) }) } : {};
    for await (const batch of dataset.batches({ ...options, subset: composed, ...mappedSkip })) {
      const mapped = new Uint32Array(batch.indices.length);
      for (let i = 0; i < mapped.length; i++) mapped[i] = viewPosition(batch.indices[i]!);
      yield { ...batch, indices: mapped };
    }
  }
  const view = {
    format: dataset.format,
    source: dataset.source,
    count: n,
    shape: dataset.shape,
    sizesVary: dataset.sizesVary,
    sourceIndices: parentIndices,
    readLabels: async () => pick(await dataset.readLabels()),
    batches,
    ...(dataset.verify ? { verify: () => dataset.verify!() } : {}),
    ...(dataset.classes !== undefined ? { classes: dataset.classes } : {}),
    ...(dataset.classNames !== undefined ? { classNames: dataset.classNames } : {}),
    ...(dataset.labels !== undefined ? { labels: pick(dataset.labels) } : {}),
  };
  return Object.freeze(view);
}
