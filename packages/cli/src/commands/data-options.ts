/**
 * The model and data flags of a run over a model and datasets (`opnp eval`, `opnp ablate`): their definitions and
 * their translation into the pipeline's configuration fields.
 */
import type { Command } from 'commander';
import { assertUniqueNames, type EvaluationConfig, type NamedSpec } from '@opnp/pipeline';
import type { ResizeKernel } from '@opnp/datasets';
import { checkDatasetSpec, collect, parseFraction, parseInteger, parseNamedSpec } from '../options.js';
import { CLI_OPTION_NAMES, preprocessArguments } from './shared.js';

/** The flags {@link addDataOptions} and {@link addValidationOptions} define, as commander parses them. */
export interface DataFlags {
  model: string;
  train: string;
  trainLabels?: string;
  trainFraction?: number;
  test: string;
  testLabels?: string;
  ood: string[];
  mean?: number[];
  std?: number[];
  /** `--resize n` (the shorter side) or `--resize h,w`. */
  resize?: number | [number, number];
  crop?: number;
  resizeKernel?: ResizeKernel;
  valFraction: number;
  valOod: string[];
  valNoise: number;
  seed: number;
  batchSize: number;
  fitSamples: number;
}

/** `--val-ood <dataset>` or `--val-ood <name>=<dataset>`. */
export function parseValOod(values: readonly string[]): NamedSpec[] {
  return values.map((value, i) => (/^[A-Za-z0-9_.-]+=/.test(value) ? parseNamedSpec('--val-ood', value) : { name: `val${i + 1}`, spec: checkDatasetSpec('--val-ood', value) }));
}

/** Adds `--model`, `--train` (`--train-labels`, `--train-fraction`), `--test` (`--test-labels`) and `--ood`. */
export function addDataOptions(command: Command): Command {
  return command
    .requiredOption('--model <file>', 'classifier: model.onnx (or model.json with @opnp/backend-tfjs)')
    .requiredOption('--train <dataset>', 'training set (sensitivity, ReAct, DICE, Mahalanobis, KNN)', (v) => checkDatasetSpec('--train', v))
    .option('--train-labels <file>', 'labels file for the training set (IDX or .npy)')
    .option('--train-fraction <0-1>', 'use a seeded subset of the training set', (v) => parseFraction('--train-fraction', v))
    .requiredOption('--test <dataset>', 'in-distribution test set', (v) => checkDatasetSpec('--test', v))
    .option('--test-labels <file>', 'labels file for the test set (IDX or .npy)')
    .option('--ood <name=dataset>', 'an OOD test set (repeatable)', collect, []);
}

/** Adds the validation-split and run-size flags: `--val-fraction`, `--val-ood`, `--val-noise`, `--seed`, `--fit-samples`. */
export function addValidationOptions(command: Command): Command {
  return command
    .option('--val-fraction <0-1>', 'share of the ID test set held out for the grid search; held out only when something is searched (an OPNP method without --opnp, or --search-baselines), otherwise every test sample is scored, as in opnp demo', (v) => parseFraction('--val-fraction', v, { allowOne: false }), 0.2)
    .option('--val-ood <[name=]dataset>', 'an OOD validation set for the grid search (repeatable; default: seeded noise)', collect, [])
    .option('--val-noise <n>', 'size of the default noise validation set', (v) => parseInteger('--val-noise', v), 1000)
    .option('--seed <n>', 'seed of the training subset and the validation split', (v) => parseInteger('--seed', v, { allowZero: true }), 0)
    .option('--fit-samples <n>', 'training rows kept in memory for ReAct, DICE, Mahalanobis and the other fitted methods (KNN: --knn-fit-samples)', (v) => parseInteger('--fit-samples', v), 20000);
}

/** The configuration fields the flags give (the OOD test sets and the validation sets parsed and checked for duplicate names). */
export function dataConfig(flags: DataFlags): Pick<EvaluationConfig, 'train' | 'trainLabels' | 'trainFraction' | 'test' | 'testLabels' | 'ood' | 'preprocess' | 'preprocessNames' | 'optionNames' | 'valFraction' | 'valOod' | 'valNoise' | 'seed' | 'batchSize' | 'fitSamples'> {
  const ood = flags.ood.map((v) => parseNamedSpec('--ood', v));
  assertUniqueNames(ood, '--ood');
  const valOod = parseValOod(flags.valOod);
  assertUniqueNames(valOod, '--val-ood');
  return {
    train: flags.train,
    ...(flags.trainLabels !== undefined ? { trainLabels: flags.trainLabels } : {}),
    ...(flags.trainFraction !== undefined ? { trainFraction: flags.trainFraction } : {}),
    test: flags.test,
    ...(flags.testLabels !== undefined ? { testLabels: flags.testLabels } : {}),
    ood,
    ...preprocessArguments(flags),
    optionNames: CLI_OPTION_NAMES,
    valFraction: flags.valFraction,
    valOod,
    valNoise: flags.valNoise,
    seed: flags.seed,
    batchSize: flags.batchSize,
    fitSamples: flags.fitSamples,
  };
}
