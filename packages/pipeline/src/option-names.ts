/**
 * What the pipeline's messages call the options that resolve a refusal ("pass restart: true to discard it", "use
 * another checkpoint.path file"): by default the library's option names; an application that exposes the options
 * under its own names passes those (the CLI: `--restart`, `--checkpoint`, `--out`, ...), as `preprocessNames` does
 * for the preprocessing options.
 */
import type { PreprocessOptionNames, PreprocessOptions } from '@opnp/datasets';

/** What messages call each option (see the module comment); a name not given is the library's. */
export interface OptionNames {
  /** Discarding earlier state: a checkpoint, a partial or finished extraction (library: `restart: true`). */
  readonly restart?: string;
  /** The sensitivity checkpoint file (library: `checkpoint.path`). */
  readonly checkpoint?: string;
  /** The features output of an extraction (library: `outputs.features`). */
  readonly out?: string;
  /** The training set (library: `train`). */
  readonly train?: string;
  /** The ID test set (library: `test`). */
  readonly test?: string;
  /** An OOD test set (library: `ood`). */
  readonly ood?: string;
  /** An OOD validation set (library: `valOod`). */
  readonly valOod?: string;
  /** The dataset of an extraction (library: `data`). */
  readonly data?: string;
  /** The training labels file (library: `trainLabels`). */
  readonly trainLabels?: string;
  /** The ID test labels file (library: `testLabels`). */
  readonly testLabels?: string;
  /** The methods to evaluate (library: `methods`). */
  readonly methods?: string;
  /** The share of the training set used (library: `trainFraction`). */
  readonly trainFraction?: string;
  /** The rows of the fit subset the methods fit on (library: `fitSamples`). */
  readonly fitSamples?: string;
  /** The seed of the training subset and the validation split (library: `seed`). */
  readonly seed?: string;
  /** A saved sensitivity state used instead of the training pass (library: `sensitivityState`). */
  readonly sensitivityState?: string;
  /** Samples per model batch (library: `batchSize`). */
  readonly batchSize?: string;
  /** What computes a sensitivity state and resumes its checkpoint (library: `runSensitivity() (or evaluate())`). */
  readonly sensitivityRun?: string;
  /** What merges the shard states of one run (library: `mergeStates()`). */
  readonly mergeStates?: string;
}

/** The library's names of the options, used where the caller names none. */
export const LIBRARY_OPTION_NAMES: Readonly<Required<OptionNames>> = Object.freeze({
  restart: 'restart: true',
  checkpoint: 'checkpoint.path',
  out: 'outputs.features',
  train: 'train',
  test: 'test',
  ood: 'ood',
  valOod: 'valOod',
  data: 'data',
  trainLabels: 'trainLabels',
  testLabels: 'testLabels',
  methods: 'methods',
  trainFraction: 'trainFraction',
  fitSamples: 'fitSamples',
  seed: 'seed',
  sensitivityState: 'sensitivityState',
  batchSize: 'batchSize',
  sensitivityRun: 'runSensitivity() (or evaluate())',
  mergeStates: 'mergeStates()',
});

/** What messages call a preprocessing option: the caller's name (`--mean`), else `preprocess.<option>`. */
export function preprocessName(names: PreprocessOptionNames | undefined, option: keyof PreprocessOptions): string {
  return names?.[option] ?? `preprocess.${option}`;
}

/** A preprocessing option with a value as the caller writes it: `--crop 32` (a name given), else `preprocess.centerCrop: 32`. */
export function preprocessValue(names: PreprocessOptionNames | undefined, option: keyof PreprocessOptions, value: unknown): string {
  const named = names?.[option];
  if (named !== undefined) return `${named} ${Array.isArray(value) ? value.join(',') : String(value)}`;
  return `preprocess.${option}: ${JSON.stringify(value)}`;
}

/** Every name: the caller's where given, else the library's. */
export function optionNames(names: OptionNames | undefined): Readonly<Required<OptionNames>> {
  if (names === undefined) return LIBRARY_OPTION_NAMES;
  const given = Object.fromEntries(Object.entries(names).filter(([, v]) => v !== undefined));
  return { ...LIBRARY_OPTION_NAMES, ...given };
}
