/**
 * Running a piece of work with a model: loaded from a file (and released afterwards) or given loaded by the
 * caller (left open), the batch size checked against it, and an abort turned into {@link InterruptedError}.
 */
import { InterruptedError, isAbort, isInterrupted } from './interrupted.js';
import { assertBatchSize, loadModel, type LoadedModel } from './model.js';
import type { OptionNames } from './option-names.js';

/** Options of {@link withLoadedModel}. */
export interface WithModelOptions {
  readonly batchSize: number;
  readonly signal?: AbortSignal;
  /** Told about model notes (`model: ...`). */
  readonly onInfo?: (message: string) => void;
  /** What messages call the batch size (default the library's `batchSize`). */
  readonly optionNames?: OptionNames;
}

/**
 * Runs `work` with `model` (a file is loaded through the registered backends and disposed of at the end).
 *
 * @throws OpnpError `INVALID_ARGUMENT` when `batchSize` does not fit the model
 * @throws InterruptedError when `signal` aborts the work
 */
export async function withLoadedModel<T>(model: string | LoadedModel, options: WithModelOptions, work: (model: LoadedModel) => Promise<T>): Promise<T> {
  const info = options.onInfo ?? (() => undefined);
  const loaded = typeof model === 'string' ? await loadModel(model, { onWarning: (m) => info(`model: ${m}`) }) : model;
  try {
    assertBatchSize(loaded, options.batchSize, undefined, options.optionNames);
    return await work(loaded);
  } catch (error) {
    if (isInterrupted(error) || !isAbort(error, options.signal)) throw error;
    throw new InterruptedError('interrupted; no results were written');
  } finally {
    if (typeof model === 'string') await loaded.extractor.dispose();
  }
}
