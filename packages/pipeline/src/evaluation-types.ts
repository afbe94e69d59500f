/**
 * The types of an evaluation: its configuration, the JSON report, and the figure inputs ("artifacts").
 */
import type { GridPointResult, ParameterSensitivity, PruningPercentages } from '@opnp/core';
import type { PreprocessOptionNames, PreprocessOptions } from '@opnp/datasets';
import type { SkippedSample } from './features-meta.js';
import type { MethodOptionOverrides, MethodRegistry } from './methods/registry.js';
import type { BaselineSearchResult } from './stages/search-baselines.js';
import type { LoadedModel } from './model.js';
import type { ProgressListener } from './progress.js';
import type { CheckpointOptions } from './training-pass.js';
import type { OptionNames } from './option-names.js';

/** How many training rows KNN fits on: a count (at most all), or `{ fraction }` of the run's training samples. */
export type KnnFitSamples = number | { readonly fraction: number };

/** A named dataset argument (`--ood name=spec`). */
export interface NamedSpec {
  readonly name: string;
  readonly spec: string;
}

/** Configuration of {@link evaluate}. Only `model`, `train`, `test` and `ood` are required. */
export interface EvaluationConfig {
  /** A model file (loaded through the registered backends) or a model loaded by the caller. */
  readonly model: string | LoadedModel;
  readonly train: string;
  readonly trainLabels?: string;
  /** Use a seeded subset of the training set (default: all of it). */
  readonly trainFraction?: number;
  readonly test: string;
  readonly testLabels?: string;
  readonly ood: readonly NamedSpec[];
  /** Image preprocessing (normalisation, resize, crop, kernel); what is not given follows the model input. */
  readonly preprocess?: PreprocessOptions;
  /** What messages call the `preprocess` options (default `preprocess.<option>`), e.g. an application's flag names (`--mean`). */
  readonly preprocessNames?: PreprocessOptionNames;
  /**
   * What messages call the other options a refusal names (`restart: true`, `checkpoint.path`, `trainLabels`, ...;
   * default these library names), e.g. an application's flags (`--restart`); see {@link OptionNames}.
   */
  readonly optionNames?: OptionNames;
  /** Default {@link DEFAULT_METHODS}. */
  readonly methods?: readonly string[];
  /** When false (methods not chosen by the user), methods whose inputs are missing (labels) are dropped with a note. Default: true when `methods` is given. */
  readonly methodsExplicit?: boolean;
  /** The methods known to the run (default: the built-ins). */
  readonly registry?: MethodRegistry;
  /** Hyper-parameters per method, e.g. `{ react: { percentile: 85 } }`. Options set here are never searched. */
  readonly methodOptions?: MethodOptionOverrides;
  /**
   * The temperature `T` (finite, > 0) of every method with a `temperature` option (msp, energy, gradnorm,
   * entropy, odin; docs/numerics.md#temperature), unless `methodOptions` sets that method's own. Default: each
   * method's default (1; ODIN 1000).
   */
  readonly temperature?: number;
  /**
   * Choose the hyper-parameters of every method with a search space (ReAct, DICE, ASH, SCALE, KNN, ViM, GEN,
   * NCI, fDBD, ODIN) on the validation data of the OPNP grid search, by OpenOOD v1.5's rule
   * (docs/numerics.md#baseline-search). Default false: the methods' defaults.
   */
  readonly searchBaselines?: boolean;
  /** A fixed OPNP point; without it the point is chosen by grid search on validation data. */
  readonly percentages?: PruningPercentages;
  /** Share of the ID test set held out for the grid search (default 0.2). */
  readonly valFraction?: number;
  /** OOD validation sets of the grid search (default: seeded uniform noise). */
  readonly valOod?: readonly NamedSpec[];
  /** Size of the noise OOD validation set used when `valOod` is empty (default 1000). */
  readonly valNoise?: number;
  /** Seed of the training subset, the validation split and the noise (default 0). */
  readonly seed?: number;
  /** Samples per model batch (default 256). */
  readonly batchSize?: number;
  /**
   * Worker threads decoding and preprocessing image files (image folders, lists, ImageNet): `0` on the main
   * thread; default: the number of cores, at most 8 (`BatchOptions.workers` of @opnp/datasets). The features
   * are the same bit for bit whatever the count.
   */
  readonly imageWorkers?: number;

  /**
   * Largest number of training rows kept in memory for the methods that fit on training features (ReAct, DICE,
   * Mahalanobis, ...; default 20000): a seeded subset of the run's training samples when it has more.
   */
  readonly fitSamples?: number;
  /**
   * Training rows KNN searches (its own seeded subset, nested with the `fitSamples` one): a count, or a fraction of
   * the run's training samples. Default every training sample up to 50,000 (the KNN paper fits the whole CIFAR
   * training set; it uses 1% of ImageNet's, `{ fraction: 0.01 }`, which `BENCHMARKS.imagenet.knnFitSamples` gives).
   */
  readonly knnFitSamples?: KnnFitSamples;
  /** Checkpoint of the sensitivity sums (a path, or options). */
  readonly checkpoint?: string | CheckpointOptions;
  /** A finished sensitivity state (`opnp sensitivity --state-out` / `merge`) used instead of the training pass; it must belong to this run. */
  readonly sensitivityState?: string;
  /** Also return the figure inputs ({@link EvalArtifacts}); the OPNP point is then always determined. */
  readonly collectArtifacts?: boolean;
  readonly signal?: AbortSignal;
  /** Notes for the user (choices made, resumed state). */
  readonly onInfo?: (message: string) => void;
  /**
   * Warnings about the results, said once per run: an option a method could not run with as given and the value it
   * ran with instead (NNGuide's `k` above its bank's rows; the report records the value used). Default `onInfo`.
   */
  readonly onWarning?: (message: string) => void;
  readonly onProgress?: ProgressListener;
  /** Every unreadable sample, with the set it belongs to (it is left out of every result). */
  readonly onSkip?: (set: string, skip: SkippedSample) => void;
}

/** One method's metrics on one OOD set (fractions 0-1). */
export interface MethodResult {
  readonly method: string;
  readonly ood: string;
  readonly fpr95: number;
  readonly auroc: number;
  readonly auprIn: number;
  readonly auprOut: number;
}

/** The JSON report of an evaluation (fractions 0-1, OPNP percentages in percent). */
export interface EvalReport {
  readonly classes: number;
  readonly featureDim: number;
  /** Top-1 accuracy of the model on the evaluated ID test samples, or null without labels. */
  readonly idAccuracy: number | null;
  /** The OPNP point in percent, or null when no OPNP method ran. */
  readonly opnp: { p_min: number; p_max: number; n_min: number; n_max: number } | null;
  readonly selection: {
    readonly searched: boolean;
    /** Mean validation FPR95 / AUROC of the chosen point (search only). */
    readonly validation?: { fpr95: number; auroc: number; idSamples: number; ood: Record<string, number> };
  };
  /**
   * Samples used per set: `fit` rows of the fit subset, `knnFit` rows KNN searched (present when a method used its own
   * subset); `skipped` counts unreadable samples left out, per set (train, test, OOD and validation names).
   */
  readonly counts: { train: number; fit: number; knnFit?: number; idTest: number; ood: Record<string, number>; skipped: Record<string, number> };
  readonly methods: string[];
  /** Hyper-parameters each method ran with (searched values included). */
  readonly methodOptions: Record<string, Record<string, number | string | boolean>>;
  /** The temperature given for the run (`config.temperature`); absent when none was given. */
  readonly temperature?: number;
  /** What the baseline search chose, per method (with `searchBaselines` only). */
  readonly baselineSearch?: BaselineSearchResult;
  readonly results: MethodResult[];
  /** Per method: metrics averaged over the OOD sets. */
  readonly averages: Omit<MethodResult, 'ood'>[];
}

/** Scores `[n]` of the ID test set and of each OOD set (in `config.ood` order). */
export interface SetScores {
  readonly id: Float32Array;
  readonly ood: Readonly<Record<string, Float32Array>>;
}

/** Calibration inputs of one head on the labelled ID test samples: max softmax `[n]` and correctness `[n]` (0/1). */
export interface CalibrationInputs {
  readonly confidence: Float32Array;
  readonly correct: Uint8Array;
}

/** What `opnp report` draws, collected with `collectArtifacts`. */
export interface EvalArtifacts {
  /** Parameter sensitivity `s [C x D]`. */
  readonly sensitivity: ParameterSensitivity;
  /** Neuron sensitivity `s_j [D]` (mean over classes). */
  readonly neuronSensitivity: Float64Array;
  /** The OPNP point used for the `opnp` scores. */
  readonly percentages: PruningPercentages;
  /** Every grid point's validation result, when the point was searched. */
  readonly grid?: readonly GridPointResult[];
  /** Energy of the original head and of the OPNP-pruned head (mode `opnp`, no ReAct). */
  readonly scores: { readonly energy: SetScores; readonly opnp: SetScores };
  /** Original and pruned head on the labelled ID test samples; undefined without labels. */
  readonly calibration?: { readonly original: CalibrationInputs; readonly pruned: CalibrationInputs };
  /** Every skipped sample per set. */
  readonly skipped: Readonly<Record<string, readonly SkippedSample[]>>;
}
