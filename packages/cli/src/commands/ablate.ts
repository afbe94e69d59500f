/**
 * `opnp ablate <kind>`: the paper's ablations over a model and datasets (the same data flags as `opnp eval`) ->
 * `runAblation` of @opnp/pipeline -> the paper's layout as Markdown on stdout, the tidy JSON (`--json`), the table as
 * CSV (`--csv`), the paper's numbers beside ours (`--recipe`), and Figure 3 for the sweep (`--figure`). Every flag and
 * output path is checked before the model is loaded.
 */
import type { Command } from 'commander';
import { isOpnpError, type NeuronStatistic, type PruningPercentages } from '@opnp/core';
import { NEURON_STATISTICS_HELP, parseNeuronStatistic } from '../neuron-statistics.js';
import { writeFileAtomic } from '@opnp/core/node';
import { ABLATIONS, ablationDefinition, checkAblation, runAblation, type AblationDefinition, type AblationOptions, type AblationResult } from '@opnp/pipeline';
import { flagError, UsageError } from '../errors.js';
import type { AblationPaper } from '../format/ablation-paper.js';
import { ABLATION_RECIPE } from '../format/names.js';
import { withModel, type RuntimeFlags } from '../model.js';
import { parseNumberList, parseOpnpPercentages, splitList } from '../options.js';
import { didYouMean } from '../suggest.js';
import { addDataOptions, addValidationOptions, dataConfig, type DataFlags } from './data-options.js';
import { parseRecipe } from './report.js';
import { checkRunFiles, dataInputs, fileOrStdout, fileOutput, modelInputs } from './run-files.js';
import { addFlagWarnings, addPreprocessOptions, addRunOptions, infoWriter, progressListener, skipWarner, type CommandContext } from './shared.js';

interface AblateFlags extends RuntimeFlags, DataFlags {
  fractions?: number[];
  statistics?: NeuronStatistic[];
  opnp?: PruningPercentages;
  json?: string;
  csv?: string;
  recipe?: string;
  figure?: string;
  quiet?: boolean;
}

/** `--statistics mean,max,norm`: neuron statistics by either name (`norm` is `l2`). */
function parseStatistics(text: string): NeuronStatistic[] {
  return splitList('--statistics', text).map((name) => parseNeuronStatistic('--statistics', name));
}

/** `--fractions 0.01,0.05,0.2,1`: each in (0, 1]. */
function parseFractions(text: string): number[] {
  const values = parseNumberList('--fractions', text);
  for (const v of values) if (!(v > 0 && v <= 1)) throw flagError('--fractions', `every fraction must be in (0, 1], got ${v}`);
  return values;
}

/** The flags only some kinds take, and which. */
const KIND_FLAGS: readonly { flag: string; key: keyof AblateFlags; kind: string }[] = [
  { flag: '--fractions', key: 'fractions', kind: 'fraction' },
  { flag: '--statistics', key: 'statistics', kind: 'statistic' },
  { flag: '--opnp', key: 'opnp', kind: 'sweep' },
  { flag: '--figure', key: 'figure', kind: 'sweep' },
];

/** The ablation named on the command line (a usage error listing the kinds otherwise). */
function kindOf(name: string): AblationDefinition {
  try {
    return ablationDefinition(name);
  } catch (error) {
    if (!isOpnpError(error)) throw error;
    const suggestion = didYouMean(name.trim().toLowerCase(), Object.values(ABLATIONS).flatMap((d) => [d.kind, ...d.aliases]));
    throw new UsageError(`unknown ablation '${name}': expected ${String(error.expected)}${suggestion ? `; ${suggestion}` : ''}`);
  }
}

/** Checks the flags against the kind and every output path, before any work. */
async function checkFlags(definition: AblationDefinition, flags: AblateFlags): Promise<void> {
  for (const { flag, key, kind } of KIND_FLAGS) {
    if (flags[key] !== undefined && kind !== definition.kind) throw flagError(flag, `only the ${kind} ablation takes it, not ${definition.kind}`);
  }
  const recipe = parseRecipe(flags.recipe);
  if (recipe !== undefined && definition.kind === 'sweep') throw flagError('--recipe', 'Figure 3 prints no numbers to put beside ours');
  if (recipe !== undefined && recipe !== ABLATION_RECIPE) throw flagError('--recipe', `the paper's ablations (Tables 3, 4, 8, 9) are on ImageNet-1K with ResNet-50: use --recipe ${ABLATION_RECIPE}, got "${recipe}"`);
  if (flags.json === '-' && flags.csv === '-') throw new UsageError('--json - and --csv - both ask for standard output, which holds one of them: give --json or --csv a file');
  if (flags.figure !== undefined && !/\.(svg|png)$/i.test(flags.figure)) throw flagError('--figure', `expected a file name ending in .svg or .png, got "${flags.figure}"`);
  await checkRunFiles({
    outputs: [fileOrStdout(flags.json, 'the JSON (--json)'), fileOrStdout(flags.csv, 'the CSV (--csv)'), fileOutput(flags.figure, 'the figure (--figure)')],
    inputs: [...modelInputs([flags.model]), ...dataInputs(flags)],
  });
}

/** The tidy JSON: the result, and with the paper the cells it has (percent as printed). */
function resultJson(result: AblationResult, paper: AblationPaper | undefined): string {
  const oods = [...result.oodSets, null];
  const cells = paper ? result.variants.flatMap((v) => oods.flatMap((ood) => result.layout.map((metric) => ({ variant: v.name, ood, metric, paper: paper.cell(v, ood, metric) })))).filter((c) => c.paper !== undefined) : [];
  return `${JSON.stringify({ ...result, ...(paper ? { paper: { source: paper.source, notes: paper.notes, cells } } : {}) }, null, 2)}\n`;
}

/** Writes (or prints) every output the flags ask for. */
async function writeOutputs(context: CommandContext, flags: AblateFlags, result: AblationResult, info: (m: string) => void): Promise<void> {
  const { io } = context;
  // Loaded on use: the tables need arquero, which would slow every other command's start.
  const { ablationPaper } = await import('../format/ablation-paper.js');
  const { ablationCsv, ablationMarkdown } = await import('../format/ablation-table.js');
  const paper = flags.recipe !== undefined ? ablationPaper(result) : undefined;
  const json = resultJson(result, paper);
  const csv = ablationCsv(result, paper);
  if (flags.json === '-') io.stdout.write(json);
  else if (flags.csv === '-') io.stdout.write(csv);
  else io.stdout.write(ablationMarkdown(result, paper));
  if (flags.json !== undefined && flags.json !== '-') await writeFileAtomic(flags.json, json, `the JSON ${flags.json}`);
  if (flags.csv !== undefined && flags.csv !== '-') await writeFileAtomic(flags.csv, csv, `the CSV ${flags.csv}`);
  if (flags.figure !== undefined) {
    // Loaded on use: the figure stack (vega, resvg) would slow every other run's start.
    const { renderSvg, svgToPng } = await import('../report/render.js');
    const { ablationSweepFigure } = await import('../report/ablation-sweep-figure.js');
    const svg = await renderSvg(ablationSweepFigure(result));
    await writeFileAtomic(flags.figure, /\.png$/i.test(flags.figure) ? svgToPng(svg) : svg, `the figure ${flags.figure}`);
    info(`Figure 3 written to ${flags.figure}`);
  }
}

const EXAMPLE = `
Kinds (the paper's tables; aliases in brackets):
  pruning    [table4]   random / magnitude weight pruning, random / low-norm neuron pruning vs OPP and ONP,
                        each at its best percentages on validation data (FPR95)
  fraction   [table8]   OPP with the sensitivity on 1%, 5%, 20%, 100% of the training samples (--fractions)
  statistic  [table9]   ONP with s_j = mean, max, min, median, norm or variance of s_cj over the classes (--statistics)
  accuracy   [table3]   ID top-1 accuracy of the pruned head used as the classifier (needs ID labels; no --ood)
  sweep      [figure3]  FPR95 / AUROC against each percentage alone (--opnp: the base point; --figure fig3.svg)

Examples:
  opnp ablate pruning --model mnist-cnn.onnx \\
    --train idx:./mnist/train-images-idx3-ubyte --test idx:./mnist/t10k-images-idx3-ubyte \\
    --ood fashion=idx:./fashion/t10k-images-idx3-ubyte --val-ood idx:./kmnist/t10k-images-idx3-ubyte \\
    --mean 0.1307 --std 0.3081
  opnp ablate fraction ... --fractions 0.01,0.1,1 --json fraction.json
  opnp ablate statistic ... --csv table9.csv
  opnp ablate accuracy --model m.onnx --train <dataset> --test <dataset>
  opnp ablate sweep ... --figure fig3.svg
  opnp ablate table4 ... --recipe imagenet-resnet50   # the paper's numbers and Δ beside ours

Searched kinds (pruning, fraction, statistic) hold out --val-fraction of the ID test set and search on it against
the --val-ood sets (default: seeded noise), as opnp eval does; accuracy and sweep use fixed points and the whole
ID test set. Output: Markdown on stdout (--json - or --csv - instead), progress and notes on stderr.`;

/** Registers `opnp ablate`. */
export function registerAblate(program: Command, context: CommandContext): void {
  const command = program
    .command('ablate')
    .description("run one of the paper's ablations (Tables 3, 4, 8, 9, Figure 3) and print its table")
    .argument('<kind>', 'pruning, fraction, statistic, accuracy or sweep (or table4, table8, table9, table3, figure3)');
  addDataOptions(command);
  addValidationOptions(command)
    .option('--fractions <list>', 'fraction: shares of the training samples for the sensitivity (default 0.01,0.05,0.2,1)', parseFractions)
    .option('--statistics <list>', `statistic: comma-separated neuron statistics among ${NEURON_STATISTICS_HELP} (default all six)`, parseStatistics)
    .option('--opnp <p_min=%,p_max=%,n_min=%,n_max=%>', 'sweep: the point the other percentages stay at (default all 0)', parseOpnpPercentages)
    .option('--json <file>', 'write the tidy JSON (fractions 0-1) to <file> ("-": JSON on stdout only)')
    .option('--csv <file>', 'write the table as CSV to <file> ("-": CSV on stdout only)')
    .option('--recipe <name>', `the paper's numbers and Δ beside ours (${ABLATION_RECIPE}: the ablations' setting)`)
    .option('--figure <file>', 'sweep: draw Figure 3 to <file> (.svg or .png)');
  addPreprocessOptions(command);
  addFlagWarnings(command, context.io);
  addRunOptions(command);
  command.addHelpText('after', EXAMPLE);
  command.action(async (kind: string, flags: AblateFlags) => {
    const { io } = context;
    const definition = kindOf(kind);
    await checkFlags(definition, flags);
    const data = dataConfig(flags);
    if (definition.measures === 'ood' && data.ood.length === 0) throw new UsageError("required option '--ood <name=dataset>' not specified");
    const options: AblationOptions = {
      ...(flags.fractions ? { fractions: flags.fractions } : {}),
      ...(flags.statistics ? { statistics: flags.statistics } : {}),
      ...(flags.opnp ? { base: flags.opnp } : {}),
    };
    checkAblation({ kind: definition.kind, options });
    const quiet = flags.quiet === true || flags.json === '-' || flags.csv === '-';
    const info = infoWriter(io, quiet);
    await withModel(flags.model, info, async (model) => {
      const result = await runAblation({
        kind: definition.kind,
        model,
        ...data,
        options,
        ...(io.signal ? { signal: io.signal } : {}),
        onInfo: info,
        onProgress: progressListener(io, quiet),
        onSkip: (set, skip) => skipWarner(io, set)(skip),
      });
      await writeOutputs(context, flags, result, info);
    }, flags);
  });
}
