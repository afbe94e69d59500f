/**
 * `opnp demo`: the whole pipeline on the embedded MNIST assets, offline and without arguments.
 */
import { fileURLToPath } from 'node:url';
import { Option, type Command } from 'commander';
import type { PruningPercentages } from '@opnp/core';
import { DEFAULT_METHODS, datasetInputFiles, evaluate, type EvaluationConfig } from '@opnp/pipeline';
import { parseMethods } from '../methods.js';
import { parseOpnpPercentages } from '../options.js';
import { withModel } from '../model.js';
import { infoWriter, progressListener, skipWarner, warningWriter, type CommandContext } from './shared.js';
import { assertStdoutFormat, FORMAT_OPTION_HELP, JSON_OPTION_HELP, parseFormat, saveResults, writeReport } from './report-output.js';
import { checkRunFiles, fileOrStdout, resultsFolder } from './run-files.js';
import type { TableFormat } from '../format/results-table.js';
import { writeLine } from '../io.js';

/** Where the demo assets live (`packages/cli/assets/demo`, shipped with the package). */
export function demoAssetPath(name: string): string {
  return fileURLToPath(new URL(`../../assets/demo/${name}`, import.meta.url));
}

/** The demo's evaluation: MNIST CNN; ID = MNIST; OOD = Fashion-MNIST and uniform noise. */
export function demoConfig(options: { quick?: boolean; methods?: string[]; percentages?: PruningPercentages } = {}): Omit<EvaluationConfig, 'onInfo' | 'onProgress' | 'signal'> & { model: string } {
  return {
    model: demoAssetPath('mnist-cnn.onnx'),
    train: `idx:${demoAssetPath('mnist-train-6k-images-idx3-ubyte.gz')}`,
    ...(options.quick ? { trainFraction: 0.25 } : {}),
    test: `idx:${demoAssetPath('mnist-test-2500-images-idx3-ubyte.gz')}`,
    ood: [
      { name: 'fashion', spec: `idx:${demoAssetPath('fashion-test-images-idx3-ubyte.gz')}` },
      { name: 'noise', spec: `noise:${options.quick ? 500 : 1500}#seed=2` },
    ],
    preprocess: { mean: [0.1307], std: [0.3081] },
    methods: options.methods ?? [...DEFAULT_METHODS],
    methodsExplicit: options.methods !== undefined,
    ...(options.percentages ? { percentages: options.percentages } : {}),
    valFraction: 0.2,
    valOod: [
      { name: 'fashion-val', spec: `idx:${demoAssetPath('fashion-val-images-idx3-ubyte.gz')}` },
      { name: 'noise-val', spec: `noise:500#seed=1` },
    ],
    valNoise: 500,
    seed: 0,
    batchSize: 500,
    fitSamples: 20000,
  };
}

interface DemoFlags {
  methods?: string[];
  opnp?: PruningPercentages;
  json?: string;
  save?: string;
  format: TableFormat;
  quiet?: boolean;
  quick?: boolean;
}

const HELP = `
The demo uses a small PyTorch CNN (98.4% accuracy on the MNIST test set) exported to ONNX; ID = MNIST
(6,000 training images for the sensitivity, 2,500 test images of which 20% form the validation
split; the ID accuracy printed, 97.70%, is over the other 2,000), OOD = Fashion-MNIST (1,500 images) and seeded uniform noise. The OPNP point is chosen by
grid search on the validation split, Fashion-MNIST images 0-499 and noise (never the test sets). The split is held
out only when --methods includes OPNP (the default does): without it all 2,500 test images are scored, so the
other methods' figures differ slightly from the default run's.

Example:
  opnp demo
  opnp demo --format markdown --json demo.json
  opnp demo --save demo-results && opnp report demo-results --out demo-report`;

/** Registers `opnp demo`. */
export function registerDemo(program: Command, context: CommandContext): void {
  program
    .command('demo')
    .description('run the full OPNP pipeline on embedded MNIST data (no network, no arguments)')
    .option('--methods <list>', `comma-separated methods (default ${DEFAULT_METHODS.join(',')})`, parseMethods)
    .option('--opnp <p_min=%,p_max=%,n_min=%,n_max=%>', 'fixed OPNP percentages instead of the grid search', parseOpnpPercentages)
    .option('--json <file>', JSON_OPTION_HELP)
    .option('--save <dir>', 'write a results folder for opnp report (figures)')
    .option('--format <format>', FORMAT_OPTION_HELP, parseFormat, 'table' as TableFormat)
    .option('-q, --quiet', 'no progress bars or info lines on stderr')
    .addOption(new Option('--quick', 'smaller data (for tests)').hideHelp())
    .addHelpText('after', HELP)
    .action(async (flags: DemoFlags, command: Command) => {
      const { io } = context;
      assertStdoutFormat(command, flags);
      const quiet = flags.quiet === true || flags.json === '-';
      const info = infoWriter(io, quiet);
      const started = performance.now();
      const config = demoConfig({ ...(flags.quick ? { quick: true } : {}), ...(flags.methods ? { methods: flags.methods } : {}), ...(flags.opnp ? { percentages: flags.opnp } : {}) });
      // The demo's own model and data are inputs too: --json must not overwrite the shipped assets.
      await checkRunFiles({ outputs: [fileOrStdout(flags.json, 'the JSON report (--json)')], folders: [resultsFolder(flags.save)], inputs: [{ path: config.model, what: 'the demo\'s model' }, ...[config.train, config.test, ...config.ood.map((o) => o.spec), ...(config.valOod ?? []).map((o) => o.spec)].flatMap((spec) => datasetInputFiles(spec, 'opnp demo'))] });
      await withModel(config.model, info, async (model) => {
        const { report, artifacts } = await evaluate({
          ...config,
          model,
          collectArtifacts: flags.save !== undefined,
          ...(io.signal ? { signal: io.signal } : {}),
          onInfo: info,
          onWarning: warningWriter(io),
          onProgress: progressListener(io, quiet),
          onSkip: (set, skip) => skipWarner(io, set)(skip),
        });
        await writeReport(io, report, { ...(flags.json !== undefined ? { json: flags.json } : {}), format: flags.format });
        if (flags.save !== undefined) await saveResults(flags.save, report, artifacts, info);
      });
      if (!quiet && flags.format === 'table') writeLine(io.stdout, `\n(${((performance.now() - started) / 1000).toFixed(1)} s; FPR95 lower is better, AUROC higher is better; values in percent)`);
    });
}
