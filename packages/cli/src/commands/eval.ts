/**
 * `opnp eval`: flags -> an evaluation config -> `evaluate` of @opnp/pipeline -> the table, the JSON report
 * and the results folder. Every output path is checked before any work starts.
 */
import type { Command } from 'commander';
import type { PruningPercentages } from '@opnp/core';
import { DEFAULT_METHODS, assertUniqueNames, assertWritableFile, evaluate, type EvaluationConfig, type NamedSpec } from '@opnp/pipeline';
import { UsageError } from '../errors.js';
import { collect, parseFraction, parseInteger, parseMethodOptions, parseNamedSpec, parseOpnpPercentages } from '../options.js';
import { parseMethods } from '../methods.js';
import { withModel, type RuntimeFlags } from '../model.js';
import { addPreprocessOptions, addRunOptions, imageWorkersOption, infoWriter, parseCheckpointEvery, preprocessFlags, progressListener, skipWarner, type CommandContext } from './shared.js';
import { parseFormat, saveResults, writeReport } from './report-output.js';
import { assertResultsTarget } from '@opnp/pipeline';
import type { TableFormat } from '../format/results-table.js';

interface EvalFlags extends RuntimeFlags {
  model: string;
  train: string;
  trainLabels?: string;
  trainFraction?: number;
  test: string;
  testLabels?: string;
  ood: string[];
  mean?: number[];
  std?: number[];
  methods?: string[];
  methodOption: string[];
  opnp?: PruningPercentages;
  valFraction: number;
  valOod: string[];
  valNoise: number;
  seed: number;
  batchSize: number;
  fitSamples: number;
  knnK?: number;
  checkpoint?: string;
  checkpointEvery: number;
  restart?: boolean;
  sensitivityState?: string;
  json?: string;
  save?: string;
  format: TableFormat;
  quiet?: boolean;
}

/** `--val-ood <dataset>` or `--val-ood <name>=<dataset>`. */
export function parseValOod(values: readonly string[]): NamedSpec[] {
  return values.map((value, i) => (/^[A-Za-z0-9_.-]+=/.test(value) ? parseNamedSpec('--val-ood', value) : { name: `val${i + 1}`, spec: value }));
}

const EXAMPLE = `
Example:
  opnp eval --model mnist-cnn.onnx \\
    --train idx:./mnist/train-images-idx3-ubyte --test idx:./mnist/t10k-images-idx3-ubyte \\
    --ood fashion=idx:./fashion/t10k-images-idx3-ubyte --ood noise=noise:2000 \\
    --mean 0.1307 --std 0.3081 --val-ood idx:./kmnist/t10k-images-idx3-ubyte --json results.json

<dataset> is a dataset spec of @opnp/datasets ([format:]path[#options]), or
  features:<features.npy>[#logits=<logits.npy>]   cached features from \`opnp extract\`
  noise:<count>[#seed=<s>]                        seeded uniform noise of the model input size

Method hyper-parameters: --method-option react.percentile=85 --method-option knn.k=10 (see the JSON's methodOptions).`;

/** Registers `opnp eval`. */
export function registerEval(program: Command, context: CommandContext): void {
  const command = program
    .command('eval')
    .description('evaluate OOD detection methods (OPNP and baselines) and print a paper-style table')
    .requiredOption('--model <file>', 'classifier: model.onnx (or model.json with @opnp/backend-tfjs)')
    .requiredOption('--train <dataset>', 'training set (sensitivity, ReAct, DICE, Mahalanobis, KNN)')
    .option('--train-labels <file>', 'labels file for the training set (IDX or .npy)')
    .option('--train-fraction <0-1>', 'use a seeded subset of the training set', (v) => parseFraction('--train-fraction', v))
    .requiredOption('--test <dataset>', 'in-distribution test set')
    .option('--test-labels <file>', 'labels file for the test set (IDX or .npy)')
    .option('--ood <name=dataset>', 'an OOD test set (repeatable)', collect, [])
    .option('--methods <list>', `comma-separated methods (default ${DEFAULT_METHODS.join(',')})`, parseMethods)
    .option('--method-option <method.option=value>', 'a method hyper-parameter, e.g. react.percentile=85 (repeatable)', collect, [])
    .option('--opnp <p_min=%,p_max=%,n_min=%,n_max=%>', 'fixed OPNP percentages (skips the grid search)', parseOpnpPercentages)
    .option('--val-fraction <0-1>', 'share of the ID test set held out for the grid search', (v) => parseFraction('--val-fraction', v, { allowOne: false }), 0.2)
    .option('--val-ood <[name=]dataset>', 'an OOD validation set for the grid search (repeatable; default: seeded noise)', collect, [])
    .option('--val-noise <n>', 'size of the default noise validation set', (v) => parseInteger('--val-noise', v), 1000)
    .option('--seed <n>', 'seed of the training subset and the validation split', (v) => parseInteger('--seed', v, { allowZero: true }), 0)
    .option('--fit-samples <n>', 'training rows kept in memory for ReAct, DICE, Mahalanobis and KNN', (v) => parseInteger('--fit-samples', v), 20000)
    .option('--knn-k <n>', 'neighbour rank of KNN (same as --method-option knn.k=<n>)', (v) => parseInteger('--knn-k', v))
    .option('--checkpoint <file>', 'checkpoint the sensitivity sums here; a rerun of the same run resumes from it')
    .option('--restart', 'discard an existing --checkpoint instead of resuming it')
    .option('--checkpoint-every <seconds>', 'also write the checkpoint this often (0: after every batch)', parseCheckpointEvery, 30)
    .option('--sensitivity-state <file>', 'use a saved sensitivity state of this run (opnp sensitivity --state-out / merge) instead of the training pass')
    .option('--json <file>', 'write the JSON report to <file> ("-": JSON on stdout only)')
    .option('--save <dir>', 'write a results folder (report, sensitivities, grid, score arrays, calibration) for opnp report')
    .option('--format <format>', 'printed table: table, markdown, csv or json', parseFormat, 'table' as TableFormat);
  addPreprocessOptions(command);
  addRunOptions(command);
  command.addHelpText('after', EXAMPLE);
  command.action(async (flags: EvalFlags) => {
    const { io } = context;
    const quiet = flags.quiet === true || flags.json === '-';
    const ood = flags.ood.map((v) => parseNamedSpec('--ood', v));
    if (ood.length === 0) throw new UsageError("required option '--ood <name=dataset>' not specified");
    assertUniqueNames(ood, '--ood');
    const valOod = parseValOod(flags.valOod);
    assertUniqueNames(valOod, '--val-ood');
    const methodOptions = parseMethodOptions(flags.methodOption, flags.knnK);
    if (flags.json !== undefined && flags.json !== '-') await assertWritableFile(flags.json, 'the JSON report (--json)');
    if (flags.checkpoint !== undefined) await assertWritableFile(flags.checkpoint, 'the checkpoint (--checkpoint)');
    if (flags.save !== undefined) await assertResultsTarget(flags.save);
    const info = infoWriter(io, quiet);
    await withModel(flags.model, info, async (model) => {
      const config: EvaluationConfig = {
        model,
        train: flags.train,
        ...(flags.trainLabels !== undefined ? { trainLabels: flags.trainLabels } : {}),
        ...(flags.trainFraction !== undefined ? { trainFraction: flags.trainFraction } : {}),
        test: flags.test,
        ...(flags.testLabels !== undefined ? { testLabels: flags.testLabels } : {}),
        ood,
        preprocess: preprocessFlags(flags),
        methods: flags.methods ?? [...DEFAULT_METHODS],
        methodsExplicit: flags.methods !== undefined,
        methodOptions,
        ...(flags.opnp ? { percentages: flags.opnp } : {}),
        valFraction: flags.valFraction,
        valOod,
        valNoise: flags.valNoise,
        seed: flags.seed,
        batchSize: flags.batchSize,
        ...imageWorkersOption(flags),
        fitSamples: flags.fitSamples,
        ...(flags.checkpoint !== undefined ? { checkpoint: { path: flags.checkpoint, restart: flags.restart === true, everyMs: flags.checkpointEvery * 1000 } } : {}),
        ...(flags.sensitivityState !== undefined ? { sensitivityState: flags.sensitivityState } : {}),
        collectArtifacts: flags.save !== undefined,
        ...(io.signal ? { signal: io.signal } : {}),
        onInfo: info,
        onProgress: progressListener(io, quiet),
        onSkip: (set, skip) => skipWarner(io, set)(skip),
      };
      const { report, artifacts } = await evaluate(config);
      await writeReport(io, report, { ...(flags.json !== undefined ? { json: flags.json } : {}), format: flags.format });
      if (flags.save !== undefined) await saveResults(flags.save, report, artifacts, info);
    }, flags);
  });
}
