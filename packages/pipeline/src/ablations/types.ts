/**
 * The types of the paper's ablations as a library: what a run is given ({@link AblationConfig}) and what it
 * returns ({@link AblationResult}: the variants in the paper's row order with the hyper-parameters each ran with,
 * and a tidy table of their metrics).
 */
import type { NeuronStatistic, PruningGrid, PruningPercentages } from '@opnp/core';
import type { EvaluationConfig } from '../evaluation-types.js';

/** The ablations, by the name `opnp ablate <kind>` takes. */
export const ABLATION_KINDS = ['pruning', 'fraction', 'statistic', 'accuracy', 'sweep'] as const;
export type AblationKind = (typeof ABLATION_KINDS)[number];

/** The data and run settings of an ablation: those of an {@link EvaluationConfig} that apply to it. */
export type AblationRunConfig = Pick<
  EvaluationConfig,
  | 'model'
  | 'train'
  | 'trainLabels'
  | 'trainFraction'
  | 'test'
  | 'testLabels'
  | 'ood'
  | 'preprocess'
  | 'preprocessNames'
  | 'optionNames'
  | 'valFraction'
  | 'valOod'
  | 'valNoise'
  | 'seed'
  | 'batchSize'
  | 'fitSamples'
  | 'signal'
  | 'onInfo'
  | 'onProgress'
  | 'onSkip'
>;

/** One column of the accuracy ablation (Table 3): a name and the OPP point, or `null` for the original head. */
export interface AccuracySetting {
  readonly name: string;
  readonly percentages: PruningPercentages | null;
}

/** The levels of each percentage the sweep (Figure 3) visits, in percent. */
export interface SweepLevels {
  readonly pMin: readonly number[];
  readonly pMax: readonly number[];
  readonly nMin: readonly number[];
  readonly nMax: readonly number[];
}

/** Options of the ablations; each kind takes only its own (others are refused). */
export interface AblationOptions {
  /** `pruning`: the grid whose weight axes (`pMin`, `pMax`) and neuron axes (`nMin`, `nMax`) the pruners search (default the paper's 192-point grid). */
  readonly grid?: PruningGrid;
  /** `fraction`: shares of the run's training samples the sensitivity is computed on, each in (0, 1] (default 0.01, 0.05, 0.2, 1). */
  readonly fractions?: readonly number[];
  /** `statistic`: neuron statistics over the classes (default mean, max, min, median, l2 = the paper's norm, variance). */
  readonly statistics?: readonly NeuronStatistic[];
  /** `accuracy`: the columns (default {@link DEFAULT_ACCURACY_SETTINGS}). */
  readonly settings?: readonly AccuracySetting[];
  /** `sweep`: the levels of each percentage (default {@link DEFAULT_SWEEP_LEVELS}). */
  readonly levels?: SweepLevels;
  /** `sweep`: the point the other three percentages stay at while one varies (default all 0). */
  readonly base?: PruningPercentages;
}

/** Configuration of {@link runAblation}: the kind (or an alias such as `table4`), the run, and the kind's options. */
export interface AblationConfig extends AblationRunConfig {
  readonly kind: string;
  readonly options?: AblationOptions;
}

/** The metrics of an ablation's rows: the OOD metrics of `oodMetrics`, or the ID top-1 accuracy. */
export type AblationMetric = 'fpr95' | 'auroc' | 'auprIn' | 'auprOut' | 'accuracy';

/** One row of the tidy table: a variant's metric on one OOD set (fraction 0-1). */
export interface AblationRow {
  /** The variant's name (a row of the paper's table: `RPP`, `1%`, `median`, `p_max=1`, ...). */
  readonly variant: string;
  /** The OOD test set, or `null` for the average over the OOD sets and for the ID accuracy. */
  readonly ood: string | null;
  readonly metric: AblationMetric;
  readonly value: number;
}

/** A variant and the hyper-parameters it ran with. */
export interface AblationVariant {
  readonly name: string;
  readonly description: string;
  /** The pruning point applied (percent), or `null` for the original head. */
  readonly percentages: PruningPercentages | null;
  /** Whether the point was chosen by a search on validation data (else it is fixed by the ablation). */
  readonly searched: boolean;
  /** Mean validation FPR95 / AUROC of the chosen point over the OOD validation sets (searched variants). */
  readonly validation?: { readonly fpr95: number; readonly auroc: number };
  /** What else defines the variant: `seed` of a random pruner, `fraction` and `samples` of a sensitivity subset, `statistic`, the sweep's `key` and `level`. */
  readonly details?: Readonly<Record<string, number | string>>;
}

/** Sample counts of an ablation run. */
export interface AblationCounts {
  /** Training samples of the full sensitivity. */
  readonly train: number;
  /** Rows of the fit subset (the low-norm pruner's feature norms). */
  readonly fit: number;
  /** ID test samples the metrics use. */
  readonly idTest: number;
  /** Labelled ones among them (accuracy). */
  readonly idLabelled: number;
  /** ID validation samples of the searches (0 without a search). */
  readonly idValidation: number;
  readonly ood: Readonly<Record<string, number>>;
  readonly oodValidation: Readonly<Record<string, number>>;
  /** Unreadable samples left out, per set (`train`, `test`, `ood:<name>`, `val:<name>`). */
  readonly skipped: Readonly<Record<string, number>>;
}

/** What {@link runAblation} returns (metrics as fractions 0-1, percentages in percent). */
export interface AblationResult {
  readonly kind: AblationKind;
  /** Where the paper shows it: `Table 4`, `Table 8`, `Table 9`, `Table 3`, `Figure 3`. */
  readonly source: string;
  readonly title: string;
  /** The metrics the paper's layout prints (the rows hold all of them). */
  readonly layout: readonly AblationMetric[];
  /** The variants in the paper's row (or column) order. */
  readonly variants: readonly AblationVariant[];
  /** OOD test sets in the order given (empty for accuracy). */
  readonly oodSets: readonly string[];
  /** Per variant (in order): each OOD set's metrics, then their averages (`ood: null`); or its accuracy. */
  readonly rows: readonly AblationRow[];
  readonly counts: AblationCounts;
}
