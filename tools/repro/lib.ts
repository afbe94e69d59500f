/**
 * Shared runner of the paper-reproduction scripts: builds the evaluation of a setting from a data root
 * laid out as in README.md, runs it with `evaluate` of @opnp/pipeline, prints our table and, beside it,
 * the paper's numbers of the setting's recipe (the tables bundled with @opnp/cli) with the difference per
 * cell, and optionally keeps a results folder for `opnp report --recipe <recipe>`.
 */
import { parseArgs } from 'node:util';
import { isOpnpError, type PruningPercentages } from '@opnp/core';
import '@opnp/backend-onnx/register';
import { evaluate, loadModel, writeResultsDir, PIPELINE_VERSION, type EvalReport, type EvaluationConfig, type KnnFitSamples } from '@opnp/pipeline';
// The paper's tables and the comparison live with `opnp report`, which shows the same columns.
import { plainTable } from '../../packages/cli/src/format/results-table.js';
import { comparisonText, type RecipeName } from '../../packages/cli/src/format/paper-comparison.js';
import { createProgressListener } from '../../packages/cli/src/progress.js';

/** Where the script writes (process streams, or test buffers). */
export interface ReproIo {
  readonly stdout: { write(text: string): unknown };
  /** Progress draws bars when it is a terminal, else a line every 5 s. */
  readonly stderr: { write(text: string): unknown; readonly isTTY?: boolean };
}
/** One reproduction setting. */
export interface Setting {
  readonly title: string;
  /** Dataset specs relative to the data root. */
  readonly train: (root: string) => string;
  readonly test: (root: string) => string;
  readonly ood: (root: string) => readonly { name: string; spec: string }[];
  readonly mean: readonly number[];
  readonly std: readonly number[];
  /** Image resizing when it differs from the CLI's default (shorter side 256, Pillow bilinear, crop to the input). */
  readonly resize?: { readonly shorterSide: number; readonly kernel: 'pil-bilinear' | 'pil-bicubic' };
  /** The recipe: names the paper table printed beside ours (and `opnp report --recipe`). */
  readonly recipe: RecipeName;
  /** KNN's training rows (the KNN paper's: the whole CIFAR training set, 1% of ImageNet's). */
  readonly knnFitSamples?: KnnFitSamples;
}

/** Methods of the paper's tables that the pipeline has. */
export const REPRO_METHODS: readonly string[] = ['msp', 'maxlogit', 'energy', 'gradnorm', 'react', 'dice', 'dice+react', 'ash-s', 'knn', 'opp', 'onp', 'opnp', 'opnp+react'];

const USAGE = `usage: <script> --data-root <dir> --model <model.onnx> [--save <results dir>] [-- --train-fraction <f> --batch-size <n> --opnp p_min=..,p_max=..,n_min=..,n_max=.. --val-ood <name=dataset> --val-noise <n> --knn-k <n> --fit-samples <n> --quiet]`;

/** The script's flags. */
export interface ReproArgs {
  readonly dataRoot: string;
  readonly model: string;
  readonly save?: string;
  readonly trainFraction?: number;
  readonly batchSize?: number;
  readonly percentages?: PruningPercentages;
  readonly valOod: { name: string; spec: string }[];
  readonly valNoise?: number;
  readonly knnK?: number;
  readonly fitSamples?: number;
  readonly quiet: boolean;
}

function number(flag: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const v = Number(text);
  if (text.trim() === '' || !Number.isFinite(v) || v <= 0) throw new Error(`${flag}: expected a positive number, got "${text}"\n${USAGE}`);
  return v;
}

function percentages(text: string | undefined): PruningPercentages | undefined {
  if (text === undefined) return undefined;
  const parts = Object.fromEntries(text.split(',').map((p) => p.split('=').map((s) => s.trim()) as [string, string]));
  const value = (k: string) => number(`--opnp ${k}`, parts[k]) ?? 0;
  return { pMin: value('p_min'), pMax: value('p_max'), nMin: value('n_min'), nMax: value('n_max') };
}

/** Parses the script's flags (the evaluation options may follow a `--`, as they did when the script ran the CLI). */
export function parseReproArgs(args: readonly string[]): ReproArgs {
  const { values } = parseArgs({
    args: args.filter((a) => a !== '--'),
    options: {
      'data-root': { type: 'string' },
      model: { type: 'string' },
      save: { type: 'string' },
      'train-fraction': { type: 'string' },
      'batch-size': { type: 'string' },
      opnp: { type: 'string' },
      'val-ood': { type: 'string', multiple: true },
      'val-noise': { type: 'string' },
      'knn-k': { type: 'string' },
      'fit-samples': { type: 'string' },
      quiet: { type: 'boolean' },
    },
    strict: true,
  });
  const dataRoot = values['data-root'];
  const model = values.model;
  if (!dataRoot || !model) throw new Error(USAGE);
  const valOod = (values['val-ood'] ?? []).map((v) => {
    const eq = v.indexOf('=');
    if (eq <= 0) throw new Error(`--val-ood: expected <name>=<dataset>, got "${v}"\n${USAGE}`);
    return { name: v.slice(0, eq), spec: v.slice(eq + 1) };
  });
  const optional = <K extends string, V>(key: K, value: V | undefined) => (value === undefined ? {} : ({ [key]: value } as Record<K, V>));
  return {
    dataRoot,
    model,
    ...optional('save', values.save),
    ...optional('trainFraction', number('--train-fraction', values['train-fraction'])),
    ...optional('batchSize', number('--batch-size', values['batch-size'])),
    ...optional('percentages', percentages(values.opnp)),
    valOod,
    ...optional('valNoise', number('--val-noise', values['val-noise'])),
    ...optional('knnK', number('--knn-k', values['knn-k'])),
    ...optional('fitSamples', number('--fit-samples', values['fit-samples'])),
    quiet: values.quiet === true,
  };
}

/** The evaluation of a setting (model loaded by the caller). */
export function settingConfig(setting: Setting, args: ReproArgs): Omit<EvaluationConfig, 'model'> {
  const root = args.dataRoot;
  return {
    train: setting.train(root),
    test: setting.test(root),
    ood: setting.ood(root),
    preprocess: { mean: setting.mean, std: setting.std, ...(setting.resize ? { resize: setting.resize.shorterSide, kernel: setting.resize.kernel } : {}) },
    methods: REPRO_METHODS,
    ...(args.trainFraction !== undefined ? { trainFraction: args.trainFraction } : {}),
    ...(args.batchSize !== undefined ? { batchSize: args.batchSize } : {}),
    ...(args.percentages ? { percentages: args.percentages } : {}),
    ...(args.valOod.length > 0 ? { valOod: args.valOod } : {}),
    ...(args.valNoise !== undefined ? { valNoise: args.valNoise } : {}),
    ...(args.knnK !== undefined ? { methodOptions: { knn: { k: args.knnK } } } : {}),
    ...(args.fitSamples !== undefined ? { fitSamples: args.fitSamples } : {}),
    ...(setting.knnFitSamples !== undefined ? { knnFitSamples: setting.knnFitSamples } : {}),
    collectArtifacts: args.save !== undefined,
  };
}

/** Our table: FPR95 / AUROC (percent) per method and OOD set, and the average (as `opnp eval` prints it). */
export function resultsTable(report: EvalReport): string {
  return plainTable(report);
}

/** Ours beside the paper's table of `recipe`, per OOD set and the average, with Δ = ours - paper (percent). */
export function comparisonTable(report: EvalReport, recipe: RecipeName): string {
  return comparisonText(report, recipe);
}

/** Runs a setting: the evaluation, our table, then the comparison. Returns the exit code. */
export async function runSetting(setting: Setting, args: readonly string[], io: ReproIo): Promise<number> {
  let parsed: ReproArgs;
  try {
    parsed = parseReproArgs(args);
  } catch (error) {
    io.stderr.write(`${(error as Error).message}\n`);
    return 2;
  }
  const info = (message: string) => (parsed.quiet ? undefined : io.stderr.write(`repro: ${message}\n`));
  try {
    io.stdout.write(`${setting.title}\n\n`);
    const model = await loadModel(parsed.model);
    try {
      const onProgress = createProgressListener(io.stderr, !parsed.quiet, { prefix: 'repro' });
      const { report, artifacts } = await evaluate({ ...settingConfig(setting, parsed), model, onInfo: info, onProgress });
      io.stdout.write(resultsTable(report));
      io.stdout.write(`\n${comparisonTable(report, setting.recipe)}`);
      if (parsed.save !== undefined && artifacts) {
        await writeResultsDir(parsed.save, report, artifacts, { name: '@opnp/pipeline (tools/repro)', version: PIPELINE_VERSION });
        info(`results saved to ${parsed.save} (draw them with: opnp report ${parsed.save} --out <folder> --recipe ${setting.recipe})`);
      }
    } finally {
      await model.extractor.dispose();
    }
    return 0;
  } catch (error) {
    io.stderr.write(`repro: ${isOpnpError(error) || error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  }
}

/** Entry point of a script: runs on `process` and sets the exit code. */
export async function main(setting: Setting): Promise<void> {
  process.exitCode = await runSetting(setting, process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr });
}
