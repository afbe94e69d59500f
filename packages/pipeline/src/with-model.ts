/**
 * Running a piece of work with a model: loaded from a file (and released afterwards) or given loaded by the
 * caller (left open), checked against the backend contract, the batch size fitted to the extractor's limit (when
 * the caller did not choose it) and checked, and an abort turned into {@link InterruptedError}.
 */
import { assertFeatureExtractor } from '@opnp/core/base';
import { InterruptedError, isAbort, isInterrupted } from './interrupted.js';
import { assertBatchSize, loadModel, type LoadedModel } from './model.js';
import type { OptionNames } from './option-names.js';

/** Options of {@link withLoadedModel}. */
export interface WithModelOptions {
  readonly batchSize: number;
  /**
   * Whether the caller chose `batchSize` (default `true`). When not, a batch size above the extractor's
   * `maxBatchSize` becomes that limit (said through `onInfo`) instead of an error.
   */
  readonly batchSizeExplicit?: boolean;
  readonly signal?: AbortSignal;
  /** Told about model notes (`model: ...`). */
  readonly onInfo?: (message: string) => void;
  /** What messages call the batch size (default the library's `batchSize`). */
  readonly optionNames?: OptionNames;
}

/** The batch size to run with: `options.batchSize`, or the extractor's limit when it is lower and was not chosen. */
function fittedBatchSize(model: LoadedModel, options: WithModelOptions, info: (message: string) => void): number {
  const limit = model.extractor.maxBatchSize;
  if (options.batchSizeExplicit === false && limit !== undefined && options.batchSize > limit) {
    info(`model: the extractor of backend "${model.extractor.backend}" takes at most ${limit} samples per batch (maxBatchSize): using batches of ${limit}`);
    return limit;
  }
  assertBatchSize(model, options.batchSize, undefined, options.optionNames);
  return options.batchSize;
}

/**
 * Runs `work` with `model` (a file is loaded through the registered backends and disposed of at the end) and the
 * batch size to use.
 *
 * @throws OpnpError `BACKEND_FAILURE` when the extractor does not implement the v1 contract, `INVALID_ARGUMENT`
 * when `batchSize` does not fit the model
 * @throws InterruptedError when `signal` aborts the work
 */
export async function withLoadedModel<T>(model: string | LoadedModel, options: WithModelOptions, work: (model: LoadedModel, batchSize: number) => Promise<T>): Promise<T> {
  const info = options.onInfo ?? (() => undefined);
  if (typeof model !== 'string') assertFeatureExtractor(model.extractor, { backend: typeof model.extractor?.backend === 'string' ? model.extractor.backend : 'unnamed', model: model.path });
  const loaded = typeof model === 'string' ? await loadModel(model, { onWarning: (m) => info(`model: ${m}`) }) : model;
  try {
    return await work(loaded, fittedBatchSize(loaded, options, info));
  } catch (error) {
    if (isInterrupted(error) || !isAbort(error, options.signal)) throw error;
    throw new InterruptedError('interrupted; no results were written');
  } finally {
    if (typeof model === 'string') await loaded.extractor.dispose();
  }
}
