/**
 * `opnp eval`: flags -> an evaluation config -> `evaluate` of @opnp/pipeline -> the table, the JSON report
 * and the results folder. Every output path is checked before any work starts.
 */
import type { Command } from 'commander';
import type { PruningPercentages } from '@opnp/core';
import { writeFileAtomic } from '@opnp/core/node';
import { BENCHMARKS, benchmark, summarizeRuns, type EvalReport } from '@opnp/pipeline';
import { writeLine } from '../io.js';
import { renderMultiRun } from '../format/multi-run-table.js';
import { DEFAULT_METHODS, assertBatchSize, assertUniqueNames, evalShardFiles, evaluate, evaluateShard, mergeEvalShards, shardFileName, temperatureMethods, withTemperature, type EvaluationConfig, type LoadedModel, type RunFiles, type RunInput, type ShardInfo } from '@opnp/pipeline';
import { flagError, UsageError } from '../errors.js';
import { checkDatasetSpec, collect, parseChoice, parseFraction, parseInteger, parseKnnFitSamples, parseMethodOptions, parseNamedSpec, parseOpnpPercentages, parsePositiveNumber, splitList } from '../options.js';
import { checkMethodOptions, CLI_METHODS, parseMethods } from '../methods.js';
import { addValidationOptions, parseValOod } from './data-options.js';
import { withModel, type RuntimeFlags } from '../model.js';
import { distinctModels } from '../flag-warnings.js';
import { addFlagWarnings, addPreprocessOptions, addRunOptions, addShardOptions, checkpointPoster, imageWorkersOption, infoWriter, warningWriter, requiredFlag, parseCheckpointEvery, progressListener, resolveShard, skipWarner, type CommandContext, preprocessArguments, CLI_OPTION_NAMES } from './shared.js';
import { assertStdoutFormat, FORMAT_OPTION_HELP, JSON_OPTION_HELP, parseFormat, saveResults, writeReport } from './report-output.js';
import { checkRunFiles, dataInputs, fileInput, fileOrStdout, fileOutput, methodOptionInputs, modelInputs, resultsFolder, stateOutput } from './run-files.js';
import type { TableFormat } from '../format/results-table.js';

interface EvalFlags extends RuntimeFlags {
  model: string[];
  seeds?: number[];
  benchmark?: string;
  dataRoot?: string;
  train?: string;
  trainLabels?: string;
  trainFraction?: number;
  test?: string;
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
  /** Whether --batch-size was given (not its default): without it, an extractor's lower maxBatchSize is used. */
  batchSizeGiven?: boolean;
  fitSamples: number;
  knnFitSamples?: number | { fraction: number };
  knnK?: number;
  temperature?: number;
  searchBaselines?: boolean;
  checkpoint?: string;
  checkpointEvery: number;
  restart?: boolean;
  sensitivityState?: string;
  json?: string;
  save?: string;
  format: TableFormat;
  quiet?: boolean;
  shard?: string;
  shardCount?: number;
  scoresOut?: string;
}

/** The methods `--temperature` applies to (those with a `temperature` option), for the help text. */
const TEMPERATURE_METHODS = temperatureMethods(CLI_METHODS, CLI_METHODS.names()).join(', ');

const EXAMPLE = `
Example:
  opnp eval --model mnist-cnn.onnx \\
    --train idx:./mnist/train-images-idx3-ubyte --test idx:./mnist/t10k-images-idx3-ubyte \\
    --ood fashion=idx:./fashion/t10k-images-idx3-ubyte --ood noise=noise:2000 \\
    --mean 0.1307 --std 0.3081 --val-ood idx:./kmnist/t10k-images-idx3-ubyte --json results.json

<dataset> is a dataset spec of @opnp/datasets ([format:]path[#options]), or
  features:<features.npy>[#logits=<logits.npy>]   cached features from \`opnp extract\`
  noise:<count>[#seed=<s>]                        seeded uniform noise of the model input size

Method hyper-parameters: --method-option react.percentile=85 --method-option knn.k=10 (see the JSON's methodOptions).
--search-baselines chooses them on the validation data of the OPNP grid search instead (OpenOOD v1.5's grids and
rule: highest validation AUROC); options set with --method-option, --knn-k or --temperature are not searched.

Cached inputs may be sharded: features:feats.npy, --train-labels labels.npy and --sensitivity-state state.npy
read the shards (feats.shard-001-of-004.npy ...) while the merged file is absent.

Sharded (e.g. an array job; see docs/cluster.md): every shard fits the same way and scores its part of each set,
  opnp eval ... --shard 2/4 --scores-out scores.npy        # scores.shard-002-of-004.npy (+ .json)
  opnp eval merge scores.shard-*-of-004.npy --json report.json --save results/
gives the report of the unsharded evaluation.`;

/** Registers `opnp eval` and `opnp eval merge`. */
export function registerEval(program: Command, context: CommandContext): void {
  const command = program
    .command('eval')
    .description('evaluate OOD detection methods (OPNP and baselines) and print a paper-style table')
    .enablePositionalOptions()
    .option('--model <file>', 'classifier: model.onnx (or model.json with @opnp/backend-tfjs); repeatable: one run per model, reported as mean ± std', collect, [])
    .option('--seeds <list>', 'comma-separated seeds: one run per seed (and model), reported as mean ± std', parseSeeds)
    .option('--benchmark <name>', `the paper's protocol under --data-root: ${Object.keys(BENCHMARKS).join(', ')} (fills --train, --test, the OOD sets, --mean and --std where not given)`, parseChoice('--benchmark', Object.keys(BENCHMARKS)))
    .option('--data-root <dir>', 'the data root of --benchmark (layout: tools/repro/README.md)')
    .option('--train <dataset>', 'training set (sensitivity, ReAct, DICE, Mahalanobis, KNN)', (v) => checkDatasetSpec('--train', v))
    .option('--train-labels <file>', 'labels file for the training set (IDX or .npy)')
    .option('--train-fraction <0-1>', 'use a seeded subset of the training set', (v) => parseFraction('--train-fraction', v))
    .option('--test <dataset>', 'in-distribution test set', (v) => checkDatasetSpec('--test', v))
    .option('--test-labels <file>', 'labels file for the test set (IDX or .npy)')
    .option('--ood <name=dataset>', 'an OOD test set (repeatable)', collect, [])
    .option('--methods <list>', `comma-separated methods (default ${DEFAULT_METHODS.join(',')})`, parseMethods)
    .option('--method-option <method.option=value>', 'a method hyper-parameter, e.g. react.percentile=85 (repeatable)', collect, [])
    .option('--opnp <p_min=%,p_max=%,n_min=%,n_max=%>', 'fixed OPNP percentages (skips the grid search)', parseOpnpPercentages);
  addValidationOptions(command)
    .option('--knn-k <n>', 'neighbour rank of KNN (same as --method-option knn.k=<n>)', (v) => parseInteger('--knn-k', v))
    .option('--knn-fit-samples <n|all|p%>', 'training rows KNN searches, a seeded subset (default: all up to 50000, the whole CIFAR training set as in the KNN paper; with --benchmark imagenet 1%, as the paper)', parseKnnFitSamples)
    .option('--temperature <T>', `softmax / energy temperature of ${TEMPERATURE_METHODS} (finite, > 0; default 1, odin 1000)`, (v) => parsePositiveNumber('--temperature', v))
    .option('--search-baselines', 'choose the baselines\' hyper-parameters (ReAct, DICE, ASH, SCALE, KNN, ViM, GEN, NCI, fDBD, ODIN) on the validation data of the OPNP grid search')
    .option('--checkpoint <file>', 'checkpoint the sensitivity sums here; a rerun of the same run resumes from it')
    .option('--restart', 'discard an existing --checkpoint instead of resuming it')
    .option('--checkpoint-every <seconds>', 'also write the checkpoint this often (0: after every batch)', parseCheckpointEvery, 30)
    .option('--sensitivity-state <file>', 'use a saved sensitivity state of this run (opnp sensitivity --state-out / merge; while the file is absent, the states of its shards) instead of the training pass')
    .option('--json <file>', JSON_OPTION_HELP)
    .option('--save <dir>', 'write a results folder (report, sensitivities, grid, score arrays, calibration) for opnp report')
    .option('--format <format>', FORMAT_OPTION_HELP, parseFormat, 'table' as TableFormat)
    .option('--scores-out <scores.npy>', 'with --shard: where the shard writes its per-sample scores (scores.shard-00i-of-00n.npy + .json)');
  addShardOptions(command, 'score only part i of n (1-based, contiguous) of the test and OOD sets into per-shard score files (--scores-out); opnp eval merge computes the report');
  addPreprocessOptions(command);
  addFlagWarnings(command, context.io);
  addRunOptions(command);
  command.addHelpText('after', EXAMPLE);
  command.action((flags: EvalFlags) => {
    assertStdoutFormat(command, flags);
    return runEval(context, { ...flags, batchSizeGiven: command.getOptionValueSource('batchSize') !== 'default' });
  });
  registerEvalMerge(command, context);
}

/** The evaluation configuration of the flags, for the loaded model. */
function evaluationConfig(flags: EvalFlags, model: LoadedModel, io: CommandContext['io'], quiet: boolean, info: (m: string) => void): EvaluationConfig {
  // Checked here, in flag terms; the default --batch-size gives way to a lower maxBatchSize of the extractor.
  assertBatchSize(model, flags.batchSizeGiven === false ? Math.min(flags.batchSize, model.extractor.maxBatchSize ?? Infinity) : flags.batchSize, undefined, CLI_OPTION_NAMES);
  return {
    model,
    train: requiredFlag(flags.train, '--train <dataset>'),
    ...(flags.trainLabels !== undefined ? { trainLabels: flags.trainLabels } : {}),
    ...(flags.trainFraction !== undefined ? { trainFraction: flags.trainFraction } : {}),
    test: requiredFlag(flags.test, '--test <dataset>'),
    ...(flags.testLabels !== undefined ? { testLabels: flags.testLabels } : {}),
    ood: flags.ood.map((v) => parseNamedSpec('--ood', v)),
    ...preprocessArguments(flags),
    methods: flags.methods ?? [...DEFAULT_METHODS],
    methodsExplicit: flags.methods !== undefined,
    methodOptions: parseMethodOptions(flags.methodOption, flags.knnK),
    ...(flags.temperature !== undefined ? { temperature: flags.temperature } : {}),
    ...(flags.searchBaselines === true ? { searchBaselines: true } : {}),
    ...(flags.opnp ? { percentages: flags.opnp } : {}),
    valFraction: flags.valFraction,
    valOod: parseValOod(flags.valOod),
    valNoise: flags.valNoise,
    seed: flags.seed,
    ...(flags.batchSizeGiven === false ? {} : { batchSize: flags.batchSize }),
    ...imageWorkersOption(flags),
    fitSamples: flags.fitSamples,
    ...(flags.knnFitSamples !== undefined ? { knnFitSamples: flags.knnFitSamples } : {}),
    ...(flags.checkpoint !== undefined ? { checkpoint: { path: flags.checkpoint, restart: flags.restart === true, everyMs: flags.checkpointEvery * 1000, onSaved: checkpointPoster(io) } } : {}),
    optionNames: CLI_OPTION_NAMES,
    ...(flags.sensitivityState !== undefined ? { sensitivityState: flags.sensitivityState } : {}),
    collectArtifacts: flags.save !== undefined,
    ...(io.signal ? { signal: io.signal } : {}),
    onInfo: info,
    onWarning: warningWriter(io),
    onProgress: progressListener(io, quiet),
    onSkip: (set, skip) => skipWarner(io, set)(skip),
  };
}

/** Checks the flags that need no data and every output path, before any work. */
async function checkEvalFlags(flags: EvalFlags, shard: ShardInfo | undefined): Promise<void> {
  if (flags.model.length === 0) throw new UsageError("required option '--model <file>' not specified");
  const runs = flags.model.length * (flags.seeds?.length ?? 1);
  if (runs > 1) {
    const single = [['--shard', flags.shard], ['--save', flags.save], ['--checkpoint', flags.checkpoint], ['--sensitivity-state', flags.sensitivityState]].find(([, v]) => v !== undefined);
    if (single) throw new UsageError(`${single[0]} belongs to one run: it cannot be combined with several --model or --seeds (run them one by one)`);
    const cached = [flags.train, flags.test, ...flags.ood, ...flags.valOod].find((spec) => spec?.replace(/^[^=]*=(?=features:)/, '').startsWith('features:'));
    if (flags.model.length > 1 && cached !== undefined) throw new UsageError(`${cached} holds the features of one model: with several --model give the datasets themselves`);
  }
  requiredFlag(flags.train, '--train <dataset>');
  requiredFlag(flags.test, '--test <dataset>');
  const ood = flags.ood.map((v) => parseNamedSpec('--ood', v));
  if (ood.length === 0) throw new UsageError("required option '--ood <name=dataset>' not specified");
  assertUniqueNames(ood, '--ood');
  assertUniqueNames(parseValOod(flags.valOod), '--val-ood');
  // Unknown method options and a temperature no method takes are refused here, before the model loads.
  const methodOptions = parseMethodOptions(flags.methodOption, flags.knnK);
  checkMethodOptions(methodOptions);
  withTemperature(CLI_METHODS, flags.methods ?? [...DEFAULT_METHODS], methodOptions, flags.temperature);
  if (shard) {
    if (flags.json !== undefined || flags.save !== undefined) throw new UsageError('a shard writes only its scores: pass --json and --save to opnp eval merge, which computes the report from every shard');
    requiredFlag(flags.scoresOut, '--scores-out <scores.npy>');
  } else if (flags.scoresOut !== undefined) throw new UsageError('--scores-out is the output of a shard: pass --shard i/n too (a whole evaluation writes --json and --save)');
  await checkRunFiles(evalFiles(flags, shard));
}

/** Every file the evaluation reads and writes (the shard's score files with --shard). */
function evalFiles(flags: EvalFlags, shard: ShardInfo | undefined): RunFiles {
  const scores = shard && flags.scoresOut !== undefined ? evalShardFiles(flags.scoresOut, shard) : undefined;
  return {
    outputs: [
      fileOutput(scores?.scores, 'the shard\'s scores (--scores-out)'),
      fileOutput(scores?.sidecar, 'the shard\'s sidecar'),
      fileOutput(scores?.sensitivity, 'the shard\'s sensitivity'),
      fileOrStdout(flags.json, 'the JSON report (--json)'),
      stateOutput(flags.checkpoint, 'the checkpoint (--checkpoint)'),
    ],
    folders: [resultsFolder(flags.save)],
    inputs: [...modelInputs(flags.model), ...dataInputs(flags), ...methodOptionInputs(flags.methodOption), fileInput(flags.sensitivityState, 'the sensitivity state (--sensitivity-state)')],
  };
}

/** `--seeds 0,1,2`. */
function parseSeeds(text: string): number[] {
  const seeds = splitList('--seeds', text).map((part) => parseInteger('--seeds', part, { allowZero: true }));
  if (new Set(seeds).size !== seeds.length) throw flagError('--seeds', `expected distinct seeds, got "${text}"`);
  return seeds;
}

/** The flags with `--benchmark`'s sets and normalisation filled in where not given. */
function withBenchmark(flags: EvalFlags): EvalFlags {
  if (flags.benchmark === undefined) {
    if (flags.dataRoot !== undefined) throw new UsageError('--data-root is the root of --benchmark: pass --benchmark too');
    return flags;
  }
  const protocol = benchmark(flags.benchmark);
  const root = requiredFlag(flags.dataRoot, '--data-root <dir>');
  return {
    ...flags,
    train: flags.train ?? protocol.train(root),
    test: flags.test ?? protocol.test(root),
    ood: [...protocol.ood(root).map((o) => `${o.name}=${o.spec}`), ...flags.ood],
    mean: flags.mean ?? [...protocol.mean],
    std: flags.std ?? [...protocol.std],
    knnFitSamples: flags.knnFitSamples ?? protocol.knnFitSamples,
  };
}

async function runEval(context: CommandContext, given: EvalFlags): Promise<void> {
  const { io } = context;
  const flags = withBenchmark(given);
  flags.model = await distinctModels(flags.model); // a repeat (or a copy) is warned about (flag-warnings.ts) and runs once
  const quiet = flags.quiet === true || flags.json === '-';
  const shard = resolveShard(io, { ...flags, quiet });
  // Every shard of an array job would write the same checkpoint: each gets its own.
  if (shard && flags.checkpoint !== undefined) flags.checkpoint = shardFileName(flags.checkpoint, shard);
  await checkEvalFlags(flags, shard);
  if (context.checkOnly) return context.checkOnly((evalFiles(flags, shard).inputs ?? []).filter((i) => i !== undefined));
  const info = infoWriter(io, quiet);
  if (flags.model.length * (flags.seeds?.length ?? 1) > 1) return runSeveral(context, flags, quiet, info);
  if (flags.seeds) flags.seed = flags.seeds[0]!;
  await withModel(flags.model[0]!, info, async (model) => {
    const config = evaluationConfig(flags, model, io, quiet, info);
    if (shard) {
      const result = await evaluateShard({ ...config, shard, out: flags.scoresOut! });
      const rows = Object.entries(result.rows).map(([key, n]) => `${n} ${key.replace(/^ood:/, '')}`).join(', ');
      info(`scored shard ${shard.index}/${shard.count} (${rows} samples) into ${result.files.scores}; when every shard is done: opnp eval merge ${shardPattern(flags.scoresOut!, shard.count)} --json <report.json>`);
      return;
    }
    const { report, artifacts } = await evaluate(config);
    await writeReport(io, report, { ...(flags.json !== undefined ? { json: flags.json } : {}), format: flags.format });
    if (flags.save !== undefined) await saveResults(flags.save, report, artifacts, info);
  }, flags);
}

/**
 * Loads and releases every model of a multi-run, in order, before run 1, so a corrupt or unsupported later model fails
 * in a second instead of after the earlier runs.
 */
async function checkModels(paths: readonly string[], flags: EvalFlags): Promise<void> {
  // Quiet: the model's notes are said when its run loads it.
  for (const path of paths) await withModel(path, () => undefined, async () => undefined, flags);
}

/** Runs the evaluation once per model and seed and prints the mean ± std of every metric over the runs. */
async function runSeveral(context: CommandContext, flags: EvalFlags, quiet: boolean, info: (m: string) => void): Promise<void> {
  const { io } = context;
  const seeds = flags.seeds ?? [flags.seed];
  const runs: { label: string; report: EvalReport }[] = [];
  if (flags.model.length > 1) await checkModels(flags.model, flags);
  for (const path of flags.model) {
    for (const seed of seeds) {
      const label = [flags.model.length > 1 ? path : '', flags.seeds ? `seed ${seed}` : ''].filter((p) => p !== '').join(', ');
      info(`run ${runs.length + 1} of ${flags.model.length * seeds.length}: ${label}`);
      await withModel(path, info, async (model) => {
        runs.push({ label, report: (await evaluate(evaluationConfig({ ...flags, seed }, model, io, quiet, info))).report });
      }, flags);
    }
  }
  const summary = summarizeRuns(runs, CLI_OPTION_NAMES);
  if (flags.json === '-') {
    io.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
    return;
  }
  if (flags.json !== undefined) await writeFileAtomic(flags.json, `${JSON.stringify(summary, null, 2)}\n`, `the JSON report ${flags.json}`);
  if (flags.format === 'table') writeLine(io.stdout, `mean ± std (population, as OpenOOD) over ${runs.length} runs: ${runs.map((r) => r.label).join('; ')}${summary.idAccuracy ? `; ID accuracy ${(summary.idAccuracy.mean * 100).toFixed(2)} ± ${(summary.idAccuracy.std * 100).toFixed(2)}%` : ''}\n`);
  io.stdout.write(renderMultiRun(summary, flags.format));
}

/** `scores.shard-*-of-004.npy`: the shell pattern of every shard's file. */
function shardPattern(out: string, count: number): string {
  const first = shardFileName(out, { index: 1, count });
  return first.replace(/\.shard-0*1-of-/, '.shard-*-of-');
}

interface EvalMergeFlags {
  json?: string;
  save?: string;
  format: TableFormat;
  quiet?: boolean;
}

/** The files `opnp eval merge` reads of one shard: its scores, sidecar and sensitivity. */
function shardInputs(path: string): RunInput[] {
  const stem = path.endsWith('.npy') ? path.slice(0, -4) : path;
  return [{ path, what: `the shard ${path}` }, { path: `${path}.json`, what: `the sidecar of the shard ${path}` }, { path: `${stem}.sensitivity.npy`, what: `the sensitivity of the shard ${path}` }];
}

function registerEvalMerge(parent: Command, context: CommandContext): void {
  parent
    .command('merge')
    .description('compute the report of a sharded evaluation from the scores of every shard (the report of the unsharded evaluation)')
    .argument('<shards...>', 'the scores files of every shard (scores.shard-*-of-004.npy), in any order')
    .option('--json <file>', JSON_OPTION_HELP)
    .option('--save <dir>', 'write the results folder for opnp report (when the shards determined an OPNP point)')
    .option('--format <format>', FORMAT_OPTION_HELP, parseFormat, 'table' as TableFormat)
    .option('-q, --quiet', 'no info lines on stderr')
    .addHelpText('after', '\nExample:\n  opnp eval merge scores.shard-*-of-004.npy --json report.json --save results/\n\nRefuses missing, duplicate, unfinished or foreign shards, and shards that fitted the run differently.')
    .action(async (shards: string[], flags: EvalMergeFlags, command: Command) => {
      const { io } = context;
      assertStdoutFormat(command, flags);
      await checkRunFiles({ outputs: [fileOrStdout(flags.json, 'the JSON report (--json)')], folders: [resultsFolder(flags.save)], inputs: shards.flatMap(shardInputs) });
      if (context.checkOnly) return context.checkOnly([]); // the shards are the tasks' outputs
      const info = infoWriter(io, flags.quiet === true || flags.json === '-');
      const { report, artifacts, shards: count } = await mergeEvalShards(shards);
      if (flags.save !== undefined && !artifacts) throw new UsageError('--save: the shards hold no figure inputs (no OPNP method ran, so no OPNP point was determined)');
      info(`merged the scores of ${count} shards`);
      await writeReport(io, report, { ...(flags.json !== undefined ? { json: flags.json } : {}), format: flags.format });
      if (flags.save !== undefined) await saveResults(flags.save, report, artifacts, info);
    });
}
