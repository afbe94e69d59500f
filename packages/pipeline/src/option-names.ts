/**
 * What the pipeline's messages call the options that resolve a refusal ("pass restart: true to discard it", "use
 * another checkpoint.path file"): by default the library's option names; an application that exposes the options
 * under its own names passes those (the CLI: `--restart`, `--checkpoint`, `--out`, ...), as `preprocessNames` does
 * for the preprocessing options.
 */

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
});

/** Every name: the caller's where given, else the library's. */
export function optionNames(names: OptionNames | undefined): Readonly<Required<OptionNames>> {
  if (names === undefined) return LIBRARY_OPTION_NAMES;
  const given = Object.fromEntries(Object.entries(names).filter(([, v]) => v !== undefined));
  return { ...LIBRARY_OPTION_NAMES, ...given };
}
