/**
 * `opnp eval`: flags -> an evaluation config -> `evaluate` of @opnp/pipeline -> the table, the JSON report
 * and the results folder. Every output path is checked before any work starts.
 */
import type { Command } from 'commander';
import type { PruningPercentages } from '@opnp/core';
import { DEFAULT_METHODS, assertWritableFile, evaluate, temperatureMethods, type EvaluationConfig } from '@opnp/pipeline';
import { UsageError } from '../errors.js';
import { collect, parseInteger, parseMethodOptions, parseOpnpPercentages, parsePositiveNumber } from '../options.js';
import { addDataOptions, addValidationOptions, dataConfig, type DataFlags } from './data-options.js';
import { CLI_METHODS, parseMethods } from '../methods.js';
import { withModel, type RuntimeFlags } from '../model.js';
import { addPreprocessOptions, addRunOptions, infoWriter, parseCheckpointEvery, progressListener, skipWarner, type CommandContext } from './shared.js';
import { parseFormat, saveResults, writeReport } from './report-output.js';
import { assertResultsTarget } from '@opnp/pipeline';
import type { TableFormat } from '../format/results-table.js';

interface EvalFlags extends RuntimeFlags, DataFlags {
  methods?: string[];
  methodOption: string[];
  opnp?: PruningPercentages;
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
rule: highest validation AUROC); options set with --method-option, --knn-k or --temperature are not searched.`;

/** Registers `opnp eval`. */
export function registerEval(program: Command, context: CommandContext): void {
  const command = program.command('eval').description('evaluate OOD detection methods (OPNP and baselines) and print a paper-style table');
  addDataOptions(command)
    .option('--methods <list>', `comma-separated methods (default ${DEFAULT_METHODS.join(',')})`, parseMethods)
    .option('--method-option <method.option=value>', 'a method hyper-parameter, e.g. react.percentile=85 (repeatable)', collect, [])
    .option('--opnp <p_min=%,p_max=%,n_min=%,n_max=%>', 'fixed OPNP percentages (skips the grid search)', parseOpnpPercentages);
  addValidationOptions(command)
    .option('--knn-k <n>', 'neighbour rank of KNN (same as --method-option knn.k=<n>)', (v) => parseInteger('--knn-k', v))
    .option('--temperature <T>', `softmax / energy temperature of ${TEMPERATURE_METHODS} (finite, > 0; default 1, odin 1000)`, (v) => parsePositiveNumber('--temperature', v))
    .option('--search-baselines', 'choose the baselines\' hyper-parameters (ReAct, DICE, ASH, SCALE, KNN, ViM, GEN, NCI, fDBD, ODIN) on the validation data of the OPNP grid search')
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
    const data = dataConfig(flags);
    if (data.ood.length === 0) throw new UsageError("required option '--ood <name=dataset>' not specified");
    const methodOptions = parseMethodOptions(flags.methodOption, flags.knnK);
    if (flags.json !== undefined && flags.json !== '-') await assertWritableFile(flags.json, 'the JSON report (--json)');
    if (flags.checkpoint !== undefined) await assertWritableFile(flags.checkpoint, 'the checkpoint (--checkpoint)');
    if (flags.save !== undefined) await assertResultsTarget(flags.save);
    const info = infoWriter(io, quiet);
    await withModel(flags.model, info, async (model) => {
      const config: EvaluationConfig = {
        model,
        ...data,
        methods: flags.methods ?? [...DEFAULT_METHODS],
        methodsExplicit: flags.methods !== undefined,
        methodOptions,
        ...(flags.temperature !== undefined ? { temperature: flags.temperature } : {}),
        ...(flags.searchBaselines === true ? { searchBaselines: true } : {}),
        ...(flags.opnp ? { percentages: flags.opnp } : {}),
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
