/**
 * What every ablation shares, done once: the sets opened up front, one training pass (the full sensitivity, the
 * fit subset, and whatever else an ablation accumulates from the same batches), and the validation data of the
 * searches (the seeded split of the ID test set and the OOD validation sets, as `opnp eval` uses them).
 */
import { OpnpError, type LinearHead, type Matrix } from '@opnp/core';
import type { FeatureBatch } from '../feature-source.js';
import type { LoadedModel } from '../model.js';
import type { ResolvedConfig } from '../stages/config.js';
import { fitRun, type FitResult, type SensitivityResult } from '../stages/fit.js';
import { allIndices, collectValidation, type ValidationData } from '../stages/validation.js';
import { skipLog, type SkipLog } from '../stages/skips.js';
import { openSources, type EvaluationSources } from '../stages/sources.js';
import { optionNames } from '../option-names.js';

/** What an ablation needs besides the sensitivity. */
export interface SessionNeeds {
  /** The validation data of a search (else the whole ID test set is evaluated). */
  readonly validation: boolean;
  /** The fit subset of training features. */
  readonly fit: boolean;
  /** Labelled ID test samples (checked before the training pass). */
  readonly labels: boolean;
}

/** The validation features as the searches take them: by set, with the test indices left for the test metrics. */
export interface ValidationSplit {
  /** `[n_val x D]` ID validation features. */
  readonly id: Matrix;
  /** `[m x D]` features of each OOD validation set, by name. */
  readonly ood: Readonly<Record<string, Matrix>>;
  /** Samples per OOD validation set. */
  readonly sizes: Readonly<Record<string, number>>;
  /** Ascending ID test indices left for the test metrics. */
  readonly evalIndices: Uint32Array;
}

/** {@link ValidationData} (features and logits per set, with their sources) as a {@link ValidationSplit}. */
function validationSplit(data: ValidationData): ValidationSplit {
  return {
    id: data.id.features,
    ood: Object.fromEntries(data.ood.map((set) => [set.name, set.features])),
    sizes: Object.fromEntries(data.ood.map((set) => [set.name, set.features.rows])),
    evalIndices: data.evalIndices,
  };
}

/** Sees every training batch of the pass; made once the sets are open (it may need their sizes). */
export type BatchObserver = (sources: EvaluationSources, config: ResolvedConfig, model: LoadedModel) => (batch: FeatureBatch) => void | Promise<void>;

/** An opened ablation run. */
export interface AblationSession {
  readonly model: LoadedModel;
  readonly head: LinearHead;
  readonly config: ResolvedConfig;
  readonly sources: EvaluationSources;
  /** The training pass: the sensitivity over the run's training samples and the fit subset. */
  readonly fitted: FitResult & { readonly opnp: SensitivityResult };
  /** Present when a search needs it. */
  readonly validation: ValidationSplit | undefined;
  /** Ascending ID test indices of the test metrics: those left by the validation split, or all. */
  readonly evalIndices: Uint32Array;
  readonly skips: SkipLog;
}

/** Opens a session with what the ablation needs (see {@link openSession}). */
export type SessionOpener = (needs: SessionNeeds, observe?: BatchObserver) => Promise<AblationSession>;

/**
 * Opens every set, checks the ID labels when needed, runs the training pass (feeding `observe`'s function every
 * batch) and reads the validation data.
 *
 * @throws OpnpError `INVALID_ARGUMENT` when labels are needed and the ID test set has none
 */
export async function openSession(model: LoadedModel, config: ResolvedConfig, needs: SessionNeeds, observe?: BatchObserver): Promise<AblationSession> {
  const sources = await openSources(model, config, config.onInfo ?? (() => undefined));
  if (needs.labels && !(await sources.test.readLabels()).some((l) => l >= 0)) {
    throw new OpnpError('INVALID_ARGUMENT', `The ID test set ${sources.test.spec} has no labels: the accuracy of a pruned head needs them`, { hint: `Pass ${optionNames(config.optionNames).testLabels} (a labels file, IDX or .npy), or a labelled dataset` });
  }
  const skips = skipLog(config.onSkip);
  const fitted = await fitRun(model, sources, config, { opnp: true, fit: needs.fit }, (s) => skips.add('train', s), observe?.(sources, config, model));
  if (!fitted.opnp) throw new Error('internal: the training pass returned no sensitivity');
  const validation = needs.validation
    ? validationSplit(await collectValidation(model, sources.test, sources.valOod, {
        valFraction: config.valFraction,
        seed: config.seed,
        batchSize: config.batchSize,
        ...(config.signal ? { signal: config.signal } : {}),
        ...(config.onProgress ? { onProgress: config.onProgress } : {}),
        onSkip: skips.add,
      }))
    : undefined;
  return {
    model,
    head: model.extractor.head,
    config,
    sources,
    fitted: { ...fitted, opnp: fitted.opnp },
    validation,
    evalIndices: validation?.evalIndices ?? allIndices(sources.test.count),
    skips,
  };
}
