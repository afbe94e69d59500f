/**
 * The validation data of an evaluation, shared by the OPNP grid search and the baseline search
 * (docs/numerics.md#grid-search, #baseline-search): a seeded split of the ID test set (then left out of the test
 * metrics), or a separate ID validation set, and the OOD validation sets. Features and logits are kept in
 * memory (validation sets stay small); the sources and the ID subset are kept too, for methods that need the
 * model inputs and so must stream the images again.
 */
import { OpnpError, type Matrix } from '@opnp/core';
import { splitIndices } from '@opnp/datasets';
import { collectFeatures } from '../collect.js';
import type { SkippedSample } from '../features-meta.js';
import type { FeatureSource } from '../feature-source.js';
import type { LoadedModel } from '../model.js';
import { stageReporter, type ProgressListener } from '../progress.js';

/** One validation set in memory, with where it came from. */
export interface ValidationSet {
  /** `id`, or the OOD validation set's name. */
  readonly name: string;
  readonly source: FeatureSource;
  /** Ascending indices of `source` the set covers (undefined: all of it). */
  readonly subset?: Uint32Array;
  /** `[n x D]` features and `[n x C]` logits of the samples read (unreadable ones are left out). */
  readonly features: Matrix;
  readonly logits: Matrix;
}

/** The validation sets of an evaluation. */
export interface ValidationData {
  readonly id: ValidationSet;
  /** In the order given (or the noise set). */
  readonly ood: readonly ValidationSet[];
  /** Ascending ID test indices left for the test metrics (all of them with a separate ID validation set). */
  readonly evalIndices: Uint32Array;
}

/** Options of {@link collectValidation}. */
export interface ValidationOptions {
  /** Share of the ID test set held out (when no `idValidation` set is given). */
  readonly valFraction: number;
  /** A separate ID validation set: it is used instead of a split, and the whole test set stays for the test metrics. */
  readonly idValidation?: FeatureSource;
  readonly seed: number;
  readonly batchSize: number;
  readonly signal?: AbortSignal;
  /** Progress of each set's read: stages `validation ID` and `validation <name>`. */
  readonly onProgress?: ProgressListener;
  readonly onSkip?: (set: string, skip: SkippedSample) => void;
}

/** All indices `0 .. n-1`. */
export function allIndices(n: number): Uint32Array {
  return Uint32Array.from({ length: n }, (_, i) => i);
}

/**
 * Splits the ID test set (seeded, `valFraction` held out) unless a separate ID validation set is given, and
 * reads every validation set's features and logits.
 *
 * @throws OpnpError `INVALID_ARGUMENT` when the validation split leaves no test samples
 */
export async function collectValidation(model: LoadedModel, test: FeatureSource, valOod: readonly (readonly [string, FeatureSource])[], options: ValidationOptions): Promise<ValidationData> {
  const { cols: D, rows: C } = model.extractor.head.weight;
  const read = async (name: string, set: string, source: FeatureSource, subset?: Uint32Array): Promise<ValidationSet> => {
    const skips = (s: SkippedSample) => options.onSkip?.(set, s);
    const planned = subset?.length ?? source.count;
    const stage = stageReporter(options.onProgress, `validation ${name === 'id' ? 'ID' : name}`, planned);
    const out = await collectFeatures(source, { batchSize: options.batchSize, dim: D, classes: C, ...(subset ? { subset } : {}), ...(options.signal ? { signal: options.signal } : {}), onSkip: skips, onProgress: stage.onProgress });
    stage.done(planned);
    return { name, source, ...(subset ? { subset } : {}), features: out.features, logits: out.logits };
  };
  let evalIndices = allIndices(test.count);
  let id: ValidationSet;
  if (options.idValidation) id = await read('id', 'val:id', options.idValidation);
  else {
    const split = splitIndices(test.count, { fraction: options.valFraction, seed: options.seed });
    if (split.train.length === 0) throw new OpnpError('INVALID_ARGUMENT', 'The validation fraction leaves no ID test samples to evaluate', { actual: options.valFraction });
    evalIndices = split.train;
    id = await read('id', 'test', test, split.validation);
  }
  const ood: ValidationSet[] = [];
  for (const [name, source] of valOod) ood.push(await read(name, `val:${name}`, source));
  return { id, ood, evalIndices };
}
